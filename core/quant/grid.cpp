#include "quant/grid.h"

#include "util/error.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace ptq {

namespace {
const char* const kGridFile = "quantization grid";

// The largest finite fp16 value and the smallest positive fp16 subnormal (2^-24).
constexpr double kHalfMax = 65504.0;
constexpr double kHalfMinSubnormal = 5.9604644775390625e-8;

// GPTQ's range rules: include 0, centre symmetric grids, clip, all-zero rows use [-1, 1].
void adjustRange(float& lo, float& hi, const QuantGrid& grid)
{
    lo = std::min(lo, 0.0f);
    hi = std::max(hi, 0.0f);
    if (grid.symmetric) {
        // Always centred on zero: GPTQ keeps lo = 0 for all-positive rows, which halves the
        // representable range of those rows; the symmetric grid here never does.
        hi = std::max(-lo, hi);
        lo = -hi;
    }
    if (grid.clipRatio != 1.0) {
        lo *= float(grid.clipRatio);
        hi *= float(grid.clipRatio);
    }
    if (lo == 0.0f && hi == 0.0f) {
        lo = -1.0f;
        hi = 1.0f;
    }
}

// Scale (fp16-rounded) and zero of an adjusted range.
void paramsOfRange(float lo, float hi, const QuantGrid& grid, float& scale, float& zero)
{
    const float maxq = float(grid.maxq());
    const float s = (hi - lo) / maxq;
    if (!(s <= float(kHalfMax)))
        throw Error(kGridFile, "scale",
                    "a scale exceeds the fp16 range (weights too large for the grid)");
    scale = std::max(static_cast<float>(c10::Half(s)), float(kHalfMinSubnormal));
    zero = grid.symmetric ? float(int64_t(1) << (grid.bits - 1))
                          : std::min(std::max(std::nearbyint(-lo / scale), 0.0f), maxq);
}

// GPTQ's MSE grid search over shrunken ranges p*[lo, hi]; keeps the first best per row.
// lo, hi: adjusted ranges, float32 (rows).
void searchClip(const torch::Tensor& w, const std::vector<float>& lo, const std::vector<float>& hi,
                const QuantGrid& grid, const MseSearch& mse, QuantParams& best)
{
    const int64_t rows = w.size(0);
    auto bestErr = torch::full({rows, 1}, std::numeric_limits<float>::infinity());
    QuantParams cand{torch::empty({rows, 1}), torch::empty({rows, 1})};
    const int steps = int(mse.maxShrink * mse.grid);
    for (int i = 0; i < steps; ++i) {
        const float p = float(1.0 - double(i) / mse.grid);
        for (int64_t r = 0; r < rows; ++r)
            paramsOfRange(lo[r] * p, hi[r] * p, grid, cand.scale.data_ptr<float>()[r],
                          cand.zero.data_ptr<float>()[r]);
        auto err = (fakeQuantize(w, cand.scale, cand.zero, grid.bits) - w)
                       .abs_()
                       .pow_(mse.norm)
                       .sum(1, /*keepdim=*/true);
        const auto better = err < bestErr;
        bestErr = torch::where(better, err, bestErr);
        best.scale = torch::where(better, cand.scale, best.scale);
        best.zero = torch::where(better, cand.zero, best.zero);
    }
}
} // namespace

void validate(const QuantGrid& grid, int64_t inFeatures)
{
    if (grid.bits < 2 || grid.bits > 8)
        throw Error(kGridFile, "bits",
                    "bits must be between 2 and 8, got " + std::to_string(grid.bits));
    if (!(grid.clipRatio > 0.0 && grid.clipRatio <= 1.0))
        throw Error(kGridFile, "clipRatio",
                    "clip ratio must be in (0, 1], got " + std::to_string(grid.clipRatio));
    if (grid.groupSize == 0 || grid.groupSize == -1)
        return;
    if (grid.groupSize < -1)
        throw Error(kGridFile, "groupSize",
                    "group size must be -1, 0 or positive, got " + std::to_string(grid.groupSize));
    if (inFeatures <= 0 || inFeatures % grid.groupSize != 0)
        throw Error(kGridFile, "groupSize",
                    "group size " + std::to_string(grid.groupSize) +
                        " does not divide the input features " + std::to_string(inFeatures));
}

