#include "engine/sweep.h"

#include "engine/threads.h"
#include "eval/zeroshot.h"
#include "model/checkpoint.h"
#include "model/checkpoint_fingerprint.h"
#include "quant/registry.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/file_io.h"
#include "util/json_object.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace ptq {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string resolve(const std::string& path, const std::string& baseDir)
{
    if (baseDir.empty() || path.empty() || fs::path(path).is_absolute())
        return path;
    return (fs::path(baseDir) / path).lexically_normal().string();
}

bool isRecipeFile(const std::string& s)
{
    return s.size() > 5 && s.compare(s.size() - 5, 5, ".json") == 0;
}

void readCalib(JsonObject& top, SweepSpec& s, const std::string& baseDir)
{
    const json* c = top.find("calib");
    if (!c)
        throw Error(s.source, "calib", "required: {\"path\": FILE, \"samples\": N, \"seqlen\": N}");
    JsonObject o(*c, s.source, "calib");
    s.calib.path = resolve(o.string("path", ""), baseDir);
    if (s.calib.path.empty())
        throw Error(s.source, "calib.path", "required: the calibration text file");
    s.calib.samples = o.integer("samples", 128, 1, 1 << 20);
    s.calib.seqlen = o.integer("seqlen", 2048, 2, 1 << 20);
    o.finish();
}

void readEval(JsonObject& top, SweepSpec& s, const std::string& baseDir)
{
    const json* e = top.find("eval");
    if (!e)
        throw Error(s.source, "eval", "required: {\"texts\": [FILE...], \"tasks\": [...]}");
    JsonObject o(*e, s.source, "eval");
    for (const auto& t : o.strings("texts"))
        s.eval.texts.push_back(resolve(t, baseDir));
    s.eval.seqlen = o.integer("seqlen", 2048, 2, 1 << 20);
    s.eval.windows = o.integer("windows", 0, 0, 1 << 30);
    const json& tasks = o.array("tasks");
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        JsonObject t(tasks[i], s.source, "eval.tasks[" + std::to_string(i) + "]");
        TaskFileSpec task;
        task.path = resolve(t.string("path", ""), baseDir);
        if (task.path.empty())
            throw Error(s.source, t.where("path"), "required: the JSONL task file");
        task.layout = t.string("layout", "generic");
        task.examples = t.integer("examples", 0, 0, 1 << 30);
        t.finish();
        s.eval.tasks.push_back(task);
    }
    o.finish();
    if (s.eval.texts.empty() && s.eval.tasks.empty())
        throw Error(s.source, "eval", "needs at least one text or task to evaluate on");
}

std::vector<int> toInts(const std::vector<int64_t>& v)
{
    return std::vector<int>(v.begin(), v.end());
}

} // namespace

SweepSpec SweepSpec::fromJson(const json& j, const std::string& source, const std::string& baseDir)
{
    SweepSpec s;
    s.source = source;
    JsonObject top(j, source, "");
    for (const auto& m : top.strings("models"))
        s.models.push_back(resolve(m, baseDir));
    if (s.models.empty())
        throw Error(source, "models", "required: a non-empty list of checkpoint folders");
    const json& recipes = top.array("recipes");
    for (std::size_t i = 0; i < recipes.size(); ++i) {
        const json& r = recipes[i];
        const std::string at = "recipes[" + std::to_string(i) + "]";
        if (r.is_object())
            s.recipes.push_back(r.dump()); // inline recipe, parsed by expandSweep
        else if (r.is_string() && !r.get<std::string>().empty())
            s.recipes.push_back(isRecipeFile(r.get<std::string>())
                                    ? resolve(r.get<std::string>(), baseDir)
                                    : r.get<std::string>());
        else
            throw Error(source, at, "must be a recipe name, a .json file or a recipe object");
    }
    if (s.recipes.empty())
        throw Error(source, "recipes", "required: a non-empty list of recipes");
    // Ranges here are the spec's syntax; planSweep reports values the engine cannot run.
    s.wbits = toInts(top.integers("wbits", 1, 64));
    s.groups = top.integers("groups", -1, int64_t(1) << 30);
    s.abits = toInts(top.integers("abits", 1, 64));
    s.kvbits = toInts(top.integers("kvbits", 1, 64));
    readCalib(top, s, baseDir);
    readEval(top, s, baseDir);
    s.seed = static_cast<uint64_t>(top.integer("seed", 0, 0, INT64_MAX));
    s.threads = static_cast<int>(top.integer("threads", 0, 0, 1024));
    top.finish();
    return s;
}

