#pragma once
// Runs one decoder block on its calibration inputs in full precision and keeps what the
// salience transforms (AWQ, SmoothQuant) need about each linear's input: per-channel mean and
// max of |x| over every calibration token, and an evenly strided sample of token rows for
// the searches. Written with the shared LLaMA math (llama_ops.h), so it also gives the
// attention mix that AWQ's q/k/v search evaluates with trial weights.
//
// The forward here is the plain full-precision block. Of a block's runtime hooks it honours
// only downInputRotation (it changes what down_proj sees); activation and KV quantizers are
// left out, as calibration statistics are taken in full precision.

#include "model/llama.h"

#include <torch/torch.h>

#include <cstdint>

namespace ptq {

struct LinearInputStats {
    torch::Tensor absMean; // (in) mean |x| per input channel over all calibration tokens
    torch::Tensor absMax;  // (in) max |x| per input channel
    torch::Tensor rows;    // (R,in) tokens 0, stride, 2*stride, ... of the flattened (N*T)
};

struct BlockActivations {
    LinearInputStats attnInput; // input_layernorm(h): q/k/v's input (C)
    LinearInputStats oInput;    // attention mix: o_proj's input (H*D)
    LinearInputStats mlpInput;  // post_attention_layernorm(h1): gate/up's input (C)
    LinearInputStats downInput; // silu(gate)*up (after downInputRotation): down's input (I)
    // (S,T,C) attnInput of the first S = clamp(maxRows / T, 1, N) whole sequences: attention
    // needs whole sequences, so losses over the attention module use these.
    torch::Tensor attnSequences;
    torch::Tensor output; // (N,T,C) the block's output
};

// inputs (N,T,C) fp32. maxRows > 0 bounds the sampled rows of each linear input. Throws
// ptq::Error when the inputs are not (N,T,C) float32 with T within the RoPE tables.
BlockActivations collectBlockActivations(const ModelConfig& config, const BlockWeights& w,
                                         const torch::Tensor& inputs, const RopeTables& rope,
                                         int64_t maxRows);

// Causal (and sliding-window) softmax attention of normalised inputs x (B,T,C) using w's
// q/k/v weights and biases: the (B,T,H*D) tensor o_proj multiplies. fp32 throughout.
torch::Tensor attentionMix(const ModelConfig& config, const BlockWeights& w, const torch::Tensor& x,
                           const RopeTables& rope);

// down(silu(gate(x)) * up(x)) for x (...,C), with down's input rotated when r is defined.
torch::Tensor mlpOutput(const torch::Tensor& x, const torch::Tensor& gate, const torch::Tensor& up,
                        const torch::Tensor& down, const torch::Tensor& r = {});

// Mean squared difference of two tensors of the same shape, accumulated in float64.
double meanSquaredError(const torch::Tensor& a, const torch::Tensor& b);

} // namespace ptq
