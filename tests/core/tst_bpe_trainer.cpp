// BPE trainer: the trained tokenizer, read back through ptq::Tokenizer, round-trips text and
// arbitrary UTF-8; frequent words become single pieces; the incremental trainer's merges equal
// a slow reference that recounts every pair at every merge; training is deterministic and
// cancelable; and, when the fetched corpora are present, a 4096-piece tokenizer is trained
// on the train split and measured on the test split.

#include "family/bpe_trainer.h"
#include "family/corpus.h"
#include "test_files.h"
#include "text/tokenizer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

using namespace ptq;
using namespace ptq::text;
using ptq::test::readFile;
using ptq::test::TempDir;

namespace {

const std::string kSpace = "\xE2\x96\x81";

std::string sampleText()
{
    return readFile(std::string(PTQ_SOURCE_DIR) + "/resources/data/sample_text.txt");
}

Tokenizer trainAndLoad(const std::string& text, const BpeTrainerConfig& config,
                       const std::string& dir, BpeTrainerResult* resultOut = nullptr)
{
    BpeTrainer trainer;
    trainer.addText(text, "sample");
    const BpeTrainerResult result = trainer.train(config);
    writeSentencePieceTokenizer(dir, result.spec);
    if (resultOut)
        *resultOut = result;
    return Tokenizer::fromDir(dir);
}

std::vector<std::string> utf8Chars(const std::string& s)
{
    std::vector<std::string> out;
    for (size_t i = 0; i < s.size();) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        const size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        out.push_back(s.substr(i, n));
        i += n;
    }
    return out;
}

// The slow reference: words split at spaces ("▁" + word), every code point a base symbol,
// and at each step all pairs recounted from scratch; the most frequent pair wins, ties to
// the bytewise smallest (left, right); merges stop at `pieceBudget` pieces or when no pair
// occurs twice.
std::vector<std::pair<std::string, std::string>> referenceMerges(const std::string& text,
                                                                 size_t pieceBudget)
{
    std::map<std::string, long long> wordCounts;
    std::string word = kSpace;
    for (char c : text + " ") {
        if (c == ' ') {
            wordCounts[word] += 1;
            word = kSpace;
        } else {
            word.push_back(c);
        }
    }
    std::vector<std::pair<std::vector<std::string>, long long>> words;
    std::set<std::string> pieces;
    for (const auto& [w, n] : wordCounts) {
        words.push_back({utf8Chars(w), n});
        pieces.insert(words.back().first.begin(), words.back().first.end());
    }
    std::vector<std::pair<std::string, std::string>> merges;
    while (pieces.size() < pieceBudget) {
        std::map<std::pair<std::string, std::string>, long long> counts;
        for (const auto& [syms, n] : words) {
            for (size_t i = 0; i + 1 < syms.size(); ++i)
                counts[{syms[i], syms[i + 1]}] += n;
        }
        std::pair<std::string, std::string> best;
        long long bestCount = 0;
        for (const auto& [pair, n] : counts) { // map order = bytewise (left, right) order
            if (n > bestCount) {
                best = pair;
                bestCount = n;
            }
        }
        if (bestCount < 2)
            break;
        merges.push_back(best);
        pieces.insert(best.first + best.second);
        for (auto& [syms, n] : words) {
            std::vector<std::string> out;
            for (size_t i = 0; i < syms.size(); ++i) {
                if (i + 1 < syms.size() && syms[i] == best.first && syms[i + 1] == best.second) {
                    out.push_back(best.first + best.second);
                    ++i;
                } else {
                    out.push_back(syms[i]);
                }
            }
            syms = std::move(out);
        }
    }
    return merges;
}

} // namespace

