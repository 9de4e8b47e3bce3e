// Sweeps on tiny random checkpoints with a byte tokenizer and generated text: spec parsing
// and its error messages, expansion, a sweep run and skipped on the second call, cancel and
// resume against an uninterrupted sweep, a failing run among good ones, and the stored
// numbers against the quantization and evaluation functions called directly.

#include "core/llama_reference.h"
#include "core/test_files.h"

#include "engine/quantize.h"
#include "engine/sweep.h"
#include "engine/threads.h"
#include "eval/kl.h"
#include "eval/perplexity.h"
#include "eval/zeroshot.h"
#include "model/checkpoint.h"
#include "model/checkpoint_writer.h"
#include "model/model.h"
#include "store/results_store.h"
#include "text/tokenizer.h"
#include "text/tokenizer_writer.h"
#include "util/error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

using namespace ptq;
using namespace ptq::testing;
using json = nlohmann::json;
using ptq::test::expectPtqError;
using ptq::test::writeFile;

namespace {

// A byte tokenizer has 260 ids (<unk>, <s>, </s>, 256 bytes, "\u2581").
constexpr int64_t kVocab = 260;

std::string generatedText(uint32_t seed, int lines)
{
    static const char* words[] = {"the",  "model", "weights", "are",   "rounded", "to",
                                  "a",    "grid",  "of",      "four",  "bits",    "and",
                                  "then", "error", "is",      "small", "large",   "block"};
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> pick(0, int(std::size(words)) - 1);
    std::string text;
    for (int l = 0; l < lines; ++l) {
        for (int w = 0; w < 10; ++w)
            text += std::string(w ? " " : "") + words[pick(rng)];
        text += ".\n";
    }
    return text;
}

void writeModel(const std::string& dir, uint64_t seed)
{
    const ModelConfig c = tinyLlamaConfig(kVocab, 64);
    writeLlamaCheckpoint(dir, c, randomLlamaWeights(c, seed));
    writeSentencePieceTokenizer(dir, {});
}

class SweepTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        writeModel(m_dir.file("tiny"), 7);
        writeFile(m_dir.file("calib.txt"), generatedText(1, 40));
        writeFile(m_dir.file("eval.txt"), generatedText(2, 40));
        std::string task;
        for (int i = 0; i < 6; ++i)
            task += json{{"context", "the model weights are"},
                         {"choices", {" rounded", " large block", " of"}},
                         {"gold", i % 3}}
                        .dump() +
                    "\n";
        writeFile(m_dir.file("task.jsonl"), task);
    }

    json specJson() const
    {
        return {{"models", {"tiny"}},
                {"recipes", {"rtn", "gptq"}},
                {"wbits", {3, 4}},
                {"groups", {16}},
                {"calib", {{"path", "calib.txt"}, {"samples", 4}, {"seqlen", 32}}},
                {"eval",
                 {{"texts", {"eval.txt"}},
                  {"seqlen", 32},
                  {"windows", 4},
                  {"tasks", {{{"path", "task.jsonl"}, {"layout", "generic"}}}}}},
                {"seed", 3},
                {"threads", 1}};
    }

    SweepSpec spec(const json& j) const
    {
        return SweepSpec::fromJson(j, m_dir.file("spec.json"), m_dir.path().string());
    }

    ptq::test::TempDir m_dir{"sweep"};
};

using MetricMap = std::map<std::pair<std::string, std::string>, double>;

MetricMap metricMap(const RunRecord& r)
{
    MetricMap out;
    for (const auto& m : r.metrics)
        out[{m.name, m.datasetSha256}] = m.value;
    return out;
}

void expectSameLayers(const ResultsStore& a, int64_t ida, const ResultsStore& b, int64_t idb)
{
    const auto la = a.layerErrors(ida), lb = b.layerErrors(idb);
    ASSERT_EQ(la.size(), lb.size());
    for (std::size_t i = 0; i < la.size(); ++i) {
        EXPECT_EQ(la[i].block, lb[i].block);
        EXPECT_EQ(la[i].layer, lb[i].layer);
        EXPECT_EQ(la[i].relWeightError, lb[i].relWeightError) << la[i].layer;
        EXPECT_EQ(la[i].outputError, lb[i].outputError) << la[i].layer;
        EXPECT_EQ(la[i].methodLoss, lb[i].methodLoss) << la[i].layer;
        EXPECT_EQ(la[i].maxAbsError, lb[i].maxAbsError) << la[i].layer;
        EXPECT_EQ(la[i].bytes, lb[i].bytes) << la[i].layer;
    }
}

} // namespace

