#pragma once
// AWQ, activation-aware weight quantization (Lin et al., 2023; arXiv 2306.00978), as a block
// transform that runs before the weight quantizer.
//
// Scaling: the input channels a linear sees with large mean |x| are salient; multiplying
// their weight columns by s > 1 (and dividing the input by s, folded into the previous norm
// gain or the previous linear's output rows) keeps the full-precision function and lowers
// their relative rounding error. Per group of linears sharing an input, s = mean|x|^alpha,
// normalised by sqrt(max(s) * min(s)), with alpha in {0, 1/n, ..., (n-1)/n} chosen to minimise
// the module output error after RTN fake quantization on the recipe's grid. The groups follow
// the reference LLaMA handling: input_layernorm -> q,k,v (loss: attention module output);
// v_proj -> o_proj (only without grouped-query attention); post_attention_layernorm ->
// gate,up (loss: MLP output); up_proj -> down_proj (loss: down's output). Every group is
// searched on the unscaled block, then all scales are folded in.
//
// Clipping (optional, on by default): for every linear but q and k, each output row's
// quantization group is clamped to +-shrink*max|w|, shrink in 1, 1 - 1/clipGrid, ... down to
// 1 - maxShrink (exclusive), chosen to minimise that group's output error on a token sample.
// Clipping changes the full-precision weights; scaling alone does not.

#include "quant/grid.h"
#include "quant/transform.h"

#include <nlohmann/json.hpp>

#include <cstdint>

namespace ptq {

struct AwqParams {
    int64_t nGrid = 20;
    bool clip = true;
    int64_t clipGrid = 20;
    double maxShrink = 0.5;
    int64_t clipSamples = 512;
    // The weight grid the searches quantize with; the pipeline fills it from the recipe.
    QuantGrid grid{4, false, 128, 1.0};

    // Keys: nGrid, clip, clipGrid, maxShrink, clipSamples, wbits, groupSize, symmetric.
    // Throws ptq::Error on unknown keys, wrong types and out-of-range values.
    static AwqParams fromJson(const nlohmann::json& params);
};

// Record values per group G in {attn_qkv, v_o, mlp_gate_up, up_down}: "G.alpha",
// "G.loss_alpha0" (module output MSE without scaling), "G.loss" (at the chosen alpha); per
// clipped linear L: "clip.L.mean_shrink".
class AwqTransform : public BlockTransform {
public:
    explicit AwqTransform(AwqParams params = {}) : m_params(params) {}
    std::string name() const override { return "awq"; }
    void applyToBlock(BlockWeights& w, const BlockContext& ctx, TransformRecord& record,
                      const ProgressFn& progress) override;

private:
    AwqParams m_params;
};

// RTN fake quantization of a whole (out,in) weight on the grid (min-max parameters).
torch::Tensor rtnFakeQuantize(const torch::Tensor& weight, const QuantGrid& grid);

} // namespace ptq
