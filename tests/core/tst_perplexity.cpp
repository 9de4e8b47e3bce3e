// Perplexity evaluation against a float64 computation from the reference forward pass in
// llama_reference.h, plus window selection, batching, cancellation and input errors.

#include "core/llama_reference.h"
#include "core/test_files.h"

#include "eval/perplexity.h"
#include "model/checkpoint.h"
#include "model/checkpoint_writer.h"
#include "model/model.h"
#include "text/tokenizer.h"
#include "text/tokenizer_writer.h"
#include "util/error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

using namespace ptq;
using namespace ptq::testing;

namespace {

ModelConfig tinyConfig()
{
    return tinyLlamaConfig(100, 48);
}

// Mean next-token NLL over the windows, all in float64 from the reference logits.
double referenceMeanNll(const ModelConfig& c, const RefWeights& w,
                        const std::vector<int32_t>& tokens, const std::vector<int64_t>& starts,
                        int64_t seqlen)
{
    double total = 0;
    int64_t count = 0;
    for (int64_t s : starts) {
        const std::vector<int64_t> ids(tokens.begin() + s, tokens.begin() + s + seqlen);
        const auto logits = refSequenceLogits(c, w, ids);
        for (int64_t t = 0; t + 1 < seqlen; ++t) {
            double mx = -INFINITY, z = 0;
            for (double v : logits[t])
                mx = std::max(mx, v);
            for (double v : logits[t])
                z += std::exp(v - mx);
            total += -(logits[t][ids[t + 1]] - mx - std::log(z));
            ++count;
        }
    }
    return total / count;
}

class PerplexityTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        m_config = tinyConfig();
        writeLlamaCheckpoint(m_dir.path(), m_config, testWeights(m_config, 21));
        m_model = std::make_unique<Model>(Checkpoint::open(m_dir.path()));
        m_tokens = randomTokens(200, int32_t(m_config.vocabSize), 4);
    }

    TempDir m_dir{"ppl"};
    ModelConfig m_config;
    std::unique_ptr<Model> m_model;
    std::vector<int32_t> m_tokens;
};

void expectErrorNaming(const std::function<void()>& f, const std::string& what)
{
    try {
        f();
        ADD_FAILURE() << "no ptq::Error thrown; expected one naming " << what;
    } catch (const ptq::Error& e) {
        EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
}

void writeFile(const std::string& path, const std::string& bytes)
{
    std::ofstream(path, std::ios::binary) << bytes;
}

} // namespace

TEST(WindowStarts, SequentialNonOverlapping)
{
    PerplexityConfig cfg;
    cfg.seqlen = 3;
    EXPECT_EQ(windowStarts(10, cfg), (std::vector<int64_t>{0, 3, 6}));
    EXPECT_EQ(windowStarts(3, cfg), (std::vector<int64_t>{0}));
    cfg.maxWindows = 2;
    EXPECT_EQ(windowStarts(100, cfg), (std::vector<int64_t>{0, 3}));
    expectErrorNaming([&] { windowStarts(2, cfg); }, "2 tokens");
    cfg.seqlen = 1;
    expectErrorNaming([&] { windowStarts(100, cfg); }, "seqlen");
}

TEST(WindowStarts, RandomSeededInRange)
{
    PerplexityConfig cfg;
    cfg.sampling = WindowSampling::Random;
    cfg.seqlen = 8;
    cfg.randomWindows = 500;
    cfg.seed = 3;
    const auto a = windowStarts(50, cfg);
    ASSERT_EQ(a.size(), 500u);
    EXPECT_EQ(windowStarts(50, cfg), a);
    // [0, numTokens - seqlen - 1] = [0, 41]; 500 draws reach both ends.
    EXPECT_EQ(*std::min_element(a.begin(), a.end()), 0);
    EXPECT_EQ(*std::max_element(a.begin(), a.end()), 41);
    cfg.seed = 4;
    EXPECT_NE(windowStarts(50, cfg), a);
    EXPECT_EQ(windowStarts(9, cfg), std::vector<int64_t>(500, 0));
    expectErrorNaming([&] { windowStarts(8, cfg); }, "random windows");
}

