#pragma once
// The LLaMA math shared by the inference forward (model/llama.cpp) and the differentiable
// training module (train/llama_train_model.cpp): one implementation, so what is trained is
// exactly what is evaluated. Every function is plain libtorch and differentiable.

#include "model/config.h"

#include <torch/torch.h>

#include <cstdint>
#include <functional>

namespace ptq {

// cos/sin tables for positions [0, T): each (T, D).
struct RopeTables {
    torch::Tensor cos;
    torch::Tensor sin;
};

namespace llama {

// HF LlamaRMSNorm: x * rsqrt(mean(x^2) + eps) * weight, in fp32. x (...,C), weight (C).
torch::Tensor rmsNorm(const torch::Tensor& x, const torch::Tensor& weight, double eps);

// cos/sin tables for positions [0, seqlen), each (T, D) fp32; honours rope_theta and
// rope_scaling ("linear", "llama3").
RopeTables ropeTables(const ModelConfig& config, int64_t seqlen);

// HF rotate_half convention: the two halves of the head dimension form the pairs.
// x (B,T,N,D) fp32; tables (>=T, D) with cos[:, :D/2] == cos[:, D/2:].
torch::Tensor applyRope(const torch::Tensor& x, const RopeTables& rope);

// (Tc,Tk) bool, true where query q0+r may not see key k0+c: causal, plus Mistral's sliding
// window when window > 0 (token i sees j when i - window < j <= i).
torch::Tensor blockedMask(int64_t q0, int64_t tc, int64_t k0, int64_t tk, int64_t window);

// The q/k/v projections of one attention layer: weights (N*D, C) and optional biases.
struct QkvWeights {
    const torch::Tensor& q;
    const torch::Tensor& qBias;
    const torch::Tensor& k;
    const torch::Tensor& kBias;
    const torch::Tensor& v;
    const torch::Tensor& vBias;
};

// Optional transformations of queries/keys/values between the projections and the scores
// (QuaRot's head rotation, KV-cache quantizers), as BlockRuntime holds them.
struct QkvHooks {
    torch::Tensor headRotation;                               // (D,D) on q and k after RoPE
    std::function<torch::Tensor(const torch::Tensor&)> key;   // (B,KV,T,D) keys after RoPE
    std::function<torch::Tensor(const torch::Tensor&)> value; // (B,KV,T,D) values
};

// Causal (sliding-window) grouped-query attention of x (B,T,C), differentiable: (B,T,H*D),
// before o_proj. The rep query heads of one kv head are extra rows of one matmul, so k/v are
// never repeated.
torch::Tensor causalAttention(const ModelConfig& config, const QkvWeights& w,
                              const torch::Tensor& x, const RopeTables& rope,
                              const QkvHooks& hooks = {});

} // namespace llama
} // namespace ptq
