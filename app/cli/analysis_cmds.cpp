// ptqbench pareto / export: thin clients of core/analysis/pareto.h and core/analysis/export.h over
// a results store.

#include "cli/analysis_cmds.h"

#include "analysis/export.h"
#include "analysis/pareto.h"
#include "cli/args.h"
#include "store/results_store.h"
#include "util/error.h"
#include "util/sha256.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

namespace ptq::cli {

namespace {

namespace fs = std::filesystem;

double realOption(const Args& a, const std::string& key)
{
    const std::string s = a.str(key);
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v) || v < 0)
        throw UsageError("option --" + key + " expects a number >= 0, got '" + s + "'");
    return v;
}

// --model accepts a fingerprint, a unique fingerprint prefix or a model name.
std::string resolveModel(const ResultsStore& store, const std::string& wanted)
{
    std::map<std::string, std::string> matches; // fingerprint -> name
    for (const auto& m : store.models())
        if (m.fingerprint == wanted)
            return m.fingerprint;
    for (const auto& m : store.models())
        if (m.name == wanted || m.fingerprint.rfind(wanted, 0) == 0)
            matches[m.fingerprint] = m.name;
    if (matches.size() == 1)
        return matches.begin()->first;
    std::string list;
    for (const auto& [fp, name] : matches)
        list += "\n  " + fp + "  " + name;
    if (matches.empty())
        throw Error(store.path(), "model " + wanted, "no model with this name or fingerprint");
    throw Error(store.path(), "model " + wanted,
                "several models match; give the fingerprint:" + list);
}

std::string readWholeFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (!in && !in.eof())
        throw Error(path, "dataset", "cannot read it");
    return ss.str();
}

// --dataset accepts a sha256 (or prefix, resolved later against the runs), the path the
// dataset was recorded under, or a file whose contents hash to a recorded dataset.
std::string resolveDataset(const ResultsStore& store, const std::string& wanted)
{
    if (wanted.empty())
        return wanted;
    std::error_code ec;
    const fs::path asPath = fs::weakly_canonical(wanted, ec);
    for (const auto& d : store.datasets()) {
        if (d.path == wanted)
            return d.sha256;
        std::error_code ec2;
        if (!ec && !d.path.empty() && fs::weakly_canonical(d.path, ec2) == asPath && !ec2)
            return d.sha256;
    }
    if (fs::is_regular_file(wanted, ec))
        return sha256Hex(readWholeFile(wanted));
    return wanted;
}

std::string megabytes(uint64_t bytes)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(bytes) / 1e6);
    return buf;
}

void printFront(const ParetoGroupFront& g, const std::vector<RunRecord>& runs,
                const std::string& metric)
{
    std::printf("\nfront: %s (%zu of %zu runs)\n", g.label.c_str(), g.front.size(),
                g.points.size());
    std::printf("%6s  %-20s %-18s %5s %6s %8s %11s %12s\n", "run", "model", "recipe", "wbits",
                "group", "bpw", "size MB", metric.c_str());
    for (size_t i : g.front) {
        const RunRecord& r = runs[g.points[i].runIndex];
        std::printf("%6lld  %-20s %-18s %5d %6lld %8.4f %11s %12.6g\n",
                    static_cast<long long>(r.id), r.modelName.c_str(), r.spec.recipeName.c_str(),
                    r.spec.wbits, static_cast<long long>(r.spec.groupSize), r.bitsPerWeight,
                    megabytes(r.packedBytes).c_str(), g.points[i].y);
    }
}

nlohmann::json runJson(const RunRecord& r)
{
    return {{"run_id", r.id},
            {"model", r.modelName},
            {"model_fingerprint", r.spec.modelFingerprint},
            {"parameters", r.modelParameters},
            {"recipe", r.spec.recipeName},
            {"wbits", r.spec.wbits},
            {"group", r.spec.groupSize},
            {"abits", r.spec.abits},
            {"kvbits", r.spec.kvbits},
            {"bits_per_weight", r.bitsPerWeight},
            {"packed_bytes", r.packedBytes}};
}

