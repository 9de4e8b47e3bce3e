// Every registered weight quantizer, in one loop over the table: a named output-error bound
// per bitwidth, real packed sizes equal to the bits-per-weight formula, and at most 2^bits
// distinct values per group. A method gets this coverage the moment it is registered.

#include "quant/registry.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <set>

using namespace ptq;

namespace {

constexpr int64_t kOut = 96, kIn = 256, kTokens = 1024;

// Relative output error ||XW^T - XQ^T||^2 / ||XW^T||^2 allowed per bitwidth, for every
// method (RTN, the weakest, sets them). Measured on the data below, RTN per channel / g64:
// W8 4.3e-5 / 3.1e-5, W4 1.2e-2 / 9.4e-3, W3 6.0e-2 / 4.0e-2, W2 0.31 / 0.21 (GPTQ: 20-40x
// lower). Each bound leaves a margin of 1.6x or more over the worst measurement and still
// catches a grid one bit coarser than asked (each bit removed costs ~4x).
double errorBound(int bits)
{
    switch (bits) {
    case 8:
        return 1e-4;
    case 4:
        return 3e-2;
    case 3:
        return 1.1e-1;
    default:
        return 0.5;
    }
}

struct Data {
    torch::Tensor x, w;
    HessianAccumulator acc{kIn, "registry.proj"};
    Data()
    {
        torch::manual_seed(30);
        x = torch::randn({kTokens, 8}).mm(torch::randn({8, kIn})) +
            0.5 * torch::randn({kTokens, kIn});
        x = x * torch::exp(0.5 * torch::randn({1, kIn}));
        w = 0.02 * torch::randn({kOut, kIn});
        acc.add(x);
    }
};

double outputError(const Data& d, const torch::Tensor& q)
{
    const auto x = d.x.to(torch::kDouble);
    const auto ref = x.mm(d.w.to(torch::kDouble).t());
    return ((ref - x.mm(q.to(torch::kDouble).t())).pow(2).sum() / ref.pow(2).sum()).item<double>();
}

} // namespace

TEST(QuantRegistry, TableIsWellFormed)
{
    const std::set<std::string> classes = {"baseline", "compensation", "rotation", "salience",
                                           "optimization"};
    std::set<std::string> names;
    for (const auto& m : weightQuantizers()) {
        EXPECT_TRUE(names.insert(m.name).second) << "duplicate " << m.name;
        EXPECT_TRUE(classes.count(m.taxonomyClass)) << m.name << ": " << m.taxonomyClass;
        EXPECT_FALSE(m.description.empty());
        EXPECT_NE(m.make(nlohmann::json()), nullptr);
        EXPECT_NE(m.make(nlohmann::json::object()), nullptr);
        EXPECT_THROW(m.make({{"noSuchParameter", 1}}), Error) << m.name;
        EXPECT_EQ(&findWeightQuantizer(m.name), &m);
    }
    EXPECT_TRUE(names.count("rtn") && names.count("gptq"));
    try {
        findWeightQuantizer("gtpq");
        FAIL() << "expected ptq::Error";
    } catch (const Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("gtpq"), std::string::npos);
        EXPECT_NE(what.find("rtn"), std::string::npos);
        EXPECT_NE(what.find("gptq"), std::string::npos);
    }
}

TEST(QuantRegistry, EveryMethodEveryWidth)
{
    const Data d;
    for (const auto& m : weightQuantizers()) {
        const auto quantizer = m.make(nlohmann::json::object());
        for (int bits : {2, 3, 4, 8})
            for (int64_t group : {int64_t(0), int64_t(64)}) {
                const std::string label =
                    m.name + " W" + std::to_string(bits) + " g" + std::to_string(group);
                SCOPED_TRACE(label);
                const QuantGrid grid{bits, false, group, 1.0};
                const auto r = quantizer->quantize({"registry.proj", d.w, &d.acc}, grid, nullptr);
                const double err = outputError(d, r.dequantized);
                std::printf("%-16s relative output error %.3g\n", label.c_str(), err);
                EXPECT_LE(err, errorBound(bits));

                // Stored size: codes + fp16 scale + packed zero per group, and the 8-byte
                // seed of an incoherence rotation (QuIP), nothing else.
                const double cols = double(group > 0 ? group : kIn);
                const uint64_t groups = uint64_t(kOut) * uint64_t(kIn / cols);
                const uint64_t seedBytes = r.q.incoherence ? 8 : 0;
                const uint64_t expectBytes = (uint64_t(kOut * kIn) * bits + 7) / 8 + groups * 2 +
                                             (groups * bits + 7) / 8 + seedBytes;
                EXPECT_EQ(r.q.bytes(), expectBytes);
                EXPECT_NEAR(r.q.bitsPerWeight(),
                            bits + (16.0 + bits) / cols + seedBytes * 8.0 / double(kOut * kIn),
                            1e-12);
                EXPECT_TRUE(torch::equal(r.dequantized, r.q.dequantize()));

                // At most 2^bits distinct values in each (row, group) of the stored grid (for
                // QuIP, of the rotated basis the codes live in).
                auto stored = r.q;
                stored.incoherence.reset();
                const auto byGroup = stored.dequantize().reshape({-1, int64_t(cols)});
                int64_t worst = 0;
                for (int64_t i = 0; i < byGroup.size(0); ++i)
                    worst = std::max<int64_t>(worst, std::get<0>(at::_unique(byGroup[i])).numel());
                EXPECT_LE(worst, int64_t(1) << bits);
            }
    }
}

