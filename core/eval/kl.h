#pragma once
// KL divergence of a quantized model from its full-precision original, on the same windows
// perplexity uses (llama.cpp's --kl-divergence reports the same quantities): mean over
// predicted tokens of KL(P_fp || P_q) = sum_v p_fp(v) (log p_fp(v) - log p_q(v)), the rate
// at which both models rank the same token first, and both perplexities from the same pass.
// Both models run block by block side by side; the vocabulary is handled in row chunks with
// the log-softmax in float64, so small divergences are not lost to rounding.

#include "eval/perplexity.h"
#include "util/progress.h"

#include <cmath>
#include <cstdint>
#include <vector>

namespace ptq {

class Model;

struct KlResult {
    double meanKl = 0;        // nats per predicted token
    double maxKl = 0;         // largest per-token KL
    double top1Agreement = 0; // fraction of tokens where both argmaxes agree
    double fpPerplexity = 0;
    double quantPerplexity = 0;
    int64_t tokensScored = 0;
    int64_t windows = 0;
    double seconds = 0;
    // Mixture of Experts: the share of tokens (every position of every window, each model on
    // its own hidden states) whose top-k expert set is the same in both models, over all MoE
    // layers and per block; NaN for a dense model and for dense blocks.
    double routingAgreement = std::nan("");
    std::vector<double> routingAgreementPerBlock;
};

// The models must share the vocabulary and hidden size. Throws ptq::Error otherwise.
KlResult evaluateKl(const Model& fpModel, const Model& quantModel,
                    const std::vector<int32_t>& tokens, const PerplexityConfig& config,
                    const ProgressFn& progress = {});

} // namespace ptq