nlohmann::json frontsJson(const ParetoResult& res, const std::vector<RunRecord>& runs)
{
    nlohmann::json groups = nlohmann::json::array();
    for (const auto& g : res.groups) {
        nlohmann::json front = nlohmann::json::array();
        for (size_t i : g.front) {
            nlohmann::json p = runJson(runs[g.points[i].runIndex]);
            p["x"] = g.points[i].x;
            p["value"] = g.points[i].y;
            front.push_back(p);
        }
        groups.push_back(
            {{"key", g.key}, {"label", g.label}, {"points", g.points.size()}, {"front", front}});
    }
    return {{"metric", res.metric},
            {"dataset", res.datasetSha256},
            {"x", sizeAxisName(res.x)},
            {"better", res.direction == Direction::Minimize ? "lower" : "higher"},
            {"groups", groups},
            {"warnings", res.warnings}};
}

nlohmann::json budgetJson(const std::optional<BudgetPick>& pick, const std::vector<RunRecord>& runs,
                          double budgetMb)
{
    nlohmann::json j = {{"budget_mb", budgetMb}, {"best", nullptr}};
    if (pick) {
        j["best"] = runJson(runs[pick->runIndex]);
        j["best"]["value"] = pick->value;
    }
    return j;
}

nlohmann::json isoJson(const std::vector<IsoSizePair>& pairs, const std::vector<RunRecord>& runs)
{
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : pairs) {
        nlohmann::json larger = runJson(runs[p.largerRunIndex]);
        larger["value"] = p.largerValue;
        nlohmann::json smaller = runJson(runs[p.smallerRunIndex]);
        smaller["value"] = p.smallerValue;
        out.push_back({{"larger", larger},
                       {"smaller", smaller},
                       {"relative_size_gap", p.relativeSizeGap},
                       {"winner", isoSizeWinnerName(p.winner)}});
    }
    return out;
}

void printBudget(const std::optional<BudgetPick>& pick, const std::vector<RunRecord>& runs,
                 double budgetMb, const std::string& metric)
{
    if (!pick) {
        std::printf("\nbest under %.3f MB: no finished run fits\n", budgetMb);
        return;
    }
    const RunRecord& r = runs[pick->runIndex];
    std::printf("\nbest under %.3f MB: run %lld (%s, %s w%d), %s MB, %s %.6g\n", budgetMb,
                static_cast<long long>(r.id), r.modelName.c_str(), r.spec.recipeName.c_str(),
                r.spec.wbits, megabytes(r.packedBytes).c_str(), metric.c_str(), pick->value);
}

void printIso(const std::vector<IsoSizePair>& pairs, const std::vector<RunRecord>& runs,
              double tolerance, const std::string& metric)
{
    std::printf("\niso-size pairs (sizes within %.1f%%, larger model at fewer bits): %zu\n",
                100.0 * tolerance, pairs.size());
    if (pairs.empty())
        return;
    std::printf("%-28s %9s %12s   %-28s %9s %12s  %s\n", "larger model (run, bpw)", "size MB",
                metric.c_str(), "smaller model (run, bpw)", "size MB", metric.c_str(), "winner");
    const auto side = [](const RunRecord& r) {
        char buf[128];
        std::snprintf(buf, sizeof buf, "%s (%lld, %.2f)", r.modelName.c_str(),
                      static_cast<long long>(r.id), r.bitsPerWeight);
        return std::string(buf);
    };
    for (const auto& p : pairs) {
        const RunRecord& l = runs[p.largerRunIndex];
        const RunRecord& s = runs[p.smallerRunIndex];
        std::printf("%-28s %9s %12.6g   %-28s %9s %12.6g  %s\n", side(l).c_str(),
                    megabytes(p.largerBytes).c_str(), p.largerValue, side(s).c_str(),
                    megabytes(p.smallerBytes).c_str(), p.smallerValue,
                    isoSizeWinnerName(p.winner).c_str());
    }
}

ParetoGrouping groupingFrom(const Args& a)
{
    if (a.flag("per-model"))
        return a.flag("per-recipe") ? ParetoGrouping::PerModelRecipe : ParetoGrouping::PerModel;
    return a.flag("per-recipe") ? ParetoGrouping::PerRecipe : ParetoGrouping::All;
}

} // namespace

