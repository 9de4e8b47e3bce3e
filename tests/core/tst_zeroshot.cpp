// Zero-shot multiple-choice scoring against a float64 computation from the reference
// forward pass (llama_reference.h) on hand-built token ids, plus lm-eval's request encoding,
// batching, padding, truncation, cancellation, the task presets and input errors.

#include "core/llama_reference.h"
#include "core/test_files.h"

#include "eval/zeroshot.h"
#include "model/checkpoint.h"
#include "model/checkpoint_writer.h"
#include "model/model.h"
#include "text/tokenizer.h"
#include "text/tokenizer_writer.h"
#include "util/error.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>

using namespace ptq;
using ptq::testing::refSequenceLogits;
using ptq::testing::RefWeights;

namespace {

// The byte tokenizer of tokenizer_writer.h: <s>=1, byte b = b+3, "\u2581" (space) = 259.
constexpr int32_t kBos = 1;
constexpr int32_t kSpace = 259;

ModelConfig tinyConfig()
{
    ModelConfig c;
    c.modelType = "llama";
    c.vocabSize = 264;
    c.hiddenSize = 32;
    c.intermediateSize = 48;
    c.numLayers = 2;
    c.numHeads = 4;
    c.numKvHeads = 2;
    c.headDim = 8;
    c.rmsNormEps = 1e-5;
    c.maxPositionEmbeddings = 128;
    return c;
}

// SentencePiece ids of `text` written out by hand: the normaliser prepends "\u2581" and
// turns every space into it; every other byte falls back to its <0xNN> token.
std::vector<int64_t> handIds(const std::string& text, bool bos = true)
{
    std::vector<int64_t> ids;
    if (bos)
        ids.push_back(kBos);
    ids.push_back(kSpace);
    for (unsigned char ch : text)
        ids.push_back(ch == ' ' ? kSpace : int64_t(ch) + 3);
    return ids;
}

// Sum of log-softmax over the last k tokens of `full`, each predicted from all tokens before
// it, in float64 from the reference forward.
double referenceLogLikelihood(const ModelConfig& c, const RefWeights& w,
                              const std::vector<int64_t>& full, std::size_t k)
{
    const std::vector<int64_t> input(full.begin(), full.end() - 1);
    const auto logits = refSequenceLogits(c, w, input);
    double sum = 0;
    for (std::size_t j = 0; j < k; ++j) {
        const std::size_t row = input.size() - k + j;
        double mx = -INFINITY, z = 0;
        for (double v : logits[row])
            mx = std::max(mx, v);
        for (double v : logits[row])
            z += std::exp(v - mx);
        sum += logits[row][full[full.size() - k + j]] - mx - std::log(z);
    }
    return sum;
}

// Context + " " + choice as hand ids, and the continuation's token count.
double referenceChoice(const ModelConfig& c, const RefWeights& w, const std::string& context,
                       const std::string& choice)
{
    return referenceLogLikelihood(c, w, handIds(context + " " + choice), choice.size() + 1);
}

class ZeroShotTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        m_config = tinyConfig();
        writeLlamaCheckpoint(m_dir.path(), m_config, ptq::testing::testWeights(m_config, 33));
        writeSentencePieceTokenizer(m_dir.path(), {});
        m_model = std::make_unique<Model>(Checkpoint::open(m_dir.path()));
        m_tokenizer = std::make_unique<Tokenizer>(Tokenizer::fromDir(m_dir.path()));
        m_weights = ptq::testing::readWeightsAsDouble(m_dir.sub("model.safetensors"));
    }

    ptq::testing::TempDir m_dir{"zeroshot"};
    ModelConfig m_config;
    std::unique_ptr<Model> m_model;
    std::unique_ptr<Tokenizer> m_tokenizer;
    RefWeights m_weights;
};

std::vector<int64_t> widen(const std::vector<int32_t>& v)
{
    return {v.begin(), v.end()};
}

} // namespace

