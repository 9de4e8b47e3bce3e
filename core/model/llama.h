#pragma once
// LLaMA-family forward pass (LLaMA-1/2/3/3.1, Mistral, Qwen2) run one block at a time:
//   ids (B,T) --embed--> h (B,T,C) --block 0--> ... --block L-1--> --head--> logits (B,T,V)
// Only the block being run is materialised from the mmap'd checkpoint; calibration and
// evaluation hold hidden states, never the whole model.
//
// Block i, in Hugging Face naming (prefix "model.layers.{i}."):
//   x  = h + o_proj(attn(rope(q_proj(rms(h))), rope(k_proj(rms(h))), v_proj(rms(h))))
//   h' = x + down_proj(silu(gate_proj(rms(x))) * up_proj(rms(x)))

#include "model/checkpoint.h"
#include "model/config.h"

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ptq {

struct ForwardOptions {
    // Compute dtype of matmuls: kFloat is exact; kBFloat16 is the fast mode (oneDNN AVX512_BF16).
    torch::ScalarType computeDtype = torch::kFloat;
};

// Run-time behaviour of a transformed or quantized block beyond its weights: online
// rotations (QuaRot) and activation / KV-cache fake quantization (W4A4, KV4). A block without
// one runs the plain forward. Every member is optional.
struct BlockRuntime {
    // x (..., in) -> x' before the named linear ("self_attn.q_proj", ...; q/k/v share their
    // input, as do gate/up: the hook is called once per distinct input with the first name).
    std::function<torch::Tensor(const std::string& linear, const torch::Tensor& x)> linearInput;
    // Applied to keys after RoPE and to values, both (B,KV,T,D) fp32, before attention.
    std::function<torch::Tensor(const torch::Tensor&kv)> keyCache, valueCache;
    // (I,I) orthogonal, e.g. a Hadamard: down_proj's input becomes x·R (R is absorbed into
    // downProj beforehand, so the product is unchanged in full precision).
    torch::Tensor downInputRotation;
    // (D,D) orthogonal applied per head to q and k after RoPE (QuaRot's KV rotation):
    // (qR)(kR)^T = qk^T, so attention is unchanged while the cached keys are rotated.
    torch::Tensor headRotation;
};

// One decoder block's tensors, materialised. Linear weights are (out, in) as in the
// checkpoint. The quantization engine replaces the linears in place before running forward.
struct BlockWeights {
    int64_t index = 0;
    torch::Tensor inputNorm;                  // (C)
    torch::Tensor qProj, kProj, vProj, oProj; // (H*D, C), (KV*D, C), (KV*D, C), (C, H*D)
    torch::Tensor qBias, kBias, vBias;        // undefined unless config.attentionBias
    torch::Tensor postNorm;                   // (C)
    torch::Tensor gateProj, upProj, downProj; // (I, C), (I, C), (C, I)

    std::shared_ptr<const BlockRuntime> runtime; // null: plain forward

    // The quantizable linears by their Hugging Face suffix ("self_attn.q_proj", ...), in
    // execution order; pointers into this struct.
    std::vector<std::pair<std::string, torch::Tensor*>> linears();

    // Linears cast to the compute dtype, made by blockForward on first use and reused while
    // the tensors above are unchanged (same tensor, same in-place version). Copies of this
    // struct share it; it re-validates on every use, so replacing a linear is always seen.
    struct ComputeCache;
    mutable std::shared_ptr<ComputeCache> computeCache;
};

// Called by blockForward with the input each linear actually sees: (B,T,in) fp32, after the
// runtime hooks (rotation, activation quantization). q/k/v receive the same tensor, as do
// gate/up. blockForward may run a large batch in chunks of whole windows, so an observer is
// called once per chunk. Used to accumulate Hessians (GPTQ) and activation statistics (AWQ,
// SmoothQuant).
using LinearObserver = std::function<void(const std::string& linear, const torch::Tensor& input)>;

// Weights that replace the checkpoint's, e.g. a quantized model's dequantized blocks. Any
// member left empty/undefined still comes from the checkpoint.
struct WeightOverlay {
    std::function<BlockWeights(int64_t)> block; // block i, materialised on demand
    torch::Tensor embedding;                    // (V,C)
    torch::Tensor finalNorm;                    // (C)
    torch::Tensor lmHead;                       // (V,C)
};

// cos/sin tables for positions [0, T): each (T, D).
struct RopeTables {
    torch::Tensor cos;
    torch::Tensor sin;
};

class LlamaModel {
public:
    explicit LlamaModel(std::shared_ptr<const Checkpoint> checkpoint, ForwardOptions options = {});

    const ModelConfig& config() const { return m_checkpoint->config(); }
    const Checkpoint& checkpoint() const { return *m_checkpoint; }
    const ForwardOptions& options() const { return m_options; }
    int64_t numBlocks() const { return config().numLayers; }

    // (B,T) integer ids -> (B,T,C) fp32; gathers only the needed rows from the mapping.
    torch::Tensor embed(const torch::Tensor& ids) const;
    BlockWeights loadBlock(int64_t i) const; // validates every shape
    RopeTables rope(int64_t seqlen) const;   // honours rope_theta and rope_scaling
    // (B,T,C) -> (B,T,C); positions start at 0 for every row.
    // w.runtime (when set) adds its hooks; observe (when set) sees every linear's input.
    torch::Tensor blockForward(const BlockWeights& w, const torch::Tensor& h,
                               const RopeTables& rope, const LinearObserver& observe = {}) const;
    torch::Tensor finalNorm(const torch::Tensor& h) const; // (B,T,C) -> (B,T,C)
    torch::Tensor lmHead(const torch::Tensor& h) const;    // (N,C) or (B,T,C) -> logits (...,V)
    // All blocks in turn: convenient for small models and tests; (B,T) -> (B,T,V).
    torch::Tensor forward(const torch::Tensor& ids) const;

    // The same model reading its weights from `overlay` where it provides them; loadBlock,
    // embed, finalNorm and lmHead (and so perplexity and zero-shot scoring) follow it.
    LlamaModel withOverlay(std::shared_ptr<const WeightOverlay> overlay) const;
    const WeightOverlay* overlay() const { return m_overlay.get(); }

    // Loads a tensor by name as float32, checking its shape; throws ptq::Error otherwise.
    torch::Tensor loadTensor(const std::string& name, const std::vector<int64_t>& shape) const;

private:
    struct HeadState;
    const TensorInfo& checkedInfo(const std::string& name, const std::vector<int64_t>& shape) const;
    std::string configPath() const;
    void validateConfig() const;
    const HeadState& head() const;

    std::shared_ptr<const Checkpoint> m_checkpoint;
    ForwardOptions m_options;
    // Final norm and output head (the embedding when tied), loaded on first use; shared by
    // copies of the model and guarded by a mutex so const methods may run concurrently.
    std::shared_ptr<HeadState> m_head;
    std::shared_ptr<const WeightOverlay> m_overlay;
};

} // namespace ptq
