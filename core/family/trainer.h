#pragma once
// Training of the bundled LLaMA-architecture models, CPU-only, on libtorch autograd:
// random windows of seqlen+1 tokens drawn by a seeded std::mt19937_64 from the training
// token stream, AdamW (weight decay on 2-D weights only), linear warmup then cosine decay to
// minLrRatio * lr, global grad-norm clipping, validation loss on fixed windows.
//
// outDir after a run:
//   config.json, model.safetensors      the model in Hugging Face layout (storage dtype)
//   tokenizer.json, tokenizer_config.json  copied from tokenizerDir when given
//   train_log.csv                        step,loss,lr,grad_norm,tokens_per_s
//   valid_log.csv                        step,valid_loss,valid_ppl
//   train_state/                         what resuming needs: state.json (step, RNG, config,
//                                        data hash) + state.safetensors (fp32 parameters and
//                                        AdamW moments), replaced atomically
// A resumed run draws the same windows and applies the same updates as an uninterrupted one:
// on one thread the per-step losses and final weights are bit-identical.

#include "io/safetensors.h"
#include "model/config.h"
#include "util/progress.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ptq {

struct TrainConfig {
    ModelConfig model; // vocabSize must cover every token id of the data
    int64_t seqlen = 256;
    int64_t batchSize = 16;
    int64_t steps = 1000; // total optimizer steps, also the length of the cosine schedule
    double lr = 1e-3;
    double minLrRatio = 0.1;
    int64_t warmupSteps = 100;
    double weightDecay = 0.1;
    double beta1 = 0.9;
    double beta2 = 0.95;
    double adamEps = 1e-8;
    double gradClip = 1.0;         // max global L2 norm; <= 0 disables clipping
    uint64_t seed = 0;             // initial weights and window sampling
    int64_t evalEvery = 100;       // 0: validate only at the end
    int64_t evalBatches = 4;       // validation windows = evalBatches * batchSize
    int64_t checkpointEvery = 500; // 0: checkpoint only at the end (and on cancel)
    std::string outDir;
    std::string tokenizerDir; // copied next to the model; empty = none
    DType storage = DType::F32;
    bool resume = false; // continue from outDir/train_state
};

// Token streams of the splits. hash identifies them (stableHash of the tokens); a resumed run
// must see the same data.
struct TrainData {
    std::vector<int32_t> train;
    std::vector<int32_t> valid;
    std::string hash;
    std::string trainSource, validSource; // named in errors ("train.txt")
};

// Tokenizes the split files (tokenizeTextFile: lines joined by blank lines, BOS once), caching
// each stream as cacheDir/<name>.tokens (int32 + a key of the text and tokenizer.json bytes),
// so reruns and resumes skip tokenization. Throws ptq::Error naming the file for an
// unreadable or empty text or a missing tokenizer.
TrainData prepareTrainData(const std::string& tokenizerDir, const std::string& trainTextPath,
                           const std::string& validTextPath, const std::string& cacheDir);
// Fills hash for streams built in memory.
void hashTrainData(TrainData& data);

struct TrainStepRecord {
    int64_t step = 0; // 1-based: the update that produced it
    double loss = 0;  // training loss of the batch before the update
    double lr = 0;
    double gradNorm = 0; // before clipping
    double tokensPerSecond = 0;
};

struct ValidRecord {
    int64_t step = 0;
    double loss = 0;
};

struct TrainResult {
    bool cancelled = false;
    int64_t startStep = 0;  // 0, or the step resumed from
    int64_t stepsDone = 0;  // the step the model and the state are at
    int64_t tokensSeen = 0; // training tokens over all steps, resumed ones included
    int64_t parameters = 0;
    double finalTrainLoss = 0; // mean over the last min(20, n) steps of this call
    double finalValidLoss = 0;
    double validPerplexity = 0;
    double seconds = 0;                 // this call
    std::vector<TrainStepRecord> steps; // this call's steps
    std::vector<ValidRecord> valid;     // this call's validations
};

// Learning rate of optimizer step `step` (0-based): lr * (step+1)/warmup during warmup, then
// minLrRatio*lr + (1-minLrRatio)*lr * (1 + cos(pi * p)) / 2 with p = (step-warmup)/(steps-warmup).
double scheduledLr(const TrainConfig& config, int64_t step);

// Trains (or resumes) per config. Progress: stage "train", done = steps finished, once per
// step. When the callback returns false the run writes a checkpoint and returns with
// cancelled = true. Throws ptq::Error for bad configs, data shorter than a window, and
// unreadable or mismatching training state (naming the file).
TrainResult trainLlama(const TrainConfig& config, const TrainData& data,
                       const ProgressFn& progress = {});

} // namespace ptq
