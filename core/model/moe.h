#pragma once
// Mixture-of-Experts decoders as Architecture rows (model/architecture.h): the LLaMA
// attention (model/llama.h) with the feed-forward half replaced by routed SwiGLU experts.
//   mixtral    block_sparse_moe.gate (router, E x C, no bias), block_sparse_moe.experts.E.{w1,
//              w3, w2} (gate, up, down); softmax in float32, top-k, the k weights
//              renormalised to sum to 1 (MixtralSparseMoeBlock).
//   deepseek   DeepSeekMoE (16B): mlp.gate, mlp.experts.E.{gate,up,down}_proj and
//              mlp.shared_experts.* of width moe_intermediate_size x n_shared_experts, added
//              unweighted; the first first_k_dense_replace layers (and those off
//              moe_layer_freq) are dense MLPs of intermediate_size; norm_topk_prob optional.
//   qwen2_moe  Qwen1.5/Qwen2-MoE: mlp.gate, mlp.experts.E.*, mlp.shared_expert.* scaled by
//              sigmoid(mlp.shared_expert_gate(x)); layers in mlp_only_layers or off
//              decoder_sparse_step are dense; q/k/v biases as Qwen2.
// Routing runs in float32 from the float32 router weight whatever the compute dtype, so the
// routing decisions of a bf16 evaluation are those of fp32 up to the hidden states' rounding.
//
// Each routed expert's linears form their own input groups (routed, with the expert index):
// calibration observers see the tokens routed to that expert, or every token with
// BlockCall::allExperts. The router (and Qwen's shared-expert gate) are never quantized: the
// norm fold into the experts lists them as exact consumers, so a folded scale or rotation
// reaches them too and the routing is unchanged.

#include "model/llama.h"

namespace ptq {

class ConfigReader; // model/config_reader.h

void readMixtralConfig(const ConfigReader& r, ModelConfig& c);
void writeMixtralConfig(const ModelConfig& c, nlohmann::ordered_json& j);
void readDeepseekConfig(const ConfigReader& r, ModelConfig& c);
void writeDeepseekConfig(const ModelConfig& c, nlohmann::ordered_json& j);
void readQwen2MoeConfig(const ConfigReader& r, ModelConfig& c);
void writeQwen2MoeConfig(const ModelConfig& c, nlohmann::ordered_json& j);

class MoeArchitecture : public LlamaArchitecture {
public:
    explicit MoeArchitecture(const ModelConfig& config);

    void validateConfig(const std::string& file) const override;
    // Adds "moe": the whole feed-forward half (router, routed and shared experts) of an MoE
    // block on x (..., C) after the post-attention norm, fp32, with the runtime's rotations.
    torch::Tensor moduleForward(const BlockWeights& w, const std::string& module,
                                const torch::Tensor& x, const ForwardContext& ctx) const override;

    // Tensor keys of one MoE block's parts.
    struct Keys {
        std::string router;
        std::vector<SwiGluKeys> experts;
        SwiGluKeys shared; // empty names: none
        std::string sharedGate;
    };
    const Keys& keys() const { return m_keys; }

protected:
    torch::Tensor feedForward(const BlockWeights& w, const std::vector<torch::Tensor>& lin,
                              const torch::Tensor& x, torch::ScalarType dtype,
                              const BlockHooks& hooks, const BlockCall& call) const override;

private:
    torch::Tensor moeForward(const BlockWeights& w, const std::vector<torch::Tensor>& lin,
                             const torch::Tensor& x, torch::ScalarType dtype,
                             const BlockHooks& hooks, const BlockCall& call) const;

    Keys m_keys;
};

} // namespace ptq
