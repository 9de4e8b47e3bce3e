// Mixture-of-Experts behaviour beyond the architecture loop (tst_architectures covers every
// row's forward against the float64 reference, its routing decisions and every strategy):
// calibration per expert (routed, all tokens, the starved-expert fallback), the router kept
// exact through folded scales, rotations and quantization, routing agreement against an
// independent count, the active-size accounting, the load-balancing loss, and the configs
// that are refused.

#include "core/llama_reference.h"

#include "engine/quantize.h"
#include "eval/kl.h"
#include "family/llama_train_model.h"
#include "model/checkpoint.h"
#include "model/checkpoint_writer.h"
#include "model/model.h"
#include "quant/block_activations.h"
#include "util/error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

using namespace ptq;
using namespace ptq::testing;

namespace {

constexpr int64_t kTokens = 8 * 32; // calibration: 8 windows of 32

// Two Mixtral layers of 4 experts (top-2) of width 64 over hidden 32.
ModelConfig mixtralConfig()
{
    ModelConfig c = tinyLlamaConfig(96, 64);
    c.modelType = "mixtral";
    c.moe.experts = 4;
    c.moe.expertsPerToken = 2;
    c.moe.expertWidth = 64;
    c.moe.auxLossCoef = 0.02;
    return c;
}

std::string routerKey(int64_t block)
{
    return "model.layers." + std::to_string(block) + ".block_sparse_moe.gate.weight";
}

// A checkpoint of the config. `starve` >= 0 makes sure no token ever chooses that expert:
// residual channel 0 is 50 for every token (the embedding's column, with nothing written to
// it by o_proj or any expert's down projection), so the normed input always has a large
// positive channel 0, and the expert's router weight there is -100.
std::string writeModel(const TempDir& dir, const ModelConfig& c, int64_t starve = -1)
{
    auto w = testWeights(c, 11, 4.0);
    if (starve >= 0) {
        w["model.embed_tokens.weight"].select(1, 0).fill_(50.0f);
        for (int64_t i = 0; i < c.numLayers; ++i) {
            const std::string p = "model.layers." + std::to_string(i) + ".";
            w[p + "self_attn.o_proj.weight"][0].zero_();
            for (int64_t e = 0; e < c.moe.experts; ++e)
                w[p + "block_sparse_moe.experts." + std::to_string(e) + ".w2.weight"][0].zero_();
            w[routerKey(i)][starve][0] = -100.0f;
        }
    }
    writeLlamaCheckpoint(dir.path(), c, w);
    return dir.path();
}

QuantizeConfig gptqConfig(int bits)
{
    QuantizeConfig qc;
    qc.recipe = Recipe::builtin("gptq");
    qc.recipe.weightGrid = QuantGrid{bits, false, 0, 1.0};
    qc.calibSamples = kTokens / 32;
    qc.calibSeqlen = 32;
    qc.seed = 3;
    return qc;
}

const std::vector<int32_t>& calibText()
{
    static const auto tokens = randomTokens(4000, 96, 17);
    return tokens;
}

bool mentions(const std::vector<std::string>& warnings, const std::string& text)
{
    for (const auto& w : warnings)
        if (w.find(text) != std::string::npos)
            return true;
    return false;
}

} // namespace

