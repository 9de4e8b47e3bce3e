#pragma once
// The interface through which the engine sees a model. An architecture (one file, e.g.
// model/llama.cpp, plus one row of the table in model/architectures.cpp) says
//   - how its blocks are stored: the tensors of block i and their checkpoint names;
//   - what quantization may touch: the linears, the groups of linears that share one input
//     (they drive calibration capture and the order of quantization), the fold points where
//     a per-channel scale or a rotation moves between neighbouring tensors without changing
//     the function, and the linears that write to the residual stream;
//   - one block forward, serving evaluation, calibration (observers see every linear's
//     input), the method searches (module outputs on sampled inputs) and autograd training
//     (OmniQuant's trial forward);
//   - its own position encoding and caches, as a ForwardContext the walk passes through.
// The engine, the evaluation and the transforms use only this interface, never a tensor
// name of an architecture.

#include "model/architectures.h"
#include "model/config.h"

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <map>
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
    // x (..., in) -> x' before a linear input, called once per input group with the group's
    // input name (BlockLayout::inputGroups), after any input rotation.
    std::function<torch::Tensor(const std::string& input, const torch::Tensor& x)> linearInput;
    // Applied to keys after the position encoding and to values, both (B,KV,T,D) fp32,
    // before attention.
    std::function<torch::Tensor(const torch::Tensor&)> keyCache, valueCache;
    // Input name -> (n,n) orthogonal R, e.g. a Hadamard: that input becomes x·R (R is absorbed
    // into the linears' columns beforehand, so the product is unchanged in full precision).
    // Only inputs the layout marks rotatable (InputGroup::onlineRotation) accept one.
    std::map<std::string, torch::Tensor> inputRotations;
    // (D,D) orthogonal applied per head to queries and keys after the position encoding
    // (QuaRot's KV rotation): (qR)(kR)^T = qk^T, so attention is unchanged.
    torch::Tensor headRotation;

    torch::Tensor inputRotation(const std::string& input) const;
};

// One tensor of a block: its name in BlockWeights and its checkpoint name relative to the
// block's prefix.
struct BlockTensorSpec {
    std::string key;        // "self_attn.q_proj" (a linear's weight), "input_layernorm", ...
    std::string checkpoint; // "self_attn.q_proj.weight"
    std::vector<int64_t> shape;
    bool linear = false; // a quantizable (out, in) weight
    // Training: a matrix kept out of weight decay (Mamba's A_log, as mamba_ssm does).
    bool noWeightDecay = false;
    // A linear whose input may be narrower than any sensible group (Mamba's dt_proj reads
    // time_step_rank features): quantized per output channel when the recipe's group size does
    // not divide its input width (gridFor in quant/grid.h), with a warning in the run.
    bool groupFallback = false;
};

// Linears that read one input: calibration captures that input once (its Hessian serves
// every member) and the pipeline quantizes the group together.
struct InputGroup {
    std::string input;                // the name hooks and observers see: the first member
    std::vector<std::string> linears; // in execution order
    bool onlineRotation = false;      // a run-time rotation of this input is supported
    // Mixture of Experts: the group belongs to routed expert `expert` and sees only the tokens
    // its router sends it (BlockCall::allExperts changes what observers see).
    bool routed = false;
    int64_t expert = -1; // -1: not an expert's linear
    // Groups of one pass name read inputs that none of them changes (the experts of one MoE
    // layer): a true-sequential calibration takes them in one block forward.
    std::string pass;
};

// A place where a per-channel scale s (or an orthogonal rotation) moves from the consumers'
// input columns into the producer's output channels without changing the function:
//   producer: a norm's gain (NormFold) or a linear's output rows (+ bias)
//   consumers: linears whose input columns are multiplied by s
struct FoldPoint {
    std::string name;                   // "attn_qkv", "v_o", ...: the key of a transform's records
    ArchFeature feature;                // NormFold, ValueOutputFold or UpDownFold
    std::string producer;               // tensor key
    std::string producerBias;           // optional bias of a linear producer; "" when none
    std::vector<std::string> consumers; // linear keys
    // Tensors that also read the producer but stay in full precision (an MoE router, a shared
    // expert's gate): a folded scale or rotation is applied to their columns too, so their
    // outputs are unchanged exactly; no method quantizes or searches them.
    std::vector<std::string> exactConsumers;
    std::string input; // the consumers' input group
    // The module whose output the scale search of AWQ measures: a module name the
    // architecture's moduleForward knows, or a consumer linear.
    std::string module;
    // The module mixes tokens (attention): its search input is whole sequences (B,T,in);
    // otherwise sampled token rows (R,in).
    bool sequences = false;
    // Per-head structure (ValueOutputFold): channels form heads of headDim, and each producer
    // channel feeds `repeat` consumer columns (grouped-query attention: query heads per kv
    // head). Consumer column c reads producer channel (c / (repeat*headDim))*headDim + c % headDim.
    int64_t headDim = 0;
    int64_t repeat = 1;
};

