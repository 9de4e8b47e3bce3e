// The quantization pipeline on tiny random checkpoints (and on the trained tiny-64x4 model
// when it is present): W8 ~ FP, GPTQ <= RTN per layer, size accounting against the packing
// formulas, the overlay model against a hand dequantization, the BlockRuntime hooks against
// their full-precision identities, activation fake quantization against a float64 loop,
// cancellation and NaN weights.

#include "core/llama_reference.h"

#include "engine/quantize.h"
#include "eval/perplexity.h"
#include "model/checkpoint.h"
#include "model/checkpoint_writer.h"
#include "model/model.h"
#include "quant/act_quant.h"
#include "text/tokenizer.h"
#include "util/error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>

using namespace ptq;
using namespace ptq::testing;

namespace {

ModelConfig tinyConfig()
{
    return tinyLlamaConfig(96, 64);
}

QuantizeConfig config(const std::string& method, int bits, int64_t group)
{
    QuantizeConfig qc;
    qc.recipe = Recipe::builtin(method);
    qc.recipe.weightGrid.bits = bits;
    qc.recipe.weightGrid.groupSize = group;
    qc.calibSamples = 8;
    qc.calibSeqlen = 32;
    qc.calibTextPath = "random tokens";
    return qc;
}

double maxRelDiff(const torch::Tensor& a, const torch::Tensor& b)
{
    return ((a - b).abs().max() / b.abs().max()).item<double>();
}

class PipelineTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        m_config = tinyConfig();
        writeLlamaCheckpoint(m_dir.path(), m_config, randomLlamaWeights(m_config, 5));
        m_model = std::make_unique<Model>(Checkpoint::open(m_dir.path()));
        m_tokens = randomTokens(2000, int32_t(m_config.vocabSize), 3);
        m_ids = torch::tensor(std::vector<int64_t>(m_tokens.begin(), m_tokens.begin() + 48))
                    .view({2, 24});
    }

    TempDir m_dir{"pipeline"};
    ModelConfig m_config;
    std::unique_ptr<Model> m_model;
    std::vector<int32_t> m_tokens;
    torch::Tensor m_ids;
};

} // namespace

TEST_F(PipelineTest, EightBitRtnIsCloseToFullPrecision)
{
    const auto r = quantizeModel(*m_model, m_tokens, config("rtn", 8, 0));
    ASSERT_EQ(r.blocks.size(), 2u);
    ASSERT_EQ(r.layers.size(), 14u);
    // 8-bit per-channel rounding moves each weight by <= scale/2 ~ max|w|/510: relative
    // squared output errors are ~1e-5; 1e-4 leaves margin while catching any real bug.
    for (const auto& b : r.blocks)
        EXPECT_LT(b.outputError, 1e-4) << "block " << b.block;
    for (const auto& l : r.layers) {
        EXPECT_LT(l.outputError, 1e-4) << l.layer;
        EXPECT_GT(l.relWeightError, 0.0) << l.layer;
    }
    const auto logitsFp = m_model->forward(m_ids);
    const auto logitsQ = r.model->model().forward(m_ids);
    EXPECT_LT(maxRelDiff(logitsQ, logitsFp), 2e-2);
}

TEST_F(PipelineTest, SizeAccountingFollowsThePackingFormulas)
{
    const int bits = 4;
    const int64_t group = 16;
    const auto r = quantizeModel(*m_model, m_tokens, config("rtn", bits, group));
    const auto& c = m_config;
    const int64_t qd = c.numHeads * c.headDim, kv = c.numKvHeads * c.headDim;
    const std::vector<std::pair<int64_t, int64_t>> shapes = {{qd, c.hiddenSize},
                                                             {kv, c.hiddenSize},
                                                             {kv, c.hiddenSize},
                                                             {c.hiddenSize, qd},
                                                             {c.intermediateSize, c.hiddenSize},
                                                             {c.intermediateSize, c.hiddenSize},
                                                             {c.hiddenSize, c.intermediateSize}};
    uint64_t linearBytes = 0, weights = 0;
    for (const auto& [out, in] : shapes) {
        const uint64_t n = out * in, scales = out * (in / group);
        // codes: ceil(n*bits/8); scales fp16; asymmetric zeros packed at `bits` bits.
        linearBytes += (n * bits + 7) / 8 + 2 * scales + (scales * bits + 7) / 8;
        weights += n;
    }
    linearBytes *= c.numLayers;
    weights *= c.numLayers;
    const uint64_t fpParams =
        2 * c.vocabSize * c.hiddenSize + c.hiddenSize + c.numLayers * 2 * c.hiddenSize;
    EXPECT_EQ(r.packedBytes, linearBytes + 2 * fpParams);
    EXPECT_EQ(r.fp16Bytes, 2 * (fpParams + weights));
    EXPECT_DOUBLE_EQ(r.bitsPerWeight, double(linearBytes) * 8.0 / double(weights));
    uint64_t recorded = 0;
    for (const auto& l : r.layers)
        recorded += l.bytes;
    EXPECT_EQ(recorded, linearBytes);
}

