#pragma once
// The LLaMA family (LLaMA-1/2/3/3.1, Mistral, Qwen2) as an Architecture (model/architecture.h).
// Block i, in Hugging Face naming (prefix "model.layers.{i}."):
//   x  = h + o_proj(attn(rope(q_proj(rms(h))), rope(k_proj(rms(h))), v_proj(rms(h))))
//   h' = x + down_proj(silu(gate_proj(rms(x))) * up_proj(rms(x)))
// Mistral adds a sliding attention window, Qwen2 biases on q/k/v; both are config keys.

#include "model/architecture.h"
#include "model/block_hooks.h"
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

// Layout pieces shared with the rows that keep the LLaMA attention (model/moe.cpp).
// The attention half of a block: input norm, q/k/v/o (always the first four linears, in that
// order), the post-attention norm, their input groups and fold points.
std::shared_ptr<BlockLayout> llamaAttentionLayout(const ModelConfig& c);
// A SwiGLU MLP down(silu(gate(x)) * up(x)) reading the post-attention norm, named by full
// keys (without ".weight"): its tensors, linears, input groups (marked routed for expert
// `expert` >= 0; calibrated in the passes `pass`+"_in" and `pass`+"_down" when `pass` is
// given), its up->down fold `foldName` and its residual write. gate/up are returned for the
// caller's norm fold.
struct SwiGluKeys {
    std::string gate, up, down;
};
void addSwiGlu(BlockLayout& l, const SwiGluKeys& k, int64_t inter, const std::string& foldName,
               int64_t expert = -1, const std::string& pass = "");
// The LLaMA block: the attention half and a SwiGLU MLP "mlp.{gate,up,down}_proj".
std::shared_ptr<const BlockLayout> llamaDenseLayout(const ModelConfig& c);
// The MLP's output for x (..., C) fp32 after the post-attention norm, before any hook, in
// fp32; `lin` are the block's linears in the compute dtype (layout order).
torch::Tensor swiGluForward(const BlockLayout& l, const SwiGluKeys& k,
                            const std::vector<torch::Tensor>& lin, const torch::Tensor& x,
                            torch::ScalarType dtype, const BlockHooks& hooks, bool autograd);

class LlamaArchitecture : public Architecture {
public:
    explicit LlamaArchitecture(const ModelConfig& config);

    const ArchitectureInfo& info() const override;
    std::shared_ptr<const BlockLayout> layout(int64_t block) const override;
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

protected:
    // For rows that replace the feed-forward half: one layout per block.
    LlamaArchitecture(const ModelConfig& config,
                      std::vector<std::shared_ptr<const BlockLayout>> layouts);
    // The feed-forward half of block w on x (B,T,C) fp32, the post-attention norm's output
    // before any hook -> its (B,T,C) fp32 output, added to the residual by the caller.
    virtual torch::Tensor feedForward(const BlockWeights& w, const std::vector<torch::Tensor>& lin,
                                      const torch::Tensor& x, torch::ScalarType dtype,
                                      const BlockHooks& hooks, const BlockCall& call) const;
    const RopeTables& ropeOf(const ForwardContext& ctx, int64_t t, int64_t index) const;

private:
    torch::Tensor composeBlock(const BlockWeights& w, const std::vector<torch::Tensor>& lin,
                               const torch::Tensor& h, const RopeTables& rope,
                               torch::ScalarType dtype, const BlockHooks& hooks,
                               const BlockCall& call) const;

    std::vector<std::shared_ptr<const BlockLayout>> m_layouts; // one per block (shared)
    std::shared_ptr<const BlockLayout> m_fallback;             // for a model of depth 0
};

} // namespace ptq
