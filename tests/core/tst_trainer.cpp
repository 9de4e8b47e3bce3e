// The trainer: the training module computes exactly what Model evaluates from the saved
// folder; training on real text lowers the loss; a cancelled-and-resumed run reproduces an
// uninterrupted one bit for bit on one thread; bad inputs fail with ptq::Error naming the
// file; the learning-rate schedule matches its formula.

#include "test_files.h"

#include "family/llama_train_model.h"
#include "family/trainer.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "model/checkpoint_writer.h"
#include "model/model.h"
#include "text/tokenizer.h"
#include "text/tokenizer_writer.h"
#include "util/error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <sstream>

using namespace ptq;
using ptq::test::expectPtqError;
using ptq::test::readFile;
using ptq::test::TempDir;
using ptq::test::writeFile;

namespace {

ModelConfig tinyConfig(int64_t vocab)
{
    ModelConfig c;
    c.modelType = "llama";
    c.vocabSize = vocab;
    c.hiddenSize = 32;
    c.intermediateSize = 64;
    c.numLayers = 2;
    c.numHeads = 4;
    c.numKvHeads = 2;
    c.headDim = 8;
    c.maxPositionEmbeddings = 64;
    c.rmsNormEps = 1e-5;
    return c;
}

// A byte tokenizer (no merges) in dir/tok, and the sample text split 80/20 by line into
// dir/train.txt and dir/valid.txt.
struct Corpus {
    std::string tokenizerDir, trainPath, validPath;
    int64_t vocab = 0;
};

Corpus makeCorpus(const TempDir& dir)
{
    Corpus c;
    c.tokenizerDir = dir.file("tok");
    writeSentencePieceTokenizer(c.tokenizerDir, TokenizerSpec{});
    c.vocab = Tokenizer::fromDir(c.tokenizerDir).vocabSize();
    std::istringstream in(
        readFile(std::string(PTQ_SOURCE_DIR) + "/resources/data/sample_text.txt"));
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    std::string train, valid;
    for (std::size_t i = 0; i < lines.size(); ++i)
        (i < lines.size() * 4 / 5 ? train : valid) += lines[i] + "\n";
    c.trainPath = dir.file("train.txt");
    c.validPath = dir.file("valid.txt");
    writeFile(c.trainPath, train);
    writeFile(c.validPath, valid);
    return c;
}

TrainConfig tinyTrainConfig(const Corpus& corpus, const std::string& outDir)
{
    TrainConfig t;
    t.model = tinyConfig(corpus.vocab);
    t.seqlen = 32;
    t.batchSize = 8;
    t.steps = 200;
    t.lr = 3e-3;
    t.warmupSteps = 20;
    t.seed = 7;
    t.evalEvery = 50;
    t.evalBatches = 2;
    t.checkpointEvery = 0;
    t.outDir = outDir;
    t.tokenizerDir = corpus.tokenizerDir;
    return t;
}

double maxRelativeError(const torch::Tensor& a, const torch::Tensor& b)
{
    return ((a - b).abs().max() / b.abs().max()).item<double>();
}

} // namespace

// The training module runs the architecture's block forward in its autograd mode, Model its
// inference mode; what differs is the attention code (unchunked in the autograd mode, from
// llama_ops) and bias addition. Both run the same fp32 operations in the same order,
// so any difference is summation-order rounding (~1e-7 relative); 1e-5 is the guarantee the
// trainer promises, far below what a semantic slip (RoPE layout, GQA mapping, mask) causes.
TEST(Trainer, ForwardEqualsInferenceOnSavedCheckpoint)
{
    for (const bool tied : {false, true}) {
        for (const bool bias : {false, true}) {
            TempDir dir("ptq-trainer-fwd");
            ModelConfig c = tinyConfig(97);
            c.tieWordEmbeddings = tied;
            c.attentionBias = bias;
            c.modelType = bias ? "qwen2" : "llama";
            LlamaTrainModel model(c, 3);
            {
                // Perturb norms and biases away from their 1 / 0 init so skipping one shows.
                torch::NoGradGuard noGrad;
                auto gen = at::detail::createCPUGenerator(11);
                for (const auto& [name, p] : model.namedParameters())
                    if (p.dim() == 1)
                        p.add_(torch::randn(p.sizes(), gen, torch::kFloat).mul_(0.1));
            }
            const std::string folder = dir.file("model");
            ptq::writeLlamaCheckpoint(folder, c, model.stateDict());
            Model reference(Checkpoint::open(folder));
            auto gen = at::detail::createCPUGenerator(5);
            auto ids = torch::randint(0, c.vocabSize, {3, 40}, gen, torch::kLong);
            torch::Tensor trained;
            {
                torch::NoGradGuard noGrad;
                trained = model.forward(ids);
            }
            const auto expected = reference.forward(ids);
            ASSERT_EQ(trained.sizes(), expected.sizes());
            EXPECT_LE(maxRelativeError(trained, expected), 1e-5)
                << "tied " << tied << " bias " << bias;
        }
    }
}

