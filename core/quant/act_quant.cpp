#include "quant/act_quant.h"

#include "util/error.h"

#include <algorithm>
#include <cmath>

namespace ptq {

namespace {

// Fake-quantizes x against per-row lo/hi (broadcastable), following the header's rules.
torch::Tensor quantizeRange(const torch::Tensor& x, torch::Tensor lo, torch::Tensor hi, int bits,
                            bool symmetric, double clipRatio)
{
    if (symmetric) {
        const double maxq = double((int64_t(1) << (bits - 1)) - 1);
        auto m = torch::max(lo.abs(), hi.abs()) * clipRatio;
        auto scale = m / maxq;
        scale = torch::where(scale > 0, scale, torch::ones_like(scale));
        return torch::clamp(torch::round(x / scale), -maxq - 1, maxq) * scale;
    }
    const double maxq = double((int64_t(1) << bits) - 1);
    lo = torch::clamp_max(lo, 0) * clipRatio;
    hi = torch::clamp_min(hi, 0) * clipRatio;
    auto scale = (hi - lo) / maxq;
    scale = torch::where(scale > 0, scale, torch::ones_like(scale));
    auto zero = torch::round(-lo / scale);
    return (torch::clamp(torch::round(x / scale) + zero, 0, maxq) - zero) * scale;
}

} // namespace

torch::Tensor fakeQuantGroups(const torch::Tensor& x, int64_t groupSize, int bits, bool symmetric,
                              double clipRatio)
{
    const int64_t n = x.size(-1);
    if (groupSize <= 0 || n % groupSize != 0)
        throw Error("activation quantizer", "group size",
                    std::to_string(groupSize) + " does not divide the last dimension " +
                        std::to_string(n));
    auto shape = x.sizes().vec();
    auto g = x.to(torch::kFloat).reshape({-1, groupSize});
    auto lo = std::get<0>(g.min(1, true));
    auto hi = std::get<0>(g.max(1, true));
    return quantizeRange(g, lo, hi, bits, symmetric, clipRatio).view(shape);
}

void ActRange::add(const torch::Tensor& x)
{
    lo = std::min(lo, x.min().item<float>());
    hi = std::max(hi, x.max().item<float>());
}

torch::Tensor fakeQuantStatic(const torch::Tensor& x, const ActRange& range, int bits,
                              bool symmetric, double clipRatio)
{
    auto lo = torch::full({1}, range.lo);
    auto hi = torch::full({1}, range.hi);
    return quantizeRange(x.to(torch::kFloat), lo, hi, bits, symmetric, clipRatio);
}

std::shared_ptr<const BlockRuntime>
withQuantizedActivations(const std::shared_ptr<const BlockRuntime>& base,
                         const std::optional<ActQuantSpec>& activations,
                         const std::optional<KvQuantSpec>& kv, const BlockLayout& layout,
                         const std::map<std::string, ActRange>& ranges)
{
    if (!activations && !kv)
        return base;
    auto rt = std::make_shared<BlockRuntime>(base ? *base : BlockRuntime{});
    if (activations) {
        const ActQuantSpec a = *activations;
        auto inner = rt->linearInput;
        auto staticRanges = ranges;
        if (!a.dynamic)
            for (const auto& g : layout.inputGroups)
                if (!staticRanges.count(g.input))
                    throw Error("activation quantizer", g.input,
                                "static quantization needs a calibrated range for this input");
        rt->linearInput = [a, inner, staticRanges](const std::string& name,
                                                   const torch::Tensor& x) {
            auto y = inner ? inner(name, x) : x;
            if (a.dynamic)
                return fakeQuantGroups(y, y.size(-1), a.bits, a.symmetric, a.clipRatio);
            return fakeQuantStatic(y, staticRanges.at(name), a.bits, a.symmetric, a.clipRatio);
        };
    }
    if (kv) {
        const KvQuantSpec k = *kv;
        const int64_t headDim = layout.headDim;
        if (headDim <= 0)
            throw Error("KV quantizer", "head_dim",
                        "the architecture's blocks have no attention cache");
        const int64_t group = k.groupSize > 0 ? k.groupSize : headDim;
        if (headDim % group != 0)
            throw Error("KV quantizer", "group size",
                        std::to_string(group) + " does not divide head_dim " +
                            std::to_string(headDim));
        auto wrap = [k, group](std::function<torch::Tensor(const torch::Tensor&)> inner) {
            return [k, group, inner](const torch::Tensor& t) {
                auto y = inner ? inner(t) : t;
                return fakeQuantGroups(y, group, k.bits, k.symmetric, k.clipRatio);
            };
        };
        rt->keyCache = wrap(rt->keyCache);
        rt->valueCache = wrap(rt->valueCache);
    }
    return rt;
}

} // namespace ptq
