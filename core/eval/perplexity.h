#pragma once
// Perplexity the way the PTQ literature reports it (GPTQ's datautils/llama_eval):
// the rows of a text file joined with "\n\n", tokenized once, cut into numel/seqlen
// non-overlapping windows, mean next-token NLL over all predicted tokens, PPL = exp(mean).
// C4-style evaluation samples n windows at seeded random offsets instead.

#include "model/architecture.h"
#include "util/progress.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ptq {

class Model;
class Tokenizer;

enum class WindowSampling { Sequential, Random };

struct PerplexityConfig {
    int64_t seqlen = 2048;
    int64_t maxWindows = 0; // Sequential: first N windows (0 = all)
    WindowSampling sampling = WindowSampling::Sequential;
    int64_t randomWindows = 256; // Random: number of windows (C4 convention: 256)
    uint64_t seed = 0;
    // Hidden-state budget for one pass over the blocks; windows are batched to fit.
    uint64_t maxHiddenBytes = 2ull << 30;
    // Mixture of Experts: sees every router's decisions on the evaluated windows (expert
    // load on a text). Called from the evaluating thread.
    const RouterObserver* route = nullptr;
};

struct PerplexityResult {
    double perplexity = 0;
    double meanNll = 0;       // nats per predicted token
    int64_t tokensInText = 0; // tokens of the whole tokenized text
    int64_t tokensScored = 0; // predicted tokens averaged over
    int64_t windows = 0;
    int64_t seqlen = 0;
    double seconds = 0;
    double tokensPerSecond = 0; // window tokens forwarded per second
};

// Reads a UTF-8 text file, joins its lines with "\n\n" and tokenizes it once (BOS as the
// tokenizer adds it). Throws ptq::Error naming the file when unreadable or empty. The ids are
// kept for the life of the process, keyed by the tokenizer's fingerprint and the text's
// sha256, so a sweep encodes each calibration and evaluation text once. Thread-safe.
std::vector<int32_t> tokenizeTextFile(const Tokenizer& tokenizer, const std::string& path);

// Windows as [start, start+seqlen) token offsets, per the config.
std::vector<int64_t> windowStarts(int64_t numTokens, const PerplexityConfig& config);

PerplexityResult evaluatePerplexity(const Model& model, const std::vector<int32_t>& tokens,
                                    const PerplexityConfig& config,
                                    const ProgressFn& progress = {});

} // namespace ptq
