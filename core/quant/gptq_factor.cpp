// GPTQ's inverse Hessian factor: the upper Cholesky factor U of (H + damp I)^-1, computed as
// J chol(J H J)^-1 J through LAPACK (or torch), with damping raised on failure.

#include "quant/gptq.h"

#include "quant/gptq_internal.h"
#include "util/blas.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace ptq {

namespace {

using detail::inverseFactorInPlace;
using detail::reverseInPlace;

constexpr int kMaxDampRaises = 6;

// LAPACK's Cholesky factorization and triangular inverse (column-major; the trailing
// arguments are the lengths of the character arguments, which C implementations ignore).
using PotrfFn = void (*)(const char* uplo, const int* n, float* a, const int* lda, int* info,
                         size_t uploLen);
using TrtriFn = void (*)(const char* uplo, const char* diag, const int* n, float* a, const int* lda,
                         int* info, size_t uploLen, size_t diagLen);

// Looked up at run time in the LAPACK libtorch is linked against, like OpenBLAS's thread
// setter in engine/threads.cpp, so the build does not depend on which library provides it.
// On a 4096 x 4096 Hessian (2 cores, OpenBLAS) spotrf + strtri take 0.17 s together, the
// route through torch::linalg_cholesky_ex 0.43 s for the Cholesky alone.
struct Lapack {
    PotrfFn potrf = nullptr;
    TrtriFn trtri = nullptr;
};

const Lapack& lapack()
{
    static const Lapack fns{reinterpret_cast<PotrfFn>(dlsym(RTLD_DEFAULT, "spotrf_")),
                            reinterpret_cast<TrtriFn>(dlsym(RTLD_DEFAULT, "strtri_"))};
    return fns;
}

// In place: the lower triangle of a (n, n) row-major, symmetric positive definite, becomes
// L^-1 where a = L L^T and L is lower triangular; the strictly upper triangle is not touched.
// Returns false when a is not positive definite (the lower triangle is then unspecified).
bool lowerCholeskyInverse(torch::Tensor& a, GptqFactorBackend backend)
{
    // LAPACK's threaded factorization rounds differently from its single-threaded one.
    const SerialBlas serial;
    const int64_t n = a.size(0);
    const Lapack& fns = lapack();
    if (backend == GptqFactorBackend::Automatic && fns.potrf && fns.trtri &&
        n <= std::numeric_limits<int>::max()) {
        // Row-major a is column-major a^T = a. LAPACK's upper factor Uc (a = Uc^T Uc) read back
        // row-major is L = Uc^T, and Uc^-1 read back row-major is L^-1.
        const int ni = int(n);
        int info = 0;
        fns.potrf("U", &ni, a.data_ptr<float>(), &ni, &info, 1);
        if (info != 0)
            return false;
        fns.trtri("U", "N", &ni, a.data_ptr<float>(), &ni, &info, 1, 1);
        return info == 0;
    }
    auto [l, info] = torch::linalg_cholesky_ex(a);
    if (info.item<int>() != 0)
        return false;
    // Only the lower triangle, like LAPACK: the upper one keeps a for a retry.
    const auto lower = torch::ones({n, n}, torch::kBool).tril();
    a.copy_(torch::where(lower,
                         torch::linalg_solve_triangular(l, torch::eye(n, a.options()), false), a));
    return true;
}

std::string formatDouble(double v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

// The lower triangle (with the diagonal) of row-major a (n, n) is finite.
bool lowerFinite(const float* a, int64_t n)
{
    uint32_t bad = 0;
    for (int64_t i = 0; i < n; ++i) {
        const float* row = a + i * n;
        for (int64_t j = 0; j <= i; ++j) {
            uint32_t bits;
            std::memcpy(&bits, row + j, sizeof bits);
            bad |= uint32_t((bits & 0x7f800000u) == 0x7f800000u); // exponent all ones
        }
    }
    return bad == 0;
}

// Row-major a (n, n) holding L^-1 in its lower triangle becomes J L^-1 J (upper triangular,
// zeros below): element (i, j) swaps with (n-1-i, n-1-j), keeping only what lands on or above
// the diagonal. One pass over the rows from both ends.
void reverseLowerToUpper(float* a, int64_t n)
{
    for (int64_t i = 0, k = n - 1; i <= k; ++i, --k) {
        float* top = a + i * n;
        float* bottom = a + k * n;
        if (i == k) { // the middle row of an odd n pairs with itself
            std::vector<float> row(top, top + n);
            for (int64_t j = 0; j < n; ++j)
                top[j] = j >= i ? row[n - 1 - j] : 0.0f;
            break;
        }
        for (int64_t j = 0; j < n; ++j) {
            const float t = top[j], b = bottom[n - 1 - j];
            top[j] = j >= i ? b : 0.0f;
            bottom[n - 1 - j] = j <= i ? t : 0.0f;
        }
    }
}

} // namespace

namespace detail {

torch::Tensor inverseFactorInPlace(torch::Tensor a, const std::vector<float>& diag, double meanDiag,
                                   double percDamp, const std::string& layer,
                                   std::vector<std::string>& warnings, GptqFactorBackend backend)
{
    const int64_t n = a.size(0);
    float* p = a.data_ptr<float>();
    double damp = percDamp * meanDiag;
    for (int attempt = 0; attempt <= kMaxDampRaises; ++attempt) {
        if (attempt > 0)
            for (int64_t i = 1; i < n; ++i)
                for (int64_t j = 0; j < i; ++j)
                    p[i * n + j] = p[j * n + i];
        for (int64_t i = 0; i < n; ++i)
            p[i * n + i] = diag[i] + float(damp);
        // J H J = L L^T gives H = (J L J)(J L J)^T with J L J upper triangular, so
        // U = (J L J)^-1 = J L^-1 J.
        if (lowerCholeskyInverse(a, backend) && lowerFinite(p, n)) {
            reverseLowerToUpper(p, n);
            return a;
        }
        if (attempt == kMaxDampRaises)
            break;
        damp *= 10.0;
        warnings.push_back("damping raised to " + formatDouble(damp) + " (" +
                           formatDouble(damp / meanDiag) + " x mean diag H): H of " + layer +
                           " is not positive definite");
    }
    throw Error(kGptqFile, layer,
                "the Hessian is not positive definite even with damping " + formatDouble(damp));
}

void reverseInPlace(torch::Tensor& h, std::vector<float>& diag, double& meanDiag)
{
    const int64_t n = h.size(0);
    float* p = h.data_ptr<float>();
    std::reverse(p, p + n * n);
    diag.resize(n);
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) {
        diag[i] = p[i * n + i];
        sum += diag[i];
    }
    meanDiag = sum / double(n);
}

} // namespace detail

torch::Tensor gptqInverseFactor(const torch::Tensor& hessian, double percDamp,
                                const std::string& layer, std::vector<std::string>& warnings,
                                GptqFactorBackend backend)
{
    auto a = hessian.to(torch::kFloat, /*non_blocking=*/false, /*copy=*/true).contiguous();
    std::vector<float> diag;
    double meanDiag = 0;
    reverseInPlace(a, diag, meanDiag);
    return inverseFactorInPlace(a, diag, meanDiag, percDamp, layer, warnings, backend);
}

} // namespace ptq
