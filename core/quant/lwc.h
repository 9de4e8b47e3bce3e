#pragma once
// Learnable weight clipping (LWC), the weight half of OmniQuant (Shao et al., 2023; arXiv
// 2308.13137): every quantization group of a weight has two learnable logits, and
// gamma = sigmoid(gammaLogit), beta = sigmoid(betaLogit) in (0, 1) shrink the group's range
// to [beta * min, gamma * max] before the uniform grid of grid.h quantizes it.
//
// The clipped group is quantized exactly as RTN (grid.h's findParams + fakeQuantize) would
// quantize the weight after lwcClamp(): the range is widened to include 0, centred for
// symmetric grids, shrunk by the grid's clip ratio, the scale rounded to fp16 and the zero
// rounded to an integer. So lwcFakeQuantize(w) == rtnFakeQuantize(lwcClamp(w)) bit for bit,
// which lets the learned clipping be handed to any weight quantizer as a clamped weight.
// (The paper clamps the integer codes instead of the weights; the two differ only for values
// outside the learned range whose rounded code lands one step inside it.)
//
// Gradients: round() and the fp16 rounding of the scale pass gradients straight through
// (STE); clamp() passes them to the bound where a value is clipped.

#include "quant/grid.h"

#include <torch/torch.h>

#include <cstdint>

namespace ptq {

// (out,in) weight -> (groups, columns) rows, one row per quantization group of the grid:
// per channel (out, in), per group (out*in/g, g), per tensor (1, out*in).
torch::Tensor lwcGroupRows(const torch::Tensor& weight, const QuantGrid& grid);
// Groups of a weight of in columns and out rows: the row count of lwcGroupRows.
int64_t lwcGroupCount(const QuantGrid& grid, int64_t outFeatures, int64_t inFeatures);

// The clip bounds of each group row g (groups, cols): hi = gamma * max(g) and
// lo = min(beta * min(g), hi), each (groups, 1). Undefined logits mean no clipping
// (gamma = beta = 1). The min with hi keeps lo <= hi for groups of one sign.
struct LwcBounds {
    torch::Tensor lo;
    torch::Tensor hi;
};
LwcBounds lwcBounds(const torch::Tensor& groupRows, const torch::Tensor& gammaLogit,
                    const torch::Tensor& betaLogit);

// The weight with each group clamped to its learned range, (out,in). What the transform
// leaves in the model for the recipe's weight quantizer.
torch::Tensor lwcClamp(const torch::Tensor& weight, const QuantGrid& grid,
                       const torch::Tensor& gammaLogit, const torch::Tensor& betaLogit);

// The clamped weight fake-quantized on the grid with the clipped range's scale and zero,
// (out,in) float32; differentiable in the weight and in the logits (groups, 1).
torch::Tensor lwcFakeQuantize(const torch::Tensor& weight, const QuantGrid& grid,
                              const torch::Tensor& gammaLogit, const torch::Tensor& betaLogit);

} // namespace ptq
