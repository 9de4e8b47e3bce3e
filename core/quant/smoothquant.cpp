#include "quant/smoothquant.h"

#include "quant/block_activations.h"
#include "quant/method.h"
#include "util/error.h"

#include <string>
#include <vector>

namespace ptq {

namespace {

// Only the per-channel maxima are needed, which cover every token; the sampled rows are not.
constexpr int64_t kSampleRows = 1;

// s = max|X|^alpha / max|W|^(1-alpha) over the group's linears, clamped below at 1e-5 (as
// the reference smooth_ln_fcs).
torch::Tensor smoothingScales(const torch::Tensor& actMax, const std::vector<torch::Tensor>& fcs,
                              double alpha)
{
    torch::Tensor weightMax;
    for (const auto& fc : fcs) {
        auto m = fc.abs().amax(0);
        weightMax = weightMax.defined() ? torch::maximum(weightMax, m) : m;
    }
    weightMax = weightMax.clamp_min(1e-5);
    return (actMax.pow(alpha) / weightMax.pow(1.0 - alpha)).clamp_min(1e-5);
}

double outlierRatio(const torch::Tensor& actMax)
{
    return (actMax.max() / actMax.median().clamp_min(1e-30)).item<double>();
}

} // namespace

SmoothQuantParams SmoothQuantParams::fromJson(const nlohmann::json& params)
{
    MethodParams m("smoothquant", params);
    SmoothQuantParams p;
    p.alpha = m.getDouble("alpha", p.alpha);
    m.finish();
    if (!(p.alpha >= 0.0 && p.alpha <= 1.0))
        throw Error(m.source(), "alpha", "must lie in [0, 1], got " + std::to_string(p.alpha));
    return p;
}

void SmoothQuantTransform::applyToBlock(BlockWeights& w, const BlockContext& ctx,
                                        TransformRecord& record, const ProgressFn& progress)
{
    torch::NoGradGuard noGrad;
    if (!ctx.model || !ctx.forward)
        throw Error("smoothquant", "block " + std::to_string(w.index),
                    "the block context lacks the model or the forward context");
    record.transform = name();
    record.block = w.index;
    const auto acts = collectBlockActivations(*ctx.model, w, ctx.inputs, *ctx.forward, kSampleRows);
    auto note = [&](const std::string& group, const torch::Tensor& s, const torch::Tensor& actMax) {
        record.values[group + ".scale_min"] = s.min().item<double>();
        record.values[group + ".scale_max"] = s.max().item<double>();
        record.values[group + ".outlier_ratio_before"] = outlierRatio(actMax);
        record.values[group + ".outlier_ratio_after"] = outlierRatio(actMax / s);
    };
    // Every norm -> linears fold point: the activations the linears read come out of the norm.
    for (const FoldPoint* f : w.layout->foldsOf(ArchFeature::NormFold)) {
        const auto& actMax = acts.at(f->input).absMax;
        std::vector<torch::Tensor> fcs;
        for (const auto& c : f->consumers)
            fcs.push_back(w.at(c));
        const auto s = smoothingScales(actMax, fcs, m_params.alpha);
        foldScale(w, *f, s);
        note(f->name, s, actMax);
    }
    reportProgress(progress, {"smoothquant block " + std::to_string(w.index), "smoothed", 1, 1});
}

} // namespace ptq