TEST(BpeTrainer, RoundTripsTextAndAnyUtf8)
{
    TempDir dir("ptq-bpe");
    const std::string text = sampleText();
    BpeTrainerConfig config;
    config.vocabSize = 400;
    BpeTrainerResult result;
    const Tokenizer tok = trainAndLoad(text, config, dir.path().string(), &result);
    EXPECT_EQ(tok.kind(), "SentencePiece BPE");
    EXPECT_EQ(tok.vocabSize(), 400);
    EXPECT_EQ(result.vocabSize, 400);
    EXPECT_EQ(result.merges + result.baseCharacters, 400 - 259);

    EXPECT_EQ(tok.decode(tok.encode(text, false)), text);
    for (const std::string& s :
         {std::string("Hello \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x99\x82 emoji"), // 世界 🙂
          std::string("  two leading spaces\tand\ttabs\n\nand newlines  "),
          std::string("\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82"), // Привет
          std::string("a <0x41> spelled like a byte token")}) {
        EXPECT_EQ(tok.decode(tok.encode(s, false)), s) << s;
    }
    // CJK and emoji are not in a vocabulary trained on English: they fall back to bytes.
    const auto ids = tok.encode("\xF0\x9F\x99\x82", false);
    ASSERT_GE(ids.size(), 4u);
    EXPECT_EQ(tok.idToToken(ids[ids.size() - 4]), "<0xF0>");

    const auto withBos = tok.encode("the", true);
    EXPECT_EQ(withBos.front(), 1);
}

TEST(BpeTrainer, FrequentWordsBecomeSinglePiecesAndCompress)
{
    TempDir dir("ptq-bpe");
    const std::string text = sampleText();
    BpeTrainerConfig config;
    config.vocabSize = 400;
    BpeTrainerResult result;
    const Tokenizer tok = trainAndLoad(text, config, dir.path().string(), &result);
    ASSERT_TRUE(tok.tokenToId(kSpace + "the").has_value());
    EXPECT_EQ(tok.encode("the", false), std::vector<int32_t>{*tok.tokenToId(kSpace + "the")});
    // Pieces never straddle a word start or mix newlines with other characters.
    for (const auto& piece : result.spec.pieces) {
        EXPECT_EQ(piece.find(kSpace, 1), std::string::npos) << piece;
        if (piece.find('\n') != std::string::npos) {
            EXPECT_EQ(piece.find_first_not_of('\n'), std::string::npos) << piece;
        }
    }
    // Vocabulary 400 leaves 141 pieces after the 259 reserved ids, 50 of them characters:
    // a little under 2 bytes a token. Larger vocabularies must pass 2.
    for (const auto& [vocab, minBytesPerToken] : {std::pair{400, 1.6}, std::pair{700, 2.0}}) {
        config.vocabSize = vocab;
        TempDir sub("ptq-bpe-v");
        const Tokenizer t = trainAndLoad(text, config, sub.path().string(), &result);
        const CompressionStats stats = measureCompression(t, text);
        std::cout << "vocab " << vocab << " on sample_text.txt (" << stats.bytes
                  << " bytes): " << stats.tokens << " tokens, " << stats.bytesPerToken
                  << " bytes/token, " << result.merges << " merges, " << result.baseCharacters
                  << " base characters\n";
        // The tokenizer reproduces the training segmentation exactly.
        EXPECT_EQ(stats.tokens, result.trainingTokens);
        EXPECT_GT(stats.bytesPerToken, minBytesPerToken);
    }
}

TEST(BpeTrainer, MergesEqualTheSlowReference)
{
    std::string text = sampleText();
    for (char& c : text) { // the reference splits at spaces only
        if (c == '\n' || c == '\t' || c == '\r')
            c = ' ';
    }
    std::string collapsed; // and its words are never empty
    for (char c : text) {
        if (!(c == ' ' && !collapsed.empty() && collapsed.back() == ' '))
            collapsed.push_back(c);
    }
    while (!collapsed.empty() && collapsed.back() == ' ')
        collapsed.pop_back();
    BpeTrainer trainer;
    trainer.addText(collapsed);
    BpeTrainerConfig config;
    config.vocabSize = 700;
    config.characterCoverage = 1.0;
    const BpeTrainerResult result = trainer.train(config);
    const auto reference = referenceMerges(collapsed, size_t(config.vocabSize - 259));
    ASSERT_GT(reference.size(), 100u);
    ASSERT_EQ(result.spec.merges.size(), reference.size());
    for (size_t i = 0; i < reference.size(); ++i) {
        ASSERT_EQ(result.spec.merges[i], reference[i]) << "merge " << i;
    }
}

