#pragma once
// QuaRot (Ashkboos et al., 2024, arXiv 2404.00456): rotates the residual stream, the MLP's
// hidden activations and the attention heads by orthogonal (randomized Hadamard) matrices so
// that outlier channels of weights and activations are spread over all channels, while the
// full-precision model computes the same function. Row-vector convention: h' = h Q.
//
//   head:   final norm gain g fused into lm_head (lmHead diag(g), g <- 1);
//           E <- E Q, lmHead <- lmHead Q                                  (Q: (C, C))
//   block (through the architecture's layout, shown for LLaMA):
//           every norm -> linears fold point: the norm gain fused into the linears, norm <- 1
//           (RMSNorm(x Q) = RMSNorm(x) Q holds only for unit gains), W <- W Q (q/k/v,
//           gate/up); every residual writer: W <- Q^T W (o_proj, down_proj);
//           the value -> output fold point: v_proj rows of every kv head <- H_d^T rows (and
//           v bias), o_proj columns of every head <- columns H_d (exact offline, same H_d
//           for all heads, so GQA works);
//           online: every input that accepts a run-time rotation (down_proj's):
//           W <- W H_I with runtime.inputRotations[input] = H_I; and runtime.headRotation =
//           H_d on q and k after RoPE (what KV-cache quantization needs: the cached keys are
//           rotated, q k^T is unchanged).
//
// Parameters (JSON keys):
//   seed           0        combined with the run seed; Q, H_I, H_d depend only on these
//   onlineHadamard true     the down_proj input rotation H_I
//   headRotation   true     the q/k rotation after RoPE (for KV quantization)
//   rotation       "hadamard" | "random": Q (and H_I, H_d) randomized Hadamard or Haar random
//
// Orders without a known Hadamard matrix (hadamard.h) fall back to an orthogonal
// random-times-Hadamard matrix; the block record lists a warning. Exact in full precision:
// logits change only by float32 rounding of the extra products.
//
// Tied embeddings: after fusing a non-unit final norm, lm_head differs from the embedding;
// prepareHead always fills head.lmHead (a copy of the embedding when it was undefined), so the
// writer must store lm_head separately unless the two remain equal.

#include "quant/method.h"
#include "quant/transform.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ptq {

struct QuarotParams {
    uint64_t seed = 0;
    bool onlineHadamard = true;
    bool headRotation = true;
    bool hadamard = true; // rotation == "hadamard"

    static QuarotParams fromJson(const nlohmann::json& params);
};

class QuarotTransform : public BlockTransform {
public:
    explicit QuarotTransform(QuarotParams params = {}) : m_params(params) {}
    std::string name() const override { return "quarot"; }
    void prepareHead(HeadTensors& head, const Model& model, uint64_t seed) override;
    void applyToBlock(BlockWeights& w, const BlockContext& ctx, TransformRecord& record,
                      const ProgressFn& progress) override;

    // The rotations in use (undefined before prepareHead): (C,C), (n,n) of a rotatable input
    // (down_proj's: (I,I)), (D,D) float32 orthogonal.
    const torch::Tensor& residualRotation() const { return m_residual.matrix; }
    torch::Tensor onlineRotation(const std::string& input) const;
    const torch::Tensor& headRotation() const { return m_head.matrix; }

private:
    // An orthogonal (n, n) matrix; signs is defined when matrix = H_n diag(signs) / sqrt(n),
    // so products with it can use the fast transform (O(n log n) per row for powers of two).
    struct Rotation {
        torch::Tensor matrix;
        torch::Tensor signs;
    };
    Rotation makeRotation(int64_t n, uint64_t seed, const std::string& object);
    // From the model's distinct block layouts: the residual and head rotations of the first,
    // one online rotation per rotatable input over all of them.
    void makeRotations(const std::vector<std::shared_ptr<const BlockLayout>>& layouts,
                       uint64_t seed);
    static torch::Tensor timesRotation(const torch::Tensor& w, const Rotation& r);  // w R
    static torch::Tensor rotationTTimes(const Rotation& r, const torch::Tensor& w); // R^T w

    QuarotParams m_params;
    Rotation m_residual, m_head;
    std::map<std::string, Rotation> m_online; // by input group
    std::vector<std::string> m_warnings;      // from the rotation fallback, repeated per block
};

} // namespace ptq
