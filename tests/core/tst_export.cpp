// Table export: golden CSV/JSON/LaTeX files for runs with awkward strings (commas, quotes,
// newlines, LaTeX specials, unicode), a CSV reader and the JSON parser reading the output
// back to the same values, number formatting, column naming and the atomic file write.

#include "core/test_files.h"

#include "analysis/export.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

using namespace ptq;
namespace fs = std::filesystem;

namespace {

const std::string kWiki = "0123456789abcdef" + std::string(48, '0');
const std::string kC4 = "fedcba9876543210" + std::string(48, '1');
const std::string kTask = "a1b2c3d4e5f6" + std::string(52, '2');

std::vector<RunRecord> awkwardRuns()
{
    RunRecord a;
    a.id = 1;
    a.modelName = "tiny, \"quoted\" model";
    a.modelParameters = 1234567;
    a.spec.recipeName = "gptq";
    a.spec.wbits = 4;
    a.spec.groupSize = 128;
    a.status = RunStatus::Done;
    a.bitsPerWeight = 4.15625;
    a.packedBytes = 612345;
    a.metrics = {{"perplexity", kWiki, 12.3456789},
                 {"perplexity", kC4, 20.5},
                 {"kl_mean", kWiki, 0.0123456},
                 {"top1_agreement", kWiki, 0.9},
                 {"bits_per_weight", "", 4.15625}};

    RunRecord b;
    b.id = 2;
    b.modelName = "línea\nnueva — 模型";
    b.modelParameters = 7000000000;
    b.spec.recipeName = "awq_50%&$#{}~^\\";
    b.spec.wbits = 3;
    b.spec.groupSize = -1;
    b.spec.abits = 8;
    b.spec.kvbits = 4;
    b.status = RunStatus::Failed;
    b.bitsPerWeight = 3.25;
    b.packedBytes = 1000000000;

    RunRecord c;
    c.id = 3;
    c.modelName = "tab\there";
    c.spec.recipeName = "rtn";
    c.spec.wbits = 2;
    c.status = RunStatus::Done;
    c.metrics = {{"perplexity", kWiki, 1.234567e-5},
                 {"acc", kTask, 0.999996},
                 {"top1_agreement", kWiki, 1e20}};
    return {a, b, c};
}

std::vector<LayerErrorRow> awkwardLayers()
{
    return {{0, "model.layers.0.self_attn.q_proj", 4, 128, 0.0123, 1.5e-7, 2.25, 0.5, 1024, 0.25},
            {1, "layer \"x\", with comma", 3, -1, 1.0 / 3.0, 0, 1e300, 2, 0, 1.0}};
}

std::string readFile(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Compares with the committed golden file; on mismatch writes the actual text into the build
// tree and names it, so a reviewer can diff the two and commit the new one if it is right.
void expectGolden(const std::string& name, const std::string& actual)
{
    const fs::path golden = fs::path(PTQ_SOURCE_DIR) / "tests/data/export" / name;
    if (fs::exists(golden) && readFile(golden) == actual)
        return;
    const fs::path outDir = fs::path(PTQ_BINARY_DIR) / "tests/export-actual";
    fs::create_directories(outDir);
    std::ofstream(outDir / name, std::ios::binary) << actual;
    ADD_FAILURE() << name << (fs::exists(golden) ? " differs from " : " has no golden file ")
                  << golden << "; actual output written to " << (outDir / name);
}

// RFC 4180 reader, independent of the writer: records of fields, quoted fields may hold
// commas, doubled quotes and line breaks.
std::vector<std::vector<std::string>> parseCsv(const std::string& text)
{
    std::vector<std::vector<std::string>> records(1);
    std::string field;
    bool quoted = false, fieldStarted = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char ch = text[i];
        if (quoted) {
            if (ch == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (ch == '"') {
                quoted = false;
            } else {
                field += ch;
            }
        } else if (ch == '"' && !fieldStarted) {
            quoted = fieldStarted = true;
        } else if (ch == ',') {
            records.back().push_back(field);
            field.clear();
            fieldStarted = false;
        } else if (ch == '\n') {
            records.back().push_back(field);
            field.clear();
            fieldStarted = false;
            records.emplace_back();
        } else {
            field += ch;
            fieldStarted = true;
        }
    }
    EXPECT_FALSE(quoted) << "unterminated quoted field";
    if (records.back().empty() && field.empty())
        records.pop_back();
    else
        records.back().push_back(field);
    return records;
}

} // namespace

TEST(Export, RunsColumnsNameDatasetsWhenSeveral)
{
    const ExportTable t = runsTable(awkwardRuns());
    const std::vector<std::string> want = {"id",
                                           "model",
                                           "parameters",
                                           "recipe",
                                           "wbits",
                                           "group",
                                           "abits",
                                           "kvbits",
                                           "bits_per_weight",
                                           "size_mb",
                                           "status",
                                           "perplexity@01234567",
                                           "perplexity@fedcba98",
                                           "kl_mean@01234567",
                                           "top1_agreement@01234567",
                                           "acc@a1b2c3d4"};
    EXPECT_EQ(t.columns, want);
    ASSERT_EQ(t.rows.size(), 3u);
    EXPECT_DOUBLE_EQ(std::get<double>(t.rows[0][9]), 0.612345);
    EXPECT_TRUE(std::holds_alternative<std::monostate>(t.rows[1][11])); // no metrics
    EXPECT_TRUE(std::holds_alternative<std::monostate>(t.rows[2][2]));  // parameters unknown
    EXPECT_TRUE(std::holds_alternative<std::monostate>(t.rows[2][9]));  // no size recorded
    EXPECT_EQ(std::get<std::string>(t.rows[1][10]), "failed");

    // One dataset: plain metric names.
    std::vector<RunRecord> one = {awkwardRuns()[0]};
    one[0].metrics.erase(one[0].metrics.begin() + 1);
    const ExportTable t1 = runsTable(one);
    EXPECT_EQ(std::vector<std::string>(t1.columns.begin() + 11, t1.columns.end()),
              (std::vector<std::string>{"perplexity", "kl_mean", "top1_agreement"}));
}

TEST(Export, GoldenFiles)
{
    const ExportTable runs = runsTable(awkwardRuns());
    expectGolden("runs.csv", toCsv(runs));
    expectGolden("runs.json", toJson(runs));
    expectGolden("runs.tex", toLatex(runs));
    const ExportTable layers = layerErrorsTable(awkwardLayers());
    expectGolden("layers.csv", toCsv(layers));
    expectGolden("layers.tex", toLatex(layers, 3));
}

TEST(Export, CsvReadsBackToTheSameCells)
{
    // A CR LF inside a field stays out of the golden files (a checkout may rewrite line
    // ends in text files), so it is checked here.
    std::vector<RunRecord> runs = awkwardRuns();
    runs.push_back(runs[2]);
    runs.back().modelName = "crlf\r\ninside";
    const ExportTable t = runsTable(runs);
    const auto records = parseCsv(toCsv(t));
    ASSERT_EQ(records.size(), t.rows.size() + 1);
    EXPECT_EQ(records[0], t.columns);
    for (size_t r = 0; r < t.rows.size(); ++r) {
        ASSERT_EQ(records[r + 1].size(), t.columns.size()) << "row " << r;
        for (size_t c = 0; c < t.columns.size(); ++c) {
            const ExportCell& cell = t.rows[r][c];
            const std::string& text = records[r + 1][c];
            if (std::holds_alternative<std::string>(cell))
                EXPECT_EQ(text, std::get<std::string>(cell));
            else if (std::holds_alternative<double>(cell))
                EXPECT_EQ(std::stod(text), std::get<double>(cell)); // shortest round trip
            else if (std::holds_alternative<int64_t>(cell))
                EXPECT_EQ(std::stoll(text), std::get<int64_t>(cell));
            else
                EXPECT_EQ(text, "");
        }
    }
}

TEST(Export, JsonParsesBackInColumnOrder)
{
    const ExportTable t = runsTable(awkwardRuns());
    const auto j = nlohmann::ordered_json::parse(toJson(t));
    ASSERT_TRUE(j.is_array());
    ASSERT_EQ(j.size(), t.rows.size());
    for (size_t r = 0; r < t.rows.size(); ++r) {
        std::vector<std::string> keys;
        for (const auto& [k, v] : j[r].items())
            keys.push_back(k);
        EXPECT_EQ(keys, t.columns);
        for (size_t c = 0; c < t.columns.size(); ++c) {
            const auto& v = j[r][t.columns[c]];
            const ExportCell& cell = t.rows[r][c];
            if (std::holds_alternative<std::string>(cell))
                EXPECT_EQ(v.get<std::string>(), std::get<std::string>(cell));
            else if (std::holds_alternative<double>(cell))
                EXPECT_EQ(v.get<double>(), std::get<double>(cell));
            else if (std::holds_alternative<int64_t>(cell))
                EXPECT_EQ(v.get<int64_t>(), std::get<int64_t>(cell));
            else
                EXPECT_TRUE(v.is_null());
        }
    }
    EXPECT_EQ(toJson(ExportTable{{"a"}, {}}), "[]\n");
    // JSON has no NaN: a non-finite number becomes null rather than invalid text.
    const auto bad = nlohmann::json::parse(toJson(ExportTable{{"x"}, {{std::nan("")}}}));
    EXPECT_TRUE(bad[0]["x"].is_null());
}

TEST(Export, CsvQuoting)
{
    EXPECT_EQ(csvField("plain text"), "plain text");
    EXPECT_EQ(csvField("a,b"), "\"a,b\"");
    EXPECT_EQ(csvField("say \"hi\""), "\"say \"\"hi\"\"\"");
    EXPECT_EQ(csvField("two\nlines"), "\"two\nlines\"");
    EXPECT_EQ(csvField("cr\r"), "\"cr\r\"");
    EXPECT_EQ(csvField(""), "");
}

TEST(Export, LatexEscapesEverySpecial)
{
    EXPECT_EQ(latexEscape("a&b%c$d#e_f{g}h"), "a\\&b\\%c\\$d\\#e\\_f\\{g\\}h");
    EXPECT_EQ(latexEscape("~^\\"), "\\textasciitilde{}\\textasciicircum{}\\textbackslash{}");
    EXPECT_EQ(latexEscape("x\n\ny"), "x  y");
    EXPECT_EQ(latexEscape("模型 — é"), "模型 — é");
}

TEST(Export, SignificantDigits)
{
    EXPECT_EQ(formatSignificant(12.3456789, 4), "12.35");
    EXPECT_EQ(formatSignificant(9.9996, 4), "10.00"); // rounding moves to the next decade
    EXPECT_EQ(formatSignificant(0.00123456, 3), "0.00123");
    EXPECT_EQ(formatSignificant(1.234567e-5, 4), "1.235e-05");
    EXPECT_EQ(formatSignificant(-2.5, 4), "-2.500");
    EXPECT_EQ(formatSignificant(1234567.0, 4), "1234567");
    EXPECT_EQ(formatSignificant(0.0, 4), "0");
    EXPECT_EQ(formatSignificant(1e20, 2), "1.0e+20");
    EXPECT_THROW(formatSignificant(1.0, 0), ptq::Error);
    EXPECT_THROW(toLatex(ExportTable{{"a"}, {}}, 18), ptq::Error);
}

TEST(Export, RaggedTableIsAnError)
{
    const ExportTable t{{"a", "b"}, {{int64_t{1}}}};
    EXPECT_THROW(toCsv(t), ptq::Error);
    EXPECT_THROW(toJson(t), ptq::Error);
    EXPECT_THROW(toLatex(t), ptq::Error);
}

TEST(Export, FormatNames)
{
    EXPECT_EQ(parseExportFormat("csv"), ExportFormat::Csv);
    EXPECT_EQ(parseExportFormat("json"), ExportFormat::Json);
    EXPECT_EQ(parseExportFormat("latex"), ExportFormat::Latex);
    EXPECT_EQ(exportFormatExtension(ExportFormat::Latex), ".tex");
    try {
        parseExportFormat("xlsx", "--format");
        ADD_FAILURE() << "no error";
    } catch (const ptq::Error& e) {
        EXPECT_NE(std::string(e.what()).find("xlsx"), std::string::npos) << e.what();
    }
}

TEST(Export, AtomicWriteReplacesAndLeavesNoTemporaries)
{
    ptq::test::TempDir dir("ptq-export");
    const std::string path = dir.file("table.csv");
    writeFileAtomically(path, "first\n");
    EXPECT_EQ(readFile(path), "first\n");
    writeFileAtomically(path, std::string(100000, 'x'));
    EXPECT_EQ(readFile(path), std::string(100000, 'x'));
    int files = 0;
    for (const auto& e : fs::directory_iterator(dir.path())) {
        (void)e;
        ++files;
    }
    EXPECT_EQ(files, 1); // the temporary file was renamed, not left behind
    try {
        writeFileAtomically(dir.file("missing/table.csv"), "x");
        ADD_FAILURE() << "no error";
    } catch (const ptq::Error& e) {
        EXPECT_NE(std::string(e.what()).find("missing/table.csv"), std::string::npos) << e.what();
    }
}
