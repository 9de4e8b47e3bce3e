#pragma once
// A checkpoint run one block at a time through its architecture (model/architecture.h):
//   ids (B,T) --embed--> h (B,T,C) --block 0--> ... --block L-1--> --final norm--> --head--> logits
// Only the block being run is materialised from the mmap'd checkpoint; calibration and
// evaluation hold hidden states, never the whole model. walk() is the one block walk that
// quantization, perplexity, KL, zero-shot and forward() share.

#include "model/architecture.h"
#include "model/checkpoint.h"
#include "model/config.h"

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ptq {

// The tensors outside the blocks. A transform may rewrite them once, before the walk
// (QuaRot rotates the embedding and the head and fuses the final norm into the head).
struct HeadTensors {
    torch::Tensor embedding; // (V,C)
    torch::Tensor finalNorm; // (C)
    torch::Tensor lmHead;    // (V,C)
};

// Weights that replace the checkpoint's, e.g. a quantized model's dequantized blocks. Any
// member left empty/undefined still comes from the checkpoint.
struct WeightOverlay {
    std::function<BlockWeights(int64_t)> block; // block i, materialised on demand
    torch::Tensor embedding;                    // (V,C)
    torch::Tensor finalNorm;                    // (C)
    torch::Tensor lmHead;                       // (V,C)
};

class Model {
public:
    explicit Model(std::shared_ptr<const Checkpoint> checkpoint, ForwardOptions options = {});

    const ModelConfig& config() const { return m_checkpoint->config(); }
    const Checkpoint& checkpoint() const { return *m_checkpoint; }
    const ForwardOptions& options() const { return m_options; }
    const Architecture& architecture() const { return *m_arch; }
    std::shared_ptr<const BlockLayout> layout(int64_t block) const { return m_arch->layout(block); }
    int64_t numBlocks() const { return m_arch->numBlocks(); }

    // (B,T) integer ids -> (B,T,C) fp32; gathers only the needed rows from the mapping.
    torch::Tensor embed(const torch::Tensor& ids) const;
    BlockWeights loadBlock(int64_t i) const; // validates every shape
    // Position tables and the like for sequences of up to seqlen tokens.
    std::shared_ptr<const ForwardContext> context(int64_t seqlen) const;
    // (B,T,C) -> (B,T,C); positions start at 0 for every row.
    // w.runtime (when set) adds its hooks; observe (when set) sees every linear input.
    torch::Tensor blockForward(const BlockWeights& w, const torch::Tensor& h,
                               const ForwardContext& ctx, const LinearObserver& observe = {}) const;
    // The same with every option of a block call (router observer, all-experts calibration).
    torch::Tensor blockForward(const BlockWeights& w, const torch::Tensor& h,
                               const ForwardContext& ctx, const BlockCall& call) const;
    torch::Tensor finalNorm(const torch::Tensor& h) const; // (B,T,C) -> (B,T,C)
    torch::Tensor lmHead(const torch::Tensor& h) const;    // (N,C) or (B,T,C) -> logits (...,V)

    // The one block walk: h (B,T,C) through every block in turn, returning the last block's
    // output (before the final norm). `step` replaces the plain block call when given (the
    // quantization pipeline quantizes block i there); it returns block i's output.
    // `done` (when given) is called after each block, e.g. to report progress.
    using BlockStep = std::function<torch::Tensor(int64_t i, const torch::Tensor& h)>;
    using BlockDone = std::function<void(int64_t i)>;
    // `route` (when given) sees every MoE router's decisions of the plain block calls.
    torch::Tensor walk(torch::Tensor h, const ForwardContext& ctx, const BlockStep& step = {},
                       const BlockDone& done = {}, const RouterObserver* route = nullptr) const;
    // ids (B,T) -> final-normed hidden states (B,T,C): embed, walk, final norm.
    torch::Tensor hidden(const torch::Tensor& ids, const ForwardContext& ctx,
                         const BlockDone& done = {}, const RouterObserver* route = nullptr) const;
    // All blocks in turn: convenient for small models and tests; (B,T) -> (B,T,V).
    torch::Tensor forward(const torch::Tensor& ids) const;

    // The same model reading its weights from `overlay` where it provides them; loadBlock,
    // embed, finalNorm and lmHead (and so perplexity and zero-shot scoring) follow it.
    Model withOverlay(std::shared_ptr<const WeightOverlay> overlay) const;
    const WeightOverlay* overlay() const { return m_overlay.get(); }

    // Loads a tensor by name as float32, checking its shape; throws ptq::Error otherwise.
    torch::Tensor loadTensor(const std::string& name, const std::vector<int64_t>& shape) const;
    // The embedding, final norm and head from the checkpoint (lmHead a copy of the embedding
    // when tied), as the transforms rewrite them.
    HeadTensors loadHead() const;
    // Parameters outside the blocks' linears that a quantized model keeps in 16 bits:
    // embedding, final norm, and the head unless tied.
    uint64_t headParameters() const;

private:
    struct HeadState;
    const TensorInfo& checkedInfo(const std::string& name, const std::vector<int64_t>& shape) const;
    const HeadState& head() const;

    std::shared_ptr<const Checkpoint> m_checkpoint;
    ForwardOptions m_options;
    std::shared_ptr<const Architecture> m_arch;
    // Final norm and output head (the embedding when tied), loaded on first use; shared by
    // copies of the model and guarded by a mutex so const methods may run concurrently.
    std::shared_ptr<HeadState> m_head;
    std::shared_ptr<const WeightOverlay> m_overlay;
};

} // namespace ptq