// GPT-2 init: N(0, 0.02), residual output projections 0.02/sqrt(2L), norms exactly 1. The
// sample std of >= 2048 normal draws is within 5% of the true one with overwhelming odds.
TEST(Trainer, InitialisationFollowsGpt2)
{
    ModelConfig c = tinyConfig(300);
    c.numLayers = 8;
    LlamaTrainModel model(c, 1);
    const double residual = 0.02 / std::sqrt(16.0);
    for (const auto& [name, p] : model.namedParameters()) {
        EXPECT_TRUE(p.requires_grad()) << name;
        if (p.dim() == 1) {
            EXPECT_TRUE(torch::equal(p, torch::ones_like(p))) << name;
            continue;
        }
        const bool isResidual =
            name.find("o_proj") != std::string::npos || name.find("down_proj") != std::string::npos;
        const double expected = isResidual ? residual : 0.02;
        EXPECT_NEAR(p.std().item<double>(), expected, 0.05 * expected) << name;
    }
    EXPECT_EQ(model.parameterCount(), c.parameterCount());
}

TEST(Trainer, LossDecreasesOnRealText)
{
    torch::set_num_threads(1);
    TempDir dir("ptq-trainer-loss");
    const Corpus corpus = makeCorpus(dir);
    const TrainConfig config = tinyTrainConfig(corpus, dir.file("out"));
    const TrainData data =
        prepareTrainData(corpus.tokenizerDir, corpus.trainPath, corpus.validPath, config.outDir);
    const TrainResult r = trainLlama(config, data);
    ASSERT_EQ(r.steps.size(), 200u);
    EXPECT_FALSE(r.cancelled);
    EXPECT_EQ(r.stepsDone, 200);
    EXPECT_EQ(r.tokensSeen, 200 * 8 * 32);
    // Uniform guessing over the vocabulary gives ln(V); the first batch is close to that.
    EXPECT_NEAR(r.steps.front().loss, std::log(static_cast<double>(corpus.vocab)), 0.1);
    EXPECT_LT(r.finalTrainLoss, 0.8 * r.steps.front().loss);
    for (std::size_t i = 0; i < r.steps.size(); ++i)
        EXPECT_EQ(r.steps[i].lr, scheduledLr(config, static_cast<int64_t>(i))) << i;
    ASSERT_EQ(r.valid.size(), 4u); // steps 50, 100, 150, 200
    EXPECT_LT(r.valid.back().loss, 0.8 * r.steps.front().loss);
    EXPECT_DOUBLE_EQ(r.validPerplexity, std::exp(r.valid.back().loss));

    // The output folder is a model that Model evaluates, with its tokenizer beside it.
    namespace fs = std::filesystem;
    for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "train_log.csv",
                          "valid_log.csv", "train_state/state.json",
                          "train_state/state.safetensors", "train.tokens", "valid.tokens"})
        EXPECT_TRUE(fs::exists(fs::path(config.outDir) / f)) << f;
    EXPECT_EQ(Tokenizer::fromDir(config.outDir).vocabSize(), corpus.vocab);
    Model saved(Checkpoint::open(config.outDir));
    EXPECT_EQ(saved.config().vocabSize, corpus.vocab);
}

namespace {

// Every tensor of a safetensors file, bytes included.
void expectSameTensors(const std::string& a, const std::string& b)
{
    SafetensorsFile fa(a), fb(b);
    ASSERT_EQ(fa.tensors().size(), fb.tensors().size());
    for (const TensorInfo& ta : fa.tensors()) {
        const TensorInfo& tb = fb.at(ta.name);
        ASSERT_EQ(ta.byteSize(), tb.byteSize()) << ta.name;
        EXPECT_EQ(std::memcmp(fa.data(ta), fb.data(tb), ta.byteSize()), 0) << ta.name;
    }
}

int64_t csvRows(const std::string& path)
{
    std::istringstream in(readFile(path));
    int64_t rows = -1; // header
    for (std::string line; std::getline(in, line);)
        rows += line.empty() ? 0 : 1;
    return rows;
}

} // namespace

