#pragma once
// The LLaMA family (LLaMA-1/2/3/3.1, Mistral, Qwen2) as an Architecture (model/architecture.h).
// Block i, in Hugging Face naming (prefix "model.layers.{i}."):
//   x  = h + o_proj(attn(rope(q_proj(rms(h))), rope(k_proj(rms(h))), v_proj(rms(h))))
//   h' = x + down_proj(silu(gate_proj(rms(x))) * up_proj(rms(x)))
// Mistral adds a sliding attention window, Qwen2 biases on q/k/v; both are config keys.

#include "model/architecture.h"
#include "model/llama_ops.h"

#include <nlohmann/json.hpp>

namespace ptq {

// RoPE tables for the walk.
class LlamaContext : public ForwardContext {
public:
    explicit LlamaContext(RopeTables rope) : m_rope(std::move(rope)) {}
    int64_t seqlen() const override { return m_rope.cos.size(0); }
    const RopeTables& rope() const { return m_rope; }

private:
    RopeTables m_rope;
};

class ConfigReader; // model/config_reader.h

// config.json keys of the family beyond the common ones (vocab_size, hidden_size,
// num_hidden_layers, tie_word_embeddings): attention, RoPE and its scaling, norms, and what
// distinguishes the rows (Mistral's sliding window, Qwen2's biases). Throws ptq::Error naming
// the file and the key.
void readLlamaConfig(const ConfigReader& r, ModelConfig& c);
// The same keys, written in transformers' order from intermediate_size to the row's own.
void writeLlamaConfig(const ModelConfig& c, nlohmann::ordered_json& j);

class LlamaArchitecture : public Architecture {
public:
    explicit LlamaArchitecture(const ModelConfig& config);

    const ArchitectureInfo& info() const override;
    std::shared_ptr<const BlockLayout> layout() const override { return m_layout; }
    int64_t numBlocks() const override { return config().numLayers; }
    std::string blockPrefix(int64_t i) const override;
    HeadNames headNames() const override;
    void validateConfig(const std::string& file) const override;

    std::shared_ptr<const ForwardContext> context(int64_t seqlen) const override;
    torch::Tensor blockForward(const BlockWeights& w, const torch::Tensor& h,
                               const ForwardContext& ctx, const BlockCall& call,
                               torch::ScalarType computeDtype) const override;
    // "self_attn": o_proj(attention(x)) for x (B,T,C) after the input norm; "mlp":
    // down_proj(silu(gate_proj(x)) * up_proj(x)) for x (...,C) after the post-attention norm
    // (with down_proj's input rotation when the runtime has one); a linear by name.
    torch::Tensor moduleForward(const BlockWeights& w, const std::string& module,
                                const torch::Tensor& x, const ForwardContext& ctx) const override;
    torch::Tensor finalNorm(const torch::Tensor& h, const torch::Tensor& weight) const override;

private:
    const RopeTables& ropeOf(const ForwardContext& ctx, int64_t t, int64_t index) const;

    std::shared_ptr<const BlockLayout> m_layout;
};

} // namespace ptq