SweepSpec SweepSpec::fromFile(const std::string& path)
{
    return fromJson(readJsonFile(path, "sweep spec"), path, fs::path(path).parent_path().string());
}

namespace {

Recipe loadRecipe(const std::string& entry, const std::string& source)
{
    if (!entry.empty() && entry.front() == '{')
        return Recipe::fromJson(json::parse(entry), source + " (inline recipe)");
    return Recipe::fromNameOrFile(entry);
}

// Applies one grid point to a recipe; 16 removes activation / KV quantization.
Recipe applyGrid(Recipe r, std::optional<int> wbits, std::optional<int64_t> group,
                 std::optional<int> abits, std::optional<int> kvbits)
{
    if (wbits)
        r.weightGrid.bits = *wbits;
    if (group)
        r.weightGrid.groupSize = *group;
    if (abits) {
        ActQuantSpec a = r.activations.value_or(ActQuantSpec{});
        a.bits = *abits;
        r.activations = a;
        if (*abits >= 16)
            r.activations.reset();
    }
    if (kvbits) {
        KvQuantSpec k = r.kv.value_or(KvQuantSpec{});
        k.bits = *kvbits;
        r.kv = k;
        if (*kvbits >= 16)
            r.kv.reset();
    }
    return r;
}

template <typename T> std::vector<std::optional<T>> axis(const std::vector<T>& values)
{
    if (values.empty())
        return {std::nullopt};
    return std::vector<std::optional<T>>(values.begin(), values.end());
}

std::string runLabel(const std::string& modelDir, const Recipe& r)
{
    std::string name = fs::path(modelDir).lexically_normal().filename().string();
    if (name.empty())
        name = fs::path(modelDir).lexically_normal().parent_path().filename().string();
    const int64_t g = r.weightGrid.groupSize;
    std::string label = name + " " + r.name + " w" + std::to_string(r.weightGrid.bits) +
                        (g == 0  ? " per-channel"
                         : g < 0 ? " per-tensor"
                                 : " g" + std::to_string(g));
    if (r.activations)
        label += " a" + std::to_string(r.activations->bits);
    if (r.kv)
        label += " kv" + std::to_string(r.kv->bits);
    return label;
}

} // namespace

std::vector<PlannedRun> expandSweep(const SweepSpec& spec)
{
    std::vector<Recipe> recipes;
    for (const auto& entry : spec.recipes)
        recipes.push_back(loadRecipe(entry, spec.source));
    std::vector<PlannedRun> out;
    for (const auto& model : spec.models)
        for (const auto& recipe : recipes)
            for (const auto& w : axis(spec.wbits))
                for (const auto& g : axis(spec.groups))
                    for (const auto& a : axis(spec.abits))
                        for (const auto& kv : axis(spec.kvbits)) {
                            PlannedRun p;
                            p.request.modelDir = model;
                            p.request.recipe = applyGrid(recipe, w, g, a, kv);
                            p.request.calib = spec.calib;
                            p.request.eval = spec.eval;
                            p.request.seed = spec.seed;
                            p.label = runLabel(model, p.request.recipe);
                            out.push_back(std::move(p));
                        }
    return out;
}

namespace {

void checkBitsAxis(const std::vector<int>& values, const std::string& key, bool allow16,
                   std::vector<std::string>& problems)
{
    for (int b : values)
        if ((b < 2 || b > 8) && !(allow16 && b == 16))
            problems.push_back(key + " " + std::to_string(b) + " is outside 2..8" +
                               (allow16 ? " (16 = not quantized)" : ""));
}

// The input widths of a model's quantized linears: q/k/v/gate/up read hidden_size, o_proj
// reads heads x head_dim, down_proj reads intermediate_size.
void checkInputFiles(const SweepSpec& spec, std::vector<std::string>& problems)
{
    std::vector<std::string> files = {spec.calib.path};
    files.insert(files.end(), spec.eval.texts.begin(), spec.eval.texts.end());
    for (const auto& t : spec.eval.tasks) {
        files.push_back(t.path);
        try {
            taskPreset(t.layout);
        } catch (const Error& e) {
            problems.push_back(e.what());
        }
    }
    for (const auto& f : files) {
        try {
            fileSha256(f);
        } catch (const Error& e) {
            problems.push_back(e.what());
        }
    }
}

std::string joinProblems(const std::vector<std::string>& problems)
{
    std::string out = std::to_string(problems.size()) +
                      (problems.size() == 1 ? " problem" : " problems") + ", nothing was run:";
    for (const auto& p : problems)
        out += "\n  - " + p;
    return out;
}

} // namespace

std::vector<PlannedRun> planSweep(const SweepSpec& spec)
{
    std::map<std::string, std::string> fingerprints;
    return planSweep(spec, fingerprints);
}