TEST_F(PerplexityTest, MatchesFloat64Reference)
{
    PerplexityConfig cfg;
    cfg.seqlen = 16;
    const auto r = evaluatePerplexity(*m_model, m_tokens, cfg);
    const auto ref = readWeightsAsDouble(m_dir.sub("model.safetensors"));
    const double expected = referenceMeanNll(m_config, ref, m_tokens, windowStarts(200, cfg), 16);
    // Logits agree with the reference to ~1e-6 of their scale (see tst_llama_forward); the
    // NLL is a log-sum-exp of them, so 1e-5 relative on the mean is a safe bound.
    EXPECT_NEAR(r.meanNll, expected, 1e-5 * expected);
    EXPECT_DOUBLE_EQ(r.perplexity, std::exp(r.meanNll));
    EXPECT_EQ(r.windows, 12);
    EXPECT_EQ(r.seqlen, 16);
    EXPECT_EQ(r.tokensInText, 200);
    EXPECT_EQ(r.tokensScored, 12 * 15);
    EXPECT_GT(r.seconds, 0);
    EXPECT_GT(r.tokensPerSecond, 0);
    // A trained model would be below; random weights are near log(V) but not equal.
    EXPECT_GT(std::abs(r.meanNll - std::log(100.0)), 1e-3);
}

TEST_F(PerplexityTest, RandomWindowsMatchReference)
{
    PerplexityConfig cfg;
    cfg.seqlen = 12;
    cfg.sampling = WindowSampling::Random;
    cfg.randomWindows = 5;
    cfg.seed = 9;
    const auto r = evaluatePerplexity(*m_model, m_tokens, cfg);
    const auto ref = readWeightsAsDouble(m_dir.sub("model.safetensors"));
    const double expected = referenceMeanNll(m_config, ref, m_tokens, windowStarts(200, cfg), 12);
    EXPECT_NEAR(r.meanNll, expected, 1e-5 * expected);
    EXPECT_EQ(r.windows, 5);
    EXPECT_EQ(r.tokensScored, 5 * 11);
}

TEST_F(PerplexityTest, BatchingDoesNotChangeTheResult)
{
    PerplexityConfig cfg;
    cfg.seqlen = 16;
    cfg.maxHiddenBytes = 1; // one window per batch
    const auto one = evaluatePerplexity(*m_model, m_tokens, cfg);
    cfg.maxHiddenBytes = 16 * 32 * 4 * 5; // five windows per batch, 3 batches
    const auto five = evaluatePerplexity(*m_model, m_tokens, cfg);
    cfg.maxHiddenBytes = 1ull << 30; // all at once
    const auto all = evaluatePerplexity(*m_model, m_tokens, cfg);
    // Only summation order differs (double accumulation of fp32 per-token NLLs).
    EXPECT_NEAR(one.perplexity, all.perplexity, 1e-6 * all.perplexity);
    EXPECT_NEAR(five.perplexity, all.perplexity, 1e-6 * all.perplexity);
}

TEST_F(PerplexityTest, ProgressReportsAndCancels)
{
    PerplexityConfig cfg;
    cfg.seqlen = 16;
    cfg.maxHiddenBytes = 16 * 32 * 4 * 5; // 3 batches
    std::vector<Progress> seen;
    evaluatePerplexity(*m_model, m_tokens, cfg, [&](const Progress& p) {
        seen.push_back(p);
        return true;
    });
    // Per batch: one report per block and one after scoring.
    ASSERT_EQ(seen.size(), 3u * (2 + 1));
    for (std::size_t i = 0; i < seen.size(); ++i) {
        EXPECT_EQ(seen[i].done, static_cast<long long>(i + 1));
        EXPECT_EQ(seen[i].total, 9);
        EXPECT_EQ(seen[i].stage, "perplexity");
    }
    int calls = 0;
    EXPECT_THROW(
        evaluatePerplexity(*m_model, m_tokens, cfg, [&](const Progress&) { return ++calls < 4; }),
        Cancelled);
    EXPECT_EQ(calls, 4);
}

TEST_F(PerplexityTest, TokenOutsideVocabularyIsAnError)
{
    auto tokens = m_tokens;
    tokens[57] = 100;
    PerplexityConfig cfg;
    cfg.seqlen = 16;
    expectErrorNaming([&] { evaluatePerplexity(*m_model, tokens, cfg); }, "vocabulary of 100");
    expectErrorNaming([&] { evaluatePerplexity(*m_model, tokens, cfg); }, "id 100");
    cfg.seqlen = 500;
    expectErrorNaming([&] { evaluatePerplexity(*m_model, m_tokens, cfg); }, "200 tokens");
}

