#include "model/architectures.h"

#include "model/llama.h"
#include "model/mamba.h"
#include "model/moe.h"
#include "util/error.h"

#include <algorithm>

namespace ptq {

namespace {

// A pre-norm decoder with RMSNorm, rotary attention and a SwiGLU MLP offers every fold and
// hook the strategies use.
const std::vector<ArchFeature> kLlamaFeatures = {
    ArchFeature::NormFold,         ArchFeature::ValueOutputFold, ArchFeature::UpDownFold,
    ArchFeature::ResidualRotation, ArchFeature::LinearInputHook, ArchFeature::KvCacheHook,
    ArchFeature::AutogradForward};

std::unique_ptr<Architecture> makeLlama(const ModelConfig& config)
{
    return std::make_unique<LlamaArchitecture>(config);
}

std::unique_ptr<Architecture> makeMoe(const ModelConfig& config)
{
    return std::make_unique<MoeArchitecture>(config);
}

// Mamba: the norm before in_proj folds scales and the residual rotation (RMSNorm, tied or
// untied head), every linear input has a hook and out_proj's input a run-time rotation; no
// v->o or up->down fold and no KV cache (model/mamba.h says why).
const std::vector<ArchFeature> kMambaFeatures = {
    ArchFeature::NormFold, ArchFeature::ResidualRotation, ArchFeature::LinearInputHook,
    ArchFeature::AutogradForward};

std::unique_ptr<Architecture> makeMamba(const ModelConfig& config)
{
    return std::make_unique<MambaArchitecture>(config);
}

} // namespace

const char* archFeatureName(ArchFeature feature)
{
    switch (feature) {
    case ArchFeature::NormFold:
        return "norm fold (a norm's gain absorbs the scales of the linears it feeds)";
    case ArchFeature::ValueOutputFold:
        return "v->o fold";
    case ArchFeature::UpDownFold:
        return "up->down fold";
    case ArchFeature::ResidualRotation:
        return "residual-stream rotation";
    case ArchFeature::LinearInputHook:
        return "linear input hook";
    case ArchFeature::KvCacheHook:
        return "KV cache hook";
    case ArchFeature::AutogradForward:
        return "autograd block forward";
    }
    return "?";
}

bool ArchitectureInfo::has(ArchFeature f) const
{
    return std::find(features.begin(), features.end(), f) != features.end();
}

const std::vector<ArchitectureInfo>& architectures()
{
    static const std::vector<ArchitectureInfo> table = {
        {"llama", "LlamaForCausalLM",
         "LLaMA-1/2/3/3.1: RMSNorm, rotary attention with grouped KV heads (rope_scaling "
         "linear and llama3), SwiGLU MLP",
         kLlamaFeatures, makeLlama, readLlamaConfig, writeLlamaConfig},
        {"mistral", "MistralForCausalLM", "Mistral: the LLaMA block with sliding-window attention",
         kLlamaFeatures, makeLlama, readLlamaConfig, writeLlamaConfig},
        {"qwen2", "Qwen2ForCausalLM",
         "Qwen2: the LLaMA block with biases on q/k/v (and sliding window above a layer)",
         kLlamaFeatures, makeLlama, readLlamaConfig, writeLlamaConfig},
        {"mixtral", "MixtralForCausalLM",
         "Mixtral: the Mistral block with a sparse MoE feed-forward (top-k of E SwiGLU experts, "
         "float32 softmax router, weights renormalised)",
         kLlamaFeatures, makeMoe, readMixtralConfig, writeMixtralConfig},
        {"deepseek", "DeepseekForCausalLM",
         "DeepSeekMoE (V1, 16B): fine-grained routed experts plus unweighted shared experts, "
         "dense first layers",
         kLlamaFeatures, makeMoe, readDeepseekConfig, writeDeepseekConfig},
        {"qwen2_moe", "Qwen2MoeForCausalLM",
         "Qwen1.5/Qwen2-MoE: routed experts plus a sigmoid-gated shared expert, Qwen2 attention",
         kLlamaFeatures, makeMoe, readQwen2MoeConfig, writeQwen2MoeConfig},
        {"mamba", "MambaForCausalLM",
         "Mamba (v1): RMSNorm, in_proj, causal depthwise conv1d, selective scan (input-dependent "
         "dt, B, C), SiLU gate, out_proj; no attention",
         kMambaFeatures, makeMamba, readMambaConfig, writeMambaConfig},
    };
    return table;
}

std::string knownModelTypes()
{
    std::string known;
    for (const auto& a : architectures())
        known += (known.empty() ? "" : ", ") + a.modelType;
    return known;
}

const ArchitectureInfo& findArchitecture(const std::string& modelType)
{
    for (const auto& a : architectures())
        if (a.modelType == modelType)
            return a;
    throw Error("architecture table", "model_type '" + modelType + "'",
                "unsupported architecture (supported: " + knownModelTypes() + ")");
}

} // namespace ptq