// needsHessian is what the engine reads to decide whether to accumulate Hessians: a method
// that declares none must work without one, a method that declares one must refuse to.
TEST(QuantRegistry, NeedsHessianMatchesWhatEachMethodReads)
{
    const Data d;
    const QuantGrid grid{4, false, 0, 1.0};
    for (const auto& m : weightQuantizers()) {
        SCOPED_TRACE(m.name);
        EXPECT_GT(m.relativeCost, 0.0);
        const auto q = m.make(nlohmann::json::object());
        if (m.needsHessian) {
            EXPECT_THROW(q->quantize({"registry.proj", d.w, nullptr}, grid, nullptr), Error);
        } else {
            EXPECT_NO_THROW(q->quantize({"registry.proj", d.w, nullptr}, grid, nullptr));
        }
    }
}

// Every transform against an architecture that offers nothing: refused, naming the
// transform, the architecture and each feature it lacks; against one offering everything
// the transform needs: accepted. Activation and KV quantization need their hooks too.
TEST(QuantRegistry, RecipesNeedingWhatAnArchitectureLacksAreRefused)
{
    const ArchitectureInfo bare{"bare-test", "BareForCausalLM", "offers nothing", {}, {}, {}, {}};
    for (const auto& t : blockTransforms()) {
        SCOPED_TRACE(t.name);
        EXPECT_GT(t.relativeCost, 0.0);
        Recipe r;
        r.name = t.name + "-rtn";
        r.transforms = {{t.name, nlohmann::json::object()}};
        const ArchitectureInfo enough{
            "enough-test", "X", "what the transform needs", t.needs, {}, {}, {}};
        EXPECT_NO_THROW(checkRecipeFits(r, enough, "test"));
        if (t.needs.empty())
            continue;
        try {
            checkRecipeFits(r, bare, "spec.json");
            FAIL() << "expected a refusal";
        } catch (const Error& e) {
            const std::string what = e.what();
            EXPECT_NE(what.find("spec.json"), std::string::npos) << what;
            EXPECT_NE(what.find(t.name + " needs"), std::string::npos) << what;
            EXPECT_NE(what.find("bare-test"), std::string::npos) << what;
            for (ArchFeature f : t.needs)
                EXPECT_NE(what.find(archFeatureName(f)), std::string::npos) << what;
        }
    }
    Recipe a4kv4;
    a4kv4.name = "rtn-a4-kv4";
    a4kv4.activations = ActQuantSpec{4, true, false, 1.0};
    a4kv4.kv = KvQuantSpec{4, 0, false, 1.0};
    EXPECT_EQ(recipeNeeds(a4kv4).size(), 2u);
    try {
        checkRecipeFits(a4kv4, bare, "test");
        FAIL() << "expected a refusal";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("activation quantization needs"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("KV-cache quantization needs"), std::string::npos);
    }
    for (const auto& arch : architectures())
        for (const auto& name : Recipe::builtinNames())
            EXPECT_NO_THROW(checkRecipeFits(Recipe::builtin(name), arch, "test"))
                << name << " on " << arch.modelType;
}

TEST(QuantRegistry, CompletedParamsAndRelativeCost)
{
    Recipe r = Recipe::builtin("awq");
    r.weightGrid = QuantGrid{3, true, 64, 1.0};
    ASSERT_EQ(r.transforms.size(), 1u);
    const auto filled = completedParams(r.transforms[0], r);
    EXPECT_EQ(filled.at("wbits"), 3);
    EXPECT_EQ(filled.at("groupSize"), 64);
    EXPECT_EQ(filled.at("symmetric"), true);
    r.transforms[0].params = {{"wbits", 4}};
    EXPECT_EQ(completedParams(r.transforms[0], r).at("wbits"), 4); // the step's own value wins
    // A transform without a completion gets its parameters as written.
    const RecipeStep quarot{"quarot", {{"seed", 7}}};
    EXPECT_EQ(completedParams(quarot, r), quarot.params);

    const Recipe qg = Recipe::builtin("quarot-gptq");
    EXPECT_DOUBLE_EQ(recipeRelativeCost(qg), findWeightQuantizer("gptq").relativeCost +
                                                 findBlockTransform("quarot").relativeCost - 1.0);
}
