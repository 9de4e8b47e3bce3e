#pragma once
// QuIP's incoherence processing (Chee, Cai, Kuleshov, De Sa, 2023, arXiv 2307.13304) around
// GPTQ: W and its Hessian are rotated by random orthogonal matrices so that no weight and no
// Hessian direction stands out, quantized there, and rotated back.
//
//   W~ = U W V^T        U (out, out), V (in, in): randomized Hadamards (hadamard.h)
//   H~ = V H V^T        the Hessian of the rotated inputs x V^T
//   Q~ = GPTQ(W~, H~)   LDLQ, QuIP's rounding with linear feedback, is GPTQ's update rule
//   W^ = U^T Q~ V       returned as `dequantized`
//
// The layer loss is preserved: tr((W^ - W) H (W^ - W)^T) = tr((Q~ - W~) H~ (Q~ - W~)^T).
//
// Stored form and deployment: result.q holds the codes and scales of Q~, in the ROTATED basis,
// plus the seed (QuantizedLinear::incoherence), so q.dequantize() regenerates U, V and returns
// W^ as for every other quantizer. A deployed layer computes
// y = ((x V^T) Q~^T) U, i.e. needs the two online rotations, which are fixed by the seed and
// the layer name; size accounting counts codes + scales (+ zeros) + the 64-bit seed.
// Orders without a known Hadamard matrix use the random-orthogonal fallback of hadamard.h and
// record a warning.
//
// Parameters (JSON keys): seed 0, percdamp 0.01, blocksize 128 (as GPTQ).

#include "quant/method.h"

namespace ptq {

struct QuipParams {
    uint64_t seed = 0;
    double percDamp = 0.01;
    int64_t blockSize = 128;

    static QuipParams fromJson(const nlohmann::json& params);
};

class QuipQuantizer : public WeightQuantizer {
public:
    explicit QuipQuantizer(QuipParams params = {}) : m_params(params) {}
    // Needs layer.hessian.
    WeightQuantResult quantize(const LayerInput& layer, const QuantGrid& grid,
                               const ProgressFn& progress) const override;

    // The rotations used for a layer of this name and shape: U (out, out), V (in, in).
    std::pair<torch::Tensor, torch::Tensor> rotations(const std::string& layer, int64_t out,
                                                      int64_t in,
                                                      std::vector<std::string>& warnings) const;

private:
    QuipParams m_params;
};

} // namespace ptq
