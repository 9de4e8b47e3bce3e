// GPTQ against an independent float64 implementation of the paper's algorithm (Frantar et
// al., 2022, Algorithm 1 without the lazy batching, which changes only the order of float
// operations), plus the properties that make it worth running: less output error than RTN,
// dead inputs, rank-deficient calibration data, and loud failures on bad input.

#include "engine/threads.h"
#include "quant/gptq.h"
#include "quant/hessian.h"
#include "quant/rtn.h"
#include "util/error.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

using namespace ptq;

namespace {

constexpr int64_t kOut = 64, kIn = 256, kTokens = 2048;
// Tolerances of the comparison with the float64 reference (see MatchesFloat64Reference).
constexpr double kTieSteps = 0.05;
constexpr double kLossRel = 1e-5;

// ---- the float64 reference ---------------------------------------------------------------

using Matrix = std::vector<double>; // row-major

double toHalf(double v)
{
    return static_cast<float>(c10::Half(static_cast<float>(v)));
}

struct RefGrid {
    int bits = 4;
    bool symmetric = false;
    int64_t groupSize = 0; // 0 = per channel
};

// Min-max parameters of the values v (GPTQ's find_params with the symmetric grid centred
// on zero and the scale rounded to fp16, the storage format).
void refParams(const std::vector<double>& v, const RefGrid& g, double& scale, double& zero)
{
    const double maxq = std::pow(2.0, g.bits) - 1;
    double lo = 0, hi = 0;
    for (double x : v) {
        lo = std::min(lo, x);
        hi = std::max(hi, x);
    }
    if (g.symmetric) {
        hi = std::max(-lo, hi);
        lo = -hi;
    }
    if (lo == 0 && hi == 0) {
        lo = -1;
        hi = 1;
    }
    scale = toHalf((hi - lo) / maxq);
    zero = g.symmetric ? std::pow(2.0, g.bits - 1)
                       : std::min(std::max(std::nearbyint(-lo / scale), 0.0), maxq);
}

double refCode(double w, double scale, double zero, int bits)
{
    const double maxq = std::pow(2.0, bits) - 1;
    return std::min(std::max(std::nearbyint(w / scale) + zero, 0.0), maxq);
}

// The upper Cholesky factor U of (H + damp I)^-1, the paper's way: Cholesky of H, the
// inverse from it, then the upper Cholesky factor of the inverse.
Matrix refInverseFactor(Matrix h, int64_t n, double percdamp)
{
    double mean = 0;
    for (int64_t i = 0; i < n; ++i)
        mean += h[i * n + i] / n;
    for (int64_t i = 0; i < n; ++i)
        h[i * n + i] += percdamp * mean;
    Matrix l(n * n, 0.0); // H = L L^T
    for (int64_t j = 0; j < n; ++j) {
        double s = h[j * n + j];
        for (int64_t k = 0; k < j; ++k)
            s -= l[j * n + k] * l[j * n + k];
        l[j * n + j] = std::sqrt(s);
        for (int64_t i = j + 1; i < n; ++i) {
            double t = h[i * n + j];
            for (int64_t k = 0; k < j; ++k)
                t -= l[i * n + k] * l[j * n + k];
            l[i * n + j] = t / l[j * n + j];
        }
    }
    Matrix li(n * n, 0.0); // L^-1 by forward substitution
    for (int64_t c = 0; c < n; ++c)
        for (int64_t i = c; i < n; ++i) {
            double s = (i == c) ? 1.0 : 0.0;
            for (int64_t k = c; k < i; ++k)
                s -= l[i * n + k] * li[k * n + c];
            li[i * n + c] = s / l[i * n + i];
        }
    Matrix hinv(n * n, 0.0); // H^-1 = L^-T L^-1
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j) {
            double s = 0;
            for (int64_t k = std::max(i, j); k < n; ++k)
                s += li[k * n + i] * li[k * n + j];
            hinv[i * n + j] = s;
        }
    Matrix u(n * n, 0.0); // H^-1 = U^T U
    for (int64_t i = 0; i < n; ++i) {
        double s = hinv[i * n + i];
        for (int64_t k = 0; k < i; ++k)
            s -= u[k * n + i] * u[k * n + i];
        u[i * n + i] = std::sqrt(s);
        for (int64_t j = i + 1; j < n; ++j) {
            double t = hinv[i * n + j];
            for (int64_t k = 0; k < i; ++k)
                t -= u[k * n + i] * u[k * n + j];
            u[i * n + j] = t / u[i * n + i];
        }
    }
    return u;
}