TEST(Moe, RoutedCalibrationRecordsTokensPerExpertAndFallsBackWhenStarved)
{
    const auto c = mixtralConfig();
    TempDir dir("moe-routed");
    const Model model(Checkpoint::open(writeModel(dir, c)));
    const QuantizeResult r = quantizeModel(model, calibText(), gptqConfig(4));
    for (int64_t block = 0; block < c.numLayers; ++block) {
        int64_t routedSum = 0;
        for (const auto& rec : r.layers) {
            if (rec.block != block)
                continue;
            if (rec.expert < 0) { // attention: every token, not routed
                EXPECT_EQ(rec.routedTokens, -1) << rec.layer;
                EXPECT_EQ(rec.calibTokens, kTokens) << rec.layer;
                continue;
            }
            EXPECT_NE(rec.layer.find("experts." + std::to_string(rec.expert) + "."),
                      std::string::npos);
            const int64_t width = rec.layer.find("w2") != std::string::npos ? 64 : 32;
            if (rec.routedTokens >= width) {
                EXPECT_EQ(rec.calibTokens, rec.routedTokens) << rec.layer;
            } else { // fewer routed tokens than inputs: every calibration token
                EXPECT_EQ(rec.calibTokens, kTokens) << rec.layer;
                EXPECT_TRUE(mentions(r.warnings, "expert " + std::to_string(rec.expert)));
            }
            if (rec.layer.find(".w1") != std::string::npos)
                routedSum += rec.routedTokens;
        }
        EXPECT_EQ(routedSum, kTokens * c.moe.expertsPerToken) << "block " << block;
    }

    // "all": every expert's statistics from every token; block 0 routes the same tokens.
    auto all = gptqConfig(4);
    all.recipe.expertCalibration = "all";
    const QuantizeResult ra = quantizeModel(model, calibText(), all);
    ASSERT_EQ(ra.layers.size(), r.layers.size());
    for (std::size_t i = 0; i < ra.layers.size(); ++i) {
        EXPECT_EQ(ra.layers[i].calibTokens, kTokens) << ra.layers[i].layer;
        if (ra.layers[i].block == 0) {
            EXPECT_EQ(ra.layers[i].routedTokens, r.layers[i].routedTokens);
        }
    }
    EXPECT_NE(all.recipe.canonical(), gptqConfig(4).recipe.canonical());
    EXPECT_EQ(gptqConfig(4).recipe.canonical().find("expert_calibration"), std::string::npos);
}

TEST(Moe, AnExpertNoTokenChoosesIsQuantizedFromAllTokensNotZeroed)
{
    const auto c = mixtralConfig();
    TempDir dir("moe-starved");
    const Model model(Checkpoint::open(writeModel(dir, c, 3)));
    const QuantizeResult r = quantizeModel(model, calibText(), gptqConfig(4));
    int starvedRows = 0;
    for (const auto& rec : r.layers) {
        if (rec.expert != 3)
            continue;
        ++starvedRows;
        EXPECT_EQ(rec.routedTokens, 0) << rec.layer;
        EXPECT_EQ(rec.calibTokens, kTokens) << rec.layer;
        // GPTQ at W4 per channel trades weight error for output error (0.32-0.36 measured on
        // these 32-wide rows); an all-zero weight, what a zero Hessian gives, is 1.0.
        EXPECT_LT(rec.relWeightError, 0.6) << rec.layer;
        EXPECT_TRUE(std::isfinite(rec.outputError)) << rec.layer;
    }
    EXPECT_EQ(starvedRows, 3 * c.numLayers);
    EXPECT_TRUE(mentions(r.warnings, "expert 3"));
    for (int64_t i = 0; i < c.numLayers; ++i) {
        const auto w = r.model->blockWeights(i);
        for (const auto& name : {"w1", "w2", "w3"}) {
            const auto t = w.at("block_sparse_moe.experts.3." + std::string(name));
            EXPECT_TRUE(torch::isfinite(t).all().item<bool>());
            EXPECT_GT(t.abs().max().item<double>(), 0.0);
        }
    }
}

TEST(Moe, TheRouterStaysExactUnlessTheRecipeQuantizesIt)
{
    const auto c = mixtralConfig();
    TempDir dir("moe-router");
    const Model model(Checkpoint::open(writeModel(dir, c)));
    auto qc = gptqConfig(3);
    qc.recipe = Recipe::builtin("rtn");
    qc.recipe.weightGrid = QuantGrid{3, false, 0, 1.0};
    const QuantizeResult plain = quantizeModel(model, calibText(), qc);
    qc.recipe.quantizeRouter = true;
    const QuantizeResult quantRouter = quantizeModel(model, calibText(), qc);
    EXPECT_EQ(quantRouter.layers.size(), plain.layers.size() + std::size_t(c.numLayers));
    for (int64_t i = 0; i < c.numLayers; ++i) {
        const auto original = model.loadBlock(i).at("block_sparse_moe.gate");
        EXPECT_TRUE(
            torch::equal(plain.model->blockWeights(i).at("block_sparse_moe.gate"), original));
        EXPECT_FALSE(
            torch::equal(quantRouter.model->blockWeights(i).at("block_sparse_moe.gate"), original));
    }
    // The quantized router is counted in the packed size, not at 16 bits.
    EXPECT_LT(quantRouter.packedBytes, plain.packedBytes);
}

