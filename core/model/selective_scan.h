#pragma once
// Mamba's selective scan (Gu & Dao, "Mamba: Linear-Time Sequence Modeling with Selective
// State Spaces", 2023, Algorithm 2; transformers' MambaMixer.slow_forward), per batch row,
// channel d and state n:
//   h_t[d,n] = exp(dt_t[d] * A[d,n]) * h_{t-1}[d,n] + dt_t[d] * B_t[n] * x_t[d],   h_{-1} = 0
//   y_t[d]   = sum_n C_t[n] * h_t[d,n]
// The skip term D * x and the gate are the caller's. The recurrence runs sequentially over t
// with the state in registers, one (row, channel) per task: no (B,T,D,N) tensor is ever
// materialised, and every output has one fixed accumulation order, so the result does not
// depend on the thread count.

#include <torch/torch.h>

namespace ptq::ssm {

// x, dt (B,T,D); A (D,N); b, c (B,T,N); all float32 or all float64 -> y (B,T,D) of that type.
// Differentiable in every input when grad mode is on and an input requires grad: the
// backward runs the reverse recurrence (the adjoint state g_t = C_t dy_t + a_{t+1} g_{t+1})
// after recomputing the forward states of one channel at a time. Throws ptq::Error on
// mismatched shapes or dtypes.
torch::Tensor selectiveScan(const torch::Tensor& x, const torch::Tensor& dt, const torch::Tensor& a,
                            const torch::Tensor& b, const torch::Tensor& c);

} // namespace ptq::ssm
