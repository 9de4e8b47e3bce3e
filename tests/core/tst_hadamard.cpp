#include "quant/hadamard.h"

#include "test_files.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace ptq;

namespace {

// Max |H H^T - n I| of an integer +-1 matrix computed in float64: every entry of H H^T is an
// integer sum of n terms +-1, exactly representable, so the check is exact (tolerance 0).
double hadamardDefect(const torch::Tensor& h)
{
    const int64_t n = h.size(0);
    const auto hd = h.to(torch::kDouble);
    const auto gram = torch::matmul(hd, hd.t());
    return (gram - n * torch::eye(n, torch::kDouble)).abs().max().item<double>();
}

double orthogonalityDefect(const torch::Tensor& q)
{
    const auto qd = q.to(torch::kDouble);
    const auto gram = torch::matmul(qd.t(), qd);
    return (gram - torch::eye(q.size(0), torch::kDouble)).abs().max().item<double>();
}

} // namespace

TEST(Hadamard, EveryKnownOrderUpTo256IsHadamard)
{
    int known = 0;
    for (int64_t n = 1; n <= 256; ++n) {
        if (!hadamardKnown(n))
            continue;
        ++known;
        const auto h = hadamardMatrix(n);
        ASSERT_EQ(h.size(0), n);
        EXPECT_TRUE(torch::equal(h.abs(), torch::ones({n, n}))) << "order " << n;
        EXPECT_EQ(hadamardDefect(h), 0.0) << "order " << n;
    }
    // Hadamard orders beyond 2 are multiples of 4; every multiple of 4 up to 256 except
    // 52, 92, 100, 116, 156, 172, 184, 188, 232, 236, 244 (prime-power Paley or
    // Williamson-type constructions) is reachable by Sylvester x Paley over prime fields.
    for (int64_t n : {1,  2,  4,  8,   12,  16,  20,  24,  28,  36,  40,  44,  48,  56,  60, 64,
                      68, 76, 96, 108, 128, 140, 148, 164, 192, 196, 204, 212, 228, 252, 256})
        EXPECT_TRUE(hadamardKnown(n)) << n;
    for (int64_t n : {3, 6, 10, 43, 52, 86, 92, 100, 172})
        EXPECT_FALSE(hadamardKnown(n)) << n;
    EXPECT_GE(known, 50);
}

TEST(Hadamard, PaleyOrdersAndLlamaSizesFactorise)
{
    EXPECT_EQ(hadamardBaseOrder(12), 12);      // Paley I, q = 11
    EXPECT_EQ(hadamardBaseOrder(20), 20);      // Paley I, q = 19
    EXPECT_EQ(hadamardBaseOrder(28), 28);      // Paley II, q = 13
    EXPECT_EQ(hadamardBaseOrder(36), 36);      // Paley II, q = 17
    EXPECT_EQ(hadamardBaseOrder(96), 12);      // 12 * 8
    EXPECT_EQ(hadamardBaseOrder(4096), 1);     // Sylvester
    EXPECT_EQ(hadamardBaseOrder(14336), 28);   // LLaMA-3 MLP: 28 * 512
    EXPECT_EQ(hadamardBaseOrder(11008), 5504); // LLaMA-2 MLP: Paley I with q = 5503, * 2
    for (int64_t n : {96, 28 * 16, 20 * 8, 36 * 4}) {
        const auto h = hadamardMatrix(n);
        EXPECT_EQ(hadamardDefect(h), 0.0) << "order " << n;
    }
    // 11008 is too large for a full Gram matrix in a unit test: 40 rows against all rows,
    // in float32, which is exact here (integer sums of at most 11008 terms +-1 < 2^24).
    const int64_t n = 11008;
    const auto h = hadamardMatrix(n);
    const auto rows = torch::arange(0, n, n / 40 + 1);
    const auto gram = torch::matmul(h.index_select(0, rows), h.t());
    const auto expected = torch::zeros_like(gram).index_put_({torch::arange(rows.size(0)), rows},
                                                             torch::full({rows.size(0)}, float(n)));
    EXPECT_TRUE(torch::equal(gram, expected));
    EXPECT_TRUE(torch::equal(h.abs(), torch::ones_like(h)));
    // The fast transform agrees with the dense matrix on a few vectors (tolerance as below).
    const auto x = torch::randn({2, n});
    const auto dense =
        torch::matmul(x.to(torch::kDouble), h.to(torch::kDouble)) / std::sqrt(double(n));
    EXPECT_LT((fastHadamardTransform(x).to(torch::kDouble) - dense).abs().max().item<double>(),
              1e-5 * dense.abs().max().item<double>());
}