std::vector<PlannedRun> planSweep(const SweepSpec& spec,
                                  std::map<std::string, std::string>& fingerprints)
{
    std::vector<std::string> problems;
    checkBitsAxis(spec.wbits, "wbits", false, problems);
    checkBitsAxis(spec.abits, "abits", true, problems);
    checkBitsAxis(spec.kvbits, "kvbits", true, problems);
    for (int64_t g : spec.groups)
        if (g < -1 || g == 1)
            problems.push_back("group " + std::to_string(g) +
                               " is invalid (-1 per tensor, 0 per channel, or at least 2)");
    checkInputFiles(spec, problems);
    for (const auto& entry : spec.recipes) {
        try {
            loadRecipe(entry, spec.source);
        } catch (const Error& e) {
            problems.push_back(e.what());
        } catch (const json::exception& e) {
            problems.push_back(spec.source + ": inline recipe: " + e.what());
        }
    }
    std::map<std::string, std::shared_ptr<const Checkpoint>> checkpoints;
    for (const auto& dir : spec.models) {
        if (checkpoints.count(dir))
            continue;
        try {
            if (!fs::is_directory(dir))
                throw Error(dir, "model", "no such folder");
            checkpoints[dir] = Checkpoint::open(dir);
            if (!fingerprints.count(dir))
                fingerprints[dir] = checkpointFingerprint(dir);
        } catch (const Error& e) {
            problems.push_back(e.what());
        }
    }
    if (!problems.empty())
        throw Error(spec.source, "sweep", joinProblems(problems));

    std::vector<PlannedRun> plan = expandSweep(spec);
    std::vector<PlannedRun> out;
    std::set<std::string> seen;
    std::set<std::string> reported;
    for (auto& p : plan) {
        const ModelConfig& config = checkpoints.at(p.request.modelDir)->config();
        try {
            checkRecipeFits(p.request.recipe, *makeArchitecture(config), p.label);
        } catch (const Error& e) {
            if (reported.insert(e.what()).second)
                problems.push_back(e.what());
            continue;
        }
        p.modelFingerprint = fingerprints.at(p.request.modelDir);
        p.spec = makeRunSpec(p.request, p.modelFingerprint);
        p.fingerprint = runFingerprint(p.spec);
        if (seen.insert(p.fingerprint).second)
            out.push_back(std::move(p));
    }
    if (!problems.empty())
        throw Error(spec.source, "sweep", joinProblems(problems));
    return out;
}

namespace {

void emit(const SweepOptions& options, SweepEvent e)
{
    if (options.onEvent)
        options.onEvent(e);
}

// Why a planned run is not done at the end of a sweep, from its stored record.
std::string unfinishedReason(const RunRecord& r)
{
    switch (r.status) {
    case RunStatus::Running: {
        const auto owner = runOwner(r);
        switch (store::ownerState(owner)) {
        case store::OwnerState::Alive:
            return "running in " + store::describeOwner(owner) + " (alive), left to it";
        case store::OwnerState::Unknown:
            return "running in " + store::describeOwner(owner) +
                   " (another machine or container: not checked; 'ptqbench runs interrupt ID' "
                   "hands it back to the next sweep)";
        case store::OwnerState::Dead:
            return "left running by " + store::describeOwner(owner) + ", which has exited";
        }
        return {};
    }
    case RunStatus::Failed:
        return r.error.empty() ? std::string("failed") : r.error;
    case RunStatus::Cancelled:
        return "cancelled";
    case RunStatus::Interrupted:
        return r.error.empty() ? std::string("interrupted") : r.error;
    default:
        return "not reached (the sweep stopped before it)";
    }
}

} // namespace

std::vector<int64_t> registerRuns(ResultsStore& store, const std::vector<PlannedRun>& plan)
{
    std::set<std::string> modelsDone;
    std::vector<int64_t> ids;
    for (const auto& p : plan) {
        if (modelsDone.insert(p.request.modelDir).second)
            upsertRunInputs(store, p.request, p.modelFingerprint);
        ids.push_back(store.addRun(p.spec));
    }
    return ids;
}