struct RefResult {
    std::vector<double> codes; // (out, in), original column order
    // (out, in): distance of w/scale from the nearest rounding midpoint, in grid steps
    std::vector<double> midpoint;
    std::vector<int64_t> position; // (in): processing position of each original column
    std::vector<double> rowLoss;   // (out)
    double loss = 0;
};

RefResult referenceGptq(Matrix w, Matrix h, const RefGrid& g, bool actOrder, bool staticGroups,
                        double percdamp = 0.01)
{
    const int64_t out = kOut, n = kIn;
    for (int64_t i = 0; i < n; ++i)
        if (h[i * n + i] == 0) {
            h[i * n + i] = 1;
            for (int64_t r = 0; r < out; ++r)
                w[r * n + i] = 0;
        }
    const int64_t gs = g.groupSize > 0 ? g.groupSize : n;
    const int64_t groups = n / gs;
    // Static parameters (per channel, or static groups) from the original columns.
    std::vector<double> scale(out * groups), zero(out * groups);
    for (int64_t r = 0; r < out; ++r)
        for (int64_t k = 0; k < groups; ++k)
            refParams(
                std::vector<double>(w.begin() + r * n + k * gs, w.begin() + r * n + (k + 1) * gs),
                g, scale[r * groups + k], zero[r * groups + k]);

    std::vector<int64_t> perm(n);
    std::iota(perm.begin(), perm.end(), 0);
    if (actOrder)
        std::stable_sort(perm.begin(), perm.end(),
                         [&](int64_t a, int64_t b) { return h[a * n + a] > h[b * n + b]; });
    Matrix wp(out * n), hp(n * n);
    for (int64_t r = 0; r < out; ++r)
        for (int64_t j = 0; j < n; ++j)
            wp[r * n + j] = w[r * n + perm[j]];
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j)
            hp[i * n + j] = h[perm[i] * n + perm[j]];
    const Matrix u = refInverseFactor(hp, n, percdamp);

    RefResult res;
    res.codes.assign(out * n, 0);
    res.midpoint.assign(out * n, 0);
    res.rowLoss.assign(out, 0);
    res.position.assign(n, 0);
    for (int64_t i = 0; i < n; ++i)
        res.position[perm[i]] = i;
    std::vector<double> colScale(out), colZero(out);
    for (int64_t i = 0; i < n; ++i) {
        const bool lazyGroup = g.groupSize > 0 && !staticGroups;
        for (int64_t r = 0; r < out; ++r) {
            if (lazyGroup && i % gs == 0)
                refParams(std::vector<double>(wp.begin() + r * n + i, wp.begin() + r * n + i + gs),
                          g, colScale[r], colZero[r]);
            if (!lazyGroup) {
                const int64_t k = g.groupSize > 0 ? perm[i] / gs : 0;
                colScale[r] = scale[r * groups + k];
                colZero[r] = zero[r * groups + k];
            }
            const double x = wp[r * n + i];
            const double code = refCode(x, colScale[r], colZero[r], g.bits);
            const double err = (x - colScale[r] * (code - colZero[r])) / u[i * n + i];
            const double t = x / colScale[r];
            res.midpoint[r * n + perm[i]] = std::abs(t - std::floor(t) - 0.5);
            res.rowLoss[r] += err * err / 2;
            res.loss += err * err / 2;
            res.codes[r * n + perm[i]] = code;
            for (int64_t j = i + 1; j < n; ++j)
                wp[r * n + j] -= err * u[i * n + j];
        }
    }
    return res;
}

// ---- test data ---------------------------------------------------------------------------