TEST(Hadamard, UnknownOrderIsAClearError)
{
    test::expectPtqError([] { hadamardMatrix(172); }, "hadamard",
                         "no Hadamard matrix of order 172 is known to this build");
    test::expectPtqError([] { fastHadamardTransform(torch::ones({2, 3})); }, "hadamard", "order 3");
    test::expectPtqError([] { hadamardMatrix(0); }, "hadamard", "positive");
}

TEST(Hadamard, FastTransformEqualsDenseProduct)
{
    torch::manual_seed(5);
    for (int64_t n : {1, 2, 8, 12, 20, 28, 96, 128, 224}) {
        const auto x = torch::randn({3, 5, n});
        const auto fast = fastHadamardTransform(x);
        const auto dense =
            torch::matmul(x.to(torch::kDouble), hadamardMatrix(n).to(torch::kDouble)) /
            std::sqrt(double(n));
        // float32 butterflies: each output is a sum of n terms of size ~|x|; 1e-5 relative
        // is ~50 ulp of the largest output, well above the log2(n) rounding steps.
        const double err = (fast.to(torch::kDouble) - dense).abs().max().item<double>();
        EXPECT_LT(err, 1e-5 * dense.abs().max().item<double>()) << "order " << n;
        EXPECT_EQ(fast.sizes(), x.sizes());
    }
}

TEST(Hadamard, RandomRotationsAreOrthogonalAndSeeded)
{
    std::vector<std::string> warnings;
    for (int64_t n : {64, 96, 28}) {
        const auto q = randomHadamard(n, 7);
        // float32 entries +-1/sqrt(n): the Gram matrix has float32 rounding only (~1e-7).
        EXPECT_LT(orthogonalityDefect(q), 1e-6) << n;
        EXPECT_TRUE(torch::equal(q, randomHadamard(n, 7)));
        EXPECT_FALSE(torch::equal(q, randomHadamard(n, 8)));
        EXPECT_TRUE(torch::equal(q, randomRotation(n, 7, true, "x", warnings)));
    }
    EXPECT_TRUE(warnings.empty());

    const auto r = randomOrthogonal(40, 3);
    EXPECT_LT(orthogonalityDefect(r), 1e-6);

    // 48 * 43 has no known Hadamard (order 86 * 24 neither): fallback, exact, with a warning.
    const auto f = randomRotation(8 * 43, 11, true, "down_proj input rotation", warnings);
    EXPECT_LT(orthogonalityDefect(f), 1e-5);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("down_proj input rotation"), std::string::npos);
    EXPECT_NE(warnings[0].find("no Hadamard matrix of order 344"), std::string::npos);
}

TEST(Hadamard, RotationSpreadsAnOutlier)
{
    // A single spike of size 1 in x becomes n entries of size 1/sqrt(n): max/rms drops from
    // sqrt(n) to 1 exactly.
    const int64_t n = 256;
    auto x = torch::zeros({1, n});
    x[0][17] = 1.0;
    const auto y = fastHadamardTransform(x * randomSigns(n, 1));
    EXPECT_NEAR(y.abs().max().item<double>(), 1.0 / 16.0, 1e-7);
    EXPECT_NEAR(y.abs().min().item<double>(), 1.0 / 16.0, 1e-7);
}
