// Salience transforms: AWQ (scale + clip search) and SmoothQuant on small random LLaMA
// checkpoints whose RMSNorm gains give a few activation outlier channels, as in real LLMs.

#include "core/test_files.h"
#include "model/checkpoint.h"
#include "model/checkpoint_writer.h"
#include "model/llama_ops.h"
#include "model/model.h"
#include "quant/awq.h"
#include "quant/block_activations.h"
#include "quant/registry.h"
#include "quant/smoothquant.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <memory>
#include <string>

using namespace ptq;

namespace {

constexpr int64_t kBatch = 4, kSeq = 32;

ModelConfig smallConfig(bool gqa)
{
    ModelConfig c;
    c.modelType = "llama";
    c.vocabSize = 97;
    c.hiddenSize = 64;
    c.intermediateSize = 128;
    c.numLayers = 2;
    c.numHeads = 4;
    c.numKvHeads = gqa ? 2 : 4;
    c.headDim = 16;
    c.torchDtype = "float32";
    return c;
}

// A random model on disk; `outliers` multiplies the norm gains of three channels by 20, so
// those channels of the q/k/v and gate/up inputs are ~20x larger than the rest.
struct TestModel {
    test::TempDir dir{"ptq-salience"};
    ModelConfig config;
    std::unique_ptr<Model> model;
    torch::Tensor ids;

    TestModel(bool gqa, bool outliers, bool bias = false)
    {
        config = smallConfig(gqa);
        config.attentionBias = bias;
        auto w = randomLlamaWeights(config, 17);
        for (int64_t i = 0; outliers && i < config.numLayers; ++i) {
            const std::string p = "model.layers." + std::to_string(i) + ".";
            auto& in = w[p + "input_layernorm.weight"];
            auto& post = w[p + "post_attention_layernorm.weight"];
            for (int64_t ch : {3, 17, 40})
                in[ch] = in[ch] * 20.0;
            for (int64_t ch : {5, 29, 51})
                post[ch] = post[ch] * 20.0;
        }
        writeLlamaCheckpoint(dir.path().string(), config, w);
        model = std::make_unique<Model>(Checkpoint::open(dir.path().string()));
        torch::manual_seed(5);
        ids = torch::randint(0, config.vocabSize, {kBatch, kSeq}, torch::kLong);
    }
};

double relativeError(const torch::Tensor& a, const torch::Tensor& b)
{
    auto ad = a.to(torch::kDouble), bd = b.to(torch::kDouble);
    return ((ad - bd).norm() / bd.norm()).item<double>();
}

std::unique_ptr<BlockTransform> makeTransform(const std::string& name, const nlohmann::json& p)
{
    return findBlockTransform(name).make(p);
}

// Every linear of w replaced by its RTN fake quantization on the grid.
BlockWeights rtnBlock(BlockWeights w, const QuantGrid& grid)
{
    for (auto& [name, t] : w.linears())
        *t = rtnFakeQuantize(*t, grid);
    return w;
}

// Per-token symmetric 8-bit fake quantization of activations x (...,in): absmax per row.
torch::Tensor actQuant8(const torch::Tensor& x)
{
    auto scale = x.abs().amax(-1, true).clamp_min(1e-8) / 127.0;
    return torch::clamp(torch::round(x / scale), -128, 127) * scale;
}

// The block with every linear input fake-quantized per token (W8A8 as SmoothQuant evaluates
// it); written out here so the test does not depend on the runtime hooks of blockForward.
torch::Tensor w8a8Block(const ModelConfig& c, const BlockWeights& w, const torch::Tensor& h,
                        const RopeTables& rope)
{
    auto x = actQuant8(llama::rmsNorm(h, w.at("input_layernorm"), c.rmsNormEps));
    const auto qBias = w.get("self_attn.q_proj.bias"), kBias = w.get("self_attn.k_proj.bias"),
               vBias = w.get("self_attn.v_proj.bias");
    const auto mix =
        llama::causalAttention(c,
                               {w.at("self_attn.q_proj"), qBias, w.at("self_attn.k_proj"), kBias,
                                w.at("self_attn.v_proj"), vBias},
                               x, rope); // (B,T,H*D): o_proj's input
    auto h1 = h + torch::linear(actQuant8(mix), w.at("self_attn.o_proj"));
    auto x2 = actQuant8(llama::rmsNorm(h1, w.at("post_attention_layernorm"), c.rmsNormEps));
    auto act = torch::silu(torch::linear(x2, w.at("mlp.gate_proj"))) *
               torch::linear(x2, w.at("mlp.up_proj"));
    return h1 + torch::linear(actQuant8(act), w.at("mlp.down_proj"));
}

// Runs every block through `transform` on the full-precision trajectory and checks each
// transformed block against the original, then the logits end to end.
void checkExact(const TestModel& m, BlockTransform& transform)
{
    const auto ctx = m.model->context(kSeq);
    auto h = m.model->embed(m.ids);
    auto ht = h.clone();
    for (int64_t i = 0; i < m.config.numLayers; ++i) {
        const auto w = m.model->loadBlock(i);
        auto wt = m.model->loadBlock(i);
        TransformRecord record;
        transform.applyToBlock(wt, BlockContext{m.model.get(), ctx.get(), h, 0}, record, {});
        EXPECT_FALSE(wt.at("input_layernorm").equal(w.at("input_layernorm")))
            << "the transform did nothing";
        const auto ref = m.model->blockForward(w, h, *ctx);
        // fp32 rounding of the rescaled products (scales up to ~1e2) stays near 1e-6
        // relative; a wrong fold (axis, bias, head layout) gives errors of order 1.
        const double err = relativeError(m.model->blockForward(wt, h, *ctx), ref);
        std::printf("%s block %lld: relative output change %.2e\n", transform.name().c_str(),
                    static_cast<long long>(i), err);
        EXPECT_LT(err, 1e-4) << "block " << i;
        ht = m.model->blockForward(wt, ht, *ctx);
        h = ref;
    }
    const auto logits = m.model->lmHead(m.model->finalNorm(ht));
    const double err = relativeError(logits, m.model->forward(m.ids));
    std::printf("%s logits: relative change %.2e\n", transform.name().c_str(), err);
    EXPECT_LT(err, 1e-4);
}

} // namespace