TEST_F(ZeroShotTest, RequestsAreEncodedTheLmEvalWay)
{
    const auto enc = encodeRequest(*m_tokenizer, {"ab", " c"});
    EXPECT_EQ(widen(enc.context), handIds("ab"));
    EXPECT_EQ(widen(enc.continuation), (std::vector<int64_t>{kSpace, 'c' + 3}));
    // Trailing whitespace of the context moves into the continuation.
    const auto moved = encodeRequest(*m_tokenizer, {"ab ", "c"});
    EXPECT_EQ(moved.context, enc.context);
    EXPECT_EQ(moved.continuation, enc.continuation);
    // An empty context leaves BOS as the only prefix; the continuation is encoded alone.
    const auto bare = encodeRequest(*m_tokenizer, {"", "cd"});
    EXPECT_EQ(widen(bare.context), (std::vector<int64_t>{kBos}));
    EXPECT_EQ(widen(bare.continuation), handIds("cd", false));
}

TEST_F(ZeroShotTest, ChoiceLogLikelihoodsMatchFloat64Reference)
{
    const std::string context = "The cat";
    const std::vector<std::string> choices = {"sat", "ran far", "\xc3\xa9t\xc3\xa9"};
    const auto ll = choiceLogLikelihoods(*m_model, *m_tokenizer, makeExample(context, choices, 0));
    ASSERT_EQ(ll.size(), choices.size());
    for (std::size_t i = 0; i < choices.size(); ++i) {
        const double expected = referenceChoice(m_config, m_weights, context, choices[i]);
        // The fp32 forward agrees with the float64 one to ~1e-6 of the logits' scale
        // (tst_llama_forward); a sum of a few log-softmax values of magnitude ~5 nats keeps
        // that well inside 1e-4 relative, while a wrong token or position changes it by O(1).
        EXPECT_NEAR(ll[i], expected, 1e-4 * std::abs(expected)) << choices[i];
        EXPECT_LT(ll[i], 0.0);
    }
}

TEST_F(ZeroShotTest, AccuracyFollowsReferenceLogLikelihoods)
{
    const std::vector<std::string> contexts = {"The sun", "A dog", "Cold tea"};
    const std::vector<std::vector<std::string>> choices = {
        {"is hot", "rises", "x"}, {"barks", "meows at us", "flies"}, {"is bad", "tastes", "hmm"}};
    const std::vector<int64_t> golds = {1, 0, 2};
    ptq::test::TempDir dir("ptq-zeroshot-task");
    std::string jsonl;
    for (std::size_t e = 0; e < 3; ++e) {
        nlohmann::json line = {
            {"context", contexts[e]}, {"choices", choices[e]}, {"gold", golds[e]}};
        jsonl += line.dump() + "\n";
    }
    ptq::test::writeFile(dir.file("task.jsonl"), jsonl);
    const Task task = loadTask(dir.file("task.jsonl"), taskPreset("generic"));

    for (const auto norm :
         {LengthNormalization::ChoiceCodePoints, LengthNormalization::ContinuationBytes}) {
        ZeroShotConfig config;
        config.normalization = norm;
        const ZeroShotResult r = evaluateZeroShot(*m_model, *m_tokenizer, task, config);
        int hits = 0, hitsNorm = 0;
        for (std::size_t e = 0; e < 3; ++e) {
            std::size_t best = 0, bestNorm = 0;
            std::vector<double> ll, normed;
            for (const auto& ch : choices[e]) {
                ll.push_back(referenceChoice(m_config, m_weights, contexts[e], ch));
                // lm-eval divides by len(choice); the byte variant also counts the delimiter.
                const double len = norm == LengthNormalization::ChoiceCodePoints
                                       ? double(ch.size())
                                       : double(ch.size() + 1);
                normed.push_back(ll.back() / len);
            }
            for (std::size_t c = 1; c < ll.size(); ++c) {
                best = ll[c] > ll[best] ? c : best;
                bestNorm = normed[c] > normed[bestNorm] ? c : bestNorm;
            }
            EXPECT_EQ(r.predictions[e], int64_t(best));
            EXPECT_EQ(r.predictionsNorm[e], int64_t(bestNorm));
            hits += int64_t(best) == golds[e];
            hitsNorm += int64_t(bestNorm) == golds[e];
        }
        EXPECT_EQ(r.n, 3);
        EXPECT_EQ(r.requests, 9);
        EXPECT_DOUBLE_EQ(r.acc, hits / 3.0);
        EXPECT_DOUBLE_EQ(r.accNorm, hitsNorm / 3.0);
        EXPECT_DOUBLE_EQ(r.accStderr, std::sqrt(r.acc * (1 - r.acc) / 2.0));
        EXPECT_DOUBLE_EQ(r.accNormStderr, std::sqrt(r.accNorm * (1 - r.accNorm) / 2.0));
        EXPECT_GE(r.seconds, 0.0);
    }
}

