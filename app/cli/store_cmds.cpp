// ptqbench runs list|show|interrupt and ptqbench merge: reading and combining results stores.

#include "analysis/export.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "store/results_store.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

namespace ptq::cli {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

json parsedOr(const std::string& text)
{
    const json j = json::parse(text, nullptr, false);
    return j.is_discarded() ? json(text) : j;
}

std::unique_ptr<ResultsStore> openForReading(const std::string& path)
{
    if (!fs::exists(path))
        throw Error(path, "results store",
                    "no such file (run a sweep first, or pass --db FILE or set PTQ_STORE)");
    return std::make_unique<ResultsStore>(path, ResultsStore::Mode::ReadOnly);
}

std::map<std::string, std::string> datasetPaths(const ResultsStore& store)
{
    std::map<std::string, std::string> out;
    for (const auto& d : store.datasets())
        out[d.sha256] = d.path;
    return out;
}

// The first evaluation text of a run: its headline perplexity and KL are measured there.
std::string firstEvalDataset(const RunRecord& r)
{
    const json e = json::parse(r.spec.evalJson, nullptr, false);
    if (e.is_object() && e.contains("datasets") && e["datasets"].is_array() &&
        !e["datasets"].empty() && e["datasets"][0].is_string())
        return e["datasets"][0].get<std::string>();
    return "";
}

const MetricValue* findMetric(const RunRecord& r, const std::string& name, const std::string& sha)
{
    for (const auto& m : r.metrics)
        if (m.name == name && m.datasetSha256 == sha)
            return &m;
    return nullptr;
}

json runJson(const RunRecord& r, const std::map<std::string, std::string>& paths)
{
    json metrics = json::array();
    for (const auto& m : r.metrics) {
        const auto it = paths.find(m.datasetSha256);
        metrics.push_back({{"name", m.name},
                           {"dataset", m.datasetSha256},
                           {"dataset_path", it == paths.end() ? "" : it->second},
                           {"value", m.value}});
    }
    return {{"id", r.id},
            {"fingerprint", r.fingerprint},
            {"status", runStatusName(r.status)},
            {"error", r.error},
            {"model", r.modelName},
            {"model_fingerprint", r.spec.modelFingerprint},
            {"model_parameters", r.modelParameters},
            {"recipe", r.spec.recipeName},
            {"recipe_json", parsedOr(r.spec.recipeJson)},
            {"wbits", r.spec.wbits},
            {"group_size", r.spec.groupSize},
            {"abits", r.spec.abits},
            {"kvbits", r.spec.kvbits},
            {"seed", r.spec.seed},
            {"calib", parsedOr(r.spec.calibJson)},
            {"eval", parsedOr(r.spec.evalJson)},
            {"created_at", r.createdAt},
            {"started_at", r.startedAt},
            {"finished_at", r.finishedAt},
            {"quantize_seconds", r.quantizeSeconds},
            {"eval_seconds", r.evalSeconds},
            {"packed_bytes", r.packedBytes},
            {"fp16_bytes", r.fp16Bytes},
            {"bits_per_weight", r.bitsPerWeight},
            {"engine_version", r.engineVersion},
            {"engine_commit", r.engineCommit},
            {"metrics", metrics}};
}

std::string groupText(int64_t g)
{
    return g == 0 ? "chan" : g < 0 ? "tensor" : std::to_string(g);
}

void printRunTable(const std::vector<RunRecord>& runs)
{
    std::printf("%5s  %-11s %-16s %-16s %2s %6s %3s %3s %8s %10s %10s  %s\n", "id", "status",
                "model", "recipe", "w", "group", "a", "kv", "bits/w", "ppl", "kl_mean", "finished");
    for (const auto& r : runs) {
        const std::string sha = firstEvalDataset(r);
        const MetricValue* ppl = findMetric(r, "perplexity", sha);
        const MetricValue* kl = findMetric(r, "kl_mean", sha);
        char pplText[32] = "-", klText[32] = "-", bpw[32] = "-";
        if (ppl)
            std::snprintf(pplText, sizeof pplText, "%.4f", ppl->value);
        if (kl)
            std::snprintf(klText, sizeof klText, "%.6f", kl->value);
        if (r.status == RunStatus::Done)
            std::snprintf(bpw, sizeof bpw, "%.3f", r.bitsPerWeight);
        std::printf("%5lld  %-11s %-16s %-16s %2d %6s %3d %3d %8s %10s %10s  %s\n",
                    static_cast<long long>(r.id), runStatusName(r.status).c_str(),
                    r.modelName.c_str(), r.spec.recipeName.c_str(), r.spec.wbits,
                    groupText(r.spec.groupSize).c_str(), r.spec.abits, r.spec.kvbits, bpw, pplText,
                    klText, r.finishedAt.c_str());
    }
    std::printf("%zu run(s)\n", runs.size());
}

int runsList(const std::vector<std::string>& args)
{
    Args a(args, {"db", "status", "recipe"}, {"json"});
    auto store = openForReading(a.str("db", ResultsStore::defaultPath()));
    RunFilter filter;
    if (a.has("status"))
        filter.status = parseRunStatus(a.str("status"), "--status");
    filter.recipeName = a.str("recipe", "");
    const auto runs = store->listRuns(filter);
    if (a.flag("json")) {
        const auto paths = datasetPaths(*store);
        json out = json::array();
        for (const auto& r : runs)
            out.push_back(runJson(r, paths));
        std::cout << out.dump(2) << "\n";
    } else {
        printRunTable(runs);
    }
    return 0;
}

int64_t parseRunId(const std::string& s)
{
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || v <= 0)
        throw UsageError("expected a run id (a positive integer), got '" + s + "'");
    return v;
}

