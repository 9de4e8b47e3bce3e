#include "quant/gptq.h"

#include "util/blas.h"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace ptq {

namespace {

const char* const kGptqFile = "gptq";
constexpr int kMaxDampRaises = 6;
// The per-row kernel is written once (runTileBody, always inlined) and compiled into one
// function per instruction set; activeGptqKernel() picks one, so a portable build still uses
// the machine's vector width and tests can run every version the machine has.
#if defined(__GNUC__) && defined(__x86_64__)
#define PTQ_X86_KERNELS 1
#define PTQ_TARGET(isa) __attribute__((target(isa)))
#else
#define PTQ_X86_KERNELS 0
#endif

// Output rows of W handled together inside a lazy block: one AVX-512 vector of floats, so
// the per-column work vectorises across rows and a tile of a 128-column block (8 KB per
// buffer) stays in L1.
constexpr int64_t kRows = 16;
// kRows values as one GCC vector, lowered to whatever vector width the target has.
using RowVec = float __attribute__((vector_size(kRows * sizeof(float))));
using DoubleRowVec = double __attribute__((vector_size(kRows * sizeof(double))));
using CodeVec = uint8_t __attribute__((vector_size(kRows)));

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

// Round half to even like torch::round / nearbyint for |v| < 2^22 (larger values are
// clamped first; they land outside [0, maxq] either way): adding 1.5*2^23 leaves no bits
// below the unit, so the FPU's round-to-nearest-even does the rounding, in every vector lane.
constexpr float kRoundMagic = 12582912.0f; // 1.5 * 2^23
constexpr float kRoundLimit = 4194304.0f;  // 2^22

// The state of one GPTQ pass over W (out, in). Inside a lazy block of columns [i1, i2) the
// rows are independent: each tile of kRows rows is copied transposed (columns as rows of
// kRows floats) into buffers that stay in L1, quantized column by column with rank-1 updates
// of the block's later columns, and its fake-quantized values written back over the block's
// columns of W; the block's scaled errors then update all later columns of W in one GEMM.
struct GptqPass {
    torch::Tensor w;      // float32 (out, in): columns left of the current block hold their
                          // fake-quantized values, columns right of it the updated weights
    torch::Tensor u;      // float32 (in, in), upper Cholesky factor of H^-1
    torch::Tensor errors; // float32 (out, span), scaled errors of the current block
    torch::Tensor codes;  // uint8 (out, in), processing order
    int64_t in = 0, out = 0, span = 0;
    float maxq = 0;
    double loss = 0;              // sum of err^2, halved at the end
    std::vector<double> tileLoss; // sum of err^2 of each row tile in the current block
};

// The block buffers of one row tile: element j holds column i1 + j of the tile's rows.
// Arrays of vectors come from new[], which honours their 64-byte alignment (std::vector's
// allocator does not see the vector attribute).
struct Tile {
    std::unique_ptr<RowVec[]> x, deq, err;
    std::unique_ptr<CodeVec[]> codes;
    RowVec scale{}, zero{};
    explicit Tile(int64_t columns)
        : x(new RowVec[columns]()), deq(new RowVec[columns]), err(new RowVec[columns]),
          codes(new CodeVec[columns])
    {}
};

// Per-column grid parameters: a (groups, out) table of scales and zeros and, per column
// (in the processing order), the row of the table it uses.
struct ColumnParams {
    torch::Tensor scale; // float32 (groups, out)
    torch::Tensor zero;  // float32 (groups, out)
    std::vector<int64_t> groupOf;
    bool lazy = false; // groups computed when first reached (grouped grid, no static groups)
};

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

// Factors J (H + damp I) J held in `a` in place (its diagonal without damping in `diag`),
// raising damp on failure: a failed attempt overwrote only the lower triangle, which is
// restored from the upper one.
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

// J h J in place (reversing both orders of a row-major matrix reverses its storage), h
// float32 contiguous, and the reversed diagonal and the mean of the diagonal.
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

} // namespace

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

GptqParams GptqParams::fromJson(const nlohmann::json& params)
{
    MethodParams reader("gptq", params);
    GptqParams p;
    p.percDamp = reader.getDouble("percdamp", p.percDamp);
    p.blockSize = reader.getInt("blocksize", p.blockSize);
    p.actOrder = reader.getBool("actOrder", p.actOrder);
    p.staticGroups = reader.getBool("staticGroups", p.staticGroups);
    p.mse = reader.getBool("mse", p.mse);
    reader.finish();
    if (!(p.percDamp > 0.0 && std::isfinite(p.percDamp)))
        throw Error(reader.source(), "percdamp", "must be a positive number");
    if (p.blockSize < 1)
        throw Error(reader.source(), "blocksize", "must be a positive integer");
    return p;
}