// What quantization sees of a block. Built once per model from its config.
struct BlockLayout {
    std::vector<BlockTensorSpec> tensors; // every tensor, in checkpoint order
    std::vector<std::string> linears;     // quantizable linears, in execution order
    std::vector<InputGroup> inputGroups;  // in execution order
    std::vector<FoldPoint> folds;
    // Linears whose outputs are added to the residual stream (a residual rotation multiplies
    // their rows by R^T); the NormFold points are the residual stream's readers.
    std::vector<std::string> residualWriters;
    // Linears whose outputs form attention scores (queries, keys): their errors pass through
    // the softmax, so output-error clipping searches leave them alone (AWQ).
    std::vector<std::string> attentionScoreLinears;
    // Mixture-of-Experts routers (tensor keys, full precision): the forward shows observers
    // each router's input under its key, every token of the layer, which is the input of
    // the norm fold into the experts.
    std::vector<std::string> routers;
    int64_t hidden = 0;    // residual stream width
    int64_t attnHeads = 0; // query heads (0: no attention)
    int64_t kvHeads = 0;   // key/value heads
    int64_t headDim = 0;   // per head

    const BlockTensorSpec& tensor(const std::string& key) const; // throws when unknown
    bool hasTensor(const std::string& key) const;
    const InputGroup& groupOf(const std::string& linear) const; // throws when unknown
    const FoldPoint* fold(ArchFeature feature) const;           // first such point, or null
    std::vector<const FoldPoint*> foldsOf(ArchFeature feature) const;
};

// One block's tensors, materialised, named by BlockLayout keys. Linear weights are (out, in)
// as in the checkpoint. The quantization engine replaces the linears in place.
struct BlockWeights {
    int64_t index = 0;
    std::shared_ptr<const BlockLayout> layout;
    std::map<std::string, torch::Tensor> tensors; // optional tensors may be absent
    std::shared_ptr<const BlockRuntime> runtime;  // null: plain forward

    // The tensor `key`; throws ptq::Error when the block has none.
    torch::Tensor& at(const std::string& key);
    const torch::Tensor& at(const std::string& key) const;
    // The tensor `key`, undefined when absent.
    torch::Tensor get(const std::string& key) const;
    // The quantizable linears in execution order; pointers into `tensors`.
    std::vector<std::pair<std::string, torch::Tensor*>> linears();
    std::vector<std::pair<std::string, const torch::Tensor*>> linears() const;

    // Linears cast to the compute dtype, made by the forward on first use and reused while
    // the tensors above are unchanged (same tensor, same in-place version). Copies of this
    // struct share it; it re-validates on every use, so replacing a linear is always seen.
    struct ComputeCache;
    mutable std::shared_ptr<ComputeCache> computeCache;

    // A copy with its own compute cache (the tensors are shared until replaced).
    BlockWeights copy() const;
    // The linears cast to `dtype`, in layout order (cached; see computeCache).
    std::vector<torch::Tensor> computeLinears(torch::ScalarType dtype) const;
};

// Called by the forward with the input of each input group as the linears see it: (B,T,in)
// fp32 ((R,in) rows for a routed expert's group: the tokens routed to it), after the runtime hooks
// (rotation, activation quantization); once per group, with the group's input name. A forward may
// run a large batch in chunks of whole windows, so an observer may be called several times per
// call. Used to accumulate Hessians (GPTQ) and activation statistics (AWQ, SmoothQuant, OmniQuant's
// initial scales).
using LinearObserver = std::function<void(const std::string& input, const torch::Tensor& x)>;

