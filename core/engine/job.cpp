// See job.h.
#include "engine/job.h"

#include "engine/run.h"
#include "engine/sweep.h"
#include "model/checkpoint.h"
#include "quant/recipe.h"
#include "quant/registry.h"
#include "util/error.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

namespace ptq {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// "QuaRot (Ashkboos et al., 2024): randomized ..." -> "QuaRot"; a description without a
// citation keeps its first clause ("Round-to-nearest on the min-max grid").
std::string shortName(const std::string& description)
{
    const std::size_t cut = std::min(description.find(" ("), description.find(';'));
    return description.substr(0, cut);
}

StrategyInfo describeRecipe(const std::string& name)
{
    // The recipe table of quant/recipe.cpp: at most one transform, then one weight quantizer.
    const Recipe r = Recipe::builtin(name);
    const MethodInfo& q = findWeightQuantizer(r.weightQuantizer.method);
    StrategyInfo info;
    info.name = name;
    for (const auto& t : r.transforms)
        info.methods.push_back(t.method);
    info.methods.push_back(q.name);
    if (r.transforms.empty()) {
        info.taxonomyClass = q.taxonomyClass;
        info.description = q.description;
        return info;
    }
    std::string steps;
    std::set<std::string> classes;
    for (const auto& t : r.transforms) {
        const TransformInfo& ti = findBlockTransform(t.method);
        classes.insert(ti.taxonomyClass);
        steps +=
            (steps.empty() ? "" : ", then ") + shortName(ti.description) + " " + ti.taxonomyClass;
    }
    // A transform followed by plain rounding is the transform's method (AWQ, SmoothQuant,
    // QuaRot-RTN as the papers define them); followed by another quantizer it combines two
    // classes of ideas.
    if (q.taxonomyClass == "baseline" && classes.size() == 1) {
        info.taxonomyClass = *classes.begin();
        info.description =
            r.transforms.size() == 1
                ? findBlockTransform(r.transforms[0].method).description + "; then round-to-nearest"
                : steps + ", then round-to-nearest";
    } else {
        info.taxonomyClass = "combination";
        info.description = steps + ", then " + shortName(q.description) + " " + q.taxonomyClass;
    }
    return info;
}

std::string modelFolderName(const std::string& modelDir)
{
    std::string name = fs::path(modelDir).lexically_normal().filename().string();
    if (name.empty())
        name = fs::path(modelDir).lexically_normal().parent_path().filename().string();
    return name;
}

SweepSpec sweepOf(const JobSpec& job, const std::string& source)
{
    SweepSpec s;
    s.source = source;
    s.models = {job.modelDir};
    s.recipes = {job.recipeJson.empty() ? job.recipe : job.recipeJson};
    s.wbits = {job.wbits};
    s.groups = {job.groupSize};
    s.abits = {job.abits};
    s.kvbits = {job.kvbits};
    s.calib = {job.calibPath, job.calibSamples, job.calibSeqlen};
    s.eval.texts = job.evalTexts;
    s.eval.seqlen = job.evalSeqlen;
    s.eval.windows = job.evalWindows;
    for (const auto& t : job.taskFiles)
        s.eval.tasks.push_back({t, "generic", 0});
    s.seed = job.seed;
    return s;
}

std::string jobSource(const JobSpec& job, std::size_t index)
{
    const std::string recipe = job.recipeJson.empty() ? job.recipe : "inline recipe";
    return "job " + std::to_string(index + 1) + " (" + modelFolderName(job.modelDir) + " " +
           recipe + ")";
}

double secondsSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

const std::vector<StrategyInfo>& strategyCatalog()
{
    static const std::vector<StrategyInfo> catalog = [] {
        std::vector<StrategyInfo> out;
        for (const auto& name : Recipe::builtinNames())
            out.push_back(describeRecipe(name));
        return out;
    }();
    return catalog;
}

std::vector<PreparedJob> prepareJobs(ResultsStore& store, const std::vector<JobSpec>& jobs)
{
    // Every job is planned before the store is touched, so one bad job queues nothing.
    std::vector<PlannedRun> plans;
    std::vector<std::string> problems;
    std::map<std::string, std::string> fingerprints; // model folder -> checkpoint fingerprint
    std::map<std::string, int64_t> blocks;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        try {
            std::vector<PlannedRun> plan =
                planSweep(sweepOf(jobs[i], jobSource(jobs[i], i)), fingerprints);
            if (!blocks.count(jobs[i].modelDir))
                blocks[jobs[i].modelDir] = Checkpoint::open(jobs[i].modelDir)->config().numLayers;
            plans.push_back(std::move(plan.at(0)));
        } catch (const Error& e) {
            // planSweep's "N problems, nothing was run:" header is replaced by ours below.
            const std::size_t lines = e.reason().find('\n');
            problems.push_back(e.object() == "sweep" && lines != std::string::npos
                                   ? e.file() + ":" + e.reason().substr(lines)
                                   : std::string(e.what()));
        } catch (const std::exception& e) {
            problems.push_back(jobSource(jobs[i], i) + ": " + e.what());
        }
    }
    if (!problems.empty()) {
        std::string text = std::to_string(problems.size()) + " of " + std::to_string(jobs.size()) +
                           " jobs cannot run, nothing was queued:";
        for (const auto& p : problems)
            text += "\n" + p;
        throw Error("", "jobs", text);
    }

