#include "quant/gptq.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace ptq {

namespace {

const char* const kGptqFile = "gptq";
constexpr int kMaxDampRaises = 6;
// Columns handled by rank-1 updates before one GEMM updates the rest of the lazy block; small
// enough that the rows being updated stay in cache.
constexpr int64_t kSubBlock = 16;
// Factorizations up to this size go to LAPACK; larger ones are split in two.
constexpr int64_t kDirectSize = 256;

// For a symmetric positive definite a (n, n), writes the upper triangular U with
// U^T U = a^-1 into u (zeros below the diagonal on entry) and uses v (n, n) as scratch for
// the upper factor V of a = V V^T (U = V^-1). Returns false when a is not positive definite.
//
// Recursion on a = [[A11, A12], [A12^T, A22]], V = [[V11, V12], [0, V22]]:
//   A22 = V22 V22^T,  V12 = A12 V22^-T = A12 U22^T,  A11 - V12 V12^T = V11 V11^T,
//   U = V^-1 = [[U11, -U11 V12 U22], [0, U22]].
// Everything above the base case is GEMMs: measured 2x faster than LAPACK's Cholesky of the
// reversed matrix followed by a triangular inverse on a 4096 x 4096 Hessian, single thread.
bool inverseUpperFactor(const torch::Tensor& a, torch::Tensor v, torch::Tensor u)
{
    const int64_t n = a.size(0);
    if (n <= kDirectSize) {
        // J a J = L L^T (J reverses the order) gives a = (J L J)(J L J)^T with J L J upper.
        auto [l, info] = torch::linalg_cholesky_ex(torch::flip(a, {0, 1}));
        if (info.item<int>() != 0)
            return false;
        const auto vd = torch::flip(l, {0, 1});
        u.copy_(torch::linalg_solve_triangular(vd, torch::eye(n, a.options()), /*upper=*/true));
        return true;
    }
    const int64_t h = (n / 2 + 63) / 64 * 64;
    auto block = [h, n](const torch::Tensor& t, bool lowRows, bool lowCols) {
        return t.slice(0, lowRows ? 0 : h, lowRows ? h : n)
            .slice(1, lowCols ? 0 : h, lowCols ? h : n);
    };
    if (!inverseUpperFactor(block(a, false, false), block(v, false, false), block(u, false, false)))
        return false;
    auto v12 = block(v, true, false);
    torch::mm_out(v12, block(a, true, false), block(u, false, false).t());
    const auto s = torch::addmm(block(a, true, true), v12, v12.t(), 1.0, -1.0);
    if (!inverseUpperFactor(s, block(v, true, true), block(u, true, true)))
        return false;
    auto u12 = block(u, true, false);
    torch::mm_out(u12, block(u, true, true), v12.mm(block(u, false, false))).neg_();
    return true;
}

std::string formatDouble(double v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

// Rounds half to even like torch::round / nearbyint for |v| < 2^22 (larger values are
// clamped first; they land outside [0, maxq] either way): adding 1.5*2^23 leaves no bits
// below the unit, so the FPU's round-to-nearest-even does the rounding. Vectorises, unlike
// a call to nearbyintf.
inline float roundHalfEven(float v)
{
    constexpr float kMagic = 12582912.0f; // 1.5 * 2^23
    constexpr float kLimit = 4194304.0f;  // 2^22
    v = std::min(std::max(v, -kLimit), kLimit);
    return (v + kMagic) - kMagic;
}

// The state of one GPTQ pass, columns as rows: wt is W^T (in, out), so column i of W is the
// contiguous row i of wt and every per-column operation runs over contiguous memory.
struct GptqPass {
    torch::Tensor wt;     // float32 (in, out), updated in place
    torch::Tensor u;      // float32 (in, in), upper Cholesky factor of H^-1
    torch::Tensor codes;  // uint8 (in, out)
    torch::Tensor deq;    // float32 (in, out), fake-quantized columns
    torch::Tensor errors; // float32 (blockSize, out), err rows of the current block
    int64_t in = 0, out = 0;
    float maxq = 0;
    double loss = 0; // sum of err^2, halved at the end

    // Quantizes column i with per-row params (scale, zero: out floats); returns nothing, the
    // scaled error goes to err.
    void quantizeColumn(int64_t i, const float* scale, const float* zero, float* err)
    {
        const float d = u.data_ptr<float>()[i * in + i];
        const float* w = wt.data_ptr<float>() + i * out;
        uint8_t* c = codes.data_ptr<uint8_t>() + i * out;
        float* q = deq.data_ptr<float>() + i * out;
        double sum = 0;
        for (int64_t r = 0; r < out; ++r) {
            const float level =
                std::min(std::max(roundHalfEven(w[r] / scale[r]) + zero[r], 0.0f), maxq);
            const float dq = scale[r] * (level - zero[r]);
            c[r] = uint8_t(level);
            q[r] = dq;
            const float e = (w[r] - dq) / d;
            err[r] = e;
            sum += double(e) * e;
        }
        loss += sum;
    }

    // wt[j] -= u[i, j] * err for the columns j in (i, end) of the current sub-block.
    void updateSubBlock(int64_t i, int64_t end, const float* err)
    {
        const float* urow = u.data_ptr<float>() + i * in;
        for (int64_t j = i + 1; j < end; ++j) {
            const float f = urow[j];
            float* w = wt.data_ptr<float>() + j * out;
            for (int64_t r = 0; r < out; ++r)
                w[r] -= f * err[r];
        }
    }

    // wt[to0:to1] -= u[from0:from1, to0:to1]^T @ errors[from0-base : from1-base]
    void updateRows(int64_t from0, int64_t from1, int64_t to0, int64_t to1, int64_t base)
    {
        if (to1 <= to0)
            return;
        wt.slice(0, to0, to1)
            .addmm_(u.slice(0, from0, from1).slice(1, to0, to1).t(),
                    errors.slice(0, from0 - base, from1 - base), 1.0, -1.0);
    }
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

torch::Tensor gptqInverseFactor(const torch::Tensor& hessian, double percDamp,
                                const std::string& layer, std::vector<std::string>& warnings)
{
    const double meanDiag = hessian.diagonal().mean().item<double>();
    double damp = percDamp * meanDiag;
    const auto hf = hessian.to(torch::kFloat);
    const int64_t n = hf.size(0);
    auto v = torch::empty({n, n});
    for (int attempt = 0; attempt <= kMaxDampRaises; ++attempt) {
        auto h = hf.clone();
        h.diagonal().add_(damp);
        auto result = torch::zeros({n, n});
        // A NaN or Inf anywhere makes the sum non-finite: one pass instead of a mask.
        if (inverseUpperFactor(h, v, result) && std::isfinite(result.sum().item<double>()))
            return result;
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

namespace {

// Parameters of the group of columns [i0, i0 + g) from the current (compensated) weights,
// into row i0/g of the table. Min and max run over contiguous rows of wt: torch reductions
// over the transposed view cost ~100x more per group.
void groupParams(GptqPass& pass, int64_t i0, int64_t g, const QuantGrid& grid, const MseSearch& mse,
                 ColumnParams& cp)
{
    const int64_t out = pass.out;
    float* scale = cp.scale.data_ptr<float>() + (i0 / g) * out;
    float* zero = cp.zero.data_ptr<float>() + (i0 / g) * out;
    if (mse.enabled) {
        const QuantParams p = findParams(pass.wt.slice(0, i0, i0 + g).t().contiguous(), grid, mse);
        std::copy_n(p.scale.data_ptr<float>(), out, scale);
        std::copy_n(p.zero.data_ptr<float>(), out, zero);
        return;
    }
    std::vector<float> lo(pass.wt.data_ptr<float>() + i0 * out,
                          pass.wt.data_ptr<float>() + (i0 + 1) * out);
    std::vector<float> hi = lo;
    for (int64_t i = i0 + 1; i < i0 + g; ++i) {
        const float* w = pass.wt.data_ptr<float>() + i * out;
        for (int64_t r = 0; r < out; ++r) {
            lo[r] = std::min(lo[r], w[r]);
            hi[r] = std::max(hi[r], w[r]);
        }
    }
    for (int64_t r = 0; r < out; ++r)
        rowParams(lo[r], hi[r], grid, scale[r], zero[r]);
}

void runBlocks(GptqPass& pass, ColumnParams& cp, const QuantGrid& grid, const GptqParams& gp,
               const MseSearch& mse, const std::string& name, const ProgressFn& progress)
{
    const int64_t in = pass.in;
    const int64_t g = grid.groupSize;
    for (int64_t i1 = 0; i1 < in;) {
        int64_t i2 = std::min(i1 + gp.blockSize, in);
        if (cp.lazy) {
            // Blocks end at group starts, so a group's first column sees every earlier update.
            i2 = std::min(i2, (i1 / g + 1) * g);
            if (i1 % g == 0)
                groupParams(pass, i1, g, grid, mse, cp);
        }
        for (int64_t s1 = i1; s1 < i2; s1 += kSubBlock) {
            const int64_t s2 = std::min(s1 + kSubBlock, i2);
            for (int64_t i = s1; i < s2; ++i) {
                const int64_t grp = cp.groupOf[i];
                float* err = pass.errors.data_ptr<float>() + (i - i1) * pass.out;
                pass.quantizeColumn(i, cp.scale.data_ptr<float>() + grp * pass.out,
                                    cp.zero.data_ptr<float>() + grp * pass.out, err);
                pass.updateSubBlock(i, s2, err);
            }
            pass.updateRows(s1, s2, s2, i2, i1);
        }
        pass.updateRows(i1, i2, i2, in, i1);
        reportProgress(
            progress,
            {"gptq", name + ": column " + std::to_string(i2) + "/" + std::to_string(in), i2, in});
        i1 = i2;
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
    h.diagonal().masked_fill_(dead, 1.0);
    w.masked_fill_(dead.unsqueeze(0), 0.0);

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
    pass.u = gptqInverseFactor(h, m_params.percDamp, name, result.warnings).contiguous();
    pass.wt = w.t().contiguous();
    pass.codes = torch::empty({in, out}, torch::kUInt8);
    pass.deq = torch::empty({in, out});
    pass.errors = torch::empty({std::min(m_params.blockSize, in), out});
    runBlocks(pass, cp, grid, m_params, mse, name, progress);
    result.loss = pass.loss / 2.0;

    auto codes = pass.codes.t().contiguous(); // (out, in), processing order
    auto deq = pass.deq.t().contiguous();
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