TEST(BlockActivations, MatchesBlockForwardAndStatistics)
{
    TestModel m(true, true, true);
    const auto ctx = m.model->context(kSeq);
    const auto h = m.model->embed(m.ids);
    const auto w = m.model->loadBlock(0);
    const auto acts = collectBlockActivations(*m.model, w, h, *ctx, 40);
    // The architecture's fp32 forward, with an observer attached: only summation order may
    // differ.
    EXPECT_LT(relativeError(acts.output, m.model->blockForward(w, h, *ctx)), 1e-5);
    // 128 tokens, at most 40 rows: stride 4 gives 32 rows, tokens 0, 4, 8, ...
    const auto x =
        llama::rmsNorm(h, w.at("input_layernorm"), m.config.rmsNormEps).reshape({-1, 64});
    const auto& attnInput = acts.at("self_attn.q_proj"); // q/k/v's input
    ASSERT_EQ(attnInput.rows.size(0), 32);
    EXPECT_TRUE(attnInput.rows.allclose(x.slice(0, 0, 128, 4)));
    EXPECT_TRUE(attnInput.absMax.allclose(std::get<0>(x.abs().max(0))));
    EXPECT_TRUE(attnInput.absMean.allclose(x.abs().mean(0), 1e-5, 1e-7));
    EXPECT_EQ(attnInput.sequences.size(0), 1); // 40 / 32 tokens: one whole sequence
    EXPECT_EQ(acts.at("mlp.down_proj").rows.size(1), m.config.intermediateSize);
    test::expectPtqError([&] { collectBlockActivations(*m.model, w, h.narrow(2, 0, 8), *ctx, 8); },
                         "block activations", "calibration inputs");
}

TEST(Awq, ScalingAloneIsExactInFullPrecision)
{
    for (bool gqa : {false, true}) {
        SCOPED_TRACE(gqa ? "GQA" : "MHA");
        TestModel m(gqa, true, !gqa); // q/k/v biases (Qwen2-style) where v -> o is scaled
        auto awq = makeTransform("awq", {{"clip", false}, {"groupSize", 32}});
        checkExact(m, *awq);
    }
}

TEST(SmoothQuant, IsExactInFullPrecision)
{
    for (bool gqa : {false, true}) {
        SCOPED_TRACE(gqa ? "GQA" : "MHA");
        TestModel m(gqa, true);
        auto sq = makeTransform("smoothquant", {{"alpha", 0.5}});
        checkExact(m, *sq);
    }
}

