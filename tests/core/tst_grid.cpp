// The uniform grid: parameters against hand-computed rows, fp16 scales, validation errors,
// and the MSE clip search never doing worse than plain min-max on its own objective.

#include "quant/grid.h"
#include "util/error.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

using namespace ptq;

namespace {

torch::Tensor row(std::initializer_list<float> v)
{
    return torch::tensor(std::vector<float>(v)).reshape({1, -1});
}

float halfOf(double v)
{
    return static_cast<float>(c10::Half(static_cast<float>(v)));
}

} // namespace

TEST(Grid, AsymmetricHandExample)
{
    // 2 bits: maxq 3; min -1, max 2 -> scale (2 - -1)/3 = 1, zero round(1/1) = 1.
    QuantGrid grid{2, false, 0, 1.0};
    const auto w = row({-1.0f, 0.5f, 2.0f, 0.25f});
    const auto p = findParams(w, grid);
    EXPECT_EQ(p.scale.item<float>(), 1.0f);
    EXPECT_EQ(p.zero.item<float>(), 1.0f);
    // round(0.5) = 0 (half to even, like torch.round): code 0 + 1 = 1.
    const auto codes = quantCodes(w, p.scale, p.zero, grid.bits);
    EXPECT_TRUE(torch::equal(codes, torch::tensor({0, 1, 3, 1}, torch::kUInt8).reshape({1, 4})));
    const auto fq = fakeQuantize(w, p.scale, p.zero, grid.bits);
    EXPECT_TRUE(torch::equal(fq, row({-1.0f, 0.0f, 2.0f, 0.0f})));
}

TEST(Grid, SymmetricHandExample)
{
    // 4 bits symmetric: scale = 2*3/15 = 0.4, stored as fp16 0.39990234375; zero 8.
    QuantGrid grid{4, true, 0, 1.0};
    const auto w = row({-3.0f, 1.5f, 0.1f});
    const auto p = findParams(w, grid);
    const float s = 0.39990234375f;
    EXPECT_EQ(p.scale.item<float>(), s);
    EXPECT_EQ(p.zero.item<float>(), 8.0f);
    // -3/s = -7.502 -> -8 -> code 0; 1.5/s = 3.751 -> 4 -> 12; 0.1/s = 0.25 -> 0 -> 8.
    const auto codes = quantCodes(w, p.scale, p.zero, grid.bits);
    EXPECT_TRUE(torch::equal(codes, torch::tensor({0, 12, 8}, torch::kUInt8).reshape({1, 3})));
    const auto fq = fakeQuantize(w, p.scale, p.zero, grid.bits);
    EXPECT_TRUE(torch::equal(fq, row({s * -8.0f, s * 4.0f, 0.0f})));
}

TEST(Grid, RangeIncludesZeroAndAllZeroRowsUseUnitRange)
{
    QuantGrid grid{3, false, 0, 1.0};
    // All positive: min is taken as 0, so zero = 0 and scale = 1/7 (fp16-rounded).
    const auto p = findParams(row({0.5f, 1.0f}), grid);
    EXPECT_EQ(p.scale.item<float>(), halfOf(1.0 / 7.0));
    EXPECT_EQ(p.zero.item<float>(), 0.0f);
    // All zero: GPTQ's [-1, 1] range, scale 2/7, zero round(1/scale) = round(3.5) -> 4.
    const auto z = findParams(row({0.0f, 0.0f, 0.0f}), grid);
    EXPECT_EQ(z.scale.item<float>(), halfOf(2.0 / 7.0));
    EXPECT_EQ(z.zero.item<float>(), std::nearbyint(1.0f / halfOf(2.0 / 7.0)));
    EXPECT_TRUE(
        torch::equal(fakeQuantize(torch::zeros({1, 3}), z.scale, z.zero, 3), torch::zeros({1, 3})));
}

TEST(Grid, ClipRatioShrinksTheRange)
{
    QuantGrid grid{2, false, 0, 0.5};
    const auto p = findParams(row({-1.0f, 2.0f}), grid); // range [-0.5, 1]
    EXPECT_EQ(p.scale.item<float>(), 0.5f);
    EXPECT_EQ(p.zero.item<float>(), 1.0f);
}

TEST(Grid, ScalesAreHalfPrecisionValues)
{
    torch::manual_seed(1);
    const auto w = torch::randn({32, 128});
    for (bool sym : {false, true}) {
        const auto p = findWeightParams(w, QuantGrid{4, sym, 32, 1.0});
        ASSERT_EQ(p.scale.sizes(), torch::IntArrayRef({32, 4}));
        EXPECT_TRUE(torch::equal(p.scale, p.scale.to(torch::kHalf).to(torch::kFloat)));
        EXPECT_TRUE(torch::equal(p.zero, p.zero.round()));
        EXPECT_TRUE((p.zero >= 0).all().item<bool>());
        EXPECT_TRUE((p.zero <= 15).all().item<bool>());
    }
    const auto t = findWeightParams(w, QuantGrid{4, false, -1, 1.0});
    EXPECT_EQ(t.scale.sizes(), torch::IntArrayRef({1, 1}));
    const double expect = (w.max().item<double>() - w.min().item<double>()) / 15.0;
    EXPECT_EQ(t.scale.item<float>(), halfOf(expect));
}

TEST(Grid, RejectsBadGrids)
{
    EXPECT_THROW(validate(QuantGrid{1, false, 0, 1.0}, 64), Error);
    EXPECT_THROW(validate(QuantGrid{9, false, 0, 1.0}, 64), Error);
    EXPECT_THROW(validate(QuantGrid{4, false, 48, 1.0}, 64), Error);
    EXPECT_THROW(validate(QuantGrid{4, false, -2, 1.0}, 64), Error);
    EXPECT_THROW(validate(QuantGrid{4, false, 0, 0.0}, 64), Error);
    EXPECT_THROW(validate(QuantGrid{4, false, 0, 1.5}, 64), Error);
    EXPECT_NO_THROW(validate(QuantGrid{4, false, 32, 0.9}, 64));
    EXPECT_NO_THROW(validate(QuantGrid{8, true, -1, 1.0}, 64));
    try {
        validate(QuantGrid{4, false, 48, 1.0}, 64);
    } catch (const Error& e) {
        EXPECT_EQ(e.object(), "groupSize");
        EXPECT_NE(std::string(e.what()).find("48"), std::string::npos);
    }
    // A scale beyond the fp16 range cannot be stored.
    EXPECT_THROW(findParams(row({-1e6f, 1e6f}), QuantGrid{2, false, 0, 1.0}), Error);
}

TEST(Grid, MseSearchNeverWorseThanMinMax)
{
    torch::manual_seed(2);
    auto w = torch::randn({16, 256});
    w.index_put_({torch::indexing::Slice(), 7}, 12.0); // an outlier column stretches min-max
    MseSearch mse;
    mse.enabled = true;
    for (int bits : {2, 3, 4}) {
        QuantGrid grid{bits, false, 0, 1.0};
        const auto plain = findParams(w, grid);
        const auto best = findParams(w, grid, mse);
        const auto errOf = [&](const QuantParams& p) {
            return (fakeQuantize(w, p.scale, p.zero, bits) - w).abs().pow(2.4).sum(1);
        };
        EXPECT_TRUE((errOf(best) <= errOf(plain)).all().item<bool>()) << "bits " << bits;
        // With the outlier the search shrinks the range at least somewhere.
        EXPECT_TRUE((best.scale < plain.scale).any().item<bool>()) << "bits " << bits;
    }
}
