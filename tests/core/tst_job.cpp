// The job facade the GUI drives (engine/job.h) on the bundled 0.7M-parameter Llama: the
// strategy catalog against the recipe table, prepare + execute into a real SQLite file,
// cancel and interrupt, resuming a stored run from its record, and the time estimate.

#include "core/test_files.h"

#include "engine/job.h"
#include "quant/recipe.h"
#include "store/results_store.h"
#include "util/error.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

using namespace ptq;
using ptq::test::expectPtqError;
using ptq::test::TempDir;

namespace {

const std::string kModelDir = PTQ_SOURCE_DIR "/resources/models/ptq-llama-0.7m";
const std::string kSampleText = PTQ_SOURCE_DIR "/resources/data/sample_text.txt";

class JobTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        std::filesystem::copy_file(kSampleText, m_dir.file("calib.txt"));
        // Different bytes: the store keys datasets by content, so two copies would be one.
        std::filesystem::copy_file(kSampleText, m_dir.file("eval.txt"));
        std::ofstream(m_dir.file("eval.txt"), std::ios::app) << "\nThe end.\n";
        m_store = std::make_unique<ResultsStore>(m_dir.file("results.db"));
    }

    // Small enough to run in well under a second: 4 x 64 calibration tokens, 2 windows of 64.
    JobSpec tinyJob(const std::string& recipe = "rtn", uint64_t seed = 0) const
    {
        JobSpec j;
        j.modelDir = kModelDir;
        j.recipe = recipe;
        j.wbits = 4;
        j.groupSize = 32;
        j.calibPath = m_dir.file("calib.txt");
        j.calibSamples = 4;
        j.calibSeqlen = 64;
        j.evalTexts = {m_dir.file("eval.txt")};
        j.evalSeqlen = 64;
        j.evalWindows = 2;
        j.seed = seed;
        return j;
    }

    PreparedJob prepareOne(const JobSpec& job)
    {
        const auto prepared = prepareJobs(*m_store, {job});
        EXPECT_EQ(prepared.size(), 1u);
        return prepared.at(0);
    }

    RunStatus statusOf(int64_t runId) const { return m_store->run(runId).value().status; }

    TempDir m_dir{"ptq-job"};
    std::unique_ptr<ResultsStore> m_store;
};

} // namespace

TEST(StrategyCatalog, CoversEveryBuiltinRecipe)
{
    const auto& catalog = strategyCatalog();
    ASSERT_EQ(catalog.size(), Recipe::builtinNames().size());
    const std::set<std::string> classes = {"baseline", "compensation", "rotation",
                                           "salience", "optimization", "combination"};
    for (std::size_t i = 0; i < catalog.size(); ++i) {
        const StrategyInfo& s = catalog[i];
        EXPECT_EQ(s.name, Recipe::builtinNames()[i]);
        EXPECT_TRUE(classes.count(s.taxonomyClass)) << s.name << ": " << s.taxonomyClass;
        EXPECT_FALSE(s.description.empty()) << s.name;
        EXPECT_EQ(s.description.find('\n'), std::string::npos) << s.name;
        EXPECT_FALSE(s.methods.empty()) << s.name;
    }
    auto find = [&](const std::string& name) {
        for (const auto& s : catalog)
            if (s.name == name)
                return s;
        ADD_FAILURE() << name << " missing";
        return StrategyInfo{};
    };
    EXPECT_EQ(find("rtn").taxonomyClass, "baseline");
    EXPECT_EQ(find("gptq").taxonomyClass, "compensation");
    EXPECT_EQ(find("quarot-rtn").taxonomyClass, "rotation");
    EXPECT_EQ(find("awq").taxonomyClass, "salience");
    EXPECT_EQ(find("omniquant").taxonomyClass, "optimization");
    const StrategyInfo combo = find("quarot-gptq");
    EXPECT_EQ(combo.taxonomyClass, "combination");
    EXPECT_EQ(combo.methods, (std::vector<std::string>{"quarot", "gptq"}));
    EXPECT_NE(combo.description.find("QuaRot"), std::string::npos) << combo.description;
    EXPECT_NE(combo.description.find("GPTQ"), std::string::npos) << combo.description;
}