TEST_F(ZeroShotTest, BatchingDoesNotChangeResults)
{
    std::vector<TaskExample> examples;
    const std::vector<std::string> contexts = {"a", "one two three four five", "xyz q",
                                               "Long long context here, yes", "hi"};
    for (std::size_t e = 0; e < contexts.size(); ++e)
        examples.push_back(
            makeExample(contexts[e], {"b", "cd ef", "a much longer choice"}, int64_t(e % 3)));
    ZeroShotConfig one;
    one.batchSize = 1;
    const auto single = taskLogLikelihoods(*m_model, *m_tokenizer, examples, one);
    ZeroShotConfig some;
    some.batchSize = 4;
    ZeroShotConfig all; // the default budget holds every request in one batch
    ZeroShotConfig tiny;
    tiny.maxHiddenBytes = 1; // forces one row per batch through the budget path
    int progressCalls = 0;
    for (const auto& config : {some, all, tiny}) {
        const auto batched =
            taskLogLikelihoods(*m_model, *m_tokenizer, examples, config, [&](const Progress&) {
                ++progressCalls;
                return true;
            });
        for (std::size_t e = 0; e < examples.size(); ++e)
            for (std::size_t c = 0; c < 3; ++c)
                // Only GEMM shapes differ between batchings: fp32 round-off, ~1e-7 relative.
                EXPECT_NEAR(batched[e][c], single[e][c], 1e-5 * std::abs(single[e][c]));
    }
    EXPECT_GT(progressCalls, 0);
    // Padding: the shortest request shared its batch with the longest; the reference
    // scores it alone.
    EXPECT_NEAR(single[4][0], referenceChoice(m_config, m_weights, "hi", "b"),
                1e-4 * std::abs(single[4][0]));
}

TEST_F(ZeroShotTest, TruncatesFromTheLeft)
{
    const std::string context = "abcdefghij";
    const TaskExample ex = makeExample(context, {"k", "lm"}, 0);
    ZeroShotConfig config;
    config.maxLength = 6;
    const auto ll = choiceLogLikelihoods(*m_model, *m_tokenizer, ex, config);
    for (std::size_t c = 0; c < 2; ++c) {
        const std::string choice = c == 0 ? "k" : "lm";
        const auto full = handIds(context + " " + choice);
        // lm-eval keeps the last maxLength + 1 tokens and feeds all but the last.
        const std::vector<int64_t> kept(full.end() - 7, full.end());
        const double expected =
            referenceLogLikelihood(m_config, m_weights, kept, choice.size() + 1);
        EXPECT_NEAR(ll[c], expected, 1e-4 * std::abs(expected)) << choice;
    }
    Task task{"t", "mem.jsonl", {ex}};
    const auto r = evaluateZeroShot(*m_model, *m_tokenizer, task, config);
    EXPECT_EQ(r.truncatedRequests, 2);
    EXPECT_EQ(r.tokensForwarded, 12);

    // A continuation longer than the window cannot be scored: an error, not a wrong number.
    config.maxLength = 2;
    Task tooLong{"t", "mem.jsonl", {makeExample("ab", {"klmno"}, 0)}};
    ptq::test::expectPtqError([&] { evaluateZeroShot(*m_model, *m_tokenizer, tooLong, config); },
                              "mem.jsonl", "at most 2 tokens");
}

TEST_F(ZeroShotTest, ProgressCanCancel)
{
    Task task{"t", "mem.jsonl", {makeExample("ab", {"c", "d"}, 0)}};
    EXPECT_THROW(
        evaluateZeroShot(*m_model, *m_tokenizer, task, {}, [](const Progress&) { return false; }),
        Cancelled);
}

