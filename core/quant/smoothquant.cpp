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
    if (!ctx.model || !ctx.rope)
        throw Error("smoothquant", "block " + std::to_string(w.index),
                    "the block context lacks the model or the RoPE tables");
    record.transform = name();
    record.block = w.index;
    const auto acts =
        collectBlockActivations(ctx.model->config(), w, ctx.inputs, *ctx.rope, kSampleRows);
    auto note = [&](const std::string& group, const torch::Tensor& s, const torch::Tensor& actMax) {
        record.values[group + ".scale_min"] = s.min().item<double>();
        record.values[group + ".scale_max"] = s.max().item<double>();
        record.values[group + ".outlier_ratio_before"] = outlierRatio(actMax);
        record.values[group + ".outlier_ratio_after"] = outlierRatio(actMax / s);
    };

    const auto& attnMax = acts.attnInput.absMax;
    const auto sa = smoothingScales(attnMax, {w.qProj, w.kProj, w.vProj}, m_params.alpha);
    w.inputNorm = w.inputNorm / sa;
    w.qProj = w.qProj * sa, w.kProj = w.kProj * sa, w.vProj = w.vProj * sa;
    note("attn_qkv", sa, attnMax);

    const auto& mlpMax = acts.mlpInput.absMax;
    const auto sm = smoothingScales(mlpMax, {w.gateProj, w.upProj}, m_params.alpha);
    w.postNorm = w.postNorm / sm;
    w.gateProj = w.gateProj * sm, w.upProj = w.upProj * sm;
    note("mlp_gate_up", sm, mlpMax);
    reportProgress(progress, {"smoothquant block " + std::to_string(w.index), "smoothed", 1, 1});
}

} // namespace ptq
