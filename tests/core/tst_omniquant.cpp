// OmniQuant (learnable equivalent transformation + learnable weight clipping) on small random
// LLaMA blocks whose norm gains and inputs carry a few outlier channels, as in real LLMs.

#include "core/llama_reference.h"
#include "core/test_files.h"
#include "engine/quantize.h"
#include "model/checkpoint.h"
#include "model/checkpoint_writer.h"
#include "model/model.h"
#include "quant/awq.h"
#include "quant/block_activations.h"
#include "quant/lwc.h"
#include "quant/omniquant.h"
#include "quant/registry.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

using namespace ptq;

namespace {

constexpr int64_t kSamples = 8, kSeq = 32;

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

// A random model on disk whose norm gains make three channels of the q/k/v and gate/up
// inputs ~20x larger than the rest.
struct TestModel {
    test::TempDir dir{"ptq-omniquant"};
    ModelConfig config;
    std::unique_ptr<Model> model;
    torch::Tensor ids;

    explicit TestModel(bool gqa, bool bias = false)
    {
        config = smallConfig(gqa);
        config.attentionBias = bias;
        auto w = randomLlamaWeights(config, 23);
        for (int64_t i = 0; i < config.numLayers; ++i) {
            const std::string p = "model.layers." + std::to_string(i) + ".";
            for (int64_t ch : {3, 17, 40})
                w[p + "input_layernorm.weight"][ch] *= 20.0;
            for (int64_t ch : {5, 29, 51})
                w[p + "post_attention_layernorm.weight"][ch] *= 20.0;
        }
        writeLlamaCheckpoint(dir.path().string(), config, w);
        model = std::make_unique<Model>(Checkpoint::open(dir.path().string()));
        torch::manual_seed(7);
        ids = torch::randint(0, config.vocabSize, {kSamples, kSeq}, torch::kLong);
    }
};

// Synthetic block inputs (N,T,C) with outlier channels of the residual stream, as the hidden
// states of real LLMs have.
torch::Tensor outlierInputs(int64_t hidden)
{
    torch::manual_seed(11);
    auto h = torch::randn({kSamples, kSeq, hidden});
    for (int64_t ch : {7, 33, 60})
        h.select(2, ch).mul_(25.0);
    return h;
}

double relativeError(const torch::Tensor& a, const torch::Tensor& b)
{
    auto ad = a.to(torch::kDouble), bd = b.to(torch::kDouble);
    return ((ad - bd).norm() / bd.norm()).item<double>();
}

std::unique_ptr<BlockTransform> makeOmni(const nlohmann::json& p)
{
    return findBlockTransform("omniquant").make(p);
}

BlockWeights rtnBlock(BlockWeights w, const QuantGrid& grid)
{
    w.computeCache.reset();
    for (auto& [name, t] : w.linears())
        *t = rtnFakeQuantize(*t, grid);
    return w;
}

double sigmoid(double x)
{
    return 1.0 / (1.0 + std::exp(-x));
}

} // namespace

TEST(OmniQuant, LetFoldIsExactInFullPrecision)
{
    // With clipping off the transform only rescales norm gains, weight columns and v rows by
    // per-channel factors and their inverses: the block computes the same function, up to
    // fp32 rounding of the rescaled products (~1e-6 relative for scales up to ~1e2). A wrong
    // fold (axis, bias, GQA head mapping) gives errors of order 1.
    const QuantGrid grid{3, false, 16, 1.0};
    for (bool gqa : {false, true}) {
        for (int64_t epochs : {0, 3}) {
            SCOPED_TRACE(std::string(gqa ? "GQA" : "MHA") + " epochs " + std::to_string(epochs));
            TestModel m(gqa, !gqa); // q/k/v biases (Qwen2-style) with MHA
            auto omni = makeOmni({{"lwc", false}, {"let", true}, {"epochs", epochs}});
            const auto ctx = m.model->context(kSeq);
            auto h = m.model->embed(m.ids);
            auto ht = h.clone();
            for (int64_t i = 0; i < m.config.numLayers; ++i) {
                const auto w = m.model->loadBlock(i);
                auto wt = m.model->loadBlock(i);
                TransformRecord record;
                omni->applyToBlock(wt, BlockContext{m.model.get(), ctx.get(), h, 0, &grid}, record,
                                   {});
                EXPECT_FALSE(wt.at("input_layernorm").equal(w.at("input_layernorm")))
                    << "the transform did nothing";
                EXPECT_FALSE(wt.at("self_attn.o_proj").equal(w.at("self_attn.o_proj")))
                    << "v -> o was not scaled";
                const auto ref = m.model->blockForward(w, h, *ctx);
                const double err = relativeError(m.model->blockForward(wt, h, *ctx), ref);
                EXPECT_LT(err, 1e-4) << "block " << i;
                EXPECT_EQ(record.values.at("steps"), double(epochs * kSamples));
                ht = m.model->blockForward(wt, ht, *ctx);
                h = ref;
            }
            const double err =
                relativeError(m.model->lmHead(m.model->finalNorm(ht)), m.model->forward(m.ids));
            std::printf("LET fold (%s, %lld epochs): logits relative change %.2e\n",
                        gqa ? "GQA" : "MHA", static_cast<long long>(epochs), err);
            EXPECT_LT(err, 1e-4);
        }
    }
}