TEST_F(SweepTest, UnknownKeysAndBadTypesNameTheFileAndKey)
{
    const std::string file = m_dir.file("spec.json");
    json j = specJson();
    j["modles"] = {"tiny"};
    expectPtqError([&] { spec(j); }, file, "modles");
    expectPtqError([&] { spec(j); }, file, "unknown key");

    j = specJson();
    j["calib"]["smaples"] = 4;
    expectPtqError([&] { spec(j); }, file, "calib.smaples");
    j = specJson();
    j["eval"]["tasks"][0]["layuot"] = "piqa";
    expectPtqError([&] { spec(j); }, file, "eval.tasks[0].layuot");

    j = specJson();
    j["wbits"] = "4";
    expectPtqError([&] { spec(j); }, file, "wbits: must be a list");
    j["wbits"] = {4, "3"};
    expectPtqError([&] { spec(j); }, file, "wbits[1]: must be an integer");
    j = specJson();
    j["calib"]["seqlen"] = 1.5;
    expectPtqError([&] { spec(j); }, file, "calib.seqlen");
    j = specJson();
    j.erase("models");
    expectPtqError([&] { spec(j); }, file, "models");
    j = specJson();
    j["eval"] = {{"texts", json::array()}};
    expectPtqError([&] { spec(j); }, file, "at least one text or task");

    writeFile(file, "{\"models\": [\"tiny\"],");
    expectPtqError([&] { SweepSpec::fromFile(file); }, file, "not valid JSON");
    writeFile(file, specJson().dump());
    const SweepSpec s = SweepSpec::fromFile(file);
    EXPECT_EQ(s.models, std::vector<std::string>{m_dir.file("tiny")}); // relative to the file
    EXPECT_EQ(s.calib.samples, 4);
    EXPECT_EQ(s.eval.tasks.at(0).path, m_dir.file("task.jsonl"));
}

TEST_F(SweepTest, ProblemsAreListedBeforeAnythingRuns)
{
    const std::string file = m_dir.file("spec.json");
    json j = specJson();
    j["models"] = {"tiny", "missing-model"};
    expectPtqError([&] { planSweep(spec(j)); }, "missing-model", "no such folder");

    // hidden 32 and intermediate 64: 24 and 48 divide neither; 9 bits is off the grid.
    j = specJson();
    j["groups"] = {16, 24, 48};
    try {
        planSweep(spec(j));
        ADD_FAILURE() << "no error for groups 24 and 48";
    } catch (const Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find(file), std::string::npos) << what;
        EXPECT_NE(what.find("group size 24 does not divide"), std::string::npos) << what;
        EXPECT_NE(what.find("group size 48 does not divide"), std::string::npos) << what;
        EXPECT_NE(what.find("nothing was run"), std::string::npos) << what;
    }
    j = specJson();
    j["wbits"] = {4, 9};
    j["kvbits"] = {1};
    j["recipes"] = {"rtn", "no-such-recipe"};
    try {
        planSweep(spec(j));
        ADD_FAILURE() << "no error for wbits 9";
    } catch (const Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("wbits 9 is outside 2..8"), std::string::npos) << what;
        EXPECT_NE(what.find("kvbits 1 is outside 2..8"), std::string::npos) << what;
        EXPECT_NE(what.find("no-such-recipe"), std::string::npos) << what;
    }

    // A store given a bad sweep holds no runs afterwards.
    ResultsStore store(m_dir.file("results.db"));
    EXPECT_THROW(runSweep(store, spec(j)), Error);
    EXPECT_TRUE(store.listRuns().empty());
}