namespace {

enum class Step { Next, Stop };

// Runs one claimed run to its end state: done, failed (the sweep goes on) or cancelled
// (the sweep stops).
Step executePlanned(ResultsStore& store, const PlannedRun& planned, SweepEvent e,
                    const ProgressFn& progress, const SweepOptions& options, SweepCounts& counts)
{
    e.kind = SweepEvent::Kind::Started;
    emit(options, e);
    const auto start = std::chrono::steady_clock::now();
    const auto elapsed = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    RunResults results;
    try {
        results = executeRun(planned.request, progress);
    } catch (const Cancelled&) {
        store.cancelRun(e.runId);
        ++counts.cancelled;
        e.kind = SweepEvent::Kind::Cancelled;
        emit(options, e);
        return Step::Stop;
    } catch (const std::exception& ex) {
        // ptq::Error carries the file and object; anything else is an engine bug or
        // resource failure, recorded as such rather than ending the sweep.
        const bool ours = dynamic_cast<const Error*>(&ex) != nullptr;
        e.error = ours ? ex.what() : std::string("internal error: ") + ex.what();
        store.failRun(e.runId, e.error);
        ++counts.failed;
        e.kind = SweepEvent::Kind::Failed;
        e.seconds = elapsed();
        emit(options, e);
        return Step::Next;
    }
    faultPoint("sweep.run.computed");
    store.completeRun(e.runId, results);
    ++counts.done;
    e.kind = SweepEvent::Kind::Done;
    e.results = &results;
    e.seconds = elapsed();
    emit(options, e);
    return Step::Next;
}

// Claims and runs plan[i]; a run that another process holds goes to `elsewhere`.
Step sweepStep(ResultsStore& store, const std::vector<PlannedRun>& plan,
               const std::vector<int64_t>& ids, int64_t i, const ProgressFn& progress,
               const SweepOptions& options, SweepCounts& counts, std::vector<int64_t>* elsewhere)
{
    SweepEvent e;
    e.index = i;
    e.total = static_cast<int64_t>(plan.size());
    e.runId = ids[i];
    e.run = &plan[i];
    const RunClaim claim = store.claimRun(ids[i], options.retryFailed);
    if (!claim.ours()) {
        if (claim.outcome == ClaimOutcome::RunningElsewhere && elsewhere) {
            elsewhere->push_back(i);
            return Step::Next;
        }
        ++counts.skipped;
        e.kind = SweepEvent::Kind::Skipped;
        emit(options, e);
        return Step::Next;
    }
    counts.takenOver += claim.outcome == ClaimOutcome::TakenFromDeadProcess;
    return executePlanned(store, plan[i], e, progress, options, counts);
}

} // namespace

SweepCounts runSweep(ResultsStore& store, const SweepSpec& spec, const ProgressFn& progress,
                     const SweepOptions& options)
{
    if (options.applyThreads)
        setEngineThreads(spec.threads);
    const std::vector<PlannedRun> plan = planSweep(spec);
    SweepCounts counts;
    counts.interrupted = store.markStaleRunsInterrupted();
    const std::vector<int64_t> ids = registerRuns(store, plan);
    const int64_t total = static_cast<int64_t>(plan.size());
    std::vector<int64_t> elsewhere;
    bool stopped = false;
    for (int64_t i = 0; i < total && !stopped; ++i)
        stopped =
            sweepStep(store, plan, ids, i, progress, options, counts, &elsewhere) == Step::Stop;
    // Runs another process held when they were reached: that process may have finished or
    // died since (one killed a moment before this sweep started may still have been exiting).
    for (std::size_t k = 0; k < elsewhere.size() && !stopped; ++k)
        stopped = sweepStep(store, plan, ids, elsewhere[k], progress, options, counts, nullptr) ==
                  Step::Stop;
    for (int64_t i = 0; i < total; ++i) {
        const auto r = store.run(ids[i]);
        if (r && r->status != RunStatus::Done)
            counts.unfinished.push_back({ids[i], plan[i].label, r->status, unfinishedReason(*r)});
    }
    return counts;
}

std::string keyMetricText(const RunResults& results)
{
    auto find = [&](const std::string& name) -> const MetricValue* {
        for (const auto& m : results.metrics)
            if (m.name == name)
                return &m;
        return nullptr;
    };
    char buf[160];
    if (const MetricValue* ppl = find("perplexity")) {
        const MetricValue* fp = find("perplexity_fp");
        const MetricValue* kl = find("kl_mean");
        std::snprintf(buf, sizeof buf, "ppl %.4f (fp %.4f), kl %.5f, %.3f bits/weight", ppl->value,
                      fp ? fp->value : 0.0, kl ? kl->value : 0.0, results.bitsPerWeight);
    } else if (const MetricValue* acc = find("acc")) {
        std::snprintf(buf, sizeof buf, "acc %.4f, %.3f bits/weight", acc->value,
                      results.bitsPerWeight);
    } else {
        std::snprintf(buf, sizeof buf, "%.3f bits/weight", results.bitsPerWeight);
    }
    return buf;
}

} // namespace ptq
