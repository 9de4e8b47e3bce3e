#pragma once
// GPTQ (Frantar, Ashkboos, Hoefler, Alistarh, 2022, arXiv 2210.17323): quantizes the columns
// of W one at a time and spreads each column's rounding error over the columns not yet
// quantized, weighted by the inverse Hessian of the layer's calibration inputs, so that the
// layer output XW^T changes as little as possible.
//
// Parameters (JSON keys; defaults of the reference implementation IST-DASLab/gptq):
//   percdamp     0.01   damping added to diag(H), relative to mean(diag H)
//   blocksize    128    columns per lazy batch update (changes speed, not the result)
//   actOrder     false  quantize columns by decreasing diag(H)
//   staticGroups false  with actOrder: group parameters from the original column order
//                       before any update, so the stored layer needs no permutation
//   mse          false  MSE clip search for every group's grid (GPTQ's --mse)
//
// Conventions, with the reasons:
// - Group parameters are computed when a group's first column is reached, from the weights
//   with the updates of all earlier columns applied. The reference code reads them from its
//   block-start copy, which differs only when a group starts inside a lazy block
//   (groupsize < blocksize); here the result does not depend on the block size.
// - Per-channel parameters are computed after dead columns (diag H == 0) are zeroed: a dead
//   column's weights never reach the output and should not widen the range.
// - The upper Cholesky factor U of H^-1 is computed as J chol(J H J)^-1 J (J reverses the
//   order), equal to the reference's chol(cholesky_inverse(chol(H)), upper) by uniqueness
//   of the Cholesky factor, at half the factorisation cost: one Cholesky and one triangular
//   inverse, LAPACK's spotrf and strtri. (The LDL feedback form of QuIP needs no inverse,
//   only V with H = V V^T, and ends at the same quantized values, but its partial sums are
//   not GPTQ's partially updated weights: group parameters computed at a group's start from
//   them differ (tried: zero points one step off in about half the rows at W4 g64), and
//   turning them into GPTQ's needs a triangular inverse per group; GPTQ's form is kept.)
// - Lazy blocks start at group starts: a block holds whole groups (the largest multiple of
//   the group size up to blocksize), or a wider group starts a block and its later columns
//   already carry every earlier update.
// - The result does not depend on the thread count: the factorization runs single-threaded
//   in BLAS, the lazy-batch updates are GEMMs over fixed row chunks (util/blas.h explains
//   why BLAS's own threading is avoided), the row tiles are independent and their losses are
//   summed in tile order.
// - Positive definiteness failures retry with 10x the damping (up to 6 times) and record a
//   warning; a layer that still fails throws ptq::Error naming it.

#include "quant/method.h"

namespace ptq {

struct GptqParams {
    double percDamp = 0.01;
    int64_t blockSize = 128;
    bool actOrder = false;
    bool staticGroups = false;
    bool mse = false;

    static GptqParams fromJson(const nlohmann::json& params);
};

class GptqQuantizer : public WeightQuantizer {
public:
    explicit GptqQuantizer(GptqParams params = {}) : m_params(params) {}
    // Needs layer.hessian. loss: sum over all weights of (w - q)^2 / d^2 / 2 with
    // d = the diagonal of the upper Cholesky factor of H^-1.
    WeightQuantResult quantize(const LayerInput& layer, const QuantGrid& grid,
                               const ProgressFn& progress) const override;

private:
    GptqParams m_params;
};

// Where gptqInverseFactor factorizes: Automatic uses LAPACK's spotrf and strtri when the
// process has them (libtorch is linked against a LAPACK), else torch's Cholesky and
// triangular solve; Torch always takes the latter (tests compare the two).
enum class GptqFactorBackend { Automatic, Torch };

// The upper triangular U with U^T U = (H + damp*I)^-1, damp = percDamp * mean(diag H),
// raised 10x per failed Cholesky (each raise appends a warning); throws ptq::Error naming
// `layer` when it still fails. float32 (in, in).
torch::Tensor gptqInverseFactor(const torch::Tensor& hessian, double percDamp,
                                const std::string& layer, std::vector<std::string>& warnings,
                                GptqFactorBackend backend = GptqFactorBackend::Automatic);

// The per-row kernel is built for three instruction sets; every version computes the same
// floats (no FMA contraction in gptq.cpp), so the choice changes speed only. Automatic takes
// the widest the CPU runs, or the one named by PTQ_GPTQ_KERNEL (baseline, avx2, avx512) in
// the environment when the process first quantizes.
enum class GptqKernel { Automatic, Baseline, Avx2, Avx512 };

const char* gptqKernelName(GptqKernel kernel);
// The versions this CPU can run, Baseline first.
std::vector<GptqKernel> availableGptqKernels();
// Throws ptq::Error when this CPU cannot run `kernel` (or PTQ_GPTQ_KERNEL names no version).
void setGptqKernel(GptqKernel kernel);
// The version GptqQuantizer runs now (never Automatic).
GptqKernel activeGptqKernel();

} // namespace ptq