// One thread: every CPU kernel then reduces in a fixed order, so a resumed run that restores
// weights, AdamW moments and steps, and the window sampler's state reproduces the
// uninterrupted run exactly (EXPECT_EQ on doubles, byte-equal weights).
TEST(Trainer, CancelAndResumeReproducesUninterruptedRun)
{
    torch::set_num_threads(1);
    TempDir dir("ptq-trainer-resume");
    const Corpus corpus = makeCorpus(dir);
    TrainConfig config = tinyTrainConfig(corpus, dir.file("straight"));
    config.steps = 60;
    config.warmupSteps = 10;
    config.evalEvery = 20;
    config.checkpointEvery = 25;
    const TrainData data = prepareTrainData(corpus.tokenizerDir, corpus.trainPath, corpus.validPath,
                                            dir.file("cache"));
    const TrainResult straight = trainLlama(config, data);

    config.outDir = dir.file("resumed");
    auto stopAt30 = [](const Progress& p) { return p.done < 30; };
    const TrainResult first = trainLlama(config, data, stopAt30);
    EXPECT_TRUE(first.cancelled);
    EXPECT_EQ(first.stepsDone, 30);
    config.resume = true;
    const TrainResult second = trainLlama(config, data);
    EXPECT_FALSE(second.cancelled);
    EXPECT_EQ(second.startStep, 30);
    EXPECT_EQ(second.stepsDone, 60);
    EXPECT_EQ(second.tokensSeen, straight.tokensSeen);

    ASSERT_EQ(first.steps.size() + second.steps.size(), straight.steps.size());
    for (std::size_t i = 0; i < straight.steps.size(); ++i) {
        const auto& r = i < 30 ? first.steps[i] : second.steps[i - 30];
        EXPECT_EQ(r.step, straight.steps[i].step);
        EXPECT_EQ(r.loss, straight.steps[i].loss) << "step " << i + 1;
        EXPECT_EQ(r.gradNorm, straight.steps[i].gradNorm) << "step " << i + 1;
        EXPECT_EQ(r.lr, straight.steps[i].lr) << "step " << i + 1;
    }
    EXPECT_EQ(second.finalValidLoss, straight.finalValidLoss);
    expectSameTensors(dir.file("straight/model.safetensors"),
                      dir.file("resumed/model.safetensors"));
    expectSameTensors(dir.file("straight/train_state/state.safetensors"),
                      dir.file("resumed/train_state/state.safetensors"));
    EXPECT_EQ(csvRows(dir.file("resumed/train_log.csv")), 60);
    EXPECT_EQ(csvRows(dir.file("resumed/valid_log.csv")), 3);
}

TEST(Trainer, BadInputsNameTheFile)
{
    torch::set_num_threads(1);
    TempDir dir("ptq-trainer-bad");
    const Corpus corpus = makeCorpus(dir);
    expectPtqError(
        [&] {
            prepareTrainData(dir.file("nope"), corpus.trainPath, corpus.validPath, dir.file("c1"));
        },
        dir.file("nope") + "/tokenizer.json", "missing");
    writeFile(dir.file("empty.txt"), "");
    expectPtqError(
        [&] {
            prepareTrainData(corpus.tokenizerDir, dir.file("empty.txt"), corpus.validPath,
                             dir.file("c2"));
        },
        dir.file("empty.txt"), "empty");

    const TrainData data =
        prepareTrainData(corpus.tokenizerDir, corpus.trainPath, corpus.validPath, dir.file("c3"));
    TrainConfig config = tinyTrainConfig(corpus, dir.file("long"));
    config.seqlen = static_cast<int64_t>(data.train.size());
    expectPtqError([&] { trainLlama(config, data); }, corpus.trainPath, "shorter than one window");

    config = tinyTrainConfig(corpus, dir.file("small-vocab"));
    config.model.vocabSize = 100;
    expectPtqError([&] { trainLlama(config, data); }, corpus.trainPath,
                   "outside the model's vocabulary");

    config = tinyTrainConfig(corpus, dir.file("corrupt"));
    config.steps = 3;
    trainLlama(config, data);
    expectPtqError([&] { trainLlama(config, data); }, dir.file("corrupt/train_state"),
                   "already present");
    const std::string state = dir.file("corrupt/train_state/state.safetensors");
    const std::string bytes = readFile(state);
    writeFile(state, bytes.substr(0, bytes.size() / 2));
    config.resume = true;
    expectPtqError([&] { trainLlama(config, data); }, state, "");

    config = tinyTrainConfig(corpus, dir.file("fresh"));
    config.resume = true;
    expectPtqError([&] { trainLlama(config, data); }, dir.file("fresh/train_state"),
                   "nothing to resume");
}

// Against the schedule written out by hand: warmup 10 to lr = 1e-3, then cosine over the
// remaining 100 steps to 0.1 * lr. Values agree to double rounding (1e-15 relative).
TEST(Trainer, CosineScheduleWithWarmup)
{
    TrainConfig c;
    c.lr = 1e-3;
    c.minLrRatio = 0.1;
    c.warmupSteps = 10;
    c.steps = 110;
    const double pi = std::acos(-1.0);
    const std::vector<std::pair<int64_t, double>> expected = {
        {0, 1e-4},                                            // 1/10 of warmup
        {4, 5e-4},                                            // 5/10
        {9, 1e-3},                                            // end of warmup
        {10, 1e-3},                                           // cosine at p = 0
        {35, 1e-4 + 9e-4 * 0.5 * (1 + std::cos(pi * 0.25))},  // p = 1/4
        {60, 5.5e-4},                                         // p = 1/2: halfway
        {109, 1e-4 + 9e-4 * 0.5 * (1 + std::cos(pi * 0.99))}, // last step
        {110, 1e-4},                                          // p = 1 (past the end)
    };
    for (const auto& [step, lr] : expected)
        EXPECT_NEAR(scheduledLr(c, step), lr, 1e-15 * lr) << "step " << step;
}
