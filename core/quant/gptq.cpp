// GPTQ's quantizer: the per-row kernel in its instruction-set versions, the lazy-block
// loop and GptqQuantizer::quantize. The inverse Hessian factor: gptq_factor.cpp.

#include "quant/gptq.h"

#include "quant/gptq_internal.h"
#include "util/blas.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace ptq {

namespace {

using detail::inverseFactorInPlace;
using detail::kGptqFile;
using detail::reverseInPlace;

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

} // namespace

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

// The next tile's rows of the block (`w` points at this tile's first row and column i1),
// fetched from memory while this one computes. So are the lines its results will be written
// to (for writing: no read-for-ownership stall at the store).
inline __attribute__((always_inline)) void prefetchNextTile(const GptqPass& pass, const float* w,
                                                            int64_t r0, int64_t i1, int64_t columns)
{
    const int64_t in = pass.in, out = pass.out;
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
}

// The tile's codes, fake-quantized values and scaled errors written back: codes and W over
// the block's columns of the tile's rows, the errors into pass.errors.
inline __attribute__((always_inline)) void writeTile(GptqPass& pass, const Tile& tile, int64_t r0,
                                                     int64_t i1, int64_t rows, int64_t columns)
{
    const int64_t in = pass.in;
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
    prefetchNextTile(pass, w, r0, i1, columns);
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
    writeTile(pass, tile, r0, i1, rows, columns);
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

// The layer's Hessian (in, in), a fresh tensor; throws ptq::Error naming the layer when
// there is none, it does not match the weight's `in` input features, or it is not finite.
torch::Tensor checkedHessian(const LayerInput& layer, const std::string& name, int64_t in)
{
    if (!layer.hessian)
        throw Error(kGptqFile, name, "GPTQ needs the Hessian of the layer's calibration inputs");
    if (layer.hessian->inFeatures() != in)
        throw Error(kGptqFile, name,
                    "the Hessian has " + std::to_string(layer.hessian->inFeatures()) +
                        " input features, the weight " + std::to_string(in));
    auto h = layer.hessian->hessian();
    if (!allFinite(h))
        throw Error(kGptqFile, name, "the Hessian contains NaN or Inf");
    return h;
}

// The finished pass as the stored layer: fake-quantized weights back in the original column
// order, and codes too unless groups follow the processing order (then the permutation is
// stored with them).
void storeResult(WeightQuantResult& result, const GptqPass& pass, const ColumnParams& cp,
                 const QuantGrid& grid, const torch::Tensor& perm)
{
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
    auto h = checkedHessian(layer, name, in); // (in, in), a fresh tensor

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
    storeResult(result, pass, cp, grid, perm);
    return result;
}

} // namespace ptq