TEST(OmniQuant, TrainingBeatsRtnAtLowBits)
{
    TestModel m(true);
    const auto ctx = m.model->context(kSeq);
    const auto h = outlierInputs(m.config.hiddenSize);
    const auto w = m.model->loadBlock(0);
    const auto ref = m.model->blockForward(w, h, *ctx);
    // Default (weight-only: clipping alone) and clipping with LET. On these outlier-heavy
    // inputs LET's scales help most: it must remove a fifth of RTN's error, clipping alone
    // (whose only freedom is the per-group range) at least 3% (measured: 1.1x and 1.7-2.1x).
    for (bool let : {false, true})
        for (const QuantGrid& grid : {QuantGrid{3, false, 0, 1.0}, QuantGrid{2, false, 16, 1.0}}) {
            SCOPED_TRACE("W" + std::to_string(grid.bits) + " g" + std::to_string(grid.groupSize) +
                         (let ? " LET+LWC" : " LWC"));
            const double rtn =
                meanSquaredError(m.model->blockForward(rtnBlock(w, grid), h, *ctx), ref);
            auto wt = m.model->loadBlock(0);
            TransformRecord record;
            int epochsReported = 0;
            ProgressFn progress = [&](const Progress& p) {
                epochsReported += p.detail.find('/') != std::string::npos && p.done > 0;
                return true;
            };
            makeOmni(let ? nlohmann::json{{"let", true}} : nlohmann::json(nullptr))
                ->applyToBlock(wt, BlockContext{m.model.get(), ctx.get(), h, 0, &grid}, record,
                               progress);
            // The transformed block, quantized by RTN as the pipeline's weight quantizer does.
            const double omni =
                meanSquaredError(m.model->blockForward(rtnBlock(wt, grid), h, *ctx), ref);
            const auto& v = record.values;
            std::printf("W%d g%lld block MSE: RTN %.4e, OmniQuant %.4e (%.1fx lower); loss rtn "
                        "%.4e initial %.4e final %.4e; epoch loss %.4e -> %.4e; gamma %.3f beta "
                        "%.3f; %.2f s\n",
                        grid.bits, static_cast<long long>(grid.groupSize), rtn, omni, rtn / omni,
                        v.at("loss_rtn"), v.at("loss_initial"), v.at("loss_final"),
                        v.at("epoch_loss_first"), v.at("epoch_loss_last"), v.at("lwc.gamma_mean"),
                        v.at("lwc.beta_mean"), v.at("seconds"));
            EXPECT_EQ(epochsReported, 20);
            EXPECT_EQ(v.at("let"), let ? 1.0 : 0.0) << "weight-only: LET is off unless asked for";
            EXPECT_LT(v.at("loss_final"), v.at("loss_initial"));
            EXPECT_LT(v.at("epoch_loss_last"), v.at("epoch_loss_first"));
            EXPECT_LT(omni, (let ? 0.8 : 0.97) * rtn);
            // The record's plain-RTN loss is the same measurement through the training forward.
            EXPECT_NEAR(v.at("loss_rtn"), rtn, 1e-3 * rtn);
            // RTN on the clamped weights is exactly LWC's fake quantization, so the pipeline sees
            // the trained loss; only the two fp32 forwards' summation orders differ.
            EXPECT_NEAR(v.at("loss_final"), omni, 1e-3 * omni);
        }
}

