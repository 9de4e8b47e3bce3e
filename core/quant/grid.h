#pragma once
// The uniform quantization grid: how many bits, symmetric or not, how many input columns
// share one scale, and the min-max parameters of a row following GPTQ's
// Quantizer.find_params (Frantar et al., 2022, IST-DASLab/gptq quant.py).
//
// Scales are rounded to fp16 before anything uses them, because fp16 is how they are
// stored (packing.h): codes, zeros and the fake-quantized weight are all computed from the
// rounded scale, so the stored model dequantizes bit-exactly to the weight the methods
// optimised against.

#include <torch/torch.h>

#include <cstdint>

namespace ptq {

struct QuantGrid {
    int bits = 4;
    bool symmetric = false;
    // 0 = one group per output channel (row), -1 = one group for the whole tensor,
    // else the number of input columns per group.
    int64_t groupSize = 0;
    // Shrinks the min/max range before the scale is computed; in (0, 1].
    double clipRatio = 1.0;

    int64_t maxq() const { return (int64_t(1) << bits) - 1; }
};

// Throws ptq::Error for bits outside 2..8, a group size that does not divide inFeatures,
// a clip ratio outside (0, 1].
void validate(const QuantGrid& grid, int64_t inFeatures);

// The grid a linear with inFeatures inputs is quantized on: `grid`, or one group per output
// row (groupSize 0) when grid's group size does not divide inFeatures. Only linears whose
// layout allows it get there (BlockTensorSpec::groupFallback, e.g. Mamba's dt_proj, which
// reads time_step_rank = 8..160 features); recipes are checked against every other width.
QuantGrid gridFor(const QuantGrid& grid, int64_t inFeatures);

// Columns covered by one group (inFeatures for per-channel and per-tensor grids).
int64_t groupColumns(const QuantGrid& grid, int64_t inFeatures);
// Groups per row as stored: inFeatures / groupSize, or 1 (per-channel, per-tensor).
int64_t groupsPerRow(const QuantGrid& grid, int64_t inFeatures);

// Per-row grid parameters, both float32 (rows, 1): scale is fp16-representable, zero holds
// integers in [0, maxq] (2^(bits-1) when symmetric).
struct QuantParams {
    torch::Tensor scale;
    torch::Tensor zero;
};

// GPTQ's MSE search: shrink the range by p = 1 - i/grid for i < maxShrink*grid and keep the
// p with the least sum |q - w|^norm per row.
struct MseSearch {
    bool enabled = false;
    double norm = 2.4;
    int grid = 100;
    double maxShrink = 0.8;
};

// Parameters of one row whose values span [lo, hi], by the rules of findParams (range
// widened to include 0, symmetric centring, clip ratio, all-zero rows, fp16 scale).
// Throws ptq::Error when the scale overflows fp16.
void rowParams(float lo, float hi, const QuantGrid& grid, float& scale, float& zero);

// Parameters of each row of w (rows, cols), ignoring grid.groupSize (the caller slices).
// min/max include 0; symmetric grids use scale = 2*max|w|/maxq and zero = 2^(bits-1);
// rows that are all zero use [-1, 1]. Throws ptq::Error when a scale overflows fp16.
QuantParams findParams(const torch::Tensor& w, const QuantGrid& grid, const MseSearch& mse = {});

// Parameters of a whole (out, in) weight at the grid's granularity: scale and zero are
// (out, groups), or (1, 1) for a per-tensor grid.
QuantParams findWeightParams(const torch::Tensor& weight, const QuantGrid& grid,
                             const MseSearch& mse = {});

// Expands (out, groups) or (1, 1) parameters to one column per weight column: (out, in).
torch::Tensor expandToColumns(const torch::Tensor& p, int64_t outFeatures, int64_t inFeatures);

// Integer codes clamp(round(w/scale) + zero, 0, maxq) as uint8, rounding half to even;
// scale and zero broadcast against w.
torch::Tensor quantCodes(const torch::Tensor& w, const torch::Tensor& scale,
                         const torch::Tensor& zero, int bits);
// scale * (codes - zero): the fake-quantized weight, float32.
torch::Tensor fakeQuantize(const torch::Tensor& w, const torch::Tensor& scale,
                           const torch::Tensor& zero, int bits);

// True when no element is NaN or Inf. float32 tensors are scanned in place by their bit
// pattern (one pass at memory speed, no temporary); other dtypes go through torch.
bool allFinite(const torch::Tensor& t);

} // namespace ptq