TEST_F(SweepTest, ExpansionIsTheCrossProductInOrder)
{
    writeModel(m_dir.file("tiny2"), 8);
    json j = specJson();
    j["models"] = {"tiny", "tiny2"};
    j["wbits"] = {2, 3, 4};
    j["groups"] = {0, 16};
    j["abits"] = {16, 8};
    j["kvbits"] = {16};
    const auto runs = expandSweep(spec(j));
    ASSERT_EQ(runs.size(), 2u * 2 * 3 * 2 * 2 * 1);
    EXPECT_EQ(runs[0].label, "tiny rtn w2 per-channel");
    EXPECT_EQ(runs[1].label, "tiny rtn w2 per-channel a8");
    EXPECT_EQ(runs[2].label, "tiny rtn w2 g16");
    EXPECT_EQ(runs[24].label, "tiny2 rtn w2 per-channel");
    EXPECT_EQ(runs[1].request.recipe.activations->bits, 8);
    EXPECT_FALSE(runs[0].request.recipe.activations.has_value());
    EXPECT_EQ(runs[5].request.recipe.weightGrid.bits, 3);

    const auto plan = planSweep(spec(j));
    EXPECT_EQ(plan.size(), runs.size());
    j["models"] = {"tiny", "tiny"}; // one folder twice: its runs are planned once
    EXPECT_EQ(planSweep(spec(j)).size(), runs.size() / 2);
}

TEST_F(SweepTest, RunsAllThenSkipsAllAndMatchesDirectCalls)
{
    ResultsStore store(m_dir.file("results.db"));
    const SweepSpec s = spec(specJson());
    const SweepCounts first = runSweep(store, s);
    EXPECT_EQ(first.done, 4);
    EXPECT_EQ(first.failed, 0);
    const auto runs = store.listRuns();
    ASSERT_EQ(runs.size(), 4u);
    for (const auto& r : runs) {
        EXPECT_EQ(r.status, RunStatus::Done);
        EXPECT_EQ(r.metrics.size(), 10u) << r.spec.recipeName; // 5 text, 2 task, 3 size
        EXPECT_EQ(store.layerErrors(r.id).size(), 14u);
        EXPECT_EQ(store.blockErrors(r.id).size(), 2u);
    }
    const SweepCounts second = runSweep(store, s);
    EXPECT_EQ(second.done, 0);
    EXPECT_EQ(second.skipped, 4);

    // The gptq w3 run against quantizeModel + evaluatePerplexity + evaluateZeroShot called
    // directly. Same code and inputs give the same floats; perplexity comes from another
    // routine than the KL pass (float64 log-softmax there, fp32 here), so 1e-6 relative.
    const auto plan = planSweep(s);
    const PlannedRun& p = plan[2];
    ASSERT_EQ(p.label, "tiny gptq w3 g16");
    const auto rec = store.findRun(p.fingerprint);
    ASSERT_TRUE(rec.has_value());
    const MetricMap metrics = metricMap(*rec);
    setEngineThreads(1);
    Model model(Checkpoint::open(m_dir.file("tiny")));
    const Tokenizer tok = Tokenizer::fromDir(m_dir.file("tiny"));
    QuantizeConfig qc;
    qc.recipe = p.request.recipe;
    qc.calibTextPath = m_dir.file("calib.txt");
    qc.calibSamples = 4;
    qc.calibSeqlen = 32;
    qc.seed = 3;
    const QuantizeResult q = quantizeModel(model, tok, qc);
    PerplexityConfig pc;
    pc.seqlen = 32;
    pc.maxWindows = 4;
    const auto tokens = tokenizeTextFile(tok, m_dir.file("eval.txt"));
    const std::string evalSha = fileSha256(m_dir.file("eval.txt"));
    const double pplQ = evaluatePerplexity(q.model->model(), tokens, pc).perplexity;
    const double pplFp = evaluatePerplexity(model, tokens, pc).perplexity;
    EXPECT_NEAR(metrics.at({"perplexity", evalSha}), pplQ, 1e-6 * pplQ);
    EXPECT_NEAR(metrics.at({"perplexity_fp", evalSha}), pplFp, 1e-6 * pplFp);
    EXPECT_GT(metrics.at({"kl_mean", evalSha}), 0.0);
    EXPECT_GE(metrics.at({"kl_max", evalSha}), metrics.at({"kl_mean", evalSha}));
    EXPECT_EQ(metrics.at({"bits_per_weight", ""}), q.bitsPerWeight);
    EXPECT_EQ(metrics.at({"packed_bytes", ""}), double(q.packedBytes));
    EXPECT_EQ(rec->packedBytes, q.packedBytes);
    const Task task = loadTask(m_dir.file("task.jsonl"), taskPreset("generic"));
    const ZeroShotResult zs = evaluateZeroShot(q.model->model(), tok, task);
    const std::string taskSha = fileSha256(m_dir.file("task.jsonl"));
    EXPECT_EQ(metrics.at({"acc", taskSha}), zs.acc);
    EXPECT_EQ(metrics.at({"acc_norm", taskSha}), zs.accNorm);
    const auto layers = store.layerErrors(rec->id);
    ASSERT_EQ(layers.size(), q.layers.size());
    for (std::size_t i = 0; i < layers.size(); ++i) {
        EXPECT_EQ(layers[i].layer, q.layers[i].layer);
        EXPECT_EQ(layers[i].outputError, q.layers[i].outputError) << q.layers[i].layer;
        EXPECT_EQ(layers[i].bits, 3);
        EXPECT_EQ(layers[i].groupSize, 16);
    }
}

