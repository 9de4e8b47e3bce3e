#pragma once
// SmoothQuant (Xiao et al., 2022; arXiv 2211.10438) as a block transform: migrates the
// difficulty of quantizing activation outlier channels into the weights with the per-channel
// scale s_j = max|X_j|^alpha / max|W_j|^(1-alpha) (both clamped below at 1e-5), where max|W_j|
// is taken over column j of every linear sharing the input. The previous RMSNorm gain is
// divided by s and the following columns multiplied by it, so the full-precision block is
// unchanged while the linear inputs lose their outliers. As the reference smooth_lm does for
// LLaMA, the groups are input_layernorm -> q,k,v and post_attention_layernorm -> gate,up.

#include "quant/transform.h"

#include <nlohmann/json.hpp>

namespace ptq {

struct SmoothQuantParams {
    double alpha = 0.5; // migration strength in [0, 1]

    // Keys: alpha. Throws ptq::Error on unknown keys, wrong types, alpha outside [0, 1].
    static SmoothQuantParams fromJson(const nlohmann::json& params);
};

// Record values per group G in {attn_qkv, mlp_gate_up}: "G.scale_min", "G.scale_max", and the
// ratio of the largest to the median per-channel max|x| before and after smoothing
// ("G.outlier_ratio_before", "G.outlier_ratio_after").
class SmoothQuantTransform : public BlockTransform {
public:
    explicit SmoothQuantTransform(SmoothQuantParams params = {}) : m_params(params) {}
    std::string name() const override { return "smoothquant"; }
    void applyToBlock(BlockWeights& w, const BlockContext& ctx, TransformRecord& record,
                      const ProgressFn& progress) override;

private:
    SmoothQuantParams m_params;
};

} // namespace ptq