TEST(ZeroShotTasks, EveryPresetParsesItsLayout)
{
    ptq::test::TempDir dir("ptq-zeroshot-presets");
    struct Case {
        std::string layout, jsonl;
        std::string context0, continuation0;
        int64_t gold0, gold1;
    };
    const std::vector<Case> cases = {
        {"generic",
         R"({"context": "2+2=", "choices": ["4", "5"], "gold": 0, "extra": 1})"
         "\n"
         R"({"context": "Sky is", "choices": ["blue", "green", "red"], "gold": 2})",
         "2+2=", " 4", 0, 2},
        {"piqa",
         R"({"goal": "Open a jar", "sol1": "Twist the lid", "sol2": "Hit it", "label": 1})"
         "\n"
         R"({"goal": "Dry hair", "sol1": "Use a towel", "sol2": "Use water", "label": 0})",
         "Question: Open a jar\nAnswer:", " Twist the lid", 1, 0},
        {"arc",
         R"({"question": "Q1?", "choices": {"text": ["a", "b", "c"], "label": ["A", "B", "C"]}, "answerKey": "C"})"
         "\n"
         R"({"question": "Q2?", "choices": {"text": ["w", "x", "y", "z"], "label": ["1", "2", "3", "4"]}, "answerKey": "2"})",
         "Question: Q1?\nAnswer:", " a", 2, 1},
        {"hellaswag",
         R"({"ctx": "A man sits.", "endings": ["He eats.", "b", "c", "d"], "label": "2"})"
         "\n"
         R"({"activity_label": "Ice", "ctx_a": "A man [title] scrapes.", "ctx_b": "THEN he", "endings": ["a [x]b", "c", "d", "e"], "label": 3})",
         "A man sits.", " He eats.", 2, 3},
        {"winogrande",
         R"({"sentence": "The cup did not fit in the box because _ was too big.", "option1": "the cup", "option2": "the box", "answer": "1"})"
         "\n"
         R"({"sentence": "Ann thanked Sue because _ helped.", "option1": "Ann", "option2": "Sue", "answer": "2"})",
         "The cup did not fit in the box because the cup", " was too big.", 0, 1},
        {"boolq",
         R"({"passage": "Water is wet.", "question": "is water wet", "answer": true})"
         "\n"
         R"({"passage": "Fire is hot.", "question": "is fire cold", "answer": false})",
         "Water is wet.\nQuestion: is water wet?\nAnswer:", " no", 1, 0},
    };
    ASSERT_EQ(cases.size(), taskPresetNames().size());
    for (const auto& k : cases) {
        const std::string path = dir.file(k.layout + ".jsonl");
        ptq::test::writeFile(path, k.jsonl + "\n");
        const Task task = loadTask(path, taskPreset(k.layout));
        ASSERT_EQ(task.examples.size(), 2u) << k.layout;
        const auto& first = task.examples[0];
        EXPECT_EQ(first.line, 1);
        EXPECT_EQ(first.requests[0].context, k.context0) << k.layout;
        EXPECT_EQ(first.requests[0].continuation, k.continuation0) << k.layout;
        EXPECT_EQ(first.gold, k.gold0) << k.layout;
        EXPECT_EQ(task.examples[1].gold, k.gold1) << k.layout;
        EXPECT_EQ(task.examples[1].line, 2);
    }
    // Layout details worth pinning down.
    const Task wino = loadTask(dir.file("winogrande.jsonl"), taskPreset("winogrande"));
    EXPECT_EQ(wino.examples[0].requests[1].context,
              "The cup did not fit in the box because the box");
    EXPECT_EQ(wino.examples[0].requests[1].continuation, " was too big.");
    const Task hella = loadTask(dir.file("hellaswag.jsonl"), taskPreset("hellaswag"));
    EXPECT_EQ(hella.examples[1].requests[0].context, "Ice: A man. scrapes. Then he");
    EXPECT_EQ(hella.examples[1].requests[0].continuation, " a b");
    const Task boolq = loadTask(dir.file("boolq.jsonl"), taskPreset("boolq"));
    EXPECT_EQ(boolq.examples[0].requests[1].continuation, " yes");

    // The generic layout with renamed fields and a nested path.
    TaskSpec custom;
    custom.contextField = "q";
    custom.choicesField = "opts.list";
    custom.goldField = "ans";
    custom.targetDelimiter = "\n";
    ptq::test::writeFile(dir.file("custom.jsonl"),
                         R"({"q": "Pick", "opts": {"list": ["x", "y"]}, "ans": 1})"
                         "\n");
    const Task t = loadTask(dir.file("custom.jsonl"), custom);
    EXPECT_EQ(t.examples[0].requests[1].continuation, "\ny");
    EXPECT_EQ(t.examples[0].gold, 1);
    EXPECT_THROW(taskPreset("mmlu"), Error);
}

