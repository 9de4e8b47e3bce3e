#pragma once
// The proxy Hessian of a linear layer's reconstruction loss, H = 2/n * sum over the n input
// rows x of x x^T (in, in), as GPTQ accumulates it while calibration batches pass through.
//
// n counts rows (tokens), not sequences as GPTQ's reference does: the scale of H cancels in
// GPTQ (its damping is relative to mean(diag H)), and counting tokens makes H independent of
// how the calibration set is cut into batches.
//
// Each batch's x^T x is accumulated in place by float32 GEMMs over fixed row chunks of its
// lower triangle (util/blas.h: the same sums for any thread count; the cost about N*in^2
// FLOPs, half the full product's, since H is symmetric and read out mirrored). Every
// 65536 rows the float32 partial sum is folded into a float64 total, so summing a whole
// calibration set (GPTQ's 262144 tokens and more) adds no rounding drift beyond that of one
// 65536-row GEMM, while the O(in^2) float64 fold stays rare enough to cost under 1%.

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace ptq {

class HessianAccumulator {
public:
    explicit HessianAccumulator(int64_t inFeatures, std::string name = {});

    // x: (N, in) or (B, T, in), any floating dtype. Throws ptq::Error on a wrong last
    // dimension or a NaN/Inf value.
    void add(const torch::Tensor& x);
    // (in, in) float32, 2/n * sum x x^T. Throws ptq::Error when no sample was added.
    torch::Tensor hessian() const;
    int64_t samples() const { return m_samples; }
    int64_t inFeatures() const { return m_inFeatures; }
    const std::string& name() const { return m_name; }

private:
    int64_t m_inFeatures;
    std::string m_name;
    int64_t m_samples = 0;
    static constexpr int64_t kFoldRows = 65536;
    torch::Tensor m_sum;     // float64 (in, in), folded sum of x x^T
    torch::Tensor m_partial; // float32 (in, in), sum over the rows not yet folded
    int64_t m_partialRows = 0;
};

} // namespace ptq
