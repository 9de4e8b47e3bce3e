#pragma once
// Activation and KV-cache fake quantization: values are rounded to a uniform grid and
// returned in float32, so the forward runs as the quantized kernels would compute it.
//
// Asymmetric: range [min(x, 0), max(x, 0)] times the clip ratio, scale = range / (2^b - 1),
// integer zero point. Symmetric: scale = clip * max|x| / (2^(b-1) - 1), codes in
// [-2^(b-1), 2^(b-1) - 1] (QuaRot's convention). Zero ranges use scale 1.

#include "model/architecture.h"
#include "quant/recipe.h"

#include <map>
#include <memory>
#include <string>

namespace ptq {

// x (..., n): one grid per group of `groupSize` consecutive values of the last dimension
// (groupSize = n: per token / per head row). Throws ptq::Error when groupSize does not divide n.
torch::Tensor fakeQuantGroups(const torch::Tensor& x, int64_t groupSize, int bits, bool symmetric,
                              double clipRatio);

// Calibration range of one linear input for static per-tensor activation quantization.
struct ActRange {
    float lo = 0.f;
    float hi = 0.f;
    void add(const torch::Tensor& x);
};

// x with one static grid from a calibrated range.
torch::Tensor fakeQuantStatic(const torch::Tensor& x, const ActRange& range, int bits,
                              bool symmetric, double clipRatio);

// The runtime of `base` (may be null) with activation and KV fake quantization added after
// its own hooks. Static activation quantization needs `ranges` for every input group of the
// layout (by the names the linearInput hook is called with); the layout's head_dim sizes
// the KV groups.
std::shared_ptr<const BlockRuntime>
withQuantizedActivations(const std::shared_ptr<const BlockRuntime>& base,
                         const std::optional<ActQuantSpec>& activations,
                         const std::optional<KvQuantSpec>& kv, const BlockLayout& layout,
                         const std::map<std::string, ActRange>& ranges = {});

} // namespace ptq