int runPareto(const std::vector<std::string>& args)
{
    Args a(args, {"db", "metric", "dataset", "x", "model", "budget-mb", "iso-size"},
           {"per-recipe", "per-model", "json"});
    const ResultsStore store(a.str("db", ResultsStore::defaultPath()),
                             ResultsStore::Mode::ReadOnly);
    ParetoQuery q;
    q.metric = a.str("metric");
    q.x = parseSizeAxis(a.str("x", "bytes"), "--x");
    q.source = store.path();
    metricDirection(q.metric); // an unknown metric fails before any query
    q.dataset = resolveDataset(store, a.str("dataset", ""));

    RunFilter filter;
    filter.status = RunStatus::Done;
    if (a.has("model"))
        filter.modelFingerprint = resolveModel(store, a.str("model"));
    const std::vector<RunRecord> runs = store.listRuns(filter);

    const ParetoResult res = paretoFronts(runs, q, groupingFrom(a));
    const double budgetMb = a.has("budget-mb") ? realOption(a, "budget-mb") : 0;
    std::optional<BudgetPick> pick;
    if (a.has("budget-mb"))
        pick = bestUnderBudget(runs, q, static_cast<uint64_t>(std::floor(budgetMb * 1e6)));
    const double tolerance = a.has("iso-size") ? realOption(a, "iso-size") : 0;
    std::vector<IsoSizePair> iso;
    if (a.has("iso-size"))
        iso = isoSizeComparison(runs, q, tolerance);

    if (a.flag("json")) {
        nlohmann::json j = frontsJson(res, runs);
        if (a.has("budget-mb"))
            j["budget"] = budgetJson(pick, runs, budgetMb);
        if (a.has("iso-size"))
            j["iso_size"] = isoJson(iso, runs);
        std::cout << j.dump(2) << "\n";
        return 0;
    }
    std::printf("metric %s (%s is better) on dataset %s, x = %s\n", res.metric.c_str(),
                res.direction == Direction::Minimize ? "lower" : "higher",
                res.datasetSha256.empty() ? "(none)" : res.datasetSha256.c_str(),
                res.x == SizeAxis::Bytes         ? "packed size"
                : res.x == SizeAxis::ActiveBytes ? "packed size one token reads"
                                                 : "bits per weight");
    for (const auto& w : res.warnings)
        std::printf("warning: %s\n", w.c_str());
    for (const auto& g : res.groups)
        printFront(g, runs, res.metric);
    if (a.has("budget-mb"))
        printBudget(pick, runs, budgetMb, res.metric);
    if (a.has("iso-size"))
        printIso(iso, runs, tolerance, res.metric);
    return 0;
}

int runExport(const std::vector<std::string>& args)
{
    std::vector<std::string> argv = args;
    for (auto& s : argv)
        if (s == "-o")
            s = "--out";
    Args a(argv, {"db", "format", "out", "status", "recipe", "layers"}, {});
    const ExportFormat format = parseExportFormat(a.str("format", "csv"), "--format");
    const bool toFile = a.has("out");
    ResultsStore store(a.str("db", ResultsStore::defaultPath()),
                       toFile ? ResultsStore::Mode::ReadWrite : ResultsStore::Mode::ReadOnly);

    ExportTable table;
    std::optional<int64_t> artifactRun;
    std::string kind;
    if (a.has("layers")) {
        if (a.has("status") || a.has("recipe"))
            throw UsageError("--layers exports one run; --status and --recipe do not apply");
        const int64_t id = a.integer("layers", 0, 1, INT64_MAX);
        if (!store.run(id))
            throw Error(store.path(), "run " + std::to_string(id), "no such run");
        table = layerErrorsTable(store.layerErrors(id));
        artifactRun = id;
        kind = "layers-" + exportFormatName(format);
    } else {
        RunFilter filter;
        if (a.has("status"))
            filter.status = parseRunStatus(a.str("status"), "--status");
        filter.recipeName = a.str("recipe", "");
        table = runsTable(store.listRuns(filter));
        kind = "runs-" + exportFormatName(format);
    }
    const std::string text = formatTable(table, format);
    if (!toFile) {
        std::cout << text;
        return 0;
    }
    const std::string out = fs::absolute(a.str("out")).lexically_normal().string();
    writeFileAtomically(out, text);
    store.addArtifact(artifactRun, kind, out);
    std::fprintf(stderr, "wrote %zu rows to %s\n", table.rows.size(), out.c_str());
    return 0;
}

} // namespace ptq::cli