// AWQ, SmoothQuant and OmniQuant fold a per-channel scale into the norm before the experts;
// the router reads that norm too, so it absorbs the scale as well (an exact consumer): its
// logits, and so every routing decision, are unchanged.
TEST(Moe, AScaleFoldedBeforeTheExpertsKeepsTheRouterLogits)
{
    const auto c = mixtralConfig();
    TempDir dir("moe-fold");
    const Model model(Checkpoint::open(writeModel(dir, c)));
    const BlockWeights w = model.loadBlock(0);
    const FoldPoint* fold = nullptr;
    for (const auto& f : w.layout->folds)
        if (!f.exactConsumers.empty())
            fold = &f;
    ASSERT_NE(fold, nullptr);
    EXPECT_EQ(fold->exactConsumers, std::vector<std::string>{"block_sparse_moe.gate"});
    const auto ids = torch::tensor({{3, 17, 42, 5, 88, 61, 0, 9, 33, 70, 12, 25}});
    const auto ctx = model.context(ids.size(1));
    const auto h = model.embed(ids);
    auto routerOf = [&](const BlockWeights& b, torch::Tensor& logits, torch::Tensor& experts) {
        RouterObserver route = [&](int64_t, const std::string&, const torch::Tensor& l,
                                   const torch::Tensor& e) {
            logits = l.clone();
            experts = e.clone();
        };
        BlockCall call;
        call.route = &route;
        model.blockForward(b, h, *ctx, call);
    };
    torch::Tensor l0, e0, l1, e1;
    routerOf(w, l0, e0);
    BlockWeights scaled = w.copy();
    torch::manual_seed(5);
    foldScale(scaled, *fold, torch::rand({c.hiddenSize}).mul_(4.0).add_(0.25));
    EXPECT_FALSE(
        torch::allclose(scaled.at("block_sparse_moe.gate"), w.at("block_sparse_moe.gate")));
    routerOf(scaled, l1, e1);
    EXPECT_LT((l1 - l0).abs().max().item<double>(), 1e-4 * l0.abs().max().item<double>());
    EXPECT_TRUE(torch::equal(e0, e1));
}