QuantGrid gridFor(const QuantGrid& grid, int64_t inFeatures)
{
    QuantGrid g = grid;
    if (g.groupSize > 0 && inFeatures > 0 && inFeatures % g.groupSize != 0)
        g.groupSize = 0;
    return g;
}

int64_t groupColumns(const QuantGrid& grid, int64_t inFeatures)
{
    return grid.groupSize > 0 ? grid.groupSize : inFeatures;
}

int64_t groupsPerRow(const QuantGrid& grid, int64_t inFeatures)
{
    return grid.groupSize > 0 ? inFeatures / grid.groupSize : 1;
}

bool allFinite(const torch::Tensor& t)
{
    if (t.scalar_type() != torch::kFloat || !t.is_contiguous())
        return torch::isfinite(t).all().item<bool>();
    // Exponent bits all ones <=> Inf or NaN; an integer OR-reduction vectorises.
    const auto* bits = static_cast<const uint32_t*>(t.data_ptr());
    const int64_t n = t.numel();
    uint32_t bad = 0;
    for (int64_t i = 0; i < n; ++i)
        bad |= uint32_t((bits[i] & 0x7f800000u) == 0x7f800000u);
    return bad == 0;
}

void rowParams(float lo, float hi, const QuantGrid& grid, float& scale, float& zero)
{
    adjustRange(lo, hi, grid);
    paramsOfRange(lo, hi, grid, scale, zero);
}

QuantParams findParams(const torch::Tensor& w, const QuantGrid& grid, const MseSearch& mse)
{
    TORCH_CHECK(w.dim() == 2, "findParams expects (rows, cols)");
    const auto x = w.to(torch::kFloat);
    const int64_t rows = x.size(0);
    const auto xmin = std::get<0>(x.min(1)).contiguous();
    const auto xmax = std::get<0>(x.max(1)).contiguous();
    std::vector<float> lo(xmin.data_ptr<float>(), xmin.data_ptr<float>() + rows);
    std::vector<float> hi(xmax.data_ptr<float>(), xmax.data_ptr<float>() + rows);
    QuantParams p{torch::empty({rows, 1}), torch::empty({rows, 1})};
    for (int64_t r = 0; r < rows; ++r) {
        adjustRange(lo[r], hi[r], grid);
        paramsOfRange(lo[r], hi[r], grid, p.scale.data_ptr<float>()[r],
                      p.zero.data_ptr<float>()[r]);
    }
    if (mse.enabled)
        searchClip(x, lo, hi, grid, mse, p);
    return p;
}

QuantParams findWeightParams(const torch::Tensor& weight, const QuantGrid& grid,
                             const MseSearch& mse)
{
    TORCH_CHECK(weight.dim() == 2, "findWeightParams expects (out, in)");
    const int64_t out = weight.size(0), in = weight.size(1);
    validate(grid, in);
    if (grid.groupSize == -1)
        return findParams(weight.reshape({1, -1}), grid, mse);
    if (grid.groupSize == 0)
        return findParams(weight, grid, mse);
    // (out, in) -> (out*groups, groupSize): each row of the view is one group.
    const int64_t groups = in / grid.groupSize;
    QuantParams p = findParams(weight.reshape({out * groups, grid.groupSize}), grid, mse);
    p.scale = p.scale.reshape({out, groups});
    p.zero = p.zero.reshape({out, groups});
    return p;
}

torch::Tensor expandToColumns(const torch::Tensor& p, int64_t outFeatures, int64_t inFeatures)
{
    const int64_t groups = p.size(1);
    TORCH_CHECK(inFeatures % groups == 0, "groups must divide the input features");
    auto e = p.repeat_interleave(inFeatures / groups, 1);
    return e.size(0) == outFeatures ? e : e.expand({outFeatures, inFeatures});
}

torch::Tensor quantCodes(const torch::Tensor& w, const torch::Tensor& scale,
                         const torch::Tensor& zero, int bits)
{
    const double maxq = double((int64_t(1) << bits) - 1);
    return torch::clamp(torch::round(w.to(torch::kFloat) / scale) + zero, 0.0, maxq)
        .to(torch::kUInt8);
}

torch::Tensor fakeQuantize(const torch::Tensor& w, const torch::Tensor& scale,
                           const torch::Tensor& zero, int bits)
{
    const double maxq = double((int64_t(1) << bits) - 1);
    auto q = torch::clamp(torch::round(w.to(torch::kFloat) / scale) + zero, 0.0, maxq);
    return scale * (q - zero);
}

} // namespace ptq
