#pragma once
// Internals shared by GPTQ's quantizer (gptq.cpp) and the factorization of its inverse
// Hessian (gptq_factor.cpp). Not part of the public API.

#include "quant/gptq.h"

#include <string>
#include <vector>

namespace ptq::detail {

// The file name GPTQ's errors give.
const char* const kGptqFile = "gptq";

// J h J in place (reversing both orders of a row-major matrix reverses its storage), h
// float32 contiguous, and the reversed diagonal and the mean of the diagonal.
void reverseInPlace(torch::Tensor& h, std::vector<float>& diag, double& meanDiag);

// Factors J (H + damp I) J held in `a` in place (its diagonal without damping in `diag`),
// raising damp on failure: a failed attempt overwrote only the lower triangle, which is
// restored from the upper one.
torch::Tensor inverseFactorInPlace(torch::Tensor a, const std::vector<float>& diag, double meanDiag,
                                   double percDamp, const std::string& layer,
                                   std::vector<std::string>& warnings, GptqFactorBackend backend);

} // namespace ptq::detail