    store.markStaleRunsInterrupted();
    std::vector<PreparedJob> out;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        // One plan per call: registerRuns upserts datasets once per model folder, and jobs on
        // one model may use different calibration or evaluation files.
        const int64_t id = registerRuns(store, {plans[i]}).at(0);
        PreparedJob p;
        p.spec = jobs[i];
        p.runId = id;
        p.label = plans[i].label;
        p.modelName = modelFolderName(jobs[i].modelDir);
        const auto record = store.run(id);
        p.storedStatus = record ? record->status : RunStatus::Queued;
        p.blocks = blocks.at(jobs[i].modelDir);
        out.push_back(std::move(p));
    }
    return out;
}

JobOutcome executeJob(ResultsStore& store, const PreparedJob& job, const ProgressFn& progress,
                      const std::function<bool()>& shuttingDown)
{
    JobOutcome outcome;
    const auto start = std::chrono::steady_clock::now();
    store.markRunning(job.runId);
    try {
        // expandSweep only applies the grid to the recipe: prepareJobs validated the job.
        const std::vector<PlannedRun> plan = expandSweep(sweepOf(job.spec, job.label));
        const RunResults results = executeRun(plan.at(0).request, progress);
        outcome.seconds = secondsSince(start);
        store.completeRun(job.runId, results);
        outcome.summary = keyMetricText(results);
        return outcome;
    } catch (const Cancelled&) {
        outcome.seconds = secondsSince(start);
        if (shuttingDown && shuttingDown()) {
            store.interruptRun(job.runId);
            outcome.end = JobEnd::Interrupted;
        } else {
            store.cancelRun(job.runId);
            outcome.end = JobEnd::Cancelled;
        }
        return outcome;
    } catch (const std::exception& e) {
        // ptq::Error carries the file and object; anything else is an engine bug or a
        // resource failure (out of memory), recorded as such.
        const bool ours = dynamic_cast<const Error*>(&e) != nullptr;
        outcome.error = ours ? e.what() : std::string("internal error: ") + e.what();
    }
    outcome.end = JobEnd::Failed;
    outcome.seconds = secondsSince(start);
    store.failRun(job.runId, outcome.error);
    return outcome;
}

namespace {

// The stored path of a dataset, checked against the hash the run recorded.
std::string datasetPath(const std::vector<DatasetRecord>& datasets, const std::string& sha256,
                        const std::string& runName)
{
    const auto it = std::find_if(datasets.begin(), datasets.end(),
                                 [&](const DatasetRecord& d) { return d.sha256 == sha256; });
    if (it == datasets.end() || it->path.empty())
        throw Error("", runName, "no file is recorded for its dataset " + sha256);
    std::string now;
    try {
        now = fileSha256(it->path);
    } catch (const Error& e) {
        throw Error(it->path, runName, "the dataset file cannot be read: " + e.reason());
    }
    if (now != sha256)
        throw Error(it->path, runName,
                    "the dataset file changed since the run was recorded (sha256 " + now +
                        ", recorded " + sha256 + ")");
    return it->path;
}

} // namespace