TEST(BpeTrainer, DeterministicAndOrderIndependent)
{
    const std::string text = sampleText();
    const size_t half = text.find(' ', text.size() / 2);
    BpeTrainerConfig config;
    config.vocabSize = 500;
    TempDir a("ptq-bpe-a"), b("ptq-bpe-b");
    BpeTrainer first;
    first.addText(text.substr(0, half));
    first.addText(text.substr(half + 1));
    BpeTrainer second;
    second.addText(text.substr(half + 1));
    second.addText(text.substr(0, half));
    writeSentencePieceTokenizer(a.path().string(), first.train(config).spec);
    writeSentencePieceTokenizer(b.path().string(), second.train(config).spec);
    EXPECT_EQ(readFile(a.file("tokenizer.json")), readFile(b.file("tokenizer.json")));
}

TEST(BpeTrainer, RareCharactersFallBackToBytesAndProgressCancels)
{
    std::string text;
    for (int i = 0; i < 200; ++i)
        text += "plain words repeat often ";
    text += "na\xC3\xAFn"; // ï: one occurrence in ~5,000 characters
    BpeTrainer trainer;
    trainer.addText(text);
    BpeTrainerConfig config;
    config.vocabSize = 300;
    config.characterCoverage = 0.999;
    BpeTrainerResult result = trainer.train(config);
    EXPECT_EQ(result.droppedCharacters, 1);
    TempDir dir("ptq-bpe");
    writeSentencePieceTokenizer(dir.path().string(), result.spec);
    const Tokenizer tok = Tokenizer::fromDir(dir.path().string());
    const auto ids = tok.encode("na\xC3\xAFn", false);
    std::vector<std::string> pieces;
    for (int32_t id : ids)
        pieces.push_back(tok.idToToken(id));
    EXPECT_NE(std::find(pieces.begin(), pieces.end(), "<0xC3>"), pieces.end());
    EXPECT_NE(std::find(pieces.begin(), pieces.end(), "<0xAF>"), pieces.end());
    EXPECT_EQ(tok.decode(ids), "na\xC3\xAFn");
    EXPECT_EQ(measureCompression(tok, text).tokens, result.trainingTokens);

    config.progressEvery = 5;
    int calls = 0;
    EXPECT_THROW(trainer.train(config, [&](const Progress& p) { return ++calls < 3; }), Cancelled);
    EXPECT_EQ(calls, 3);

    config.vocabSize = 100;
    EXPECT_THROW(trainer.train(config), ptq::Error);
    EXPECT_THROW(trainer.addText("bad \xC3"), ptq::Error);
}

TEST(BpeTrainer, RealCorpus4096)
{
    const char* env = std::getenv("PTQ_CORPUS_DIR");
    const auto root =
        env ? std::filesystem::path(env) : std::filesystem::path(PTQ_SOURCE_DIR) / ".cache/corpora";
    if (!std::filesystem::exists(root / ".complete"))
        GTEST_SKIP() << "no fetched corpora at " << root << " (run cmake/fetch_corpora.sh)";
    const auto docs = data::loadCorpus(root.string());
    BpeTrainer trainer;
    std::string testText;
    long long trainBytes = 0;
    for (const auto& d : docs) {
        const data::Split split = data::assignSplit(d);
        if (split == data::Split::Train) {
            trainer.addText(d.text, d.id);
            trainBytes += (long long)d.text.size();
        } else if (split == data::Split::Test) {
            testText += (testText.empty() ? "" : "\n\n") + d.text;
        }
    }
    BpeTrainerConfig config;
    config.vocabSize = 4096;
    const BpeTrainerResult result = trainer.train(config);
    TempDir dir("ptq-bpe-real");
    writeSentencePieceTokenizer(dir.path().string(), result.spec);
    const Tokenizer tok = Tokenizer::fromDir(dir.path().string());
    EXPECT_EQ(tok.vocabSize(), 4096);
    const CompressionStats stats = measureCompression(tok, testText);
    EXPECT_EQ(tok.decode(tok.encode(testText, false)), testText);
    std::cout << "train split " << trainBytes << " bytes, " << result.distinctWords
              << " distinct words; " << result.merges << " merges, " << result.baseCharacters
              << " base characters, training " << result.seconds << " s; test split " << stats.bytes
              << " bytes -> " << stats.tokens << " tokens, " << stats.bytesPerToken
              << " bytes/token\n";
    EXPECT_GT(stats.bytesPerToken, 3.0);
}