// Position tables, masks and the like for sequences of up to `seqlen` tokens: made once per
// walk by the architecture and passed to every block.
class ForwardContext {
public:
    virtual ~ForwardContext() = default;
    virtual int64_t seqlen() const = 0;
};

// Called by a Mixture-of-Experts block once per router and forward: block index, router
// tensor key, the router logits (tokens, E) fp32 (in the autograd graph in autograd mode) and
// the chosen experts (tokens, k) int64. Evaluation compares routing decisions with it;
// training adds the load-balancing loss.
using RouterObserver =
    std::function<void(int64_t block, const std::string& router, const torch::Tensor& logits,
                       const torch::Tensor& experts)>;

struct BlockCall {
    const LinearObserver* observe = nullptr;
    const RouterObserver* route = nullptr;
    // Calibration of a Mixture of Experts: every expert also runs on every token so that
    // observers see all tokens for it; the block's output still combines the routed experts
    // only. Without it (the default) an expert's observers see its routed tokens.
    bool allExperts = false;
    // A differentiable float32 forward (autograd through the weights and the input), for
    // OmniQuant's trial forward and training; the default is the inference forward in the
    // model's compute dtype, without autograd.
    bool autograd = false;
};

// An architecture's block math and storage. Implementations are stateless beyond the config.
class Architecture {
public:
    explicit Architecture(ModelConfig config) : m_config(std::move(config)) {}
    virtual ~Architecture() = default;

    const ModelConfig& config() const { return m_config; }
    virtual const ArchitectureInfo& info() const = 0;
    // The layout of block i (blocks of one model may differ: a dense first layer before MoE
    // layers).
    virtual std::shared_ptr<const BlockLayout> layout(int64_t block) const = 0;
    // The distinct layouts of the model's blocks, in order of first use.
    std::vector<std::shared_ptr<const BlockLayout>> distinctLayouts() const;
    virtual int64_t numBlocks() const = 0;
    // Checkpoint name prefix of block i: "model.layers.3.".
    virtual std::string blockPrefix(int64_t i) const = 0;
    // Checkpoint names of the embedding (V,C), the final norm (C) and the output head (V,C).
    // lmHead equals embedding for tied models.
    struct HeadNames {
        std::string embedding, finalNorm, lmHead;
    };
    virtual HeadNames headNames() const = 0;
    // Throws ptq::Error naming `file` and the key when the config cannot run.
    virtual void validateConfig(const std::string& file) const = 0;

    virtual std::shared_ptr<const ForwardContext> context(int64_t seqlen) const = 0;
    // (B,T,C) fp32 -> (B,T,C) fp32: block w on h; w.runtime adds its hooks.
    virtual torch::Tensor blockForward(const BlockWeights& w, const torch::Tensor& h,
                                       const ForwardContext& ctx, const BlockCall& call,
                                       torch::ScalarType computeDtype) const = 0;
    // The output of one module of block w on x (its input, as an observer saw it): a fold
    // point's `module`, or a linear. fp32, no autograd; x (B,T,in) whole sequences.
    virtual torch::Tensor moduleForward(const BlockWeights& w, const std::string& module,
                                        const torch::Tensor& x, const ForwardContext& ctx) const;
    // Final norm of h (…,C) with gain `weight`.
    virtual torch::Tensor finalNorm(const torch::Tensor& h, const torch::Tensor& weight) const = 0;
    // Throws ptq::Error when w.runtime carries something this block cannot apply.
    virtual void checkRuntime(const BlockWeights& w) const;
    // The initial value of tensor `spec` of block `block` for training from scratch, drawn
    // from `gen`, or an undefined tensor for the trainer's default (matrices N(0, 0.02),
    // vectors 1, biases 0). Architectures whose parameters have their own initialisation
    // (Mamba's A_log, D and time-step bias) override it.
    virtual torch::Tensor initialTensor(int64_t block, const BlockTensorSpec& spec,
                                        at::Generator& gen) const;

private:
    ModelConfig m_config;
};

// The architecture of config.modelType from the table; throws ptq::Error naming the
// supported types when it is unknown.
std::unique_ptr<Architecture> makeArchitecture(const ModelConfig& config);

} // namespace ptq