// Routing agreement against a count written here: each model's chosen sets per token from
// its own walk, compared as sets.
TEST(Moe, RoutingAgreementCountsTokensWhoseExpertSetIsKept)
{
    const auto c = mixtralConfig();
    TempDir dir("moe-agree");
    const Model fp(Checkpoint::open(writeModel(dir, c)));
    auto qc = gptqConfig(2);
    qc.recipe = Recipe::builtin("rtn");
    qc.recipe.weightGrid = QuantGrid{2, false, 0, 1.0};
    const Model q = quantizeModel(fp, calibText(), qc).model->model();
    const auto text = randomTokens(600, 96, 23);
    PerplexityConfig pc;
    pc.seqlen = 48;

    const KlResult self = evaluateKl(fp, fp, text, pc);
    EXPECT_DOUBLE_EQ(self.routingAgreement, 1.0);
    const KlResult kl = evaluateKl(fp, q, text, pc);
    ASSERT_EQ(kl.routingAgreementPerBlock.size(), std::size_t(c.numLayers));

    auto sets = [&](const Model& m) {
        std::map<int64_t, std::vector<std::set<int64_t>>> out;
        RouterObserver route = [&](int64_t block, const std::string&, const torch::Tensor&,
                                   const torch::Tensor& e) {
            for (int64_t t = 0; t < e.size(0); ++t) {
                std::set<int64_t> s;
                for (int64_t j = 0; j < e.size(1); ++j)
                    s.insert(e[t][j].item<int64_t>());
                out[block].push_back(s);
            }
        };
        const auto starts = windowStarts(int64_t(text.size()), pc);
        auto ids = torch::empty({int64_t(starts.size()), pc.seqlen}, torch::kLong);
        for (std::size_t b = 0; b < starts.size(); ++b)
            for (int64_t t = 0; t < pc.seqlen; ++t)
                ids[int64_t(b)][t] = text[std::size_t(starts[b] + t)];
        m.hidden(ids, *m.context(pc.seqlen), {}, &route);
        return out;
    };
    const auto a = sets(fp), b = sets(q);
    int64_t same = 0, total = 0;
    for (int64_t block = 0; block < c.numLayers; ++block) {
        int64_t sameHere = 0;
        const auto& x = a.at(block);
        const auto& y = b.at(block);
        ASSERT_EQ(x.size(), y.size());
        for (std::size_t t = 0; t < x.size(); ++t)
            sameHere += x[t] == y[t];
        EXPECT_DOUBLE_EQ(kl.routingAgreementPerBlock[std::size_t(block)],
                         double(sameHere) / double(x.size()));
        same += sameHere;
        total += int64_t(x.size());
    }
    EXPECT_DOUBLE_EQ(kl.routingAgreement, double(same) / double(total));
    EXPECT_LT(kl.routingAgreement, 1.0); // W2 moves some tokens to other experts
    EXPECT_GT(kl.routingAgreement, 0.0);

    // A dense model has no routing to agree on.
    ModelConfig dense = tinyLlamaConfig(96, 64);
    TempDir denseDir("moe-dense");
    writeLlamaCheckpoint(denseDir.path(), dense, testWeights(dense, 3, 4.0));
    const Model d(Checkpoint::open(denseDir.path()));
    EXPECT_TRUE(std::isnan(evaluateKl(d, d, text, pc).routingAgreement));
}

TEST(Moe, ActiveSizeCountsKOfTheExperts)
{
    const auto c = mixtralConfig();
    // Per layer the 4 experts hold 3 x 32 x 64 weights each; a token uses 2.
    const int64_t unused = c.numLayers * 2 * 3 * 32 * 64;
    EXPECT_EQ(c.parameterCount() - c.activeParameterCount(), unused);
    TempDir dir("moe-size");
    const Model model(Checkpoint::open(writeModel(dir, c)));
    const QuantizeResult r = quantizeModel(model, calibText(), gptqConfig(4));
    uint64_t expertBytes = 0;
    for (const auto& rec : r.layers)
        if (rec.expert >= 0)
            expertBytes += rec.bytes;
    EXPECT_NEAR(double(r.packedBytes - r.activePackedBytes), double(expertBytes) / 2.0, 1.0);
}

