#pragma once
// OmniQuant (Shao et al., 2023; arXiv 2308.13137) as a block transform: for each block, the
// learnable equivalent transformation (LET) and learnable weight clipping (LWC, lwc.h) are
// trained with AdamW to minimise the MSE between the full-precision block output and the
// output of the block with LET-transformed, LWC fake-quantized weights, on the block's
// calibration inputs (the quantized trajectory the pipeline provides).
//
// LET here is per-channel scaling only, in three places: input_layernorm -> q/k/v,
// post_attention_layernorm -> gate/up (the norm gain is divided by s, the columns multiplied),
// and v_proj -> o_proj (v's output rows divided by s, and o's input columns of every query
// head reading that kv head multiplied by it, so grouped-query attention is exact). The
// paper's shifts need a bias after the norm to absorb -delta and an o_proj bias to absorb
// W*delta; RMSNorm blocks have neither, so no shift is learned. Scales start from
// SmoothQuant's max|X|^alpha / max|W|^(1-alpha) (alpha 0.5) as in the paper.
//
// After training, LET is folded into the norms and weights (exact in full precision), and
// each weight group is clamped to its learned [beta*min, gamma*max]: the recipe's weight
// quantizer (RTN in the built-in "omniquant" recipe) then finds on the clamped weights the
// very scale and zero LWC trained with, so RTN reproduces LWC's fake quantization exactly.
// By design the transform changes the full-precision function only by that clipping.
//
// When the recipe quantizes activations, the training forward fake-quantizes every linear
// input (per token when dynamic, per batch tensor when static; STE); KV-cache quantization
// and activation statistics of other transforms' runtime hooks are not modelled in the loss.
// A block runtime's down_proj input rotation (QuaRot) is honoured.
//
// Memory: besides the pipeline's buffers, the full-precision block outputs (N,T,C) fp32 and
// one batch's autograd graph (attention scores are (B,H,T,T)).

#include "quant/transform.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>

namespace ptq {

struct OmniQuantParams {
    int64_t epochs = 20;   // passes over the calibration samples
    int64_t batchSize = 1; // samples per AdamW step
    // LET on or off; unset = on exactly when the recipe quantizes activations, as the
    // authors' scripts run it (weight-only LLaMA runs use --lwc alone, W4A4/W6A6 --lwc --let).
    std::optional<bool> let;
    bool lwc = true;
    double letLr = 5e-3;
    double lwcLr = 1e-2;
    double wd = 0.0;      // AdamW weight decay, both parameter groups
    double alpha = 0.5;   // SmoothQuant migration strength of the LET initialisation
    double lwcInit = 4.0; // initial gamma/beta logit: sigmoid(4) = 0.982

    // Keys: epochs, batchSize, let, lwc, letLr, lwcLr, wd, alpha, lwcInit. Throws ptq::Error
    // on unknown keys, wrong types and out-of-range values.
    static OmniQuantParams fromJson(const nlohmann::json& params);
};

// Needs ctx.weightGrid (the recipe's grid; LWC learns its groups) and honours
// ctx.activations. Record values: "loss_rtn" (block MSE with plain RTN weights, before any
// transformation), "loss_initial" (with the initial LET and LWC), "loss_final" (after
// training), "epoch_loss_first"/"epoch_loss_last" (mean training loss of the first and last
// epoch), "steps", "seconds", "let.G.scale_min"/"let.G.scale_max" for G in
// {attn_qkv, v_o, mlp_gate_up}, "lwc.gamma_mean", "lwc.beta_mean".
class OmniQuantTransform : public BlockTransform {
public:
    explicit OmniQuantTransform(OmniQuantParams params = {}) : m_params(params) {}
    std::string name() const override { return "omniquant"; }
    void applyToBlock(BlockWeights& w, const BlockContext& ctx, TransformRecord& record,
                      const ProgressFn& progress) override;

private:
    OmniQuantParams m_params;
};

} // namespace ptq
