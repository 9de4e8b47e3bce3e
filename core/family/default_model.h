#pragma once
// The smallest model the project can make by itself, in seconds and without training:
// a byte-level bigram language model written as a one-block LLaMA checkpoint.
//   - the tokenizer is a pure byte tokenizer (3 specials, 256 byte tokens and "▁");
//   - embed_tokens places token v on basis vector e_v of the residual stream;
//   - the block's attention and MLP outputs are small (its weights are real, random and
//     quantizable, but contribute little to the residual);
//   - final RMSNorm of e_v is sqrt(C)·e_v, so lm_head[:, v] = log P(next | v) / sqrt(C)
//     makes the logits the add-one-smoothed bigram log-probabilities of the training text's
//     tokens.
// It is a placeholder default for demos and smoke tests; the trained model family replaces
// it as the bundled default.

#include "io/safetensors.h"

#include <cstdint>
#include <string>

namespace ptq {

struct DefaultModelSpec {
    std::string trainTextPath;    // UTF-8 text whose byte bigrams the model learns
    DType storage = DType::F32;   // F32, F16 or BF16
    uint64_t seed = 0;            // for the block's random weights
    double blockWeightStd = 0.02; // std of q/k/v/gate/up; o/down use blockWeightStd / 10
};

// Writes config.json, model.safetensors, tokenizer.json and tokenizer_config.json into dir.
void writeDefaultModel(const std::string& dir, const DefaultModelSpec& spec);

} // namespace ptq
