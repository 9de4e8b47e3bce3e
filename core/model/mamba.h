#pragma once
// Mamba (v1) as an Architecture row (model/architecture.h): transformers' MambaForCausalLM,
// the "-hf" releases of state-spaces/mamba-130m ... 2.8b. Block i (prefix
// "backbone.layers.{i}."), D = intermediate_size, N = state_size, R = time_step_rank:
//   x, z = split(in_proj(rms(h)))                        (B,T,D) each
//   u    = silu(causal depthwise conv1d(x) + conv bias)   K = conv_kernel taps
//   r, B, C = split(x_proj(u))                           (B,T,R), (B,T,N), (B,T,N)
//   dt   = softplus(dt_proj(r) + dt bias)                 (B,T,D)
//   y    = selective_scan(u, dt, A = -exp(A_log), B, C) + D * u     (model/selective_scan.h)
//   h'   = h + out_proj(y * silu(z))
// The scan runs over whole windows in float32 whatever the compute dtype (only the four
// linears run in it); the residual stream stays float32 (residual_in_fp32 or not).
//
// What quantization sees: the linears in_proj, x_proj, dt_proj and out_proj, each its own
// input group; the conv1d taps, A_log, D and the norms stay in full precision. The norm
// before in_proj is a fold point (AWQ, SmoothQuant, OmniQuant's scales, QuaRot's residual
// rotation); out_proj writes to the residual stream and accepts a run-time rotation of its
// input (QuaRot's online Hadamard, Quamba's output rotation). There is no fold between the
// gated scan output and out_proj (y * silu(z) is not linear in a scale of y's producer) nor
// into x_proj (the conv is followed by SiLU), and no attention, so no KV cache.

#include "model/architecture.h"

#include <nlohmann/json.hpp>

namespace ptq {

class ConfigReader; // model/config_reader.h
struct BlockHooks;  // model/block_hooks.h

// transformers' MambaConfig keys (state_size, expand, conv_kernel, time_step_rank, use_bias,
// use_conv_bias, residual_in_fp32, layer_norm_epsilon, hidden_act), its defaults when absent.
void readMambaConfig(const ConfigReader& r, ModelConfig& c);
void writeMambaConfig(const ModelConfig& c, nlohmann::ordered_json& j);

// The sequence length of a walk: Mamba needs no position tables.
class MambaContext : public ForwardContext {
public:
    explicit MambaContext(int64_t seqlen) : m_seqlen(seqlen) {}
    int64_t seqlen() const override { return m_seqlen; }

private:
    int64_t m_seqlen;
};

class MambaArchitecture : public Architecture {
public:
    explicit MambaArchitecture(const ModelConfig& config);

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
    // "mixer": out_proj(...) of the whole mixer for x (B,T,C) after the norm; a linear by name.
    torch::Tensor moduleForward(const BlockWeights& w, const std::string& module,
                                const torch::Tensor& x, const ForwardContext& ctx) const override;
    torch::Tensor finalNorm(const torch::Tensor& h, const torch::Tensor& weight) const override;
    void checkRuntime(const BlockWeights& w) const override;
    // transformers' MambaPreTrainedModel._init_weights: A_log = log(1..N) per channel, D = 1,
    // dt_proj bias = softplus^-1 of dt log-uniform in [1e-3, 0.1] (floor 1e-4), dt_proj weight
    // uniform +-R^-1/2, conv taps uniform +-K^-1/2 (kaiming_uniform with a = sqrt(5)).
    torch::Tensor initialTensor(int64_t block, const BlockTensorSpec& spec,
                                at::Generator& gen) const override;

private:
    // The mixer's output (B,T,C) fp32 for x (B,T,C) fp32, the norm's output before any hook.
    torch::Tensor mixer(const BlockWeights& w, const std::vector<torch::Tensor>& lin,
                        const torch::Tensor& x, torch::ScalarType dtype, const BlockHooks& hooks,
                        bool autograd) const;

    std::shared_ptr<const BlockLayout> m_layout;
};

} // namespace ptq