Matrix toMatrix(const torch::Tensor& t)
{
    const auto d = t.to(torch::kDouble).contiguous();
    return Matrix(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

// Correlated calibration inputs (N, in): a rank-16 common part, independent noise and
// per-channel scales spread over a factor of ~20, like LLM activations.
torch::Tensor correlatedInputs(int64_t n, uint64_t seed)
{
    torch::manual_seed(seed);
    auto x = torch::randn({n, 16}).mm(torch::randn({16, kIn})) + 0.3 * torch::randn({n, kIn});
    return x * torch::exp(0.75 * torch::randn({1, kIn}));
}

// Weights (out, in) with a few outlier columns.
torch::Tensor testWeight(uint64_t seed)
{
    torch::manual_seed(seed);
    auto w = torch::randn({kOut, kIn}) * 0.05;
    for (int64_t c : {3, 100, 201})
        w.select(1, c).mul_(8.0);
    return w;
}

double outputError(const torch::Tensor& w, const torch::Tensor& q, const torch::Tensor& x)
{
    const auto xd = x.to(torch::kDouble);
    const auto ref = xd.mm(w.to(torch::kDouble).t());
    const auto diff = ref - xd.mm(q.to(torch::kDouble).t());
    return (diff.pow(2).sum() / ref.pow(2).sum()).item<double>();
}

struct Fixture {
    torch::Tensor x, w;
    HessianAccumulator acc{kIn, "test.proj"};
    Fixture(uint64_t seed = 10) : x(correlatedInputs(kTokens, seed)), w(testWeight(seed + 1))
    {
        acc.add(x);
    }
};

WeightQuantResult runGptq(const Fixture& f, const QuantGrid& grid, GptqParams p = {})
{
    return GptqQuantizer(p).quantize({"test.proj", f.w, &f.acc}, grid, nullptr);
}

} // namespace

// The Hessian is 2/n X^T X, independent of how the rows arrive.
TEST(Hessian, MatchesFloat64SumAndIgnoresBatchSplit)
{
    const auto x = correlatedInputs(300, 5);
    HessianAccumulator whole(kIn), split(kIn);
    whole.add(x);
    split.add(x.slice(0, 0, 100).reshape({4, 25, kIn})); // (B, T, in)
    split.add(x.slice(0, 100, 300));
    const auto ref = x.to(torch::kDouble).t().mm(x.to(torch::kDouble)) * (2.0 / 300);
    EXPECT_EQ(whole.samples(), 300);
    EXPECT_EQ(split.samples(), 300);
    // float32 GEMM over 300 rows: relative error ~ 1e-6 of the largest entry.
    const double tol = 1e-5 * ref.abs().max().item<double>();
    EXPECT_LE((whole.hessian().to(torch::kDouble) - ref).abs().max().item<double>(), tol);
    EXPECT_LE((split.hessian().to(torch::kDouble) - ref).abs().max().item<double>(), tol);

    auto bad = x.clone();
    bad[7][3] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_THROW(whole.add(bad), Error);
    EXPECT_THROW(whole.add(torch::randn({4, kIn + 1})), Error);
    EXPECT_THROW(HessianAccumulator(kIn).hessian(), Error);
}

// Compares a production result with the reference; see MatchesFloat64Reference for why.
void expectMatchesReference(const WeightQuantResult& r, const RefResult& ref)
{
    auto codes = r.q.codes().to(torch::kDouble); // original column order, whatever is stored
    if (r.q.permutation.defined())
        codes = torch::empty_like(codes).index_copy_(1, r.q.permutation, codes);
    const auto refCodes = torch::tensor(ref.codes, torch::kDouble).reshape({kOut, kIn});
    const auto differ = (codes != refCodes);
    double divergedLoss = 0;
    int64_t divergedRows = 0;
    for (int64_t row = 0; row < kOut; ++row) {
        const auto cols = torch::nonzero(differ[row]).reshape({-1});
        if (cols.numel() == 0)
            continue;
        int64_t first = cols[0].item<int64_t>();
        for (int64_t k = 1; k < cols.numel(); ++k) {
            const int64_t c = cols[k].item<int64_t>();
            if (ref.position[c] < ref.position[first])
                first = c;
        }
        ++divergedRows;
        divergedLoss += ref.rowLoss[row];
        EXPECT_LE(ref.midpoint[row * kIn + first], kTieSteps)
            << "row " << row << " first differs at column " << first << ", not a rounding tie";
    }
    EXPECT_LE(divergedRows, kOut / 16);
    EXPECT_GE(1.0 - differ.to(torch::kDouble).mean().item<double>(), 0.995);
}

// Same integer codes and loss as the float64 reference, within float32 effects only.
// Production runs in float32: its factor of H^-1 differs from the float64 one by ~2e-5
// relative on this H (condition number ~3.6e3; InverseFactorMatchesReference), and the
// weights of late columns are sums of ~250 compensation updates of several grid steps each,
// so the two compute each value w/scale to within ~1e-2 grid steps. Hence:
// - a row's codes may first differ only where the reference value lies within kTieSteps
//   (0.05 steps) of a rounding midpoint; a wrong update or group parameter would put first
//   differences anywhere in [0, 0.5] steps, and in most rows;
// - after such a flip the error feedback moves later codes of that row, so at most 1/16 of
//   the rows may diverge and at least 99.5% of all codes must be identical;
// - the loss agrees within kLossRel (1e-5) relative plus the reference loss of the diverged
//   rows (rows with identical codes measured <= 4e-6 relative).
void expectCasesMatchReference()
{
    const Fixture f;
    const Matrix wRef = toMatrix(f.w), hRef = toMatrix(f.acc.hessian());
    struct Case {
        RefGrid g;
        bool actOrder, staticGroups;
    };
    std::vector<Case> cases;
    for (int bits : {4, 3})
        for (int64_t group : {0, 64})
            for (bool act : {false, true})
                cases.push_back({{bits, false, group}, act, false});
    cases.push_back({{4, false, 64}, true, true});
    cases.push_back({{4, true, 64}, false, false});
    cases.push_back({{3, true, 0}, true, false});
    for (const auto& c : cases) {
        SCOPED_TRACE("W" + std::to_string(c.g.bits) + " group " + std::to_string(c.g.groupSize) +
                     (c.g.symmetric ? " sym" : "") + (c.actOrder ? " act-order" : "") +
                     (c.staticGroups ? " static" : ""));
        GptqParams p;
        p.actOrder = c.actOrder;
        p.staticGroups = c.staticGroups;
        const auto r = runGptq(f, QuantGrid{c.g.bits, c.g.symmetric, c.g.groupSize, 1.0}, p);
        const auto ref = referenceGptq(wRef, hRef, c.g, c.actOrder, c.staticGroups);

        expectMatchesReference(r, ref);
        EXPECT_TRUE(torch::equal(r.dequantized, r.q.dequantize()));
        EXPECT_TRUE(r.warnings.empty());
    }
}

// Sets the engine's threads (and GPTQ's kernel version) for one scope.
struct EngineSetting {
    int threadsBefore = engineThreads();
    explicit EngineSetting(int threads, GptqKernel kernel = GptqKernel::Automatic)
    {
        setEngineThreads(threads);
        setGptqKernel(kernel);
    }
    ~EngineSetting()
    {
        setEngineThreads(threadsBefore);
        setGptqKernel(GptqKernel::Automatic);
    }
};

TEST(Gptq, MatchesFloat64Reference)
{
    expectCasesMatchReference();
}

// The same reference cases with 1 and with 2 engine threads (Hessian accumulation, factor,
// lazy-batch GEMMs and row tiles all run threaded with 2).
TEST(Gptq, MatchesFloat64ReferenceWithOneAndTwoThreads)
{
    for (int threads : {1, 2}) {
        SCOPED_TRACE(std::to_string(threads) + " thread(s)");
        const EngineSetting setting(threads);
        expectCasesMatchReference();
    }
}

// Every version of the per-row kernel this CPU can run (baseline, AVX2, AVX-512) against the
// float64 reference, and bit for bit against the baseline version: a version is never first
// exercised on a user's processor.
TEST(Gptq, EveryKernelVersionMatchesReferenceAndBaseline)
{
    const auto kernels = availableGptqKernels();
    ASSERT_FALSE(kernels.empty());
    EXPECT_EQ(kernels.front(), GptqKernel::Baseline);
    const Fixture f;
    const QuantGrid grid{3, false, 32, 1.0};
    GptqParams act;
    act.actOrder = true;
    WeightQuantResult baseline, baselineAct;
    for (GptqKernel k : kernels) {
        SCOPED_TRACE(gptqKernelName(k));
        const EngineSetting setting(engineThreads(), k);
        EXPECT_EQ(activeGptqKernel(), k);
        expectCasesMatchReference();
        auto r = runGptq(f, grid);
        auto ra = runGptq(f, grid, act);
        if (k == GptqKernel::Baseline) {
            baseline = std::move(r);
            baselineAct = std::move(ra);
            continue;
        }
        EXPECT_TRUE(torch::equal(r.q.codes(), baseline.q.codes()));
        EXPECT_TRUE(torch::equal(r.dequantized, baseline.dequantized));
        EXPECT_EQ(r.loss, baseline.loss);
        EXPECT_TRUE(torch::equal(ra.dequantized, baselineAct.dequantized));
        EXPECT_EQ(ra.loss, baselineAct.loss);
    }
}

// The whole method, Hessian accumulation included, gives the same bits for 1, 2 and 3
// threads: BLAS work runs in chunks fixed by the shapes (util/blas.h), row tiles own their
// rows, losses are summed in tile order. (OpenBLAS's own threading rounds differently per
// thread count with its Haswell kernels, the ones AMD Zen machines run; the test suite runs
// this file a second time with OPENBLAS_CORETYPE=Haswell.)
TEST(Gptq, ThreadCountGivesBitIdenticalResults)
{
    const Fixture f;
    struct Out {
        torch::Tensor hessian, codes, deq;
        double loss = 0;
    };
    std::vector<Out> outs;
    for (int threads : {1, 2, 3}) {
        const EngineSetting setting(threads);
        HessianAccumulator acc(kIn, "test.proj");
        for (int64_t b = 0; b < kTokens; b += 512) // in batches, as calibration delivers them
            acc.add(f.x.slice(0, b, b + 512));
        GptqParams p;
        p.actOrder = true;
        const auto r = GptqQuantizer(p).quantize({"test.proj", f.w, &acc},
                                                 QuantGrid{3, false, 32, 1.0}, nullptr);
        outs.push_back({acc.hessian(), r.q.codes(), r.dequantized, r.loss});
    }
    for (std::size_t i = 1; i < outs.size(); ++i) {
        SCOPED_TRACE(std::to_string(i + 1) + " threads against 1");
        EXPECT_TRUE(torch::equal(outs[i].hessian, outs[0].hessian));
        EXPECT_TRUE(torch::equal(outs[i].codes, outs[0].codes));
        EXPECT_TRUE(torch::equal(outs[i].deq, outs[0].deq));
        EXPECT_EQ(outs[i].loss, outs[0].loss);
    }
}

TEST(Gptq, KernelSettingRejectsWhatTheCpuCannotRun)
{
    const auto kernels = availableGptqKernels();
    for (GptqKernel k : {GptqKernel::Avx2, GptqKernel::Avx512})
        if (std::find(kernels.begin(), kernels.end(), k) == kernels.end())
            EXPECT_THROW(setGptqKernel(k), Error);
    EXPECT_NO_THROW(setGptqKernel(GptqKernel::Automatic));
    EXPECT_NE(activeGptqKernel(), GptqKernel::Automatic);
}

// Lazy batching is a reordering of the same float32 arithmetic: the block size may change
// codes only through midpoint flips (0.1% allowed) and the loss by reassociation error
// (1e-4 relative allowed). The cases cover blocks narrower than a group (a group then spans
// blocks, or the block widens to the group), blocks holding several groups, a block size
// that is no multiple of the group size, and blocks wider than the layer.
TEST(Gptq, BlockSizeDoesNotChangeTheResult)
{
    const Fixture f;
    struct Case {
        int64_t group, blockSize;
    };
    for (const Case c : {Case{64, 5}, Case{64, 16}, Case{64, 32}, Case{64, 256}, Case{32, 48},
                         Case{128, 64}, Case{0, 5}, Case{0, 7}, Case{0, 300}}) {
        SCOPED_TRACE("group " + std::to_string(c.group) + " blocksize " +
                     std::to_string(c.blockSize));
        const QuantGrid grid{3, false, c.group, 1.0};
        GptqParams p;
        p.blockSize = c.blockSize;
        const auto a = runGptq(f, grid);
        const auto b = runGptq(f, grid, p);
        EXPECT_GE((a.q.codes() == b.q.codes()).to(torch::kDouble).mean().item<double>(), 0.999);
        EXPECT_LE(std::abs(a.loss - b.loss) / a.loss, 1e-4);
    }
}

// Rows of W are quantized independently (the Hessian couples columns only), so a layer whose
// row count is no multiple of the kernel's row tile gives its rows' results of the full layer.
TEST(Gptq, PartialRowTilesMatchTheFullLayer)
{
    const Fixture f;
    const QuantGrid grid{4, false, 64, 1.0};
    const auto full = runGptq(f, grid);
    for (int64_t rows : {1, 15, 37}) {
        SCOPED_TRACE("rows " + std::to_string(rows));
        const auto part = GptqQuantizer().quantize(
            {"test.proj", f.w.slice(0, 0, rows).contiguous(), &f.acc}, grid, nullptr);
        const auto same = part.q.codes() == full.q.codes().slice(0, 0, rows);
        EXPECT_GE(same.to(torch::kDouble).mean().item<double>(), 0.999);
        EXPECT_LE((part.dequantized - full.dequantized.slice(0, 0, rows)).abs().max().item<float>(),
                  1e-6 + 1e-3 * full.dequantized.abs().max().item<float>());
        EXPECT_TRUE(torch::equal(part.dequantized, part.q.dequantize()));
    }
}

// Row tiles run on the engine's threads; each tile owns its rows and its loss is added in
// tile order, and BLAS work runs in chunks fixed by the shapes, so the thread count changes
// nothing (ThreadCountGivesBitIdenticalResults asserts the bits). The bounds here are the
// ones of a float32 reassociation (1e-4 on the loss, as for the block size).
TEST(Gptq, ThreadCountDoesNotChangeTheResult)
{
    const Fixture f;
    const QuantGrid grid{3, false, 32, 1.0};
    const int before = engineThreads();
    setEngineThreads(1);
    const auto one = runGptq(f, grid);
    setEngineThreads(2);
    const auto two = runGptq(f, grid);
    setEngineThreads(before);
    EXPECT_GE((one.q.codes() == two.q.codes()).to(torch::kDouble).mean().item<double>(), 0.999);
    EXPECT_LE(std::abs(one.loss - two.loss) / one.loss, 1e-4);
}

TEST(Gptq, LessOutputErrorThanRtn)
{
    const Fixture f;
    for (int bits : {2, 3, 4})
        for (int64_t group : {0, 64}) {
            const QuantGrid grid{bits, false, group, 1.0};
            const auto g = runGptq(f, grid);
            const auto r = RtnQuantizer().quantize({"test.proj", f.w, nullptr}, grid, nullptr);
            const double eg = outputError(f.w, g.dequantized, f.x);
            const double er = outputError(f.w, r.dequantized, f.x);
            EXPECT_LT(eg, er) << "W" << bits << " g" << group << ": gptq " << eg << " rtn " << er;
        }
}

TEST(Gptq, MseGridSearchRuns)
{
    // GPTQ's --mse: group grids from the clip search; still beats RTN with the same search.
    const Fixture f;
    const QuantGrid grid{3, false, 64, 1.0};
    GptqParams p;
    p.mse = true;
    const auto g = runGptq(f, grid, p);
    const auto r =
        RtnQuantizer(RtnParams{true}).quantize({"test.proj", f.w, nullptr}, grid, nullptr);
    EXPECT_TRUE(torch::equal(g.dequantized, g.q.dequantize()));
    EXPECT_LT(outputError(f.w, g.dequantized, f.x), outputError(f.w, r.dequantized, f.x));
}

TEST(Gptq, DeadInputsAreZeroed)
{
    Fixture f;
    auto x = f.x.clone();
    x.select(1, 5).zero_();
    x.select(1, 77).zero_();
    HessianAccumulator acc(kIn);
    acc.add(x);
    const QuantGrid grid{4, false, 0, 1.0};
    const auto r = GptqQuantizer().quantize({"test.proj", f.w, &acc}, grid, nullptr);
    EXPECT_TRUE(torch::isfinite(r.dequantized).all().item<bool>());
    EXPECT_TRUE((r.dequantized.select(1, 5) == 0).all().item<bool>());
    EXPECT_TRUE((r.dequantized.select(1, 77) == 0).all().item<bool>());
    const auto ref =
        referenceGptq(toMatrix(f.w), toMatrix(acc.hessian()), {4, false, 0}, false, false);
    const auto refCodes = torch::tensor(ref.codes, torch::kDouble).reshape({kOut, kIn});
    EXPECT_GE((r.q.codes().to(torch::kDouble) == refCodes).to(torch::kDouble).mean().item<double>(),
              0.999);
}

TEST(Gptq, RankDeficientCalibrationWorksThroughDamping)
{
    // 64 tokens for 256 inputs: H has rank 64; the default 1% damping makes it definite.
    const auto x = correlatedInputs(64, 20);
    const auto w = testWeight(21);
    HessianAccumulator acc(kIn);
    acc.add(x);
    const QuantGrid grid{4, false, 64, 1.0};
    const auto r = GptqQuantizer().quantize({"test.proj", w, &acc}, grid, nullptr);
    EXPECT_TRUE(torch::isfinite(r.dequantized).all().item<bool>());
    const auto rtn = RtnQuantizer().quantize({"test.proj", w, nullptr}, grid, nullptr);
    EXPECT_LT(outputError(w, r.dequantized, x), outputError(w, rtn.dequantized, x));
}

// Both factor routes: a failed attempt overwrites part of the matrix, and the retry with
// more damping must start again from the Hessian, not from the wreck.
TEST(Gptq, IndefiniteHessianRaisesDampingThenFails)
{
    for (const auto backend : {GptqFactorBackend::Automatic, GptqFactorBackend::Torch}) {
        SCOPED_TRACE(backend == GptqFactorBackend::Torch ? "torch" : "automatic");
        torch::manual_seed(3);
        const auto x = torch::randn({40, 9});
        auto h = x.t().mm(x) / 40.0 + torch::eye(9);
        h[4][4] = -0.05; // damping 0.01*mean fails, 0.1*mean succeeds
        std::vector<std::string> warnings;
        const auto u = gptqInverseFactor(h, 0.01, "test.proj", warnings, backend);
        ASSERT_EQ(warnings.size(), 1u);
        EXPECT_NE(warnings[0].find("damping raised"), std::string::npos);
        auto damped = h.to(torch::kDouble);
        damped.diagonal().add_(0.1 * h.diagonal().mean().item<double>());
        const auto ud = u.to(torch::kDouble);
        EXPECT_TRUE(torch::equal(u, u.triu()));
        EXPECT_LE((ud.t().mm(ud) - torch::inverse(damped)).abs().max().item<double>(), 1e-4);

        h[4][4] = -1e6; // mean(diag) < 0: no damping helps
        warnings.clear();
        try {
            gptqInverseFactor(h, 0.01, "model.layers.3.mlp.up_proj", warnings, backend);
            FAIL() << "expected ptq::Error";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("model.layers.3.mlp.up_proj"), std::string::npos);
        }
    }
}

