#pragma once
// Hadamard matrices and the orthogonal rotations built from them (QuaRot, QuIP).
//
// A Hadamard matrix H of order n has entries +-1 and H H^T = n I, so H / sqrt(n) is
// orthogonal and spreads every input coordinate evenly over all outputs (an outlier channel
// becomes n small ones). Orders supported, n = 2^k * m:
//   m = 1           Sylvester: H_2n = [[H, H], [H, -H]]
//   m = q + 1       Paley construction I, q a prime with q = 3 (mod 4): 4, 8, 12, 20, 24, ...
//   m = 2 (q + 1)   Paley construction II, q a prime with q = 1 (mod 4): 12, 28, 36, 60, ...
// and H_n = H_m (x) H_{2^k} (Kronecker product). The smallest such m is used; e.g. 96 = 12*8,
// 14336 = 28*512, 11008 = 5504*2 (q = 5503). Orders without a construction here (e.g. 172 on
// its own, 3, 6) are reported as unknown; randomRotation() then falls back to a random
// orthogonal matrix of the odd part combined with a Hadamard of the power-of-two part.

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ptq {

// The order m of the Hadamard factor used for n = 2^k * m (1 for powers of two), or 0 when
// this build knows no Hadamard matrix of order n.
int64_t hadamardBaseOrder(int64_t n);
inline bool hadamardKnown(int64_t n)
{
    return hadamardBaseOrder(n) > 0;
}

// The +-1 Hadamard matrix of order n, float32 (n, n), H H^T = n I. Throws ptq::Error
// "no Hadamard matrix of order n is known to this build" for unsupported n.
torch::Tensor hadamardMatrix(int64_t n);

// x (..., n) -> x H_n / sqrt(n), float32, along the last dimension: log2 butterflies for the
// power-of-two factor and one small (m, m) matmul for the Paley factor, O(n (log n + m)) per
// row instead of O(n^2). Throws ptq::Error when n has no known Hadamard matrix.
torch::Tensor fastHadamardTransform(const torch::Tensor& x);

// n random signs +-1 (float32) drawn from seed.
torch::Tensor randomSigns(int64_t n, uint64_t seed);

// H_n diag(s) / sqrt(n) with seeded random signs s: an orthogonal float32 (n, n) matrix.
// Throws ptq::Error when n has no known Hadamard matrix.
torch::Tensor randomHadamard(int64_t n, uint64_t seed);

// Q of the QR factorisation of a seeded Gaussian (n, n), signs fixed so that the
// distribution is uniform (Haar); computed in float64, returned as float32.
torch::Tensor randomOrthogonal(int64_t n, uint64_t seed);

// An orthogonal float32 (n, n) rotation from seed. hadamard = false: randomOrthogonal(n).
// hadamard = true: randomHadamard(n) when the order is known; otherwise the fallback
// (randomOrthogonal(m) (x) H_{2^k}) diag(s) / sqrt(2^k), 2^k the largest power of two dividing
// n, which is as cheap to apply, and a warning naming `object` is appended.
torch::Tensor randomRotation(int64_t n, uint64_t seed, bool hadamard, const std::string& object,
                             std::vector<std::string>& warnings);

} // namespace ptq
