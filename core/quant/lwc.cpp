#include "quant/lwc.h"

#include "util/error.h"

namespace ptq {

namespace {

// The smallest positive fp16 subnormal (2^-24), the floor grid.cpp puts under every scale.
constexpr double kHalfMinSubnormal = 5.9604644775390625e-8;

// round(x) forward, identity backward. x + (round(x) - x) equals round(x) exactly: the
// difference is at most 0.5 and representable, so the sum rounds to the integer itself.
torch::Tensor roundSte(const torch::Tensor& x)
{
    return x + (torch::round(x) - x).detach();
}

// groupRows (groups, cols) clamped to their learned ranges.
torch::Tensor clampRows(const torch::Tensor& groupRows, const torch::Tensor& gammaLogit,
                        const torch::Tensor& betaLogit)
{
    const LwcBounds b = lwcBounds(groupRows, gammaLogit, betaLogit);
    return torch::minimum(torch::maximum(groupRows, b.lo), b.hi);
}

void checkLogits(const torch::Tensor& logit, int64_t groups, const char* what)
{
    if (logit.defined() && (logit.dim() != 2 || logit.size(0) != groups || logit.size(1) != 1))
        throw Error("learnable weight clipping", what,
                    "expected (" + std::to_string(groups) + ", 1) logits, one per group");
}

} // namespace

torch::Tensor lwcGroupRows(const torch::Tensor& weight, const QuantGrid& recipeGrid)
{
    const int64_t out = weight.size(0), in = weight.size(1);
    const QuantGrid grid = gridFor(recipeGrid, in);
    validate(grid, in);
    if (grid.groupSize == -1)
        return weight.reshape({1, out * in});
    if (grid.groupSize == 0)
        return weight;
    return weight.reshape({out * (in / grid.groupSize), grid.groupSize});
}

int64_t lwcGroupCount(const QuantGrid& recipeGrid, int64_t outFeatures, int64_t inFeatures)
{
    const QuantGrid grid = gridFor(recipeGrid, inFeatures);
    if (grid.groupSize == -1)
        return 1;
    return outFeatures * groupsPerRow(grid, inFeatures);
}

LwcBounds lwcBounds(const torch::Tensor& groupRows, const torch::Tensor& gammaLogit,
                    const torch::Tensor& betaLogit)
{
    checkLogits(gammaLogit, groupRows.size(0), "gamma");
    checkLogits(betaLogit, groupRows.size(0), "beta");
    const auto xmin = groupRows.amin(1, true); // (groups,1)
    const auto xmax = groupRows.amax(1, true);
    LwcBounds b;
    b.hi = gammaLogit.defined() ? torch::sigmoid(gammaLogit) * xmax : xmax;
    const auto lo = betaLogit.defined() ? torch::sigmoid(betaLogit) * xmin : xmin;
    b.lo = torch::minimum(lo, b.hi);
    return b;
}

torch::Tensor lwcClamp(const torch::Tensor& weight, const QuantGrid& grid,
                       const torch::Tensor& gammaLogit, const torch::Tensor& betaLogit)
{
    return clampRows(lwcGroupRows(weight, grid), gammaLogit, betaLogit).reshape(weight.sizes());
}

torch::Tensor lwcFakeQuantize(const torch::Tensor& weight, const QuantGrid& grid,
                              const torch::Tensor& gammaLogit, const torch::Tensor& betaLogit)
{
    const auto rows = clampRows(lwcGroupRows(weight, grid), gammaLogit, betaLogit);
    // The range of the clamped group by grid.cpp's adjustRange, so the parameters are the
    // ones RTN finds on the clamped weight.
    auto lo = rows.amin(1, true).clamp_max(0.0);
    auto hi = rows.amax(1, true).clamp_min(0.0);
    if (grid.symmetric) {
        hi = torch::maximum(-lo, hi);
        lo = -hi;
    }
    if (grid.clipRatio != 1.0) {
        lo = lo * float(grid.clipRatio);
        hi = hi * float(grid.clipRatio);
    }
    const auto empty = (lo == 0) & (hi == 0);
    lo = torch::where(empty, torch::full_like(lo, -1.0), lo);
    hi = torch::where(empty, torch::full_like(hi, 1.0), hi);

    const double maxq = double(grid.maxq());
    auto scale = (hi - lo) / maxq;
    // Stored scales are fp16: optimise against the rounded value (STE for the rounding).
    scale = scale + (scale.to(torch::kHalf).to(torch::kFloat) - scale).detach();
    scale = scale.clamp_min(kHalfMinSubnormal);
    torch::Tensor zero = grid.symmetric
                             ? torch::full_like(scale, double(int64_t(1) << (grid.bits - 1)))
                             : torch::clamp(roundSte(-lo / scale), 0.0, maxq);
    auto q = torch::clamp(roundSte(rows / scale) + zero, 0.0, maxq);
    return (scale * (q - zero)).reshape(weight.sizes());
}

} // namespace ptq