json layersJson(const ResultsStore& store, int64_t id)
{
    return json::parse(toJson(layerErrorsTable(store.layerErrors(id))));
}

void printRun(const ResultsStore& store, const RunRecord& r, bool withLayers)
{
    const auto paths = datasetPaths(store);
    std::printf("run           %lld (%s)\n", static_cast<long long>(r.id),
                runStatusName(r.status).c_str());
    std::printf("fingerprint   %s\n", r.fingerprint.c_str());
    std::printf("model         %s (%lld parameters, %s)\n", r.modelName.c_str(),
                static_cast<long long>(r.modelParameters), r.spec.modelFingerprint.c_str());
    std::printf("recipe        %s\n", r.spec.recipeJson.c_str());
    std::printf("grid          w%d group %s a%d kv%d seed %llu\n", r.spec.wbits,
                groupText(r.spec.groupSize).c_str(), r.spec.abits, r.spec.kvbits,
                static_cast<unsigned long long>(r.spec.seed));
    std::printf("calibration   %s\nevaluation    %s\n", r.spec.calibJson.c_str(),
                r.spec.evalJson.c_str());
    std::printf("times         created %s, started %s, finished %s\n", r.createdAt.c_str(),
                r.startedAt.c_str(), r.finishedAt.c_str());
    if (!r.error.empty())
        std::printf("error         %s\n", r.error.c_str());
    if (r.status == RunStatus::Done)
        std::printf("size          %.4f bits/weight, %llu bytes packed, %llu bytes fp16; "
                    "quantize %.2f s, evaluate %.2f s\n",
                    r.bitsPerWeight, static_cast<unsigned long long>(r.packedBytes),
                    static_cast<unsigned long long>(r.fp16Bytes), r.quantizeSeconds, r.evalSeconds);
    for (const auto& m : r.metrics) {
        const auto it = paths.find(m.datasetSha256);
        std::printf("  %-16s %14.6f  %s\n", m.name.c_str(), m.value,
                    m.datasetSha256.empty() ? ""
                    : it != paths.end()     ? it->second.c_str()
                                            : m.datasetSha256.c_str());
    }
    if (!withLayers)
        return;
    std::printf("\n%5s  %-18s %4s %6s %12s %12s %12s %10s\n", "block", "layer", "bits", "group",
                "rel W err", "output err", "max |dW|", "bytes");
    for (const auto& l : store.layerErrors(r.id))
        std::printf("%5lld  %-18s %4d %6s %12.4e %12.4e %12.4e %10llu\n",
                    static_cast<long long>(l.block), l.layer.c_str(), l.bits,
                    groupText(l.groupSize).c_str(), l.relWeightError, l.outputError, l.maxAbsError,
                    static_cast<unsigned long long>(l.bytes));
    for (const auto& b : store.blockErrors(r.id))
        std::printf("block %lld output error %.4e (%.2f s)\n", static_cast<long long>(b.block),
                    b.outputError, b.seconds);
}