TEST(ZeroShotTasks, BadInputNamesFileAndLine)
{
    ptq::test::TempDir dir("ptq-zeroshot-bad");
    const std::string good = R"({"context": "c", "choices": ["x", "y"], "gold": 0})";
    struct Case {
        std::string layout, line2, phrase;
    };
    const std::vector<Case> cases = {
        {"generic", R"({"context": "c", "choices": ["x", "y"]})", "missing field \"gold\""},
        {"generic", R"({"context": "c", "choices": ["x", "y"], "gold": 2})", "out of range"},
        {"generic", R"({"context": "c", "choices": ["x", "y"], "gold": -1})", "out of range"},
        {"generic", R"({"context": "c", "choices": [], "gold": 0})", "choices is empty"},
        {"generic", R"({"context": "c", "choices": ["x", ""], "gold": 0})", "empty string"},
        {"generic", "{\"context\": \"c\xff\", \"choices\": [\"x\"], \"gold\": 0}", "invalid UTF-8"},
        {"generic", R"({"context": "c", "choices": ["x"], "gold": )", "invalid JSON"},
        {"generic", R"(["c", ["x"], 0])", "expected a JSON object"},
        {"generic", R"({"context": "c", "choices": ["x", "y"], "gold": "1"})",
         "must be an integer"},
        {"generic", R"({"context": "c", "choices": ["x", "y"], "gold": 1.0})",
         "must be an integer"},
        {"generic", R"({"context": "c", "choices": ["x", "y"], "gold": true})",
         "must be an integer"},
        {"generic", R"({"context": 5, "choices": ["x"], "gold": 0})", "must be a string"},
        {"generic", R"({"context": "c", "choices": "x", "gold": 0})", "must be a list"},
        {"generic", R"({"context": "c", "choices": ["x", 3], "gold": 0})", "must be a string"},
        {"boolq", R"({"passage": "p", "question": "q", "answer": "yes"})", "must be a boolean"},
        {"winogrande", R"({"sentence": "no blank", "option1": "a", "option2": "b", "answer": "1"})",
         "no \"_\""},
        {"winogrande", R"({"sentence": "a _ b", "option1": "a", "option2": "b", "answer": "3"})",
         "out of range"},
        {"arc",
         R"({"question": "q", "choices": {"text": ["a"], "label": ["A"]}, "answerKey": "B"})",
         "out of range"},
        {"hellaswag", R"({"ctx": "c", "endings": ["a"], "label": ""})", "must be an integer"},
    };
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const auto& k = cases[i];
        const std::string path = dir.file("bad" + std::to_string(i) + ".jsonl");
        const std::string first =
            k.layout == "generic" ? good
            : k.layout == "boolq" ? R"({"passage": "p", "question": "q", "answer": true})"
            : k.layout == "arc"
                ? R"({"question": "q", "choices": {"text": ["a"], "label": ["A"]}, "answerKey": "A"})"
            : k.layout == "hellaswag"
                ? R"({"ctx": "c", "endings": ["a"], "label": 0})"
                : R"({"sentence": "a _ b", "option1": "a", "option2": "b", "answer": "1"})";
        ptq::test::writeFile(path, first + "\n" + k.line2 + "\n");
        SCOPED_TRACE("case " + std::to_string(i) + ": " + k.line2);
        ptq::test::expectPtqError([&] { loadTask(path, taskPreset(k.layout)); }, path, "line 2");
        ptq::test::expectPtqError([&] { loadTask(path, taskPreset(k.layout)); }, path, k.phrase);
    }
    ptq::test::writeFile(dir.file("empty.jsonl"), "\n  \n");
    ptq::test::expectPtqError([&] { loadTask(dir.file("empty.jsonl"), taskPreset("generic")); },
                              dir.file("empty.jsonl"), "no examples");
    ptq::test::expectPtqError([&] { loadTask(dir.file("absent.jsonl"), taskPreset("generic")); },
                              dir.file("absent.jsonl"), "cannot open");
}