TEST(Gptq, RejectsBadInput)
{
    Fixture f;
    auto w = f.w.clone();
    w[2][9] = std::numeric_limits<float>::quiet_NaN();
    const QuantGrid grid{4, false, 0, 1.0};
    try {
        GptqQuantizer().quantize({"model.layers.0.mlp.down_proj", w, &f.acc}, grid, nullptr);
        FAIL() << "expected ptq::Error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("model.layers.0.mlp.down_proj"), std::string::npos);
    }
    EXPECT_THROW(GptqQuantizer().quantize({"p", f.w, nullptr}, grid, nullptr), Error);
    HessianAccumulator other(kIn / 2);
    other.add(torch::randn({10, kIn / 2}));
    EXPECT_THROW(GptqQuantizer().quantize({"p", f.w, &other}, grid, nullptr), Error);

    EXPECT_THROW(GptqParams::fromJson({{"blocksze", 128}}), Error);
    EXPECT_THROW(GptqParams::fromJson({{"actOrder", 1}}), Error);
    EXPECT_THROW(GptqParams::fromJson({{"percdamp", -0.1}}), Error);
    EXPECT_THROW(GptqParams::fromJson(nlohmann::json::array()), Error);
    const auto p = GptqParams::fromJson({{"percdamp", 0.1},
                                         {"blocksize", 64},
                                         {"actOrder", true},
                                         {"staticGroups", true},
                                         {"mse", true}});
    EXPECT_EQ(p.percDamp, 0.1);
    EXPECT_EQ(p.blockSize, 64);
    EXPECT_TRUE(p.actOrder && p.staticGroups && p.mse);
    try {
        GptqParams::fromJson({{"blocksze", 128}});
    } catch (const Error& e) {
        EXPECT_EQ(e.object(), "blocksze");
        EXPECT_NE(std::string(e.what()).find("blocksize"), std::string::npos); // lists known keys
    }
}