TEST(OmniQuant, ClampThenRtnReproducesLwcExactly)
{
    torch::manual_seed(3);
    auto w = torch::randn({24, 64}) * 0.05;
    w.select(0, 1).abs_();        // a row of one sign
    w.select(0, 2).zero_();       // an all-zero row
    w.select(0, 3).abs_().neg_(); // a negative row
    w.index_put_({5, 9}, 1.5);    // an outlier
    const std::vector<QuantGrid> grids = {{3, false, 16, 1.0},
                                          {4, true, 0, 1.0},
                                          {2, false, -1, 1.0},
                                          {4, false, 32, 0.9},
                                          {3, true, 16, 1.0}};
    for (const auto& grid : grids) {
        SCOPED_TRACE("bits " + std::to_string(grid.bits) + " group " +
                     std::to_string(grid.groupSize) + (grid.symmetric ? " sym" : " asym"));
        const int64_t groups = lwcGroupCount(grid, 24, 64);
        // Logits from strong clipping (sigmoid(-2) = 0.12) to none.
        auto gamma = torch::rand({groups, 1}) * 8.0 - 2.0;
        auto beta = torch::rand({groups, 1}) * 8.0 - 2.0;
        const auto clamped = lwcClamp(w, grid, gamma, beta);
        EXPECT_TRUE(
            torch::equal(rtnFakeQuantize(clamped, grid), lwcFakeQuantize(w, grid, gamma, beta)));

        // The clamp against a float64 loop: hi = gamma*max, lo = min(beta*min, hi). Only the
        // fp32 sigmoid and product differ from the loop (~1e-7 relative).
        const auto rows = lwcGroupRows(w, grid).to(torch::kDouble);
        const auto got = lwcGroupRows(clamped, grid).to(torch::kDouble);
        double worst = 0.0;
        for (int64_t g = 0; g < rows.size(0); ++g) {
            double mn = INFINITY, mx = -INFINITY;
            for (int64_t j = 0; j < rows.size(1); ++j) {
                mn = std::min(mn, rows[g][j].item<double>());
                mx = std::max(mx, rows[g][j].item<double>());
            }
            const double hi = sigmoid(gamma[g][0].item<double>()) * mx;
            const double lo = std::min(sigmoid(beta[g][0].item<double>()) * mn, hi);
            for (int64_t j = 0; j < rows.size(1); ++j) {
                const double want = std::min(std::max(rows[g][j].item<double>(), lo), hi);
                worst = std::max(worst, std::abs(got[g][j].item<double>() - want));
            }
        }
        EXPECT_LT(worst, 1e-6);
    }
    // Gradients reach both logits through the clip bounds and the scale.
    const QuantGrid grid{3, false, 16, 1.0};
    auto gamma = torch::full({lwcGroupCount(grid, 24, 64), 1}, 4.0).requires_grad_(true);
    auto beta = torch::full({lwcGroupCount(grid, 24, 64), 1}, 4.0).requires_grad_(true);
    (lwcFakeQuantize(w, grid, gamma, beta) - w).pow(2).sum().backward();
    EXPECT_GT(gamma.grad().abs().sum().item<double>(), 0.0);
    EXPECT_GT(beta.grad().abs().sum().item<double>(), 0.0);
}

TEST(OmniQuant, RegisteredAndParametersValidated)
{
    EXPECT_EQ(findBlockTransform("omniquant").taxonomyClass, "optimization");
    EXPECT_EQ(makeOmni(nullptr)->name(), "omniquant");
    test::expectPtqError([] { makeOmni({{"epoch", 3}}); }, "omniquant", "unknown parameter");
    test::expectPtqError([] { makeOmni({{"epochs", -1}}); }, "epochs", "negative");
    test::expectPtqError([] { makeOmni({{"epochs", 2.5}}); }, "epochs", "integer");
    test::expectPtqError([] { makeOmni({{"batchSize", 0}}); }, "batchSize", "at least 1");
    test::expectPtqError([] { makeOmni({{"letLr", 0.0}}); }, "letLr", "positive");
    test::expectPtqError([] { makeOmni({{"lwcLr", -1e-2}}); }, "lwcLr", "positive");
    test::expectPtqError([] { makeOmni({{"wd", -1.0}}); }, "wd", "non-negative");
    test::expectPtqError([] { makeOmni({{"lwc", 1}}); }, "lwc", "true or false");
    test::expectPtqError([] { makeOmni({{"alpha", 1.5}}); }, "alpha", "[0, 1]");

    TestModel m(false);
    const auto ctx = m.model->context(kSeq);
    const auto h = m.model->embed(m.ids);
    auto omni = makeOmni({{"epochs", 2}});
    TransformRecord record;
    auto w = m.model->loadBlock(0);
    test::expectPtqError(
        [&] {
            omni->applyToBlock(w, {m.model.get(), ctx.get(), h, 0}, record, {});
        },
        "omniquant", "weight grid");
    const QuantGrid bad{4, false, 48, 1.0};
    test::expectPtqError(
        [&] {
            omni->applyToBlock(w, {m.model.get(), ctx.get(), h, 0, &bad}, record, {});
        },
        "omniquant", "block 0");
    const QuantGrid grid{4, false, 16, 1.0};
    auto nan = h.clone();
    nan[1][2][3] = NAN;
    test::expectPtqError(
        [&] {
            omni->applyToBlock(w, {m.model.get(), ctx.get(), nan, 0, &grid}, record, {});
        },
        "block 0", "not finite");
    EXPECT_THROW(omni->applyToBlock(w, {m.model.get(), ctx.get(), h, 0, &grid}, record,
                                    [](const Progress&) { return false; }),
                 Cancelled);
}

