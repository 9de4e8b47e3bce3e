#pragma once
// One run: a checkpoint folder, a recipe and the calibration and evaluation inputs in; the
// numbers the results store keeps out (store/results_store.h). No store is touched here:
// a job (engine/job.h) and a sweep (engine/sweep.h) store runs; ptqbench quantize prints one.
//
//   load checkpoint + tokenizer -> quantizeModel(recipe, calibration windows, seed)
//   -> for each evaluation text: FP and quantized perplexity, KL(FP || quantized), top-1
//      agreement, all from one pass over the same windows (eval/kl.h)
//   -> for each zero-shot task file: acc and acc_norm of the quantized model
//   -> size accounting, per-layer and per-block error rows
//
// A run is identified by its RunSpec: the model's fingerprint, the canonical recipe and the
// canonical calibration/evaluation JSON, in which datasets appear by the sha256 of their
// bytes (never by path), so the same run done on two machines matches when stores merge.
//
// Determinism: nothing here reads the clock or a global RNG; with the same engine thread
// count (set once by the caller, setEngineThreads) the same request gives bit-identical
// numbers. Only the *_seconds fields vary.

#include "quant/recipe.h"
#include "store/results_store.h"
#include "util/progress.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ptq {

struct CalibrationSpec {
    std::string path; // text file, rows joined the perplexity way
    int64_t samples = 128;
    int64_t seqlen = 2048;
};

struct TaskFileSpec {
    std::string path;               // JSONL task file
    std::string layout = "generic"; // a taskPreset() name
    int64_t examples = 0;           // first N examples (0 = all)
};

struct EvaluationSpec {
    std::vector<std::string> texts; // perplexity/KL text files
    int64_t seqlen = 2048;
    int64_t windows = 0; // first N windows of each text (0 = all)
    std::vector<TaskFileSpec> tasks;
};

struct RunRequest {
    std::string modelDir;
    Recipe recipe; // bits, group, activation and KV settings already applied
    CalibrationSpec calib;
    EvaluationSpec eval;
    uint64_t seed = 0;
};

// Quantizes and evaluates. Throws ptq::Error for bad inputs (naming the file) and
// ptq::Cancelled when progress returns false.
RunResults executeRun(const RunRequest& request, const ProgressFn& progress = {});

// sha256 of a file's bytes, cached per path for the life of the process (sweeps hash each
// dataset once). Throws ptq::Error naming the file when it cannot be read.
std::string fileSha256(const std::string& path);

// The canonical JSON of the calibration and evaluation inputs (sorted keys, datasets by
// sha256), as stored in runs.calib_json / runs.eval_json.
nlohmann::json calibrationJson(const CalibrationSpec& calib);
nlohmann::json evaluationJson(const EvaluationSpec& eval);

// The RunSpec of a request for a model whose fingerprint is known (checkpointFingerprint,
// model/checkpoint_fingerprint.h).
RunSpec makeRunSpec(const RunRequest& request, const std::string& modelFingerprint);

// Upserts the model record (fingerprint computed by the caller) and every dataset of the
// request; dataset token counts use the model's tokenizer for text files (0 for task files).
// Returns the model id.
int64_t upsertRunInputs(ResultsStore& store, const RunRequest& request,
                        const std::string& modelFingerprint);

// Bits as the store records them: 16 when activations / the KV cache are not quantized.
int activationBits(const Recipe& recipe);
int kvCacheBits(const Recipe& recipe);

} // namespace ptq