JobSpec jobFromRun(const ResultsStore& store, int64_t runId)
{
    const std::string runName = "run " + std::to_string(runId);
    const auto record = store.run(runId);
    if (!record)
        throw Error(store.path(), runName, "no such run");
    const RunSpec& s = record->spec;
    const auto model = store.modelByFingerprint(s.modelFingerprint);
    if (!model)
        throw Error(store.path(), runName, "its model is not in the store");
    if (!fs::is_directory(model->path))
        throw Error(model->path, runName, "the model folder is no longer there");

    JobSpec job;
    job.modelDir = model->path;
    job.recipeJson = s.recipeJson;
    job.recipe = s.recipeName;
    job.wbits = s.wbits;
    job.groupSize = s.groupSize;
    job.abits = s.abits;
    job.kvbits = s.kvbits;
    job.seed = s.seed;
    const std::vector<DatasetRecord> datasets = store.datasets();
    try {
        const json calib = json::parse(s.calibJson);
        job.calibPath = datasetPath(datasets, calib.at("sha256").get<std::string>(), runName);
        job.calibSamples = calib.at("samples").get<int64_t>();
        job.calibSeqlen = calib.at("seqlen").get<int64_t>();
        const json eval = json::parse(s.evalJson);
        for (const auto& sha : eval.at("datasets"))
            job.evalTexts.push_back(datasetPath(datasets, sha.get<std::string>(), runName));
        job.evalSeqlen = eval.at("seqlen").get<int64_t>();
        job.evalWindows = eval.at("windows").get<int64_t>();
        for (const auto& t : eval.at("tasks")) {
            // JobSpec runs task files in the generic layout on all examples only.
            if (t.at("layout").get<std::string>() != "generic" || t.at("examples") != 0)
                throw Error("", runName,
                            "its task uses layout '" + t.at("layout").get<std::string>() +
                                "' or an example limit; resume it with the sweep command");
            job.taskFiles.push_back(
                datasetPath(datasets, t.at("sha256").get<std::string>(), runName));
        }
    } catch (const json::exception& e) {
        throw Error(store.path(), runName,
                    std::string("unreadable calibration/evaluation JSON: ") + e.what());
    }
    return job;
}