TEST_F(SweepTest, CancelThenResumeEqualsAnUninterruptedSweep)
{
    const SweepSpec s = spec(specJson());
    ResultsStore reference(m_dir.file("reference.db"));
    ASSERT_EQ(runSweep(reference, s).done, 4);

    ResultsStore store(m_dir.file("resumed.db"));
    int finished = 0;
    SweepOptions options;
    options.onEvent = [&](const SweepEvent& e) { finished += e.kind == SweepEvent::Kind::Done; };
    // Cancels as soon as the second run reports progress.
    const SweepCounts c = runSweep(
        store, s, [&](const Progress&) { return finished < 1; }, options);
    EXPECT_EQ(c.done, 1);
    EXPECT_EQ(c.cancelled, 1);
    const auto plan = planSweep(s);
    EXPECT_EQ(store.findRun(plan[0].fingerprint)->status, RunStatus::Done);
    EXPECT_EQ(store.findRun(plan[1].fingerprint)->status, RunStatus::Cancelled);
    EXPECT_EQ(store.findRun(plan[2].fingerprint)->status, RunStatus::Queued);

    const SweepCounts resumed = runSweep(store, s);
    EXPECT_EQ(resumed.skipped, 1);
    EXPECT_EQ(resumed.done, 3);
    for (const auto& p : plan) {
        const auto a = reference.findRun(p.fingerprint), b = store.findRun(p.fingerprint);
        ASSERT_TRUE(a && b);
        EXPECT_EQ(b->status, RunStatus::Done);
        EXPECT_EQ(metricMap(*a), metricMap(*b)) << p.label; // bit-identical
        expectSameLayers(reference, a->id, store, b->id);
    }
}

TEST_F(SweepTest, AFailingRunIsRecordedAndTheOthersComplete)
{
    writeModel(m_dir.file("broken"), 9);
    writeFile(m_dir.file("broken") + "/tokenizer.json", "{\"model\": [1, 2");
    json j = specJson();
    j["models"] = {"broken", "tiny"};
    j["recipes"] = {"rtn"};
    j["wbits"] = {4};
    ResultsStore store(m_dir.file("results.db"));
    std::vector<std::string> failures;
    SweepOptions options;
    options.onEvent = [&](const SweepEvent& e) {
        if (e.kind == SweepEvent::Kind::Failed)
            failures.push_back(e.error);
    };
    const SweepCounts c = runSweep(store, spec(j), {}, options);
    EXPECT_EQ(c.failed, 1);
    EXPECT_EQ(c.done, 1);
    ASSERT_EQ(failures.size(), 1u);
    const auto plan = planSweep(spec(j));
    const auto bad = store.findRun(plan[0].fingerprint);
    const auto good = store.findRun(plan[1].fingerprint);
    ASSERT_TRUE(bad && good);
    EXPECT_EQ(bad->status, RunStatus::Failed);
    EXPECT_NE(bad->error.find("tokenizer.json"), std::string::npos) << bad->error;
    EXPECT_EQ(bad->error, failures[0]);
    EXPECT_TRUE(bad->metrics.empty());
    EXPECT_EQ(good->status, RunStatus::Done);

    // Failed runs stay failed unless retried.
    EXPECT_EQ(runSweep(store, spec(j)).skipped, 2);
    SweepOptions retry;
    retry.retryFailed = true;
    const SweepCounts again = runSweep(store, spec(j), {}, retry);
    EXPECT_EQ(again.failed, 1);
    EXPECT_EQ(again.skipped, 1);
}