TEST_F(PipelineTest, OverlayModelMatchesAHandDequantization)
{
    const int bits = 3;
    const int64_t group = 8;
    const auto r = quantizeModel(*m_model, m_tokens, config("gptq", bits, group));
    const auto& qm = *r.model;
    auto h = m_model->embed(m_ids);
    const auto ctx = m_model->context(m_ids.size(1));
    for (int64_t i = 0; i < qm.numBlocks(); ++i) {
        BlockWeights w = m_model->loadBlock(i); // norms from the checkpoint
        for (auto& [name, ptr] : w.linears()) {
            const QuantizedLinear* q = nullptr;
            for (const auto& [qn, ql] : qm.block(i).linears)
                if (qn == name)
                    q = &ql;
            ASSERT_NE(q, nullptr) << name;
            // scale * (code - zero) from the stored buffers, in float64.
            const int64_t out = q->outFeatures, in = q->inFeatures, groups = in / group;
            auto codes = unpackCodes(q->packedCodes, bits, out * in).to(torch::kDouble);
            auto zeros = unpackCodes(q->zeros, bits, out * groups).to(torch::kDouble);
            auto scales = q->scales.to(torch::kDouble).reshape({-1});
            auto wq = torch::empty({out, in}, torch::kDouble);
            for (int64_t o = 0; o < out; ++o)
                for (int64_t c = 0; c < in; ++c) {
                    const int64_t g = o * groups + c / group;
                    wq[o][c] = scales[g].item<double>() *
                               (codes[o * in + c].item<double>() - zeros[g].item<double>());
                }
            *ptr = wq.to(torch::kFloat);
        }
        h = m_model->blockForward(w, h, *ctx);
    }
    const auto manual = m_model->lmHead(m_model->finalNorm(h));
    const auto overlay = qm.model().forward(m_ids);
    // The stored scale is fp16 and scale*(code-zero) is exact in float32 for 3-bit codes, so
    // both paths run the same float32 weights: equal up to summation order (none differs).
    EXPECT_LT(maxRelDiff(overlay, manual), 1e-6);
}

TEST_F(PipelineTest, GptqBeatsRtnOnEveryLinear)
{
    const auto rtn = quantizeModel(*m_model, m_tokens, config("rtn", 4, 0));
    const auto gptq = quantizeModel(*m_model, m_tokens, config("gptq", 4, 0));
    ASSERT_EQ(rtn.layers.size(), gptq.layers.size());
    for (std::size_t i = 0; i < rtn.layers.size(); ++i)
        EXPECT_LE(gptq.layers[i].outputError, rtn.layers[i].outputError)
            << "block " << rtn.layers[i].block << " " << rtn.layers[i].layer;
}