TEST(Awq, ChosenScalesLowerTheW4Error)
{
    TestModel m(false, true);
    const auto ctx = m.model->context(kSeq);
    const auto h = m.model->embed(m.ids);
    const QuantGrid grid{4, false, 32, 1.0};
    const auto w = m.model->loadBlock(0);
    const auto ref = m.model->blockForward(w, h, *ctx);
    const double plain = meanSquaredError(m.model->blockForward(rtnBlock(w, grid), h, *ctx), ref);

    auto scaled = m.model->loadBlock(0);
    TransformRecord record;
    makeTransform("awq", {{"clip", false}, {"groupSize", 32}})
        ->applyToBlock(scaled, BlockContext{m.model.get(), ctx.get(), h, 0}, record, {});
    for (const char* g : {"attn_qkv", "v_o", "mlp_gate_up", "up_down"}) {
        const std::string group = g;
        ASSERT_TRUE(record.values.count(group + ".alpha")) << group;
        // The search takes the minimum over a grid that contains alpha = 0 (no scaling).
        EXPECT_LE(record.values[group + ".loss"], record.values[group + ".loss_alpha0"]);
        std::printf("awq %-12s alpha %.2f  module MSE %.3e -> %.3e\n", g,
                    record.values[group + ".alpha"], record.values[group + ".loss_alpha0"],
                    record.values[group + ".loss"]);
    }
    EXPECT_GT(record.values["attn_qkv.alpha"], 0.0); // the outlier channels are found
    const double awq =
        meanSquaredError(m.model->blockForward(rtnBlock(scaled, grid), h, *ctx), ref);

    auto clipped = m.model->loadBlock(0);
    TransformRecord clipRecord;
    makeTransform("awq", {{"groupSize", 32}})
        ->applyToBlock(clipped, BlockContext{m.model.get(), ctx.get(), h, 0}, clipRecord, {});
    const double awqClip =
        meanSquaredError(m.model->blockForward(rtnBlock(clipped, grid), h, *ctx), ref);
    std::printf("W4 g32 RTN block output MSE: plain %.3e, AWQ scaling %.3e (%.1fx lower), "
                "AWQ scaling+clip %.3e (%.1fx lower)\n",
                plain, awq, plain / awq, awqClip, plain / awqClip);
    EXPECT_LT(awq, 0.5 * plain);
    EXPECT_LE(awqClip, awq * 1.05);

    // Clipping leaves q/k alone and only ever shrinks the other weights' magnitudes.
    EXPECT_TRUE(clipped.at("self_attn.q_proj").equal(scaled.at("self_attn.q_proj")));
    EXPECT_TRUE(clipped.at("self_attn.k_proj").equal(scaled.at("self_attn.k_proj")));
    for (const char* name : {"self_attn.v_proj", "mlp.down_proj"}) {
        EXPECT_TRUE((clipped.at(name).abs() <= scaled.at(name).abs() + 1e-7).all().item<bool>())
            << name;
        const double shrink = clipRecord.values.at(std::string("clip.") + name + ".mean_shrink");
        EXPECT_GT(shrink, 0.5);
        EXPECT_LE(shrink, 1.0);
    }
}

TEST(SmoothQuant, LowersTheW8A8Error)
{
    TestModel m(false, true);
    const auto ctx = m.model->context(kSeq);
    const auto rope = llama::ropeTables(m.config, kSeq);
    const auto h = m.model->embed(m.ids);
    const QuantGrid w8{8, true, 0, 1.0}; // per-channel symmetric W8
    const auto w = m.model->loadBlock(0);
    const auto ref = m.model->blockForward(w, h, *ctx);
    const double plain = meanSquaredError(w8a8Block(m.config, rtnBlock(w, w8), h, rope), ref);

    auto smoothed = m.model->loadBlock(0);
    TransformRecord record;
    makeTransform("smoothquant", {{"alpha", 0.5}})
        ->applyToBlock(smoothed, BlockContext{m.model.get(), ctx.get(), h, 0}, record, {});
    const double sq = meanSquaredError(w8a8Block(m.config, rtnBlock(smoothed, w8), h, rope), ref);
    std::printf("W8A8 block output MSE: plain %.3e, SmoothQuant %.3e (%.1fx lower); "
                "q/k/v input max/median %.1f -> %.1f\n",
                plain, sq, plain / sq, record.values["attn_qkv.outlier_ratio_before"],
                record.values["attn_qkv.outlier_ratio_after"]);
    EXPECT_LT(sq, plain);
    EXPECT_LT(record.values["attn_qkv.outlier_ratio_after"],
              record.values["attn_qkv.outlier_ratio_before"]);
}

TEST(Salience, RegisteredAndParametersValidated)
{
    for (const char* name : {"awq", "smoothquant"})
        EXPECT_EQ(findBlockTransform(name).taxonomyClass, "salience");
    EXPECT_EQ(makeTransform("awq", nullptr)->name(), "awq");
    EXPECT_EQ(makeTransform("smoothquant", nlohmann::json::object())->name(), "smoothquant");
    test::expectPtqError([] { makeTransform("awq", {{"nGird", 20}}); }, "awq", "unknown parameter");
    test::expectPtqError(
        [] {
            makeTransform("smoothquant", {{"beta", 1}});
        },
        "smoothquant", "unknown parameter");
    test::expectPtqError([] { makeTransform("smoothquant", {{"alpha", 1.5}}); }, "alpha", "[0, 1]");
    test::expectPtqError(
        [] {
            makeTransform("smoothquant", {{"alpha", -0.1}});
        },
        "alpha", "[0, 1]");
    test::expectPtqError([] { makeTransform("awq", {{"nGrid", 0}}); }, "nGrid", "at least 1");
    test::expectPtqError([] { makeTransform("awq", {{"maxShrink", 1.0}}); }, "maxShrink", "[0, 1)");
    test::expectPtqError([] { makeTransform("awq", {{"wbits", 9}}); }, "wbits", "2..8");
    test::expectPtqError([] { makeTransform("awq", {{"clip", 1}}); }, "clip", "true or false");

    // A group size that does not divide the linears' inputs is reported before any work.
    TestModel m(false, false);
    const auto ctx = m.model->context(kSeq);
    auto w = m.model->loadBlock(0);
    TransformRecord record;
    auto awq = makeTransform("awq", {{"groupSize", 48}});
    test::expectPtqError(
        [&] {
            awq->applyToBlock(w, BlockContext{m.model.get(), ctx.get(), m.model->embed(m.ids), 0},
                              record, {});
        },
        "awq", "block 0");
}
