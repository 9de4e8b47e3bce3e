// KL(P_fp || P_q) evaluation: zero for a model against itself, and equal to a float64 hand
// computation from the two models' logits for a perturbed pair.

#include "core/llama_reference.h"

#include "eval/kl.h"
#include "eval/perplexity.h"
#include "model/checkpoint.h"
#include "model/checkpoint_writer.h"
#include "model/model.h"
#include "util/error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace ptq;
using namespace ptq::testing;

namespace {

ModelConfig tinyConfig()
{
    ModelConfig c = tinyLlamaConfig(80, 48);
    c.rmsNormEps = ModelConfig{}.rmsNormEps;
    return c;
}

// log-softmax of one row of logits, in float64.
std::vector<double> logSoftmax(const torch::Tensor& row)
{
    const int64_t v = row.size(0);
    std::vector<double> out(v);
    double mx = -INFINITY;
    for (int64_t i = 0; i < v; ++i)
        mx = std::max(mx, double(row[i].item<float>()));
    double sum = 0;
    for (int64_t i = 0; i < v; ++i)
        sum += std::exp(double(row[i].item<float>()) - mx);
    for (int64_t i = 0; i < v; ++i)
        out[i] = double(row[i].item<float>()) - mx - std::log(sum);
    return out;
}

class KlTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        m_config = tinyConfig();
        auto w = randomLlamaWeights(m_config, 11);
        // Larger embeddings and head than the 0.02 default so the distributions are peaked
        // enough for top-1 disagreements to be possible.
        w["model.embed_tokens.weight"] *= 50;
        w["lm_head.weight"] *= 50;
        writeLlamaCheckpoint(m_dirA.path(), m_config, w);
        torch::manual_seed(3);
        for (auto& [name, t] : w)
            if (name.find("proj") != std::string::npos || name == "lm_head.weight")
                t = t + 0.2 * t.std() * torch::randn_like(t);
        writeLlamaCheckpoint(m_dirB.path(), m_config, w);
        m_a = std::make_unique<Model>(Checkpoint::open(m_dirA.path()));
        m_b = std::make_unique<Model>(Checkpoint::open(m_dirB.path()));
        m_tokens = randomTokens(300, int32_t(m_config.vocabSize), 5);
    }

    TempDir m_dirA{"kl-a"}, m_dirB{"kl-b"};
    ModelConfig m_config;
    std::unique_ptr<Model> m_a, m_b;
    std::vector<int32_t> m_tokens;
};

} // namespace

TEST_F(KlTest, ModelAgainstItselfIsZero)
{
    PerplexityConfig pc;
    pc.seqlen = 32;
    const auto r = evaluateKl(*m_a, *m_a, m_tokens, pc);
    EXPECT_EQ(r.windows, 9);
    EXPECT_EQ(r.tokensScored, 9 * 31);
    EXPECT_NEAR(r.meanKl, 0.0, 1e-12);
    EXPECT_DOUBLE_EQ(r.top1Agreement, 1.0);
    EXPECT_DOUBLE_EQ(r.fpPerplexity, r.quantPerplexity);
    const auto ppl = evaluatePerplexity(*m_a, m_tokens, pc);
    // evaluatePerplexity takes the log-softmax in float32, KL in float64: ~1e-7 relative.
    EXPECT_NEAR(r.fpPerplexity, ppl.perplexity, 1e-5 * ppl.perplexity);
}

TEST_F(KlTest, MatchesAFloat64HandComputation)
{
    PerplexityConfig pc;
    pc.seqlen = 25;
    pc.maxWindows = 4;
    // One window per batch, as forward() below runs them: the float32 logits are then the
    // same operations on both sides, and only the float64 KL arithmetic is compared.
    pc.maxHiddenBytes = 1;
    const auto r = evaluateKl(*m_a, *m_b, m_tokens, pc);

    double kl = 0, nllA = 0, nllB = 0;
    int64_t agree = 0, count = 0;
    for (int64_t w = 0; w < 4; ++w) {
        std::vector<int64_t> ids(m_tokens.begin() + w * 25, m_tokens.begin() + (w + 1) * 25);
        auto x = torch::tensor(ids).view({1, 25});
        auto la = m_a->forward(x)[0], lb = m_b->forward(x)[0]; // (T,V) fp32
        for (int64_t t = 0; t + 1 < 25; ++t) {
            const auto pa = logSoftmax(la[t]), pb = logSoftmax(lb[t]);
            for (std::size_t v = 0; v < pa.size(); ++v)
                kl += std::exp(pa[v]) * (pa[v] - pb[v]);
            nllA -= pa[ids[t + 1]];
            nllB -= pb[ids[t + 1]];
            agree += la[t].argmax().item<int64_t>() == lb[t].argmax().item<int64_t>();
            ++count;
        }
    }
    ASSERT_EQ(r.tokensScored, count);
    EXPECT_GT(kl / count, 1e-4); // the perturbation is visible
    // Same float32 logits on both sides, both log-softmaxes in float64: 1e-6 relative.
    EXPECT_NEAR(r.meanKl, kl / count, 1e-6 * kl / count);
    EXPECT_NEAR(r.fpPerplexity, std::exp(nllA / count), 1e-6 * std::exp(nllA / count));
    EXPECT_NEAR(r.quantPerplexity, std::exp(nllB / count), 1e-6 * std::exp(nllB / count));
    EXPECT_DOUBLE_EQ(r.top1Agreement, double(agree) / count);
    EXPECT_LT(r.top1Agreement, 1.0);
}

TEST_F(KlTest, MismatchedModelsAreRejected)
{
    auto c = m_config;
    c.vocabSize = 81;
    TempDir dir("kl-c");
    writeLlamaCheckpoint(dir.path(), c, randomLlamaWeights(c, 1));
    Model other(Checkpoint::open(dir.path()));
    PerplexityConfig pc;
    pc.seqlen = 32;
    EXPECT_THROW(evaluateKl(*m_a, other, m_tokens, pc), ptq::Error);
}