TEST(PipelineTrained, GptqBeatsRtnOnTheTrainedTinyModel)
{
    const std::string dir = std::string(PTQ_SOURCE_DIR) + "/.cache/family/tiny-64x4";
    const std::string text = std::string(PTQ_SOURCE_DIR) + "/resources/data/sample_text.txt";
    if (!std::filesystem::exists(dir + "/model.safetensors") || !std::filesystem::exists(text))
        GTEST_SKIP() << "trained model " << dir << " not present; skipping";
    Model model(Checkpoint::open(dir));
    const auto tokens = tokenizeTextFile(Tokenizer::fromDir(dir), text);
    for (int bits : {4, 3}) {
        auto rc = config("rtn", bits, 0), gc = config("gptq", bits, 0);
        rc.calibSamples = gc.calibSamples = 16;
        rc.calibSeqlen = gc.calibSeqlen = 128;
        const auto rtn = quantizeModel(model, tokens, rc);
        const auto gptq = quantizeModel(model, tokens, gc);
        for (std::size_t i = 0; i < rtn.layers.size(); ++i)
            EXPECT_LE(gptq.layers[i].outputError, rtn.layers[i].outputError)
                << "W" << bits << " block " << rtn.layers[i].block << " " << rtn.layers[i].layer;
    }
}

TEST_F(PipelineTest, IdentityHooksChangeNothing)
{
    auto plain = m_model->forward(m_ids);
    auto rt = std::make_shared<BlockRuntime>();
    rt->linearInput = [](const std::string&, const torch::Tensor& x) { return x; };
    rt->keyCache = [](const torch::Tensor& x) { return x; };
    rt->valueCache = [](const torch::Tensor& x) { return x; };
    auto overlay = std::make_shared<WeightOverlay>();
    overlay->block = [this, rt](int64_t i) {
        auto w = m_model->loadBlock(i);
        w.runtime = rt;
        return w;
    };
    auto hooked = m_model->withOverlay(overlay).forward(m_ids);
    // Every hook returns its input and the hooked path keeps fp32: only the memory layout
    // of k/v differs, which BLAS may sum in another order (float32 ulps).
    EXPECT_LT(maxRelDiff(hooked, plain), 1e-6);

    // The observer sees each linear once per call, with the linear's input width.
    std::map<std::string, int64_t> seen;
    m_model->blockForward(
        m_model->loadBlock(0), m_model->embed(m_ids), *m_model->context(24),
        [&](const std::string& name, const torch::Tensor& x) { seen[name] = x.size(-1); });
    ASSERT_EQ(seen.size(), 7u);
    EXPECT_EQ(seen["mlp.down_proj"], m_config.intermediateSize);
    EXPECT_EQ(seen["self_attn.o_proj"], m_config.numHeads * m_config.headDim);
}

TEST_F(PipelineTest, OrthogonalRotationsKeepTheFunction)
{
    auto orthogonal = [](int64_t n, uint64_t seed) {
        torch::manual_seed(seed);
        auto q = std::get<0>(torch::linalg_qr(torch::randn({n, n}, torch::kDouble)));
        return q.to(torch::kFloat);
    };
    const auto plain = m_model->forward(m_ids);
    auto rt = std::make_shared<BlockRuntime>();
    rt->inputRotations["mlp.down_proj"] = orthogonal(m_config.intermediateSize, 1);
    rt->headRotation = orthogonal(m_config.headDim, 2);
    auto overlay = std::make_shared<WeightOverlay>();
    overlay->block = [this, rt](int64_t i) {
        auto w = m_model->loadBlock(i);
        w.at("mlp.down_proj") = torch::matmul(w.at("mlp.down_proj"),
                                              rt->inputRotation("mlp.down_proj")); // W' = W R
        w.runtime = rt;
        return w;
    };
    const auto rotated = m_model->withOverlay(overlay).forward(m_ids);
    // (xR)(WR)^T = xW^T and (qR)(kR)^T = qk^T exactly; float32 rounding of the extra
    // matmuls stays far below 1e-4 relative.
    EXPECT_LT(maxRelDiff(rotated, plain), 1e-4);

    // A head rotation that is not orthogonal must change the logits (the hook is live).
    auto scaled = std::make_shared<BlockRuntime>();
    scaled->headRotation = 2 * torch::eye(m_config.headDim);
    overlay->block = [this, scaled](int64_t i) {
        auto w = m_model->loadBlock(i);
        w.runtime = scaled;
        return w;
    };
    EXPECT_GT(maxRelDiff(m_model->withOverlay(overlay).forward(m_ids), plain), 1e-3);
}

