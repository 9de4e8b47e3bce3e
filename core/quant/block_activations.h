#pragma once
// Runs one block on its calibration inputs in full precision (the architecture's forward in
// float32) and keeps what the salience and optimization transforms (AWQ, SmoothQuant,
// OmniQuant's initial scales) need about each input group's input: per-channel mean and
// max of |x| over every calibration token, an evenly strided sample of token rows for the
// searches, and whole sequences where a fold point's module mixes tokens (attention).
//
// Of a block's runtime it honours the rotations (they change what the linears see);
// activation and KV quantizers are left out, as calibration statistics are taken in full
// precision.

#include "model/model.h"

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>

namespace ptq {

struct LinearInputStats {
    torch::Tensor absMean; // (in) mean |x| per input channel over all calibration tokens
    torch::Tensor absMax;  // (in) max |x| per input channel
    torch::Tensor rows;    // (R,in) tokens 0, stride, 2*stride, ... of the flattened (N*T)
    // (S,T,in) the first S = clamp(maxRows / T, 1, N) whole sequences, for inputs of a
    // fold point whose module mixes tokens; undefined otherwise.
    torch::Tensor sequences;
    // Tokens behind the statistics: every calibration token, or those routed to an MoE
    // expert. 0 for an expert no token chose: absMean and absMax are then zero and rows is
    // (0,in); the transforms leave such an input unscaled.
    int64_t tokens = 0;
};

struct BlockActivations {
    std::map<std::string, LinearInputStats> inputs; // by input group (BlockLayout::inputGroups)
    torch::Tensor output;                           // (N,T,C) the block's output

    // Throws ptq::Error when `input` was not collected.
    const LinearInputStats& at(const std::string& input) const;
};

// inputs (N,T,C) fp32. maxRows > 0 bounds the sampled rows of each input. Throws
// ptq::Error when the inputs are not (N,T,C) float32.
BlockActivations collectBlockActivations(const Model& model, const BlockWeights& w,
                                         const torch::Tensor& inputs, const ForwardContext& ctx,
                                         int64_t maxRows);

// Mean squared difference of two tensors of the same shape, accumulated in float64.
double meanSquaredError(const torch::Tensor& a, const torch::Tensor& b);

// Per-channel scales of a fold point: s on the producer's channels -> the scale of each
// consumer input column (repeated per head for grouped-query attention).
torch::Tensor consumerScale(const FoldPoint& f, const torch::Tensor& s);
// Per consumer column values (e.g. max|x| of o_proj's input) -> per producer channel: the
// maximum over the columns that one channel feeds.
torch::Tensor perProducerChannel(const FoldPoint& f, const torch::Tensor& x);
// Folds s into block w at f: the producer's output channels (norm gain, or linear rows and
// bias) divided by s, the consumers' (and exact consumers') input columns multiplied by
// consumerScale(f, s). The
// block's full-precision function is unchanged. Differentiable in s.
void foldScale(BlockWeights& w, const FoldPoint& f, const torch::Tensor& s);

} // namespace ptq