TEST(Gptq, ProgressCanCancel)
{
    const Fixture f;
    int calls = 0;
    const ProgressFn stop = [&](const Progress&) { return ++calls < 2; };
    EXPECT_THROW(GptqQuantizer().quantize({"p", f.w, &f.acc}, QuantGrid{}, stop), Cancelled);
}

// The factor (LAPACK's Cholesky and triangular inverse of the reversed matrix, float32)
// against the paper's route in float64 (Cholesky, inverse, upper Cholesky of the inverse).
TEST(Gptq, InverseFactorMatchesReference)
{
    const Fixture f;
    const auto h = f.acc.hessian();
    std::vector<std::string> warnings;
    const auto u = gptqInverseFactor(h, 0.01, "test.proj", warnings).to(torch::kDouble);
    const auto ref =
        torch::tensor(refInverseFactor(toMatrix(h), kIn, 0.01), torch::kDouble).reshape({kIn, kIn});
    const double rel = ((u - ref).abs().max() / ref.abs().max()).item<double>();
    std::printf("factor max relative error %.3g\n", rel);
    EXPECT_TRUE(torch::equal(u, u.triu()));
    EXPECT_LE(rel, 1e-4);
}

// Both routes at an odd width (the middle row of the in-place reversal pairs with itself)
// with uneven channels. Tolerance 1e-4 relative to the largest entry: float32 factorization
// of a matrix with condition number ~1e2 after damping loses a few of float32's 7 digits.
TEST(Gptq, InverseFactorRoutesMatchReference)
{
    constexpr int64_t n = 701, rows = 1500;
    torch::manual_seed(11);
    const auto x = torch::randn({rows, n}) * torch::linspace(0.2, 3.0, n); // uneven channels
    const auto h = (2.0 / rows) * x.t().mm(x);
    const auto hd = h.to(torch::kDouble).contiguous();
    const Matrix hm(hd.data_ptr<double>(), hd.data_ptr<double>() + n * n);
    const auto ref = torch::tensor(refInverseFactor(hm, n, 0.01), torch::kDouble).reshape({n, n});
    for (const auto backend : {GptqFactorBackend::Automatic, GptqFactorBackend::Torch}) {
        std::vector<std::string> warnings;
        const auto u = gptqInverseFactor(h, 0.01, "wide.proj", warnings, backend);
        const double rel =
            ((u.to(torch::kDouble) - ref).abs().max() / ref.abs().max()).item<double>();
        std::printf("factor (n = %lld, %s) max relative error %.3g\n", (long long)n,
                    backend == GptqFactorBackend::Torch ? "torch" : "automatic", rel);
        EXPECT_TRUE(warnings.empty());
        EXPECT_TRUE(torch::equal(u, u.triu()));
        EXPECT_LE(rel, 1e-4);
    }
}
