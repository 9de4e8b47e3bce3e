// Generated zero-shot tasks: determinism, test-split-only sources, gold balance, distinct
// distractors, sentence splitting, loading through the zero-shot loader, and the real
// corpus when it has been fetched.

#include "core/test_files.h"

#include "eval/zeroshot.h"
#include "family/corpus.h"
#include "family/default_model.h"
#include "family/task_gen.h"
#include "model/checkpoint.h"
#include "model/model.h"
#include "text/tokenizer.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <set>

using namespace ptq;
using namespace ptq::data;
using ptq::test::TempDir;

namespace {

// A word unique to document i, in every sentence of it, so any text of a document can be
// traced back to it: "zq" + i in base 26 letters.
std::string marker(std::size_t i)
{
    std::string s = "zq";
    do {
        s += char('a' + i % 26);
        i /= 26;
    } while (i > 0);
    return s;
}

// Documents of random sentences over a small vocabulary: one paragraph per line, every
// sentence carrying its document's marker and ending in a plain word.
std::vector<Document> syntheticDocs(std::size_t n)
{
    static const std::vector<std::string> vocab = {
        "whale", "ship",   "sea",    "captain", "harpoon", "deck",  "wind",   "storm", "sail",
        "crew",  "ocean",  "wave",   "mast",    "boat",    "line",  "oil",    "night", "morning",
        "house", "sister", "letter", "ball",    "dance",   "walk",  "garden", "rain",  "fortune",
        "the",   "and",    "was",    "with",    "from",    "their", "would",  "could", "every"};
    std::mt19937 rng(7);
    std::vector<Document> docs;
    for (std::size_t i = 0; i < n; ++i) {
        Document d{i % 2 ? "austen" : "moby-dick", "doc" + std::to_string(i), "", ""};
        for (int p = 0; p < 3; ++p) {
            if (p)
                d.text += "\n";
            for (int s = 0; s < 8; ++s) {
                const int len = 6 + int(rng() % 12);
                std::string sentence = "The " + marker(i);
                for (int w = 0; w < len; ++w)
                    sentence += " " + vocab[rng() % vocab.size()];
                d.text += (s ? " " : "") + sentence + (rng() % 5 == 0 ? "!" : ".");
            }
        }
        docs.push_back(d);
    }
    return docs;
}

TaskGenConfig testConfig(uint64_t seed)
{
    TaskGenConfig c;
    c.seed = seed;
    c.validFrac = 0.1;
    c.testFrac = 0.3; // enough test documents for distribution checks
    c.minWords = 30;
    return c;
}

std::string lower(std::string s)
{
    for (char& c : s)
        c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Markers found in a text.
std::set<std::string> markersIn(const std::string& text, std::size_t numDocs)
{
    std::set<std::string> found;
    for (std::size_t i = 0; i < numDocs; ++i) {
        const std::string m = marker(i);
        for (std::size_t p = text.find(m); p != std::string::npos; p = text.find(m, p + 1)) {
            const std::size_t end = p + m.size();
            if (end == text.size() || !std::isalpha(static_cast<unsigned char>(text[end])))
                found.insert(m);
        }
    }
    return found;
}

} // namespace

TEST(TaskGen, SplitsSentences)
{
    EXPECT_EQ(splitSentences("Mr. Darcy came. He left! Did he? Yes."),
              (std::vector<std::string>{"Mr. Darcy came.", "He left!", "Did he?", "Yes."}));
    EXPECT_EQ(splitSentences("\"Go.\" She went... J. Smith stayed"),
              (std::vector<std::string>{"\"Go.\"", "She went...", "J. Smith stayed"}));
    EXPECT_EQ(splitSentences("It was 3.5 feet.  Then (he said.) more"),
              (std::vector<std::string>{"It was 3.5 feet.", "Then (he said.)", "more"}));
    EXPECT_TRUE(splitSentences("").empty());
}

TEST(TaskGen, DeterministicPerSeed)
{
    const auto docs = syntheticDocs(120);
    TempDir dir("ptq-taskgen");
    for (auto gen : {generateLastWordTask, generateNextSentenceTask}) {
        const auto a = gen(docs, testConfig(1));
        ASSERT_GT(a.size(), 50u);
        writeTaskJsonl(dir.file("a.jsonl"), a);
        writeTaskJsonl(dir.file("b.jsonl"), gen(docs, testConfig(1)));
        EXPECT_EQ(ptq::test::readFile(dir.file("a.jsonl")),
                  ptq::test::readFile(dir.file("b.jsonl")));
        EXPECT_NE(taskJsonl(a), taskJsonl(gen(docs, testConfig(2))));

        // The file is a generic task the zero-shot loader reads back unchanged.
        const Task task = loadTask(dir.file("a.jsonl"), taskPreset("generic"));
        ASSERT_EQ(task.examples.size(), a.size());
        EXPECT_EQ(task.examples[0].requests[0].context, a[0].context);
        EXPECT_EQ(task.examples[0].gold, a[0].gold);
    }
}

TEST(TaskGen, UsesOnlyTestDocuments)
{
    const auto docs = syntheticDocs(120);
    const TaskGenConfig config = testConfig(3);
    std::set<std::string> testIds, testMarkers;
    std::map<std::string, std::string> markerOfId;
    for (std::size_t i = 0; i < docs.size(); ++i) {
        markerOfId[docs[i].id] = marker(i);
        if (assignSplit(docs[i], config.validFrac, config.testFrac) == Split::Test) {
            testIds.insert(docs[i].id);
            testMarkers.insert(marker(i));
        }
    }
    ASSERT_GT(testIds.size(), 10u);
    ASSERT_LT(testIds.size(), docs.size() - 10);
    for (auto gen : {generateLastWordTask, generateNextSentenceTask}) {
        for (const auto& ex : gen(docs, config)) {
            EXPECT_TRUE(testIds.count(ex.docId)) << ex.docId;
            std::string all = ex.context;
            for (const auto& c : ex.choices)
                all += " " + c;
            for (const auto& m : markersIn(all, docs.size()))
                EXPECT_TRUE(testMarkers.count(m)) << "text of a non-test document: " << m;
            EXPECT_TRUE(markersIn(ex.context, docs.size()).count(markerOfId[ex.docId]));
        }
    }
}

TEST(TaskGen, LastWordChoices)
{
    const auto docs = syntheticDocs(120);
    const auto examples = generateLastWordTask(docs, testConfig(4));
    ASSERT_GT(examples.size(), 100u);
    std::array<int, 4> goldCount{};
    std::set<std::string> contexts;
    for (const auto& ex : examples) {
        ASSERT_EQ(ex.choices.size(), 4u);
        ASSERT_GE(ex.gold, 0);
        ASSERT_LT(ex.gold, 4);
        goldCount[std::size_t(ex.gold)] += 1;
        EXPECT_TRUE(contexts.insert(ex.context).second) << "duplicate: " << ex.context;
        const std::string truth = ex.choices[std::size_t(ex.gold)];
        EXPECT_GE(truth.size(), 3u);
        std::set<std::string> distinct;
        for (const auto& c : ex.choices) {
            EXPECT_TRUE(distinct.insert(lower(c)).second) << "repeated choice " << c;
            for (char ch : c)
                EXPECT_TRUE(std::isalpha(static_cast<unsigned char>(ch))) << c;
        }
        EXPECT_GE(ex.context.size(), 30u);
        EXPECT_NE(ex.context.back(), ' ');
    }
    // Gold positions are drawn uniformly: each of 4 should get about a quarter.
    for (int n : goldCount)
        EXPECT_NEAR(n / double(examples.size()), 0.25, 0.08) << n;
}

TEST(TaskGen, NextSentenceChoices)
{
    const auto docs = syntheticDocs(120);
    const auto examples = generateNextSentenceTask(docs, testConfig(5));
    ASSERT_GT(examples.size(), 100u);
    std::array<int, 4> goldCount{};
    std::map<std::string, std::size_t> markerDoc;
    for (std::size_t i = 0; i < docs.size(); ++i)
        markerDoc[marker(i)] = i;
    for (const auto& ex : examples) {
        ASSERT_EQ(ex.choices.size(), 4u);
        goldCount[std::size_t(ex.gold)] += 1;
        const std::string own =
            "doc" + std::to_string(markerDoc[*markersIn(ex.context, docs.size()).begin()]);
        EXPECT_EQ(own, ex.docId);
        std::set<std::string> distinct(ex.choices.begin(), ex.choices.end());
        EXPECT_EQ(distinct.size(), 4u);
        const std::size_t truthWords =
            std::count(ex.choices[ex.gold].begin(), ex.choices[ex.gold].end(), ' ');
        for (std::size_t c = 0; c < 4; ++c) {
            const auto markers = markersIn(ex.choices[c], docs.size());
            ASSERT_EQ(markers.size(), 1u);
            const std::string from = "doc" + std::to_string(markerDoc[*markers.begin()]);
            // The true next sentence comes from the document, the others from elsewhere.
            EXPECT_EQ(from == ex.docId, int64_t(c) == ex.gold) << ex.choices[c];
            const std::size_t w = std::count(ex.choices[c].begin(), ex.choices[c].end(), ' ');
            EXPECT_LE(std::abs(int64_t(w) - int64_t(truthWords)), 6) << "lengths differ";
        }
    }
    for (int n : goldCount)
        EXPECT_NEAR(n / double(examples.size()), 0.25, 0.08) << n;
}

TEST(TaskGen, RealCorpus)
{
    const char* env = std::getenv("PTQ_CORPUS_DIR");
    const std::filesystem::path root =
        env ? std::filesystem::path(env) : std::filesystem::path(PTQ_SOURCE_DIR) / ".cache/corpora";
    if (!std::filesystem::exists(root / ".complete"))
        GTEST_SKIP() << "no fetched corpora at " << root << " (run cmake/fetch_corpora.sh)";
    const std::vector<Document> docs = loadCorpus(root.string());
    std::vector<Document> test;
    for (const auto& d : docs)
        if (assignSplit(d) == Split::Test)
            test.push_back(d);
    TempDir dir("ptq-taskgen-real");
    TaskGenConfig uncapped;
    uncapped.maxExamples = 0;
    for (auto gen : {generateLastWordTask, generateNextSentenceTask}) {
        std::map<std::string, int> perSource;
        for (const auto& ex : gen(test, uncapped))
            perSource[ex.source] += 1;
        std::cout << "candidates before the cap:";
        for (const auto& [source, n] : perSource)
            std::cout << " " << source << " " << n;
        std::cout << "\n";
    }
    const TaskGenConfig config;
    const auto lastWord = generateLastWordTask(test, config);
    const auto nextSentence = generateNextSentenceTask(test, config);
    std::cout << test.size() << " test documents; last-word examples: " << lastWord.size()
              << ", next-sentence examples: " << nextSentence.size() << "\n";
    EXPECT_GT(lastWord.size(), 200u);
    EXPECT_GT(nextSentence.size(), 200u);
    writeTaskJsonl(dir.file("lastword.jsonl"), lastWord);
    writeTaskJsonl(dir.file("nextsentence.jsonl"), nextSentence);
    EXPECT_EQ(loadTask(dir.file("lastword.jsonl"), taskPreset("generic")).examples.size(),
              lastWord.size());
    EXPECT_EQ(loadTask(dir.file("nextsentence.jsonl"), taskPreset("generic")).examples.size(),
              nextSentence.size());
    for (const auto* task : {&lastWord, &nextSentence})
        if (!task->empty())
            std::cout << "example: " << taskJsonl({task->front()});

    // End to end: the byte-bigram default model, learnt from the train split, on the first
    // examples of both tasks. Only printed: a bigram model need not beat chance here.
    writeSplits(docs, dir.file("splits"));
    writeDefaultModel(dir.file("model"), {dir.file("splits") + "/train.txt"});
    const Model model(Checkpoint::open(dir.file("model")));
    const Tokenizer tokenizer = Tokenizer::fromDir(dir.file("model"));
    ZeroShotConfig eval;
    eval.maxExamples = 40;
    eval.maxLength = 512;
    for (const char* name : {"lastword", "nextsentence"}) {
        const Task task = loadTask(dir.file(std::string(name) + ".jsonl"), taskPreset("generic"));
        const ZeroShotResult r = evaluateZeroShot(model, tokenizer, task, eval);
        std::cout << name << " with the bigram default model: acc " << r.acc << " +- "
                  << r.accStderr << ", acc_norm " << r.accNorm << " +- " << r.accNormStderr
                  << " (n " << r.n << ", " << r.seconds << " s)\n";
        EXPECT_EQ(r.n, 40);
        EXPECT_TRUE(std::isfinite(r.acc) && std::isfinite(r.accNorm));
    }
}