TEST_F(JobTest, PrepareAndExecuteRecordsADoneRunOnce)
{
    const PreparedJob job = prepareOne(tinyJob());
    EXPECT_GT(job.runId, 0);
    EXPECT_EQ(job.storedStatus, RunStatus::Queued);
    EXPECT_EQ(job.blocks, 2); // num_hidden_layers of the bundled model
    EXPECT_EQ(job.modelName, "ptq-llama-0.7m");
    EXPECT_NE(job.label.find("rtn w4 g32"), std::string::npos) << job.label;
    EXPECT_EQ(statusOf(job.runId), RunStatus::Queued);

    std::set<std::string> stages;
    const JobOutcome out = executeJob(*m_store, job, [&](const Progress& p) {
        stages.insert(p.stage);
        return true;
    });
    ASSERT_EQ(out.end, JobEnd::Done) << out.error;
    EXPECT_NE(out.summary.find("ppl"), std::string::npos) << out.summary;
    EXPECT_GT(out.seconds, 0);
    EXPECT_TRUE(stages.count("quantize"));
    const RunRecord r = m_store->run(job.runId).value();
    EXPECT_EQ(r.status, RunStatus::Done);
    std::set<std::string> metrics;
    for (const auto& m : r.metrics)
        metrics.insert(m.name);
    EXPECT_TRUE(metrics.count("perplexity") && metrics.count("kl_mean") &&
                metrics.count("bits_per_weight"));

    const PreparedJob again = prepareOne(tinyJob());
    EXPECT_EQ(again.runId, job.runId);
    EXPECT_EQ(again.storedStatus, RunStatus::Done);
}

TEST_F(JobTest, CancelRecordsCancelledAndShutdownRecordsInterrupted)
{
    const PreparedJob cancelled = prepareOne(tinyJob("rtn", 1));
    const JobOutcome c =
        executeJob(*m_store, cancelled, [](const Progress& p) { return p.stage != "quantize"; });
    EXPECT_EQ(c.end, JobEnd::Cancelled);
    EXPECT_EQ(statusOf(cancelled.runId), RunStatus::Cancelled);

    const PreparedJob interrupted = prepareOne(tinyJob("rtn", 2));
    const JobOutcome i = executeJob(
        *m_store, interrupted, [](const Progress& p) { return p.stage != "quantize"; },
        [] { return true; });
    EXPECT_EQ(i.end, JobEnd::Interrupted);
    const RunRecord r = m_store->run(interrupted.runId).value();
    EXPECT_EQ(r.status, RunStatus::Interrupted);
    EXPECT_FALSE(r.finishedAt.empty());

    // An interrupted run is resumed by running its job again: same run, now done.
    const PreparedJob resumed = prepareOne(jobFromRun(*m_store, interrupted.runId));
    EXPECT_EQ(resumed.runId, interrupted.runId);
    EXPECT_EQ(resumed.storedStatus, RunStatus::Interrupted);
    EXPECT_EQ(executeJob(*m_store, resumed, {}).end, JobEnd::Done);
    EXPECT_EQ(statusOf(interrupted.runId), RunStatus::Done);
}

TEST_F(JobTest, InterruptRunOfAnUnknownRunThrows)
{
    expectPtqError([&] { m_store->interruptRun(12345); }, "results.db", "no such run");
}

TEST_F(JobTest, EngineErrorRecordsAFailedRun)
{
    const PreparedJob job = prepareOne(tinyJob("rtn", 3));
    std::filesystem::remove(m_dir.file("calib.txt"));
    const JobOutcome out = executeJob(*m_store, job, {});
    EXPECT_EQ(out.end, JobEnd::Failed);
    EXPECT_NE(out.error.find("calib.txt"), std::string::npos) << out.error;
    const RunRecord r = m_store->run(job.runId).value();
    EXPECT_EQ(r.status, RunStatus::Failed);
    EXPECT_EQ(r.error, out.error);
}