namespace {

struct TokenCounts {
    double calib = 0;
    double eval = 0;
};

// Tokens of a text file without tokenizing it: the store's count when the file is known
// there, else its size at ~4 bytes per token.
double textTokens(const std::vector<DatasetRecord>& datasets, const std::string& path,
                  const std::string& sha256)
{
    for (const auto& d : datasets)
        if ((!sha256.empty() && d.sha256 == sha256) || (sha256.empty() && d.path == path))
            if (d.tokens > 0)
                return double(d.tokens);
    std::error_code ec;
    const auto bytes = path.empty() ? 0 : fs::file_size(path, ec);
    return ec ? 0.0 : double(bytes) / 4.0;
}

double evalTokens(double fileTokens, int64_t seqlen, int64_t windows)
{
    const double all = std::floor(fileTokens / double(std::max<int64_t>(seqlen, 1)));
    const double used = windows > 0 ? std::min(all, double(windows)) : all;
    return used * double(seqlen);
}

TokenCounts jobTokens(const std::vector<DatasetRecord>& datasets, const JobSpec& job)
{
    TokenCounts t;
    t.calib = double(job.calibSamples) * double(job.calibSeqlen);
    for (const auto& p : job.evalTexts)
        t.eval += evalTokens(textTokens(datasets, p, ""), job.evalSeqlen, job.evalWindows);
    for (const auto& p : job.taskFiles)
        t.eval += textTokens(datasets, p, "");
    return t;
}

TokenCounts runTokens(const std::vector<DatasetRecord>& datasets, const RunSpec& spec)
{
    TokenCounts t;
    const json calib = json::parse(spec.calibJson, nullptr, false);
    const json eval = json::parse(spec.evalJson, nullptr, false);
    if (calib.is_object())
        t.calib = calib.value("samples", 0.0) * calib.value("seqlen", 0.0);
    if (eval.is_object() && eval.contains("datasets"))
        for (const auto& sha : eval["datasets"])
            if (sha.is_string())
                t.eval +=
                    evalTokens(textTokens(datasets, "", sha.get<std::string>()),
                               eval.value("seqlen", int64_t(1)), eval.value("windows", int64_t(0)));
    return t;
}

std::string jobRecipeName(const JobSpec& job)
{
    if (!job.recipeJson.empty())
        return json::parse(job.recipeJson).at("name").get<std::string>();
    return Recipe::fromNameOrFile(job.recipe).name;
}

double scaled(double seconds, double now, double then)
{
    return then > 0 && now > 0 ? seconds * now / then : seconds;
}

// Median over finished runs of the same model folder and recipe, each scaled to the job's
// token counts; 0 when there are none.
double estimateFromHistory(const ResultsStore& store, const JobSpec& job)
{
    const std::string recipe = jobRecipeName(job);
    const std::string dir = fs::path(job.modelDir).lexically_normal().string();
    // By folder, else by folder name (a copy of the model elsewhere): hashing the checkpoint
    // to compare fingerprints would take minutes on a 7B model.
    std::set<std::string> models, sameName;
    for (const auto& m : store.models()) {
        if (fs::path(m.path).lexically_normal().string() == dir)
            models.insert(m.fingerprint);
        if (m.name == modelFolderName(job.modelDir))
            sameName.insert(m.fingerprint);
    }
    if (models.empty())
        models = sameName;
    if (models.empty())
        return 0;
    RunFilter filter;
    filter.status = RunStatus::Done;
    filter.recipeName = recipe;
    filter.withMetrics = false;
    const std::vector<DatasetRecord> datasets = store.datasets();
    const TokenCounts now = jobTokens(datasets, job);
    std::vector<double> estimates;
    for (const auto& r : store.listRuns(filter)) {
        if (!models.count(r.spec.modelFingerprint))
            continue;
        const TokenCounts then = runTokens(datasets, r.spec);
        estimates.push_back(scaled(r.quantizeSeconds, now.calib, then.calib) +
                            scaled(r.evalSeconds, now.eval, then.eval));
    }
    if (estimates.empty())
        return 0;
    std::sort(estimates.begin(), estimates.end());
    const std::size_t n = estimates.size();
    return n % 2 ? estimates[n / 2] : 0.5 * (estimates[n / 2 - 1] + estimates[n / 2]);
}

// 2 FLOP per parameter per token at ~150 GFLOP/s (fp32 GEMM measured ~255 GFLOP/s on the
// 2-core reference machine, ARCHITECTURE.md; attention and the rest take their share), plus
// a second of fixed cost. Only an order of magnitude until a run of the model is stored.
double estimateFromCostModel(const JobSpec& job)
{
    const CheckpointSummary model = summarizeCheckpoint(job.modelDir);
    const Recipe recipe = job.recipeJson.empty() ? Recipe::fromNameOrFile(job.recipe)
                                                 : Recipe::fromJson(json::parse(job.recipeJson));
    const double factor = recipeRelativeCost(recipe);
    const TokenCounts tokens = jobTokens({}, job);
    const double secondsPerToken = 2.0 * double(model.parameters) / 150e9;
    // Evaluation runs the full-precision and the quantized model on every window.
    return 1.0 + secondsPerToken * (tokens.calib * factor + 2.0 * tokens.eval);
}

} // namespace

double estimateJobSeconds(const ResultsStore& store, const JobSpec& job)
{
    try {
        const double fromHistory = estimateFromHistory(store, job);
        return fromHistory > 0 ? fromHistory : estimateFromCostModel(job);
    } catch (const std::exception&) {
        return 0;
    }
}

} // namespace ptq
