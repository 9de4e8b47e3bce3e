#pragma once
// The engine as an interactive client (the GUI) drives it: one run at a time, from plain
// values, through a header that includes neither libtorch nor Qt (Qt's `slots` macro breaks
// <torch/torch.h>, so ui/ may only include torch-free core headers).
//
//   strategyCatalog()   built-in recipes with their taxonomy class and a one-line description
//   prepareJobs()       validate every job at once, register model, datasets and queued runs
//   executeJob()        markRunning -> quantize + evaluate -> completeRun / failRun /
//                       cancelRun, or interruptRun when the caller is shutting down
//   jobFromRun()        the job of a stored run, to resume an interrupted or cancelled one
//   estimateJobSeconds() from finished runs in the store, else a cost model
//
// A JobSpec is one cell of a sweep (engine/sweep.h) and is run through the same code: the
// same validation, the same run fingerprint, the same results.

#include "store/results_store.h"
#include "util/progress.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace ptq {

// One built-in strategy as the experiment picker lists it.
struct StrategyInfo {
    std::string name; // Recipe::builtin() name, e.g. "quarot-gptq"
    // "baseline" | "compensation" | "rotation" | "salience" | "optimization" | "combination"
    // (a recipe with a transform and a weight quantizer of a different class).
    std::string taxonomyClass;
    std::string description;          // one line
    std::vector<std::string> methods; // transform names, then the weight quantizer
};

// Every built-in recipe, in Recipe::builtinNames() order.
const std::vector<StrategyInfo>& strategyCatalog();

// One run to do: a built-in recipe (or recipe JSON) at one weight/activation/KV setting.
struct JobSpec {
    std::string modelDir;
    std::string recipe;     // a built-in name or a path to a recipe .json file
    std::string recipeJson; // when not empty: the recipe itself (takes precedence)
    int wbits = 4;
    int64_t groupSize = 128; // 0 = per output channel, -1 = per tensor
    int abits = 16;          // 16 = activations not quantized
    int kvbits = 16;         // 16 = KV cache not quantized
    std::string calibPath;   // text file
    int64_t calibSamples = 128;
    int64_t calibSeqlen = 2048;
    std::vector<std::string> evalTexts; // perplexity / KL text files
    int64_t evalSeqlen = 2048;
    int64_t evalWindows = 0;            // first N windows of each text (0 = all)
    std::vector<std::string> taskFiles; // zero-shot JSONL files, generic layout, all examples
    uint64_t seed = 0;
};

struct PreparedJob {
    JobSpec spec;
    int64_t runId = 0;
    std::string label;                          // "ptq-llama-0.7m gptq w4 g128"
    std::string modelName;                      // the checkpoint folder's name
    RunStatus storedStatus = RunStatus::Queued; // before this call; Done = nothing to do
    int64_t blocks = 0;                         // transformer blocks (progress per block)
};

// Validates every job the way a sweep is planned (model readable, recipe valid for the
// model's layer widths, bits 2..8, files present) and reports every problem in one ptq::Error
// before touching the store. Then registers model, datasets and runs (queued, or the existing
// run with the same fingerprint) and returns one PreparedJob per job, in order.
std::vector<PreparedJob> prepareJobs(ResultsStore& store, const std::vector<JobSpec>& jobs);

enum class JobEnd { Done, Failed, Cancelled, Interrupted };

struct JobOutcome {
    JobEnd end = JobEnd::Done;
    std::string error;   // Failed: the engine's message
    std::string summary; // Done: the headline numbers (keyMetricText)
    double seconds = 0;
};

// Runs one prepared job and records it: 'done' with all its numbers in one transaction,
// 'failed' with the engine's message, or, when progress returns false, 'cancelled' — or
// 'interrupted' (resumable, as after a crash) when shuttingDown() returns true at that
// moment. Never throws for engine errors; a store that cannot be written throws ptq::Error.
JobOutcome executeJob(ResultsStore& store, const PreparedJob& job, const ProgressFn& progress,
                      const std::function<bool()>& shuttingDown = {});

// The job of a stored run: model folder from the models table, the recipe JSON, dataset
// paths looked up by sha256 in the datasets table. Throws ptq::Error naming the run when a
// file is no longer where the store says (or its bytes changed), and for runs a JobSpec
// cannot express (zero-shot tasks in a non-generic layout or with an example limit). The
// model folder is only checked to exist: prepareJobs re-fingerprints it.
JobSpec jobFromRun(const ResultsStore& store, int64_t runId);

// Seconds a job is expected to take: the median wall time of finished runs in the store with
// the same model and recipe name, scaled by calibration and evaluation tokens; without such
// runs, a cost model from the parameter count and token counts. Cheap enough for the GUI
// thread: reads config.json and the safetensors headers and a few store rows, never tensor
// data, never hashes. Models match by folder (else folder name), not by fingerprint. Never
// throws (0 when the model cannot be read).
double estimateJobSeconds(const ResultsStore& store, const JobSpec& job);

} // namespace ptq