int runsShow(const std::vector<std::string>& args)
{
    std::vector<std::string> argv = args;
    const auto positionals = takePositionals(argv, {"db"});
    Args a(argv, {"db"}, {"layers", "json"});
    if (positionals.size() != 1)
        throw UsageError("runs show needs exactly one run id");
    const int64_t id = parseRunId(positionals[0]);
    auto store = openForReading(a.str("db", ResultsStore::defaultPath()));
    const auto run = store->run(id);
    if (!run)
        throw Error(store->path(), "run " + std::to_string(id), "no such run");
    if (a.flag("json")) {
        json out = runJson(*run, datasetPaths(*store));
        if (a.flag("layers")) {
            out["layers"] = layersJson(*store, id);
            json blocks = json::array();
            for (const auto& b : store->blockErrors(id))
                blocks.push_back(
                    {{"block", b.block}, {"output_error", b.outputError}, {"seconds", b.seconds}});
            out["blocks"] = blocks;
        }
        std::cout << out.dump(2) << "\n";
    } else {
        printRun(*store, *run, a.flag("layers"));
    }
    return 0;
}

// Marks runs left 'running' interrupted, so that the next sweep or "Resume" runs them again:
// the given ids (any process, for runs of a machine that went away), or --stale (those whose
// process on this machine is gone; sweeps do this by themselves).
int runsInterrupt(const std::vector<std::string>& args)
{
    std::vector<std::string> argv = args;
    const auto positionals = takePositionals(argv, {"db"});
    Args a(argv, {"db"}, {"stale"});
    if (positionals.empty() == !a.flag("stale"))
        throw UsageError("runs interrupt needs run ids, or --stale");
    ResultsStore store(a.str("db", ResultsStore::defaultPath()));
    if (a.flag("stale")) {
        std::printf("%lld run(s) marked interrupted\n",
                    static_cast<long long>(store.markStaleRunsInterrupted()));
        return 0;
    }
    for (const auto& p : positionals) {
        const int64_t id = parseRunId(p);
        const auto run = store.run(id);
        if (!run)
            throw Error(store.path(), "run " + std::to_string(id), "no such run");
        if (run->status != RunStatus::Running)
            throw Error(store.path(), "run " + std::to_string(id),
                        "is " + runStatusName(run->status) + ", not running");
        store.interruptRun(id);
        std::printf("run %lld (was running in %s) marked interrupted\n", static_cast<long long>(id),
                    store::describeOwner(runOwner(*run)).c_str());
    }
    return 0;
}

} // namespace

std::vector<std::string> takePositionals(std::vector<std::string>& argv,
                                         const std::set<std::string>& valueOptions)
{
    std::vector<std::string> positionals, rest;
    for (std::size_t i = 0; i < argv.size(); ++i) {
        const std::string& t = argv[i];
        if (t == "-o") {
            rest.push_back("--out");
            if (i + 1 < argv.size())
                rest.push_back(argv[++i]);
            continue;
        }
        if (t.rfind("--", 0) != 0) {
            positionals.push_back(t);
            continue;
        }
        rest.push_back(t);
        const std::string key = t.substr(2);
        if (valueOptions.count(key) && i + 1 < argv.size())
            rest.push_back(argv[++i]);
    }
    argv = rest;
    return positionals;
}

int runRunsCommand(const std::vector<std::string>& args)
{
    if (args.empty())
        throw UsageError("runs needs a subcommand: list, show or interrupt");
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    if (args[0] == "list")
        return runsList(rest);
    if (args[0] == "show")
        return runsShow(rest);
    if (args[0] == "interrupt")
        return runsInterrupt(rest);
    throw UsageError("unknown runs subcommand '" + args[0] + "' (list, show, interrupt)");
}

int runMerge(const std::vector<std::string>& args)
{
    std::vector<std::string> argv = args;
    const auto inputs = takePositionals(argv, {"out"});
    Args a(argv, {"out"}, {});
    const std::string outPath = a.str("out");
    if (inputs.empty())
        throw UsageError("merge needs at least one input store: merge A.db B.db ... -o C.db");
    for (const auto& in : inputs) {
        if (!fs::exists(in))
            throw Error(in, "results store", "no such file");
        std::error_code ec;
        if (fs::exists(outPath) && fs::equivalent(in, outPath, ec))
            throw Error(in, "results store", "is also the output; merge into another file");
    }
    ResultsStore out(outPath);
    for (const auto& in : inputs) {
        const ResultsStore source(in, ResultsStore::Mode::ReadOnly);
        const MergeReport r = out.mergeFrom(source);
        std::printf("%s: %lld added, %lld updated, %lld skipped\n", in.c_str(),
                    static_cast<long long>(r.runsAdded), static_cast<long long>(r.runsUpdated),
                    static_cast<long long>(r.runsSkipped));
    }
    std::printf("merged %zu store(s) into %s\n", inputs.size(), out.path().c_str());
    return 0;
}

} // namespace ptq::cli
