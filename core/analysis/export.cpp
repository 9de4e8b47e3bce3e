#include "analysis/export.h"

#include "util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include <fcntl.h>
#include <unistd.h>

namespace ptq {

namespace {

// Metrics that duplicate a run's own columns.
bool isSizeMetric(const std::string& name)
{
    return name == "bits_per_weight" || name == "packed_bytes" || name == "fp16_bytes";
}

size_t metricOrder(const std::string& name)
{
    const auto& known = knownMetricNames();
    return static_cast<size_t>(std::find(known.begin(), known.end(), name) - known.begin());
}

struct MetricColumn {
    std::string name;
    std::string dataset;
    bool operator<(const MetricColumn& o) const
    {
        const size_t a = metricOrder(name), b = metricOrder(o.name);
        if (a != b)
            return a < b;
        if (name != o.name)
            return name < o.name;
        return dataset < o.dataset;
    }
};

std::string shortestDouble(double v)
{
    if (std::isnan(v))
        return "nan";
    if (std::isinf(v))
        return v > 0 ? "inf" : "-inf";
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, res.ptr);
}

std::string plainCell(const ExportCell& c)
{
    if (std::holds_alternative<int64_t>(c))
        return std::to_string(std::get<int64_t>(c));
    if (std::holds_alternative<double>(c))
        return shortestDouble(std::get<double>(c));
    if (std::holds_alternative<std::string>(c))
        return std::get<std::string>(c);
    return "";
}

std::string jsonString(const std::string& s)
{
    // Invalid UTF-8 (a path from an odd file system) is replaced, not an exception.
    return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string jsonCell(const ExportCell& c)
{
    if (std::holds_alternative<std::monostate>(c))
        return "null";
    if (std::holds_alternative<std::string>(c))
        return jsonString(std::get<std::string>(c));
    if (std::holds_alternative<double>(c) && !std::isfinite(std::get<double>(c)))
        return "null"; // JSON has no NaN or infinity
    return plainCell(c);
}

std::string latexNumber(double v, int digits)
{
    if (std::isnan(v))
        return "NaN";
    if (std::isinf(v))
        return v > 0 ? "$\\infty$" : "$-\\infty$";
    const std::string s = formatSignificant(v, digits);
    const auto e = s.find('e');
    if (e == std::string::npos)
        return s;
    return "$" + s.substr(0, e) + "\\times10^{" + std::to_string(std::stoi(s.substr(e + 1))) + "}$";
}

std::string latexCell(const ExportCell& c, int digits)
{
    if (std::holds_alternative<std::monostate>(c))
        return "--";
    if (std::holds_alternative<double>(c))
        return latexNumber(std::get<double>(c), digits);
    if (std::holds_alternative<std::string>(c))
        return latexEscape(std::get<std::string>(c));
    return plainCell(c);
}

void checkShape(const ExportTable& t)
{
    for (size_t r = 0; r < t.rows.size(); ++r)
        if (t.rows[r].size() != t.columns.size())
            throw Error("export table", "row " + std::to_string(r),
                        "has " + std::to_string(t.rows[r].size()) + " cells for " +
                            std::to_string(t.columns.size()) + " columns");
}

ExportCell positiveOrEmpty(double v)
{
    return v > 0 ? ExportCell{v} : ExportCell{};
}

} // namespace

std::string exportFormatName(ExportFormat f)
{
    switch (f) {
    case ExportFormat::Csv:
        return "csv";
    case ExportFormat::Json:
        return "json";
    case ExportFormat::Latex:
        return "latex";
    }
    return "csv";
}

ExportFormat parseExportFormat(const std::string& name, const std::string& source)
{
    if (name == "csv")
        return ExportFormat::Csv;
    if (name == "json")
        return ExportFormat::Json;
    if (name == "latex" || name == "tex")
        return ExportFormat::Latex;
    throw Error(source, name, "unknown export format; expected csv, json or latex");
}

std::string exportFormatExtension(ExportFormat f)
{
    return f == ExportFormat::Latex ? ".tex" : "." + exportFormatName(f);
}

ExportTable runsTable(const std::vector<RunRecord>& runs)
{
    std::set<MetricColumn> metricSet;
    std::set<std::string> datasets;
    for (const auto& r : runs)
        for (const auto& m : r.metrics)
            if (!isSizeMetric(m.name)) {
                metricSet.insert({m.name, m.datasetSha256});
                if (!m.datasetSha256.empty())
                    datasets.insert(m.datasetSha256);
            }
    const bool suffix = datasets.size() > 1;
    const std::vector<MetricColumn> metricCols(metricSet.begin(), metricSet.end());

    ExportTable t;
    t.columns = {"id",    "model",  "parameters",      "recipe",  "wbits", "group",
                 "abits", "kvbits", "bits_per_weight", "size_mb", "status"};
    for (const auto& c : metricCols)
        t.columns.push_back(suffix && !c.dataset.empty() ? c.name + "@" + c.dataset.substr(0, 8)
                                                         : c.name);
    for (const auto& r : runs) {
        std::vector<ExportCell> row = {r.id,
                                       r.modelName,
                                       r.modelParameters > 0 ? ExportCell{r.modelParameters}
                                                             : ExportCell{},
                                       r.spec.recipeName,
                                       int64_t{r.spec.wbits},
                                       r.spec.groupSize,
                                       int64_t{r.spec.abits},
                                       int64_t{r.spec.kvbits},
                                       positiveOrEmpty(r.bitsPerWeight),
                                       positiveOrEmpty(static_cast<double>(r.packedBytes) / 1e6),
                                       runStatusName(r.status)};
        for (const auto& c : metricCols) {
            ExportCell cell;
            for (const auto& m : r.metrics)
                if (m.name == c.name && m.datasetSha256 == c.dataset)
                    cell = m.value;
            row.push_back(cell);
        }
        t.rows.push_back(std::move(row));
    }
    return t;
}

ExportTable layerErrorsTable(const std::vector<LayerErrorRow>& layers)
{
    // The Mixture-of-Experts columns only when some linear belongs to an expert.
    const bool experts = std::any_of(layers.begin(), layers.end(),
                                     [](const LayerErrorRow& l) { return l.expert >= 0; });
    // The input statistics only when measured (runs stored before schema version 5 have none).
    const bool inputs = std::any_of(layers.begin(), layers.end(),
                                    [](const LayerErrorRow& l) { return l.inputAbsMax > 0; });
    auto shown = [&](const LayerColumn& col) {
        const std::string name = col.name;
        if (name == "input_absmax" || name == "input_outlier_ratio")
            return inputs;
        return experts || (name != "expert" && name != "routed_tokens" && name != "calib_tokens");
    };
    ExportTable t;
    for (const auto& col : layerColumns())
        if (shown(col))
            t.columns.push_back(col.name);
    for (const auto& l : layers) {
        std::vector<ExportCell> row;
        for (const auto& col : layerColumns())
            if (shown(col))
                std::visit([&](const auto& v) { row.push_back(v); }, col.get(l));
        t.rows.push_back(std::move(row));
    }
    return t;
}

std::string csvField(const std::string& s)
{
    if (s.find_first_of(",\"\r\n") == std::string::npos)
        return s;
    std::string q = "\"";
    for (char c : s)
        q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

std::string toCsv(const ExportTable& t)
{
    checkShape(t);
    std::string out;
    const auto line = [&out](const auto& cells, auto text) {
        for (size_t i = 0; i < cells.size(); ++i)
            out += (i ? "," : "") + csvField(text(cells[i]));
        out += "\n";
    };
    line(t.columns, [](const std::string& s) { return s; });
    for (const auto& row : t.rows)
        line(row, plainCell);
    return out;
}

std::string toJson(const ExportTable& t)
{
    checkShape(t);
    if (t.rows.empty())
        return "[]\n";
    std::string out = "[\n";
    for (size_t r = 0; r < t.rows.size(); ++r) {
        out += "  {\n";
        for (size_t c = 0; c < t.columns.size(); ++c)
            out += "    " + jsonString(t.columns[c]) + ": " + jsonCell(t.rows[r][c]) +
                   (c + 1 < t.columns.size() ? ",\n" : "\n");
        out += r + 1 < t.rows.size() ? "  },\n" : "  }\n";
    }
    return out + "]\n";
}

std::string latexEscape(const std::string& s)
{
    std::string out;
    for (char c : s) {
        switch (c) {
        case '&':
        case '%':
        case '$':
        case '#':
        case '_':
        case '{':
        case '}':
            out += '\\';
            out += c;
            break;
        case '~':
            out += "\\textasciitilde{}";
            break;
        case '^':
            out += "\\textasciicircum{}";
            break;
        case '\\':
            out += "\\textbackslash{}";
            break;
        case '\n':
        case '\r':
            out += ' '; // a blank line would end the paragraph inside the tabular
            break;
        default:
            out += c;
        }
    }
    return out;
}

std::string formatSignificant(double v, int digits)
{
    if (digits < 1 || digits > 17)
        throw Error("number format", "significant digits",
                    "must be in [1, 17], got " + std::to_string(digits));
    if (!std::isfinite(v))
        return shortestDouble(v);
    if (v == 0)
        return "0";
    // Round once in scientific form: its exponent is the one of the rounded value, so
    // 9.9996 at 4 digits becomes 10.00, not 9.9996 or 10.000.
    char sci[64];
    std::snprintf(sci, sizeof sci, "%.*e", digits - 1, v);
    const int exponent = std::atoi(std::strchr(sci, 'e') + 1);
    if (exponent < -3 || exponent >= 15)
        return sci;
    const int decimals = std::max(0, digits - 1 - exponent);
    char fixed[64];
    std::snprintf(fixed, sizeof fixed, "%.*f", decimals, v);
    return fixed;
}

std::string toLatex(const ExportTable& t, int digits)
{
    checkShape(t);
    formatSignificant(1.0, digits); // validates digits even for an empty table
    std::string spec;
    for (size_t c = 0; c < t.columns.size(); ++c) {
        bool numeric = true;
        for (const auto& row : t.rows)
            if (std::holds_alternative<std::string>(row[c]))
                numeric = false;
        spec += numeric ? 'r' : 'l';
    }
    std::string out = "\\begin{tabular}{" + spec + "}\n\\toprule\n";
    for (size_t c = 0; c < t.columns.size(); ++c)
        out += (c ? " & " : "") + latexEscape(t.columns[c]);
    out += " \\\\\n\\midrule\n";
    for (const auto& row : t.rows) {
        for (size_t c = 0; c < row.size(); ++c)
            out += (c ? " & " : "") + latexCell(row[c], digits);
        out += " \\\\\n";
    }
    return out + "\\bottomrule\n\\end{tabular}\n";
}

std::string formatTable(const ExportTable& t, ExportFormat f)
{
    switch (f) {
    case ExportFormat::Csv:
        return toCsv(t);
    case ExportFormat::Json:
        return toJson(t);
    case ExportFormat::Latex:
        return toLatex(t);
    }
    return toCsv(t);
}

void writeFileAtomically(const std::string& path, const std::string& contents)
{
    namespace fs = std::filesystem;
    const fs::path target(path);
    if (target.filename().empty())
        throw Error(path, "output file", "the path names a folder, not a file");
    std::random_device rd;
    const fs::path tmp =
        target.parent_path() / ("." + target.filename().string() + ".tmp-" +
                                std::to_string(::getpid()) + "-" + std::to_string(rd()));
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        throw Error(path, "temporary file " + tmp.string(),
                    std::string("cannot create it: ") + std::strerror(errno));
    size_t done = 0;
    while (done < contents.size()) {
        const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            const int err = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            throw Error(path, "temporary file " + tmp.string(),
                        std::string("write failed: ") + std::strerror(err));
        }
        done += static_cast<size_t>(n);
    }
    const bool synced = ::fsync(fd) == 0;
    const int syncErr = errno;
    if (::close(fd) != 0 || !synced) {
        ::unlink(tmp.c_str());
        throw Error(path, "temporary file " + tmp.string(),
                    std::string("flush failed: ") + std::strerror(synced ? errno : syncErr));
    }
    if (::rename(tmp.c_str(), target.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw Error(path, "output file",
                    std::string("cannot rename the temporary file over it: ") + std::strerror(err));
    }
}

} // namespace ptq