namespace {

// Parameters of the group of columns [i, i + g) for the tile's rows, from their current
// (compensated) values, into row i/g of the table. A group that ends inside the block is
// read from the tile; a wider one starts at the block start, where W is current.
void groupParams(GptqPass& pass, ColumnParams& cp, const QuantGrid& grid, const MseSearch& mse,
                 const Tile& tile, int64_t r0, int64_t rows, int64_t i1, int64_t i2, int64_t i)
{
    const int64_t g = grid.groupSize, out = pass.out, in = pass.in;
    const float* w = pass.w.data_ptr<float>();
    auto value = [&](int64_t k, int64_t col) {
        return col < i2 ? tile.x[col - i1][k] : w[(r0 + k) * in + col];
    };
    float* scale = cp.scale.data_ptr<float>() + (i / g) * out + r0;
    float* zero = cp.zero.data_ptr<float>() + (i / g) * out + r0;
    if (mse.enabled) {
        auto values = torch::empty({rows, g});
        float* v = values.data_ptr<float>();
        for (int64_t k = 0; k < rows; ++k)
            for (int64_t c = 0; c < g; ++c)
                v[k * g + c] = value(k, i + c);
        const QuantParams p = findParams(values, grid, mse);
        std::copy_n(p.scale.data_ptr<float>(), rows, scale);
        std::copy_n(p.zero.data_ptr<float>(), rows, zero);
        return;
    }
    for (int64_t k = 0; k < rows; ++k) {
        float lo = value(k, i), hi = lo;
        for (int64_t c = 1; c < g; ++c) {
            const float v = value(k, i + c);
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
        rowParams(lo, hi, grid, scale[k], zero[k]);
    }
}

// GPTQ on rows [r0, r0 + kRows) of the block [i1, i2). The per-column work is written on
// RowVec, one instruction per step on AVX-512; it is inlined into one function per
// instruction set below. Every version computes the same floats (the file is compiled
// without FMA contraction, see core/CMakeLists.txt), the same as the scalar expression
// min(max(round(x / scale) + zero, 0), maxq) with round half to even.
inline __attribute__((always_inline)) void runTileBody(GptqPass& pass, ColumnParams& cp,
                                                       const QuantGrid& grid, const MseSearch& mse,
                                                       int64_t r0, int64_t i1, int64_t i2)
{
    const int64_t in = pass.in, out = pass.out, columns = i2 - i1;
    const int64_t rows = std::min(kRows, out - r0);
    Tile tile(columns);
    const float* w = pass.w.data_ptr<float>() + r0 * in + i1;
    RowVec* tileX = tile.x.get();
    for (int64_t k = 0; k < rows; ++k)
        for (int64_t j = 0; j < columns; ++j)
            tileX[j][k] = w[k * in + j];
    // The next tile's rows of the block, fetched from memory while this one computes.
    // So are the lines its results will be written to (for writing: no read-for-ownership
    // stall at the store).
    const int64_t nextRows = std::min(kRows, std::max<int64_t>(out - r0 - kRows, 0));
    const uint8_t* nextCodes = pass.codes.data_ptr<uint8_t>() + (r0 + kRows) * in + i1;
    const float* nextErrors = pass.errors.data_ptr<float>() + (r0 + kRows) * pass.span;
    for (int64_t k = 0; k < nextRows; ++k) {
        for (int64_t j = 0; j < columns; j += 16) {
            __builtin_prefetch(w + (kRows + k) * in + j);
            __builtin_prefetch(nextErrors + k * pass.span + j, 1);
        }
        for (int64_t j = 0; j < columns; j += 64)
            __builtin_prefetch(nextCodes + k * in + j, 1);
    }
    const float* u = pass.u.data_ptr<float>();
    const float maxq = pass.maxq;
    DoubleRowVec loss{}; // per row: the lanes add independently, in column order
    for (int64_t j = 0; j < columns; ++j) {
        const int64_t i = i1 + j;
        const bool groupStart = cp.lazy && i % grid.groupSize == 0;
        if (groupStart)
            groupParams(pass, cp, grid, mse, tile, r0, rows, i1, i2, i);
        if (j == 0 || groupStart || cp.groupOf[i] != cp.groupOf[i - 1]) {
            const float* scale = cp.scale.data_ptr<float>() + cp.groupOf[i] * out + r0;
            const float* zero = cp.zero.data_ptr<float>() + cp.groupOf[i] * out + r0;
            for (int64_t k = 0; k < kRows; ++k) { // padding rows: x = 0 gives err = 0
                tile.scale[k] = k < rows ? scale[k] : 1.0f;
                tile.zero[k] = k < rows ? zero[k] : 0.0f;
            }
        }
        const RowVec x = tile.x[j];
        RowVec t = x / tile.scale;
        t = t < -kRoundLimit ? -kRoundLimit : t;
        t = kRoundLimit < t ? kRoundLimit : t;
        RowVec level = ((t + kRoundMagic) - kRoundMagic) + tile.zero;
        level = level < 0.0f ? 0.0f : level;
        level = maxq < level ? maxq : level;
        const RowVec dq = tile.scale * (level - tile.zero);
        const RowVec err = (x - dq) / u[i * in + i];
        tile.deq[j] = dq;
        tile.codes[j] = __builtin_convertvector(level, CodeVec);
        tile.err[j] = err;
        const DoubleRowVec e = __builtin_convertvector(err, DoubleRowVec);
        loss += e * e;
        // The block's later columns: x[j'] -= u[i, i1 + j'] * err.
        const float* urow = u + i * in + i1;
        for (int64_t jj = j + 1; jj < columns; ++jj)
            tile.x[jj] -= urow[jj] * err;
    }
    // Local pointers and sizes: the uint8 stores may alias anything the compiler cannot see
    // is local, which would reload every member on each element.
    uint8_t* codes = pass.codes.data_ptr<uint8_t>() + r0 * in + i1;
    float* deq = pass.w.data_ptr<float>() + r0 * in + i1; // in cache since the tile was read
    float* errors = pass.errors.data_ptr<float>() + r0 * pass.span;
    const int64_t span = pass.span;
    const CodeVec* tileCodes = tile.codes.get();
    const RowVec* tileDeq = tile.deq.get();
    const RowVec* tileErr = tile.err.get();
    for (int64_t k = 0; k < rows; ++k)
        for (int64_t j = 0; j < columns; ++j) {
            codes[k * in + j] = tileCodes[j][k];
            deq[k * in + j] = tileDeq[j][k];
            errors[k * span + j] = tileErr[j][k];
        }
    double tileLoss = 0;
    for (int64_t k = 0; k < kRows; ++k)
        tileLoss += loss[k];
    pass.tileLoss[r0 / kRows] = tileLoss;
}

using TileFn = void (*)(GptqPass&, ColumnParams&, const QuantGrid&, const MseSearch&, int64_t,
                        int64_t, int64_t);

void runTileBaseline(GptqPass& pass, ColumnParams& cp, const QuantGrid& grid, const MseSearch& mse,
                     int64_t r0, int64_t i1, int64_t i2)
{
    runTileBody(pass, cp, grid, mse, r0, i1, i2);
}

#if PTQ_X86_KERNELS
PTQ_TARGET("avx2")
void runTileAvx2(GptqPass& pass, ColumnParams& cp, const QuantGrid& grid, const MseSearch& mse,
                 int64_t r0, int64_t i1, int64_t i2)
{
    runTileBody(pass, cp, grid, mse, r0, i1, i2);
}

PTQ_TARGET("avx512f")
void runTileAvx512(GptqPass& pass, ColumnParams& cp, const QuantGrid& grid, const MseSearch& mse,
                   int64_t r0, int64_t i1, int64_t i2)
{
    runTileBody(pass, cp, grid, mse, r0, i1, i2);
}
#endif

bool cpuRuns(GptqKernel kernel)
{
    switch (kernel) {
    case GptqKernel::Baseline:
        return true;
#if PTQ_X86_KERNELS
    case GptqKernel::Avx2:
        return __builtin_cpu_supports("avx2");
    case GptqKernel::Avx512:
        return __builtin_cpu_supports("avx512f");
#endif
    default:
        return false;
    }
}

GptqKernel widestKernel()
{
    for (GptqKernel k : {GptqKernel::Avx512, GptqKernel::Avx2})
        if (cpuRuns(k))
            return k;
    return GptqKernel::Baseline;
}

GptqKernel kernelFromEnvironment()
{
    const char* env = std::getenv("PTQ_GPTQ_KERNEL");
    if (!env || !*env)
        return widestKernel();
    for (GptqKernel k : {GptqKernel::Baseline, GptqKernel::Avx2, GptqKernel::Avx512})
        if (std::string(env) == gptqKernelName(k)) {
            if (!cpuRuns(k))
                throw Error("PTQ_GPTQ_KERNEL", env, "this CPU cannot run that kernel version");
            return k;
        }
    throw Error("PTQ_GPTQ_KERNEL", env, "no such GPTQ kernel (baseline, avx2, avx512)");
}

std::atomic<int>& kernelSetting()
{
    static std::atomic<int> setting{int(GptqKernel::Automatic)};
    return setting;
}

TileFn tileFunction(GptqKernel kernel)
{
    switch (kernel) {
#if PTQ_X86_KERNELS
    case GptqKernel::Avx512:
        return runTileAvx512;
    case GptqKernel::Avx2:
        return runTileAvx2;
#endif
    default:
        return runTileBaseline;
    }
}

void runBlocks(GptqPass& pass, ColumnParams& cp, const QuantGrid& grid, const MseSearch& mse,
               const std::string& name, const ProgressFn& progress)
{
    const int64_t in = pass.in;
    const int64_t tiles = (pass.out + kRows - 1) / kRows;
    const TileFn runTile = tileFunction(activeGptqKernel());
    pass.tileLoss.assign(tiles, 0.0);
    for (int64_t i1 = 0; i1 < in; i1 += pass.span) {
        const int64_t i2 = std::min(i1 + pass.span, in);
        at::parallel_for(0, tiles, 1, [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; ++t)
                runTile(pass, cp, grid, mse, t * kRows, i1, i2);
        });
        for (double l : pass.tileLoss) // in tile order: the same sum for any thread count
            pass.loss += l;
        if (i2 < in) // W[:, i2:] -= E U[i1:i2, i2:], in fixed row chunks (util/blas.h)
            addmmRowChunks(pass.w.slice(1, i2, in), pass.errors.slice(1, 0, i2 - i1),
                           pass.u.slice(0, i1, i2).slice(1, i2, in), -1.0f);
        reportProgress(
            progress,
            {"gptq", name + ": column " + std::to_string(i2) + "/" + std::to_string(in), i2, in});
    }
}

// Column parameters for the grid: static (per-channel, per-tensor, static groups) tables
// are filled here from w (out, in), original order; lazy groups are filled while running.
ColumnParams columnParams(const torch::Tensor& w, const QuantGrid& grid, const GptqParams& gp,
                          const MseSearch& mse, const torch::Tensor& perm)
{
    const int64_t out = w.size(0), in = w.size(1);
    ColumnParams cp;
    cp.groupOf.assign(in, 0);
    if (grid.groupSize > 0 && !gp.staticGroups) {
        const int64_t groups = in / grid.groupSize;
        cp.lazy = true;
        cp.scale = torch::empty({groups, out});
        cp.zero = torch::empty({groups, out});
        for (int64_t i = 0; i < in; ++i)
            cp.groupOf[i] = i / grid.groupSize;
        return cp;
    }
    const QuantParams p = findWeightParams(w, grid, mse); // (out, groups) or (1, 1)
    cp.scale = p.scale.expand({out, p.scale.size(1)}).t().contiguous();
    cp.zero = p.zero.expand({out, p.zero.size(1)}).t().contiguous();
    if (grid.groupSize > 0) {
        const int64_t* order = perm.defined() ? perm.data_ptr<int64_t>() : nullptr;
        for (int64_t i = 0; i < in; ++i)
            cp.groupOf[i] = (order ? order[i] : i) / grid.groupSize;
    }
    return cp;
}

} // namespace