TEST(ActQuant, PerTokenMatchesAFloat64Loop)
{
    torch::manual_seed(7);
    auto x = torch::randn({5, 16}) * 3;
    for (bool sym : {false, true}) {
        const int bits = 4;
        const double clip = 0.9;
        auto y = fakeQuantGroups(x, 16, bits, sym, clip);
        for (int64_t r = 0; r < 5; ++r) {
            double lo = 0, hi = 0;
            for (int64_t c = 0; c < 16; ++c) {
                lo = std::min(lo, double(x[r][c].item<float>()));
                hi = std::max(hi, double(x[r][c].item<float>()));
            }
            for (int64_t c = 0; c < 16; ++c) {
                const double v = x[r][c].item<float>();
                double ref;
                if (sym) {
                    const double maxq = 7, s = clip * std::max(-lo, hi) / maxq;
                    ref = std::clamp(std::nearbyint(v / s), -maxq - 1, maxq) * s;
                } else {
                    const double maxq = 15, s = clip * (hi - lo) / maxq;
                    const double z = std::nearbyint(-clip * lo / s);
                    ref = (std::clamp(std::nearbyint(v / s) + z, 0.0, maxq) - z) * s;
                }
                // float32 scale arithmetic vs float64: a few ulps of the scale.
                EXPECT_NEAR(y[r][c].item<float>(), ref, 1e-5 * (hi - lo)) << r << "," << c;
            }
        }
    }
}

TEST_F(PipelineTest, ActivationAndKvQuantizationRunAndCost)
{
    auto qc = config("rtn", 8, 0);
    qc.recipe.activations = ActQuantSpec{4, true, false, 1.0};
    qc.recipe.kv = KvQuantSpec{4, 4, false, 1.0};
    const auto r = quantizeModel(*m_model, m_tokens, qc);
    const auto w8 = quantizeModel(*m_model, m_tokens, config("rtn", 8, 0));
    EXPECT_GT(r.blocks[0].outputError, 10 * w8.blocks[0].outputError);
    EXPECT_TRUE(r.model->block(0).rest.runtime != nullptr);
    auto s = config("rtn", 8, 0);
    s.recipe.activations = ActQuantSpec{8, false, true, 1.0}; // static per tensor
    const auto st = quantizeModel(*m_model, m_tokens, s);
    EXPECT_LT(st.blocks[0].outputError, 1e-2);
}

TEST_F(PipelineTest, CancellationStopsTheWalk)
{
    int calls = 0;
    ProgressFn cancelSoon = [&](const Progress&) { return ++calls < 4; };
    EXPECT_THROW(quantizeModel(*m_model, m_tokens, config("gptq", 4, 0), cancelSoon),
                 ptq::Cancelled);
    EXPECT_EQ(calls, 4);
}

TEST_F(PipelineTest, NanWeightIsReportedByName)
{
    auto weights = randomLlamaWeights(m_config, 5);
    weights["model.layers.1.mlp.up_proj.weight"][3][5] = NAN;
    TempDir dir("pipeline-nan");
    writeLlamaCheckpoint(dir.path(), m_config, weights);
    Model model(Checkpoint::open(dir.path()));
    for (const char* method : {"rtn", "gptq"}) {
        try {
            quantizeModel(model, m_tokens, config(method, 4, 0));
            ADD_FAILURE() << "no error for a NaN weight (" << method << ")";
        } catch (const ptq::Error& e) {
            EXPECT_NE(std::string(e.what()).find("model.layers.1.mlp.up_proj"), std::string::npos)
                << e.what();
        }
    }
}

TEST_F(PipelineTest, CalibrationErrorsAreClear)
{
    auto qc = config("rtn", 4, 0);
    qc.calibSeqlen = 5000;
    EXPECT_THROW(quantizeModel(*m_model, m_tokens, qc), ptq::Error);
    qc = config("rtn", 4, 24); // 24 divides neither 32 nor 64
    try {
        quantizeModel(*m_model, m_tokens, qc);
        ADD_FAILURE() << "no error for a group that does not divide";
    } catch (const ptq::Error& e) {
        EXPECT_NE(std::string(e.what()).find("group"), std::string::npos) << e.what();
    }
}
