// The bundled model family (resources/models): every model loads, reproduces the test-set
// perplexity its README states to 4 significant digits, and the largest one answers the
// bundled zero-shot tasks far above chance.
//
// The test split is rebuilt at test time from the fetched corpora (the ctest fixture runs
// cmake/fetch_corpora.sh and `ptqbench corpus`; PTQ_SPLITS_DIR points at its output); its
// sha256 must equal the one recorded when the numbers were measured, so a different corpus
// version fails with that message instead of a wrong comparison.

#include "eval/perplexity.h"
#include "eval/zeroshot.h"
#include "family/corpus.h"
#include "family/task_gen.h"
#include "model/checkpoint.h"
#include "model/model.h"
#include "text/tokenizer.h"
#include "util/sha256.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

using namespace ptq;

namespace {

const std::string kModels = std::string(PTQ_SOURCE_DIR) + "/resources/models";

std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << "cannot read " << path;
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

nlohmann::json family()
{
    return nlohmann::json::parse(readFile(kModels + "/family.json"));
}

std::string fourDigits(double v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

// The README row of a model: "| `name` | ... |".
std::string readmeRow(const std::string& readme, const std::string& name)
{
    std::istringstream in(readme);
    for (std::string line; std::getline(in, line);)
        if (line.rfind("| `" + name + "`", 0) == 0)
            return line;
    return {};
}

} // namespace

TEST(Family, EveryModelReproducesItsTestPerplexity)
{
    const nlohmann::json f = family();
    const std::string testPath = std::string(PTQ_SPLITS_DIR) + "/test.txt";
    ASSERT_EQ(ptq::sha256Hex(readFile(testPath)), f.at("test_split_sha256").get<std::string>())
        << testPath << " differs from the test split the family was measured on";
    const std::string readme = readFile(kModels + "/README.md");
    ASSERT_GE(f.at("models").size(), 3u);
    int64_t smallest = INT64_MAX, largest = 0;
    for (const auto& m : f.at("models")) {
        const std::string name = m.at("name");
        SCOPED_TRACE(name);
        const std::string dir = kModels + "/" + name;
        const auto checkpoint = Checkpoint::open(dir);
        EXPECT_EQ(checkpoint->parameterCount(), m.at("parameters").get<int64_t>());
        smallest = std::min(smallest, checkpoint->parameterCount());
        largest = std::max(largest, checkpoint->parameterCount());
        const Tokenizer tokenizer = Tokenizer::fromDir(dir);
        const Model model(checkpoint);
        PerplexityConfig pc;
        pc.seqlen = f.at("eval_seqlen").get<int64_t>();
        const PerplexityResult r =
            evaluatePerplexity(model, tokenizeTextFile(tokenizer, testPath), pc);
        const double stated = m.at("test_perplexity").get<double>();
        std::printf("%-14s test perplexity %.6f (stated %.6f, %lld windows)\n", name.c_str(),
                    r.perplexity, stated, static_cast<long long>(r.windows));
        EXPECT_EQ(fourDigits(r.perplexity), fourDigits(stated));
        const std::string row = readmeRow(readme, name);
        EXPECT_FALSE(row.empty()) << "no README row for " << name;
        EXPECT_NE(row.find(" " + fourDigits(stated) + " "), std::string::npos) << row;
    }
    // The family spans at least 16x in parameter count.
    EXPECT_GE(double(largest), 16.0 * double(smallest));
}

TEST(Family, LargestModelAnswersTheBundledTasksAboveChance)
{
    const nlohmann::json f = family();
    // The member with the most parameters (a dense LLaMA).
    std::string name;
    int64_t most = 0;
    for (const auto& m : f.at("models"))
        if (m.at("parameters").get<int64_t>() > most) {
            most = m.at("parameters").get<int64_t>();
            name = m.at("name").get<std::string>();
        }
    const std::string dir = kModels + "/" + name;
    const Model model(Checkpoint::open(dir));
    const Tokenizer tokenizer = Tokenizer::fromDir(dir);
    TaskSpec spec = taskPreset("generic");
    spec.name = "lastword";
    const Task task =
        loadTask(std::string(PTQ_SOURCE_DIR) + "/resources/tasks/lastword.jsonl", spec);
    ZeroShotConfig zc;
    zc.maxExamples = 200;
    const ZeroShotResult r = evaluateZeroShot(model, tokenizer, task, zc);
    std::printf("%s lastword acc %.3f acc_norm %.3f on %lld examples\n", name.c_str(), r.acc,
                r.accNorm, static_cast<long long>(r.n));
    // Four choices: chance is 0.25; the binomial standard error at n = 200 is about 0.03, so
    // 0.45 is more than six standard errors above chance.
    EXPECT_GT(r.acc, 0.45);
}

// The bundled task files are the generator's output on the fetched corpora's test documents
// with the default seed, byte for byte (ptqbench make-tasks --examples 500).
TEST(Family, BundledTasksRegenerateByteForByte)
{
    const auto all = data::loadCorpus(std::string(PTQ_SPLITS_DIR) + "/../corpora");
    data::TaskGenConfig config;
    config.maxExamples = 500;
    std::vector<data::Document> test;
    for (const auto& d : all)
        if (data::assignSplit(d, config.validFrac, config.testFrac) == data::Split::Test)
            test.push_back(d);
    const std::string dir = std::string(PTQ_SOURCE_DIR) + "/resources/tasks/";
    EXPECT_EQ(data::taskJsonl(data::generateLastWordTask(test, config)),
              readFile(dir + "lastword.jsonl"));
    EXPECT_EQ(data::taskJsonl(data::generateNextSentenceTask(test, config)),
              readFile(dir + "nextsentence.jsonl"));
}