const char* gptqKernelName(GptqKernel kernel)
{
    switch (kernel) {
    case GptqKernel::Baseline:
        return "baseline";
    case GptqKernel::Avx2:
        return "avx2";
    case GptqKernel::Avx512:
        return "avx512";
    default:
        return "automatic";
    }
}

std::vector<GptqKernel> availableGptqKernels()
{
    std::vector<GptqKernel> out;
    for (GptqKernel k : {GptqKernel::Baseline, GptqKernel::Avx2, GptqKernel::Avx512})
        if (cpuRuns(k))
            out.push_back(k);
    return out;
}

void setGptqKernel(GptqKernel kernel)
{
    if (kernel != GptqKernel::Automatic && !cpuRuns(kernel))
        throw Error(kGptqFile, std::string("kernel ") + gptqKernelName(kernel),
                    "this CPU cannot run it");
    kernelSetting().store(int(kernel));
}

GptqKernel activeGptqKernel()
{
    const auto k = GptqKernel(kernelSetting().load());
    if (k != GptqKernel::Automatic)
        return k;
    static const GptqKernel fromEnvironment = kernelFromEnvironment();
    return fromEnvironment;
}

WeightQuantResult GptqQuantizer::quantize(const LayerInput& layer, const QuantGrid& grid,
                                          const ProgressFn& progress) const
{
    const std::string name = layer.name.empty() ? std::string("layer") : layer.name;
    auto w = checkedWeight(layer, grid); // (out, in)
    const int64_t out = w.size(0), in = w.size(1);
    if (!layer.hessian)
        throw Error(kGptqFile, name, "GPTQ needs the Hessian of the layer's calibration inputs");
    if (layer.hessian->inFeatures() != in)
        throw Error(kGptqFile, name,
                    "the Hessian has " + std::to_string(layer.hessian->inFeatures()) +
                        " input features, the weight " + std::to_string(in));
    auto h = layer.hessian->hessian(); // (in, in), a fresh tensor
    if (!allFinite(h))
        throw Error(kGptqFile, name, "the Hessian contains NaN or Inf");

    // Inputs that are always zero: their weights cannot matter, H gets a unit diagonal there.
    const auto dead = h.diagonal() == 0;
    if (dead.any().item<bool>()) {
        h.diagonal().masked_fill_(dead, 1.0);
        w.masked_fill_(dead.unsqueeze(0), 0.0);
    }

    MseSearch mse;
    mse.enabled = m_params.mse;
    torch::Tensor perm; // int64 (in): processing position -> original column
    if (m_params.actOrder)
        perm = std::get<1>(torch::sort(h.diagonal(), /*stable=*/true, 0, /*descending=*/true));
    ColumnParams cp = columnParams(w, grid, m_params, mse, perm);

    WeightQuantResult result;
    GptqPass pass;
    pass.in = in;
    pass.out = out;
    pass.maxq = float(grid.maxq());
    if (perm.defined()) {
        w = w.index_select(1, perm);
        h = h.index_select(0, perm).index_select(1, perm);
    }
    std::vector<float> diag;
    double meanDiag = 0;
    reverseInPlace(h, diag, meanDiag); // h is ours: factor it in place
    pass.u = inverseFactorInPlace(h, diag, meanDiag, m_params.percDamp, name, result.warnings,
                                  GptqFactorBackend::Automatic);
    pass.w = w;
    // Lazy blocks start at group starts: with groups narrower than blocksize a block holds
    // whole groups; a group of several blocks starts at a block start. The block size changes
    // speed, not the result.
    const int64_t g = grid.groupSize, b = m_params.blockSize;
    pass.span = !cp.lazy ? b : g <= b ? b / g * g : g % b == 0 ? b : g;
    pass.span = std::min(pass.span, in);
    pass.errors = torch::empty({out, pass.span});
    pass.codes = torch::empty({out, in}, torch::kUInt8);
    runBlocks(pass, cp, grid, mse, name, progress);
    result.loss = pass.loss / 2.0;

    auto codes = pass.codes; // (out, in), processing order
    auto deq = pass.w;
    QuantParams stored{cp.scale.t().contiguous(), cp.zero.t().contiguous()}; // (out, groups)
    if (grid.groupSize == -1)
        stored = {cp.scale.slice(0, 0, 1).slice(1, 0, 1).clone(),
                  cp.zero.slice(0, 0, 1).slice(1, 0, 1).clone()};
    torch::Tensor storedPerm;
    if (perm.defined()) {
        deq = torch::empty_like(deq).index_copy_(1, perm, deq);
        if (cp.lazy)
            storedPerm = perm; // groups follow the processing order: keep codes in it
        else
            codes = torch::empty_like(codes).index_copy_(1, perm, codes);
    }
    result.q = makeQuantizedLinear(codes, stored, grid, storedPerm);
    result.dequantized = deq;
    return result;
}

} // namespace ptq