TEST_F(JobTest, JobFromRunGivesTheSameRun)
{
    JobSpec original = tinyJob("quarot-gptq", 5);
    original.abits = 8;
    original.kvbits = 4;
    const PreparedJob job = prepareOne(original);
    const JobSpec rebuilt = jobFromRun(*m_store, job.runId);
    EXPECT_EQ(rebuilt.modelDir, kModelDir);
    EXPECT_EQ(rebuilt.calibPath, m_dir.file("calib.txt"));
    EXPECT_EQ(rebuilt.evalTexts, original.evalTexts);
    EXPECT_EQ(rebuilt.calibSamples, 4);
    EXPECT_EQ(rebuilt.evalWindows, 2);
    EXPECT_EQ(rebuilt.seed, 5u);
    const PreparedJob again = prepareOne(rebuilt);
    EXPECT_EQ(again.runId, job.runId);
    EXPECT_EQ(m_store->run(again.runId)->fingerprint, m_store->run(job.runId)->fingerprint);
    EXPECT_EQ(m_store->listRuns().size(), 1u);
}

TEST_F(JobTest, JobFromRunNamesAChangedDatasetFile)
{
    const PreparedJob job = prepareOne(tinyJob());
    {
        std::ofstream out(m_dir.file("calib.txt"), std::ios::app);
        out << "\nan extra line changes the hash\n";
    }
    expectPtqError([&] { jobFromRun(*m_store, job.runId); }, m_dir.file("calib.txt"),
                   "run " + std::to_string(job.runId));
    std::filesystem::remove(m_dir.file("calib.txt"));
    expectPtqError([&] { jobFromRun(*m_store, job.runId); }, m_dir.file("calib.txt"),
                   "cannot be read");
}

TEST_F(JobTest, PrepareReportsEveryBadJobAndQueuesNothing)
{
    JobSpec missing = tinyJob();
    missing.modelDir = m_dir.file("no-such-model");
    JobSpec badBits = tinyJob();
    badBits.wbits = 9;
    try {
        prepareJobs(*m_store, {tinyJob(), missing, badBits});
        ADD_FAILURE() << "expected ptq::Error";
    } catch (const Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("2 of 3 jobs"), std::string::npos) << what;
        EXPECT_NE(what.find("no-such-model"), std::string::npos) << what;
        EXPECT_NE(what.find("wbits 9"), std::string::npos) << what;
    }
    EXPECT_TRUE(m_store->listRuns().empty());
}

TEST_F(JobTest, EstimateUsesTheCostModelThenHistory)
{
    const double before = estimateJobSeconds(*m_store, tinyJob());
    EXPECT_GT(before, 0);
    JobSpec bigger = tinyJob();
    bigger.calibSamples = 400;
    EXPECT_GT(estimateJobSeconds(*m_store, bigger), before);
    JobSpec unreadable = tinyJob();
    unreadable.modelDir = m_dir.file("no-such-model");
    EXPECT_EQ(estimateJobSeconds(*m_store, unreadable), 0);

    const PreparedJob job = prepareOne(tinyJob());
    ASSERT_EQ(executeJob(*m_store, job, {}).end, JobEnd::Done);
    const RunRecord r = m_store->run(job.runId).value();
    // One finished run with the same inputs: its own time is the estimate (only summation
    // rounding differs).
    EXPECT_NEAR(estimateJobSeconds(*m_store, tinyJob()), r.quantizeSeconds + r.evalSeconds, 1e-9);
    // Twice the calibration tokens: the quantize part scales, the evaluation part does not.
    JobSpec twice = tinyJob();
    twice.calibSamples = 8;
    EXPECT_NEAR(estimateJobSeconds(*m_store, twice), 2 * r.quantizeSeconds + r.evalSeconds, 1e-9);
    // Another recipe has no history on this model: back to the cost model.
    EXPECT_GT(estimateJobSeconds(*m_store, tinyJob("gptq")), 0);
}