// transformers' load_balancing_loss_func, written out: over the router logits of every layer
// concatenated, E * sum_e (share of top-k assignments to e, per slot) * (mean probability of e).
TEST(Moe, TrainingAddsTheLoadBalancingLoss)
{
    ModelConfig c = mixtralConfig();
    c.numLayers = 2;
    LlamaTrainModel model(c, 7);
    const auto windows = torch::randint(0, c.vocabSize, {2, 17}, torch::kLong);
    auto [objective, nll] = model.trainingLoss(windows);
    EXPECT_NEAR(nll.item<double>(), model.loss(windows).item<double>(), 1e-6);

    std::vector<torch::Tensor> logits;
    RouterObserver route = [&](int64_t, const std::string&, const torch::Tensor& l,
                               const torch::Tensor&) { logits.push_back(l.detach()); };
    {
        torch::NoGradGuard noGrad;
        model.forward(windows.narrow(1, 0, 16), &route);
    }
    const auto all = torch::cat(logits, 0).to(torch::kDouble);
    const int64_t n = all.size(0), e = c.moe.experts, k = c.moe.expertsPerToken;
    std::vector<double> share(std::size_t(k * e), 0.0), prob(std::size_t(e), 0.0);
    for (int64_t t = 0; t < n; ++t) {
        std::vector<double> p(static_cast<std::size_t>(e));
        double z = 0;
        for (int64_t j = 0; j < e; ++j)
            z += p[std::size_t(j)] = std::exp(all[t][j].item<double>());
        std::vector<int64_t> order(static_cast<std::size_t>(e));
        for (int64_t j = 0; j < e; ++j)
            order[std::size_t(j)] = j, prob[std::size_t(j)] += p[std::size_t(j)] / z / double(n);
        std::sort(order.begin(), order.end(),
                  [&](int64_t a, int64_t b) { return p[std::size_t(a)] > p[std::size_t(b)]; });
        for (int64_t slot = 0; slot < k; ++slot)
            share[std::size_t(slot * e + order[std::size_t(slot)])] += 1.0 / double(n);
    }
    double balance = 0;
    for (int64_t slot = 0; slot < k; ++slot)
        for (int64_t j = 0; j < e; ++j)
            balance += share[std::size_t(slot * e + j)] * prob[std::size_t(j)];
    balance *= double(e);
    EXPECT_NEAR(objective.item<double>() - nll.item<double>(), c.moe.auxLossCoef * balance, 1e-6);

    objective.backward(); // the balance term reaches the routers
    for (const auto& [name, p] : model.namedParameters())
        if (name.find("block_sparse_moe.gate") != std::string::npos) {
            ASSERT_TRUE(p.grad().defined()) << name;
            EXPECT_GT(p.grad().abs().max().item<double>(), 0.0) << name;
        }
}

TEST(Moe, UnsupportedVariantsAreRefusedNamingTheKey)
{
    auto refused = [](const std::string& json, const std::string& key) {
        try {
            ModelConfig::fromJson(json, "config.json");
            ADD_FAILURE() << "accepted: " << json;
        } catch (const Error& e) {
            const std::string what = e.what();
            EXPECT_NE(what.find("config.json"), std::string::npos) << what;
            EXPECT_NE(what.find(key), std::string::npos) << what;
        }
    };
    const std::string base = R"("vocab_size": 64, "hidden_size": 32, "num_hidden_layers": 2,
        "intermediate_size": 48, "num_attention_heads": 4, "num_experts_per_tok": 2)";
    refused(R"({"model_type": "deepseek_v2", "kv_lora_rank": 512, )" + base + "}", "kv_lora_rank");
    refused(R"({"model_type": "deepseek", "n_routed_experts": 8, "moe_intermediate_size": 16,
               "topk_method": "group_limited_greedy", )" +
                base + "}",
            "topk_method");
    refused(R"({"model_type": "deepseek", "n_routed_experts": 8, "moe_intermediate_size": 16,
               "n_group": 4, )" +
                base + "}",
            "n_group");
    refused(R"({"model_type": "deepseek", "n_routed_experts": 8, "moe_intermediate_size": 16,
               "scoring_func": "sigmoid", )" +
                base + "}",
            "scoring_func");
    refused(R"({"model_type": "mixtral", "num_local_experts": 1, )" + base + "}",
            "num_experts_per_tok");
    refused(R"({"model_type": "qwen2_moe", "num_experts": 4, "moe_intermediate_size": 16,
               "shared_expert_intermediate_size": 32, "mlp_only_layers": "all", )" +
                base + "}",
            "mlp_only_layers");
    // The DeepSeekMoE 16B layout is read as released.
    const auto ds = ModelConfig::fromJson(
        R"({"model_type": "deepseek", "n_routed_experts": 64, "n_shared_experts": 2,
            "moe_intermediate_size": 16, "first_k_dense_replace": 1, "moe_layer_freq": 1,
            "norm_topk_prob": false, "scoring_func": "softmax", )" +
            base + "}",
        "config.json");
    EXPECT_EQ(ds.moe.sharedWidth, 32);
    EXPECT_FALSE(ds.isMoeLayer(0));
    EXPECT_TRUE(ds.isMoeLayer(1));
    EXPECT_FALSE(ds.moe.normalizeTopK);
}