TEST(Perplexity, ZeroModelIsUniform)
{
    // All-zero weights: every hidden state and logit is exactly 0, so each prediction is
    // uniform and PPL = V. fp32 log_softmax of zeros gives -log(V) to ~1e-7 relative.
    TempDir dir("ppl-zero");
    const ModelConfig c = tinyConfig();
    auto w = randomLlamaWeights(c, 1);
    for (auto& [name, t] : w)
        t.zero_();
    writeLlamaCheckpoint(dir.path(), c, w);
    Model model(Checkpoint::open(dir.path()));
    PerplexityConfig cfg;
    cfg.seqlen = 10;
    const auto r = evaluatePerplexity(model, randomTokens(50, 100, 2), cfg);
    EXPECT_NEAR(r.perplexity, 100.0, 1e-4 * 100.0);
}

TEST(Perplexity, NonFiniteLogitsAreAnError)
{
    TempDir dir("ppl-nan");
    const ModelConfig c = tinyConfig();
    auto w = randomLlamaWeights(c, 1);
    w["lm_head.weight"][3][5] = std::numeric_limits<float>::quiet_NaN();
    writeLlamaCheckpoint(dir.path(), c, w);
    Model model(Checkpoint::open(dir.path()));
    PerplexityConfig cfg;
    cfg.seqlen = 10;
    expectErrorNaming([&] { evaluatePerplexity(model, randomTokens(50, 100, 2), cfg); }, "NaN");
}

TEST(TokenizeTextFile, JoinsLinesAndReportsErrors)
{
    TempDir dir("ppl-text");
    writeSentencePieceTokenizer(dir.path(), {});
    const Tokenizer tok = Tokenizer::fromDir(dir.path());

    writeFile(dir.sub("text.txt"), " = Title = \n first line\n second line\n");
    EXPECT_EQ(tokenizeTextFile(tok, dir.sub("text.txt")),
              tok.encode(" = Title = \n\n first line\n\n second line", true));

    expectErrorNaming([&] { tokenizeTextFile(tok, dir.sub("absent.txt")); }, "absent.txt");
    writeFile(dir.sub("empty.txt"), "");
    expectErrorNaming([&] { tokenizeTextFile(tok, dir.sub("empty.txt")); }, "empty.txt");
    writeFile(dir.sub("bad.txt"), "fine\nbroken \xc3\x28 here\n");
    expectErrorNaming([&] { tokenizeTextFile(tok, dir.sub("bad.txt")); }, "line 2");
    expectErrorNaming([&] { tokenizeTextFile(tok, dir.sub("bad.txt")); }, "bad.txt");
}

// tokenizeTextFile keeps ids per (tokenizer fingerprint, text sha256): a second call on the
// same file gives the same ids, an edited file is encoded again, and a tokenizer whose
// config differs (no BOS) never receives the other tokenizer's cached ids.
TEST(TokenizeTextFile, CacheKeysOnTokenizerAndContent)
{
    ptq::test::TempDir dir("ptq-token-cache");
    const std::string bundled = std::string(PTQ_SOURCE_DIR) + "/resources/models/ptq-llama-0.7m";
    const Tokenizer withBos = Tokenizer::fromDir(bundled);
    std::filesystem::create_directory(dir.path() / "nobos");
    std::filesystem::copy_file(bundled + "/tokenizer.json", dir.path() / "nobos/tokenizer.json");
    ptq::test::writeFile(dir.file("nobos/tokenizer_config.json"),
                         R"({"add_bos_token": false, "bos_token": "<s>", "eos_token": "</s>"})");
    const Tokenizer noBos = Tokenizer::fromDir(dir.file("nobos"));
    EXPECT_NE(withBos.fingerprint(), noBos.fingerprint());
    EXPECT_EQ(withBos.fingerprint(), Tokenizer::fromDir(bundled).fingerprint());

    const std::string path = dir.file("text.txt");
    ptq::test::writeFile(path, "The quick brown fox.\nIt jumped over the lazy dog.\n");
    const auto first = tokenizeTextFile(withBos, path);
    EXPECT_EQ(first, withBos.encode("The quick brown fox.\n\nIt jumped over the lazy dog."));
    EXPECT_EQ(tokenizeTextFile(withBos, path), first);
    const auto other = tokenizeTextFile(noBos, path);
    ASSERT_EQ(other.size() + 1, first.size()); // the same ids without the leading BOS
    EXPECT_TRUE(std::equal(other.begin(), other.end(), first.begin() + 1));

    ptq::test::writeFile(path, "A different text entirely.\n");
    EXPECT_EQ(tokenizeTextFile(withBos, path), withBos.encode("A different text entirely."));
}
