#pragma once
// BLAS threading that leaves results independent of the thread count.
//
// OpenBLAS splits a GEMM's output among its threads, and some of its kernels round an output
// element differently depending on where the split falls: OpenBLAS 0.3.21's Haswell SGEMM
// (also used on AMD Zen, and wherever OPENBLAS_CORETYPE=Haswell is set) gives different
// float32 results for 1 and 2 threads, and for one call against the same product computed
// in two halves; its threaded Cholesky (spotrf) and triangular inverse (strtri) differ from
// the single-threaded ones on every kernel. A method that amplifies rounding differences
// (GPTQ's sequential error feedback flips codes at rounding midpoints, and a flipped zero
// point moves a whole group) then gives a result that depends on the thread count.
//
// The remedy here: the engine's GEMMs whose results feed such a method are cut into chunks
// fixed by the shapes alone, each chunk one single-threaded BLAS call, the chunks spread over
// the engine's threads. The same chunks are computed the same way for any thread count.

#include <torch/torch.h>

#include <cstdint>

namespace ptq {

// OpenBLAS's own thread count (its pthread build keeps one apart from torch's). No-ops with
// a BLAS that has no such setting.
void setBlasThreads(int n);

// While one is alive, OpenBLAS runs each call on the calling thread, so calls made from the
// engine's threads neither spawn more threads nor split their work. Scopes may nest and may
// be opened on several threads; the count is restored when the last one closes.
class SerialBlas {
public:
    SerialBlas();
    ~SerialBlas();
    SerialBlas(const SerialBlas&) = delete;
    SerialBlas& operator=(const SerialBlas&) = delete;
};

// Output rows per chunk of addmmRowChunks: large enough that repacking the right operand for
// every chunk costs a few percent, small enough that a 4096-row product gives 8 chunks to
// spread over threads.
constexpr int64_t kGemmChunkRows = 512;

// c += alpha * a b for float32 c (M, N), a (M, K), b (K, N); c may be a strided view (a
// slice of a larger matrix). Computed as chunks of `chunkRows` rows of c, each one
// single-threaded BLAS call, run on the engine's threads: the result depends on the shapes
// and chunkRows only, never on the thread count.
void addmmRowChunks(torch::Tensor c, const torch::Tensor& a, const torch::Tensor& b, float alpha,
                    int64_t chunkRows = kGemmChunkRows);

// The lower triangle (with the diagonal) of c (n, n) += x^T x for x (N, n), computed as chunks
// of `chunkRows` rows of c, each covering the columns up to the end of its diagonal block
// (about half of the full product's work). Entries above the diagonal blocks are not touched;
// the ones inside a diagonal block are. Thread-count independent like addmmRowChunks.
void addGramLowerRowChunks(torch::Tensor c, const torch::Tensor& x,
                           int64_t chunkRows = kGemmChunkRows);

} // namespace ptq
