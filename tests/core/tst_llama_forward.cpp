// Model against the float64 reference in llama_reference.h, on small random checkpoints
// written to a temp dir, for every architecture feature the forward pass supports.

#include "core/llama_reference.h"

#include "model/checkpoint.h"
#include "model/checkpoint_writer.h"
#include "model/model.h"
#include "util/error.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>

using namespace ptq;
using namespace ptq::testing;

namespace {

// fp32 against float64: every logit is the end of 3 blocks of dot products over at most 96
// terms with O(1) activations and a softmax; fp32 rounding (2^-24 ~ 6e-8 per operation)
// accumulated over these lengths stays around 1e-6 relative. 1e-4 leaves two orders of
// margin for summation-order differences, while any semantic error (RoPE layout or scaling,
// masking, GQA mapping, biases, norms) moves the logits by 1e-2 or more (checked below).
constexpr double kFp32Tolerance = 1e-4;
// bf16 matmuls round operands and results to 8 significant bits (2^-9 ~ 2e-3 relative).
// A logit is a random-sign dot product, so its error relative to its own size is ~4e-3
// typically and several times that in the tail; the largest over 3200 logits after 3 blocks
// was measured at 1.3e-2..2.2e-2 whether attention is flat or peaked. 5e-2 bounds that; the
// semantic errors the fp32 tests guard against move logits by far more (see kSensitivity).
constexpr double kBf16Tolerance = 5e-2;
// A reference with one feature switched off (biases, RoPE scaling, sliding window) must
// differ from the real one by more than this, or the comparison would not test the feature.
constexpr double kSensitivity = 0.1;

ModelConfig llamaGqa()
{
    ModelConfig c;
    c.modelType = "llama";
    c.vocabSize = 100;
    c.hiddenSize = 64;
    c.intermediateSize = 96;
    c.numLayers = 3;
    c.numHeads = 8;
    c.numKvHeads = 2;
    c.headDim = 8;
    c.maxPositionEmbeddings = 256;
    c.rmsNormEps = 1e-5;
    c.ropeTheta = 10000.0;
    return c;
}

std::vector<std::vector<int64_t>> randomIds(int64_t batch, int64_t t, int64_t vocab, uint32_t seed)
{
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int64_t> pick(0, vocab - 1);
    std::vector<std::vector<int64_t>> ids(batch, std::vector<int64_t>(t));
    for (auto& row : ids)
        for (auto& id : row)
            id = pick(rng);
    return ids;
}

torch::Tensor idsTensor(const std::vector<std::vector<int64_t>>& ids)
{
    auto t = torch::empty({int64_t(ids.size()), int64_t(ids[0].size())}, torch::kLong);
    for (std::size_t b = 0; b < ids.size(); ++b)
        for (std::size_t i = 0; i < ids[b].size(); ++i)
            t[b][i] = ids[b][i];
    return t;
}

std::vector<double> toDoubles(const torch::Tensor& logits)
{
    auto d = logits.to(torch::kDouble).contiguous();
    return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

std::vector<double> referenceFlat(const ModelConfig& c, const RefWeights& w,
                                  const std::vector<std::vector<int64_t>>& ids)
{
    std::vector<double> out;
    for (const auto& row : ids)
        for (const auto& logits : refSequenceLogits(c, w, row))
            out.insert(out.end(), logits.begin(), logits.end());
    return out;
}

struct Case {
    ModelConfig config;
    DType storage = DType::F32;
    int64_t seqlen = 16;
};

// Writes the checkpoint, runs both forward paths and the reference; returns the reference
// logits so callers can check the test's own sensitivity.
std::vector<double> checkAgainstReference(const Case& tc, const TempDir& dir,
                                          double tolerance = kFp32Tolerance,
                                          torch::ScalarType dtype = torch::kFloat,
                                          double qkScale = 10.0)
{
    writeLlamaCheckpoint(dir.path(), tc.config, testWeights(tc.config, 7, qkScale), tc.storage);
    const RefWeights ref = readWeightsAsDouble(dir.sub("model.safetensors"));
    const auto ids = randomIds(2, tc.seqlen, tc.config.vocabSize, 11);
    const auto expected = referenceFlat(tc.config, ref, ids);

    Model model(Checkpoint::open(dir.path()), ForwardOptions{dtype});
    const auto logits = model.forward(idsTensor(ids));
    EXPECT_EQ(logits.sizes().vec(), (std::vector<int64_t>{2, tc.seqlen, tc.config.vocabSize}));
    const double error = relativeMaxError(toDoubles(logits), expected);
    EXPECT_LE(error, tolerance);
    std::printf("    max |logit - reference| / max |reference| = %.3g (tolerance %.0e)\n", error,
                tolerance);

    // The block-at-a-time path the engine uses.
    auto h = model.embed(idsTensor(ids));
    const auto ctx = model.context(tc.seqlen);
    for (int64_t i = 0; i < model.numBlocks(); ++i)
        h = model.blockForward(model.loadBlock(i), h, *ctx);
    const auto stepwise = model.lmHead(model.finalNorm(h));
    EXPECT_LE(relativeMaxError(toDoubles(stepwise), expected), tolerance);
    return expected;
}

} // namespace

TEST(LlamaForward, GroupedQueryAttentionUntied)
{
    TempDir dir("llama-gqa");
    checkAgainstReference({llamaGqa()}, dir);
}

TEST(LlamaForward, TiedEmbeddings)
{
    TempDir dir("llama-tied");
    Case tc{llamaGqa()};
    tc.config.tieWordEmbeddings = true;
    checkAgainstReference(tc, dir);
    // No lm_head.weight was written: the head is the embedding.
    EXPECT_FALSE(Checkpoint::open(dir.path())->has("lm_head.weight"));
}

TEST(LlamaForward, Qwen2Biases)
{
    TempDir dir("qwen2");
    Case tc{llamaGqa()};
    tc.config.modelType = "qwen2";
    tc.config.attentionBias = true;
    tc.config.ropeTheta = 1000000.0;
    const auto expected = checkAgainstReference(tc, dir);
    // The biases matter: the reference without them is far outside the tolerance.
    ModelConfig noBias = tc.config;
    noBias.attentionBias = false;
    const auto ids = randomIds(2, tc.seqlen, tc.config.vocabSize, 11);
    const auto ref = readWeightsAsDouble(dir.sub("model.safetensors"));
    EXPECT_GT(relativeMaxError(referenceFlat(noBias, ref, ids), expected), kSensitivity);
}

TEST(LlamaForward, Llama3RopeScaling)
{
    TempDir dir("llama3");
    Case tc{llamaGqa()};
    // head_dim 16 and theta 5e5 give wavelengths 6.3, 32.5, 168, ... tokens; with an original
    // context of 64, low 1 and high 4 the bands are: < 16 kept, 16..64 smoothed, > 64 divided.
    tc.config.numHeads = 4;
    tc.config.numKvHeads = 2;
    tc.config.headDim = 16;
    tc.config.ropeTheta = 500000.0;
    tc.config.ropeScaling = {"llama3", 8.0, 1.0, 4.0, 64};
    tc.seqlen = 20;
    int kept = 0, smoothed = 0, divided = 0;
    for (int64_t i = 0; i < tc.config.headDim / 2; ++i) {
        const double wavelen = 2 * M_PI * std::pow(tc.config.ropeTheta, 2.0 * i / 16);
        kept += wavelen < 16;
        divided += wavelen > 64;
        smoothed += wavelen >= 16 && wavelen <= 64;
    }
    ASSERT_GT(kept, 0);
    ASSERT_GT(smoothed, 0);
    ASSERT_GT(divided, 0);
    const auto expected = checkAgainstReference(tc, dir);
    ModelConfig unscaled = tc.config;
    unscaled.ropeScaling = {};
    const auto ids = randomIds(2, tc.seqlen, tc.config.vocabSize, 11);
    const auto ref = readWeightsAsDouble(dir.sub("model.safetensors"));
    EXPECT_GT(relativeMaxError(referenceFlat(unscaled, ref, ids), expected), kSensitivity);
}

TEST(LlamaForward, LinearRopeScaling)
{
    TempDir dir("linear-rope");
    Case tc{llamaGqa()};
    tc.config.ropeScaling.type = "linear";
    tc.config.ropeScaling.factor = 4.0;
    checkAgainstReference(tc, dir);
}

TEST(LlamaForward, MistralSlidingWindow)
{
    TempDir dir("mistral");
    Case tc{llamaGqa()};
    tc.config.modelType = "mistral";
    tc.config.slidingWindow = 5;
    tc.seqlen = 18;
    const auto expected = checkAgainstReference(tc, dir);
    ModelConfig full = tc.config;
    full.slidingWindow = 0;
    const auto ids = randomIds(2, tc.seqlen, tc.config.vocabSize, 11);
    const auto ref = readWeightsAsDouble(dir.sub("model.safetensors"));
    EXPECT_GT(relativeMaxError(referenceFlat(full, ref, ids), expected), kSensitivity);
}

TEST(LlamaForward, ExplicitHeadDim)
{
    TempDir dir("head-dim");
    Case tc{llamaGqa()};
    tc.config.numHeads = 4;
    tc.config.numKvHeads = 1;
    tc.config.headDim = 24; // != 64 / 4
    checkAgainstReference(tc, dir);
}

TEST(LlamaForward, HalfPrecisionStorage)
{
    // The reference decodes the same rounded values from the file, so the tolerance is the
    // fp32 compute one.
    for (DType storage : {DType::F16, DType::BF16}) {
        SCOPED_TRACE(dtypeName(storage));
        TempDir dir("half-storage");
        Case tc{llamaGqa()};
        tc.storage = storage;
        checkAgainstReference(tc, dir);
        EXPECT_EQ(Checkpoint::open(dir.path())->dominantDType(), dtypeName(storage));
    }
}

TEST(LlamaForward, Bf16ComputeMode)
{
    TempDir dir("bf16-compute");
    Case tc{llamaGqa()};
    tc.config.attentionBias = true;
    for (double qk : {1.0, 10.0}) {
        checkAgainstReference(tc, dir, kBf16Tolerance, torch::kBFloat16, qk);
    }
}

TEST(LlamaForward, Bf16CastCacheSeesReplacedAndModifiedLinears)
{
    TempDir dir("bf16-cache");
    const ModelConfig c = llamaGqa();
    writeLlamaCheckpoint(dir.path(), c, testWeights(c, 3));
    Model model(Checkpoint::open(dir.path()), ForwardOptions{torch::kBFloat16});
    const auto h = model.embed(idsTensor(randomIds(1, 8, c.vocabSize, 5)));
    const auto ctx = model.context(8);
    BlockWeights w = model.loadBlock(0);
    const auto first = model.blockForward(w, h, *ctx);
    EXPECT_TRUE(model.blockForward(w, h, *ctx).equal(first)); // cached casts reused

    w.at("mlp.down_proj").mul_(0.0); // in place: the MLP contributes nothing now
    const auto zeroedMlp = model.blockForward(w, h, *ctx);
    EXPECT_FALSE(zeroedMlp.equal(first));
    // Replaced: same numbers as before.
    w.at("mlp.down_proj") = torch::zeros_like(w.at("mlp.down_proj"));
    EXPECT_TRUE(model.blockForward(w, h, *ctx).equal(zeroedMlp));
    // Attention removed too: the block is the identity.
    w.at("self_attn.o_proj") = torch::zeros_like(w.at("self_attn.o_proj"));
    EXPECT_TRUE(model.blockForward(w, h, *ctx).equal(h));
}

TEST(LlamaForward, LongBatchIsChunkedConsistently)
{
    // 40 windows of 128 tokens exceed one internal chunk of whole windows; attention splits
    // into query chunks only for long rows. The result must equal row-by-row evaluation.
    TempDir dir("chunks");
    ModelConfig c = llamaGqa();
    c.numLayers = 1;
    writeLlamaCheckpoint(dir.path(), c, testWeights(c, 5));
    Model model(Checkpoint::open(dir.path()));
    const auto ids = idsTensor(randomIds(40, 128, c.vocabSize, 9));
    const auto all = model.forward(ids);
    for (int64_t b : {0, 17, 39}) {
        const auto one = model.forward(ids.narrow(0, b, 1));
        EXPECT_LE((one[0] - all[b]).abs().max().item<double>(),
                  1e-5 * all[b].abs().max().item<double>());
    }
}

namespace {

void expectErrorNaming(const std::function<void()>& f, const std::string& what)
{
    try {
        f();
        ADD_FAILURE() << "no ptq::Error thrown; expected one naming " << what;
    } catch (const ptq::Error& e) {
        EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
}

} // namespace

TEST(LlamaForward, LoadBlockValidatesShapes)
{
    TempDir dir("bad-shape");
    const ModelConfig c = llamaGqa();
    auto w = testWeights(c, 1);
    w["model.layers.1.self_attn.k_proj.weight"] = torch::zeros({15, 64});
    writeLlamaCheckpoint(dir.path(), c, w);
    Model model(Checkpoint::open(dir.path()));
    EXPECT_NO_THROW(model.loadBlock(0));
    expectErrorNaming([&] { model.loadBlock(1); }, "model.layers.1.self_attn.k_proj.weight");
    expectErrorNaming([&] { model.loadBlock(1); }, "[15, 64]");
    expectErrorNaming([&] { model.loadBlock(1); }, "[16, 64]");
    expectErrorNaming([&] { model.loadBlock(3); }, "block 3");
}

TEST(LlamaForward, MissingTensorsAreNamed)
{
    TempDir dir("missing");
    const ModelConfig c = llamaGqa();
    auto w = testWeights(c, 1);
    w.erase("model.layers.2.mlp.up_proj.weight");
    w.erase("lm_head.weight");
    writeLlamaCheckpoint(dir.path(), c, w);
    Model model(Checkpoint::open(dir.path()));
    expectErrorNaming([&] { model.loadBlock(2); }, "model.layers.2.mlp.up_proj.weight");
    expectErrorNaming([&] { model.lmHead(torch::zeros({1, 64})); }, "lm_head.weight");
}

TEST(LlamaForward, UnsupportedDtypeAndBadIdsAreErrors)
{
    TempDir dir("dtype");
    const ModelConfig c = llamaGqa();
    writeLlamaCheckpoint(dir.path(), c, testWeights(c, 1));
    // Rewrite the file with one tensor stored as F64.
    const auto w = testWeights(c, 1);
    std::vector<torch::Tensor> keep;
    std::vector<TensorToWrite> entries;
    for (const auto& [name, t] : w) {
        const bool f64 = name == "model.layers.0.input_layernorm.weight";
        keep.push_back(t.to(f64 ? torch::kDouble : torch::kFloat).contiguous());
        entries.push_back(
            {name, f64 ? DType::F64 : DType::F32, t.sizes().vec(), keep.back().data_ptr()});
    }
    writeSafetensors(dir.sub("model.safetensors"), entries);
    Model model(Checkpoint::open(dir.path()));
    expectErrorNaming([&] { model.loadBlock(0); }, "model.layers.0.input_layernorm.weight");
    expectErrorNaming([&] { model.loadBlock(0); }, "F64");
    expectErrorNaming([&] { model.embed(torch::full({1, 3}, 100, torch::kLong)); }, "100");
    expectErrorNaming([&] { model.embed(torch::full({1, 3}, -1, torch::kLong)); }, "-1");
    expectErrorNaming(
        [] {
            TempDir d("fp16-compute");
            ModelConfig cc = llamaGqa();
            writeLlamaCheckpoint(d.path(), cc, testWeights(cc, 1));
            Model m(Checkpoint::open(d.path()), ForwardOptions{torch::kHalf});
        },
        "compute dtype");
}

TEST(CheckpointWriter, RandomWeightsAreDeterministicAndShaped)
{
    ModelConfig c = llamaGqa();
    c.attentionBias = true;
    const auto a = randomLlamaWeights(c, 42);
    const auto b = randomLlamaWeights(c, 42);
    const auto other = randomLlamaWeights(c, 43);
    ASSERT_EQ(a.size(), b.size());
    // 3 layers x 12 tensors (9 weights + 3 biases) + embedding, final norm, lm_head.
    EXPECT_EQ(a.size(), 3u * 12u + 3u);
    for (const auto& [name, t] : a) {
        EXPECT_TRUE(t.equal(b.at(name))) << name;
        EXPECT_FALSE(t.equal(other.at(name))) << name;
    }
    EXPECT_EQ(a.at("model.layers.0.self_attn.k_proj.weight").sizes().vec(),
              (std::vector<int64_t>{16, 64}));
    EXPECT_EQ(a.at("model.layers.2.mlp.down_proj.weight").sizes().vec(),
              (std::vector<int64_t>{64, 96}));
    // Norms near one (1 + 0.1 N(0,1)) but not exactly one.
    const auto norm = a.at("model.norm.weight");
    EXPECT_NEAR(norm.mean().item<double>(), 1.0, 0.05);
    EXPECT_GT(norm.std().item<double>(), 0.05);
    EXPECT_EQ(a.count("lm_head.weight"), 1u);
    c.tieWordEmbeddings = true;
    EXPECT_EQ(randomLlamaWeights(c, 42).count("lm_head.weight"), 0u);
}

TEST(CheckpointWriter, RoundTripsConfigAndValues)
{
    TempDir dir("writer");
    ModelConfig c = llamaGqa();
    c.ropeScaling = {"llama3", 8.0, 1.0, 4.0, 64};
    const auto w = randomLlamaWeights(c, 5);
    writeLlamaCheckpoint(dir.sub("nested/model"), c, w, DType::BF16);
    const auto ck = Checkpoint::open(dir.sub("nested/model"));
    EXPECT_EQ(ck->config().ropeScaling.type, "llama3");
    EXPECT_EQ(ck->config().numKvHeads, 2);
    Model model(ck);
    const auto q = model.loadTensor("model.layers.1.self_attn.q_proj.weight", {64, 64});
    const auto expected =
        w.at("model.layers.1.self_attn.q_proj.weight").to(torch::kBFloat16).to(torch::kFloat);
    EXPECT_TRUE(q.equal(expected));
    expectErrorNaming([&] { writeLlamaCheckpoint(dir.sub("x"), c, w, DType::I8); }, "I8");
}