TEST(OmniQuant, BuiltinRecipeRunsEndToEnd)
{
    using namespace ptq::testing;
    const ModelConfig c = tinyLlamaConfig(96, 64);
    test::TempDir dir("ptq-omniquant-e2e");
    writeLlamaCheckpoint(dir.path().string(), c, randomLlamaWeights(c, 5));
    const Model model(Checkpoint::open(dir.path().string()));
    const auto tokens = randomTokens(2000, int32_t(c.vocabSize), 3);
    const auto ids =
        torch::tensor(std::vector<int64_t>(tokens.begin(), tokens.begin() + 64)).view({2, 32});
    const auto fp = model.forward(ids);

    auto run = [&](const std::string& recipe, bool actQuant) {
        QuantizeConfig qc;
        qc.recipe = Recipe::builtin(recipe);
        qc.recipe.weightGrid.bits = 3;
        qc.recipe.weightGrid.groupSize = 16;
        if (recipe == "omniquant")
            qc.recipe.transforms.at(0).params = {{"epochs", 5}};
        if (actQuant)
            qc.recipe.activations = ActQuantSpec{8, true, false, 1.0};
        qc.calibSamples = 8;
        qc.calibSeqlen = 32;
        qc.calibTextPath = "random tokens";
        auto r = quantizeModel(model, tokens, qc);
        return std::make_pair(r, relativeError(r.model->model().forward(ids), fp));
    };
    const auto [omni, omniErr] = run("omniquant", false);
    const auto [rtn, rtnErr] = run("rtn", false);
    ASSERT_EQ(omni.transforms.size(), 2u);
    for (const auto& t : omni.transforms) {
        EXPECT_EQ(t.transform, "omniquant");
        for (const char* key : {"loss_rtn", "loss_initial", "loss_final", "seconds"})
            EXPECT_TRUE(std::isfinite(t.values.at(key)) && t.values.at(key) > 0.0) << key;
        EXPECT_EQ(t.values.at("steps"), 40.0);
        std::printf("block %lld block MSE: RTN %.4e, initial %.4e, final %.4e\n",
                    static_cast<long long>(t.block), t.values.at("loss_rtn"),
                    t.values.at("loss_initial"), t.values.at("loss_final"));
    }
    // Reported, not asserted: on this 2-block random model without outlier channels RTN at
    // W3 g16 is already near the floor, and 5 epochs of batch-1 steps move the logits error
    // within noise. The gain is asserted on an outlier block in TrainingBeatsRtnAtLowBits.
    std::printf("W3 g16 logits relative error: RTN %.4f, OmniQuant %.4f\n", rtnErr, omniErr);
    EXPECT_TRUE(std::isfinite(omniErr));
    EXPECT_LT(omniErr, 0.5);
    // With 8-bit activations the loss models the activation quantizer; the run completes.
    const auto [a8, a8Err] = run("omniquant", true);
    ASSERT_EQ(a8.transforms.size(), 2u);
    for (const auto& t : a8.transforms)
        EXPECT_TRUE(std::isfinite(t.values.at("loss_final"))) << "block " << t.block;
    std::printf("W3 g16 A8 OmniQuant logits relative error %.4f\n", a8Err);
    EXPECT_TRUE(std::isfinite(a8Err));
}
