#pragma once
// Sweeps: the cross product models x recipes x wbits x groups x abits x kvbits of runs, each
// recorded in a results store, resumable after a crash or a cancel.
//
// Spec file (JSON; every key optional except models, recipes, calib.path and at least one
// evaluation text or task; unknown keys at any level are errors naming the key):
//   {"models":  ["models/tiny", "models/small"],          folders, relative to the spec file
//    "recipes": ["rtn", "gptq", "my_recipe.json"],        built-in names or recipe files
//    "wbits":   [2, 3, 4],                                 absent: each recipe's own bits
//    "groups":  [0, 128],      0 = per channel, -1 = per tensor, else columns per group
//    "abits":   [16, 8],       16 = activations not quantized (absent: the recipe's)
//    "kvbits":  [16, 4],       16 = KV cache not quantized (absent: the recipe's)
//    "calib":   {"path": "calib.txt", "samples": 128, "seqlen": 2048},
//    "eval":    {"texts": ["test.txt"], "seqlen": 2048, "windows": 0,
//                "tasks": [{"path": "piqa.jsonl", "layout": "piqa", "examples": 0}]},
//    "seed": 0, "threads": 0}                            threads 0 = engine default
//
// planSweep() checks everything that can be checked without running (models readable, each
// recipe valid for each model's layer widths, bits in 2..8) and reports every problem in
// one ptq::Error before any run starts.
//
// runSweep(): marks runs left 'running' by dead processes interrupted, adds every planned run
// (queued, or the existing record with the same fingerprint) and runs them in plan order.
// Each run is claimed when the sweep reaches it (ResultsStore::claimRun: status read and
// changed in one transaction), so a 'done' run is skipped, a run that a live process is
// running is skipped, and one left 'running' by a process that has died since is taken
// over. Runs skipped as running elsewhere are examined again after the last one. Each run:
// executeRun -> completeRun (one transaction with all its numbers), or failRun with the
// engine's message and on to the next run; a cancel (progress returned false) records the
// run 'cancelled' and stops. The counts list every planned run that is not done, with why.

#include "engine/run.h"
#include "store/results_store.h"
#include "util/progress.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ptq {

struct SweepSpec {
    std::string source = "sweep spec"; // the spec file, or "command line"
    std::vector<std::string> models;
    std::vector<std::string> recipes;
    std::vector<int> wbits;      // empty: the recipe's
    std::vector<int64_t> groups; // empty: the recipe's
    std::vector<int> abits;      // empty: the recipe's; 16 = none
    std::vector<int> kvbits;     // empty: the recipe's; 16 = none
    CalibrationSpec calib;
    EvaluationSpec eval;
    uint64_t seed = 0;
    int threads = 0;

    // Relative paths are resolved against baseDir (the spec file's folder for files).
    static SweepSpec fromJson(const nlohmann::json& j, const std::string& source,
                              const std::string& baseDir = "");
    // Throws ptq::Error naming the file for unreadable or invalid JSON.
    static SweepSpec fromFile(const std::string& path);
};

// One expanded run: the request, its label for logs ("tiny gptq w4 g128") and, after
// planSweep, its spec and fingerprint.
struct PlannedRun {
    RunRequest request;
    std::string label;
    std::string modelFingerprint;
    RunSpec spec;
    std::string fingerprint;
};

// The cross product in order (models outermost, kvbits innermost), recipes loaded and the
// grid values applied; no validation, no file access beyond reading recipe files.
std::vector<PlannedRun> expandSweep(const SweepSpec& spec);

// Expands, validates and fingerprints; duplicates (equal fingerprints) are kept once.
// Throws one ptq::Error naming spec.source and listing every problem found.
std::vector<PlannedRun> planSweep(const SweepSpec& spec);
// The same, reusing and filling a cache of model fingerprints by folder: callers that plan
// many small sweeps on one model (engine/job.h) hash its checkpoint once.
std::vector<PlannedRun> planSweep(const SweepSpec& spec,
                                  std::map<std::string, std::string>& modelFingerprints);

// Adds every planned run to the store (models and datasets first, once per model folder);
// returns the run ids, in plan order.
std::vector<int64_t> registerRuns(ResultsStore& store, const std::vector<PlannedRun>& plan);

struct SweepEvent {
    enum class Kind { Skipped, Started, Done, Failed, Cancelled };
    Kind kind = Kind::Started;
    int64_t index = 0; // position in the plan, 0-based
    int64_t total = 0; // planned runs
    int64_t runId = 0;
    const PlannedRun* run = nullptr;
    const RunResults* results = nullptr; // Done only
    std::string error;                   // Failed only
    double seconds = 0;                  // Done / Failed: wall time of the run
};

struct SweepOptions {
    bool retryFailed = false;
    // Sets the engine threads from spec.threads once, before the first run. Off for callers
    // that manage threads themselves.
    bool applyThreads = true;
    std::function<void(const SweepEvent&)> onEvent;
};

// A planned run that is not 'done' when runSweep returns, and why.
struct UnfinishedRun {
    int64_t runId = 0;
    std::string label;
    RunStatus status = RunStatus::Queued;
    std::string reason; // e.g. "running in process 7604 on vm (alive)", the failure message
};

struct SweepCounts {
    int64_t done = 0;    // finished by this call
    int64_t skipped = 0; // already done, failed (without retryFailed), or running elsewhere
    int64_t failed = 0;
    int64_t cancelled = 0;   // 1 when the sweep stopped on a cancel
    int64_t interrupted = 0; // stale runs found 'running' and marked interrupted at start
    int64_t takenOver = 0;   // planned runs left 'running' by a process that is gone, rerun
    std::vector<UnfinishedRun> unfinished; // every planned run not done at the end
};

SweepCounts runSweep(ResultsStore& store, const SweepSpec& spec, const ProgressFn& progress = {},
                     const SweepOptions& options = {});

// The headline number of a finished run for one-line logs: quantized perplexity on the
// first evaluation text, else acc of the first task, else bits per weight.
std::string keyMetricText(const RunResults& results);

} // namespace ptq
