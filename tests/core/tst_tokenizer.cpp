// Tokenizer: id-for-id agreement with the tokenizers' own JavaScript implementation
// (transformers.js, run by the tokenizer_reference_ids fixture) on WikiText-2 lines and hard
// cases for LLaMA-2, GPT-2, LLaMA-3 and Qwen3 (Qwen2's tokenizer, NFC normalizer); the
// Unicode normalizers on known strings; round trips through tokenizer_writer; the heap-based
// BPE against a naive re-scan reference; one test per kind of broken input.

#include "test_files.h"
#include "text/tokenizer.h"
#include "text/tokenizer_writer.h"
#include "text/unicode.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <climits>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>

using namespace ptq;
using ptq::test::expectPtqError;
using ptq::test::TempDir;
using Json = nlohmann::json;

namespace {

const std::string kSpace = "\xE2\x96\x81"; // U+2581, SentencePiece's space

std::string show(const std::vector<int32_t>& ids)
{
    std::ostringstream s;
    s << "[";
    for (size_t i = 0; i < ids.size(); ++i)
        s << (i ? ", " : "") << ids[i];
    s << "]";
    return s.str();
}

// ---- reference ids from node ----

const Json* referenceIds()
{
    static const Json ref = [] {
        const std::string path = std::string(PTQ_NPM_DIR) + "/reference_ids.json";
        if (!std::filesystem::exists(path))
            return Json();
        return Json::parse(test::readFile(path));
    }();
    return ref.is_null() ? nullptr : &ref;
}

// The text LLaMA-2's decoder gives back. Its normaliser prepends "▁" to every text section
// between added tokens, so decode shows one extra space after each added token that is
// followed by text; and every "▁" in the input comes back as a space.
std::string sentencePieceRoundTrip(const std::string& text, const std::vector<std::string>& added)
{
    std::string out;
    for (size_t i = 0; i < text.size();) {
        size_t longest = 0;
        for (const std::string& a : added)
            if (a.size() > longest && text.compare(i, a.size(), a) == 0)
                longest = a.size();
        if (longest > 0) {
            out.append(text, i, longest);
            i += longest;
            bool nextIsAdded = false;
            for (const std::string& a : added)
                nextIsAdded |= text.compare(i, a.size(), a) == 0;
            if (i < text.size() && !nextIsAdded)
                out += ' ';
        } else if (text.compare(i, kSpace.size(), kSpace) == 0) {
            out += ' ';
            i += kSpace.size();
        } else {
            out += text[i++];
        }
    }
    return out;
}

void checkAgainstReference(const std::string& name)
{
    const Json* ref = referenceIds();
    if (!ref)
        GTEST_SKIP() << PTQ_NPM_DIR
            "/reference_ids.json is missing: the tokenizer_reference_ids "
            "fixture needs node, npm and " PTQ_SHARED_DIR
            "/data/wikitext-2-raw/wiki.test.raw (run the test through ctest)";
    const Json& r = ref->at(name);
    const std::string jsonPath = r.at("tokenizer_json");
    const Tokenizer tok = Tokenizer::fromFiles(jsonPath, r.at("tokenizer_config"));
    std::vector<std::string> added;
    const Json tokenizerJson = Json::parse(test::readFile(jsonPath));
    for (const Json& a : tokenizerJson.at("added_tokens"))
        added.push_back(a.at("content"));
    // Byte-level BPE gives back exactly what the model saw: the text after the normalizer.
    const Json& normalizer = tokenizerJson.at("normalizer");
    const bool nfc = normalizer.is_object() && normalizer.value("type", "") == "NFC";
    if (tok.kind() == "byte-level BPE") {
        EXPECT_TRUE(normalizer.is_null() || nfc) << name << ": a normalizer this test ignores";
    }

    const Json& cases = r.at("cases");
    const size_t wikiLines = r.at("wiki_lines");
    // Speed on the WikiText lines, first pass with a cold cache (printed, not asserted).
    size_t tokens = 0;
    const auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < wikiLines && i < cases.size(); ++i)
        tokens += tok.encode(cases[i].at("text").get<std::string>(), false).size();
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "[ speed     ] " << name << ": " << tokens << " tokens in " << s
              << " s = " << (s > 0 ? tokens / s : 0.0) << " tokens/s\n";
    // The whole test split as one string, the way perplexity evaluation encodes it.
    const std::string wikiPath = PTQ_SHARED_DIR "/data/wikitext-2-raw/wiki.test.raw";
    if (std::filesystem::exists(wikiPath)) {
        const std::string all = test::readFile(wikiPath);
        const auto t0 = std::chrono::steady_clock::now();
        const size_t n = tok.encode(all, false).size();
        const double sec =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::cout << "[ speed     ] " << name << ": whole wiki.test.raw (" << all.size()
                  << " bytes) -> " << n << " tokens in " << sec << " s\n";
    }
    size_t matchSpecial = 0, matchPlain = 0, matchDecode = 0, matchRefDecode = 0;
    bool reported = false;
    for (size_t i = 0; i < cases.size(); ++i) {
        const std::string text = cases[i].at("text");
        const auto wantSpecial = cases[i].at("ids_special").get<std::vector<int32_t>>();
        const auto wantPlain = cases[i].at("ids_plain").get<std::vector<int32_t>>();
        const auto gotSpecial = tok.encode(text, true);
        const auto gotPlain = tok.encode(text, false);
        matchSpecial += gotSpecial == wantSpecial;
        matchPlain += gotPlain == wantPlain;
        if (!reported && (gotSpecial != wantSpecial || gotPlain != wantPlain)) {
            reported = true;
            ADD_FAILURE() << name << ": first mismatch at case " << i
                          << (i < wikiLines ? " (WikiText line)" : " (hard case)") << " "
                          << Json(text).dump() << "\n  special: want " << show(wantSpecial)
                          << "\n           got  " << show(gotSpecial) << "\n  plain:   want "
                          << show(wantPlain) << "\n           got  " << show(gotPlain);
        }
        // Byte-level BPE is lossless up to its normalizer (text_nfc is JavaScript's
        // String.prototype.normalize("NFC")); LLaMA-2 differs as sentencePieceRoundTrip says.
        const std::string want = tok.kind() != "byte-level BPE"
                                     ? sentencePieceRoundTrip(text, added)
                                 : nfc ? cases[i].at("text_nfc").get<std::string>()
                                       : text;
        const std::string got = tok.decode(wantPlain);
        matchDecode += got == want;
        EXPECT_EQ(got, want) << name << ": decode of case " << i;
        matchRefDecode += got == cases[i].at("decoded").get<std::string>();
    }
    std::cout << "[ reference ] " << name << " " << r.value("version", "") << ": encode "
              << matchSpecial << "/" << cases.size() << " (with special tokens), " << matchPlain
              << "/" << cases.size() << " (without); decode " << matchDecode << "/" << cases.size()
              << " (expected text), " << matchRefDecode << "/" << cases.size()
              << " (same as the reference's decode)\n";
    EXPECT_EQ(matchSpecial, cases.size());
    EXPECT_EQ(matchPlain, cases.size());
    EXPECT_EQ(matchRefDecode, cases.size());
}

TEST(TokenizerReference, Llama2)
{
    checkAgainstReference("llama2");
}
TEST(TokenizerReference, Gpt2)
{
    checkAgainstReference("gpt2");
}
TEST(TokenizerReference, Llama3)
{
    checkAgainstReference("llama3");
}
TEST(TokenizerReference, Qwen3)
{
    checkAgainstReference("qwen3");
}

// The reference case with exactly this text; fails the test when hard_cases.txt lacks it.
const Json& referenceCase(const Json& r, const std::string& text)
{
    for (const Json& c : r.at("cases"))
        if (c.at("text") == text)
            return c;
    throw std::runtime_error("hard_cases.txt lacks the case " + Json(text).dump());
}

// Qwen2's NFC normalizer as the reference applies it: a decomposed "e" + U+0301 encodes like
// the precomposed "é"; compatibility characters (U+FB01 "ﬁ", U+2460 "①") are left alone,
// which NFKC would not do.
TEST(TokenizerReference, Qwen3NormalizesToNfc)
{
    const Json* ref = referenceIds();
    if (!ref)
        GTEST_SKIP() << "no reference ids (see TokenizerReference.Qwen3)";
    const Json& r = ref->at("qwen3");
    const Tokenizer tok = Tokenizer::fromFiles(r.at("tokenizer_json"), r.at("tokenizer_config"));
    EXPECT_FALSE(tok.bosId()); // tokenizer_config.json: add_bos_token false, bos_token null

    const std::string decomposed = "cafe\xCC\x81", composed = "caf\xC3\xA9";
    const auto refDecomposed = referenceCase(r, decomposed).at("ids_plain");
    EXPECT_EQ(refDecomposed, referenceCase(r, composed).at("ids_plain"));
    EXPECT_EQ(Json(tok.encode(decomposed, false)), refDecomposed);
    EXPECT_EQ(tok.decode(tok.encode(decomposed)), composed);

    const std::string compat = "\xEF\xAC\x81ve \xE2\x91\xA0"; // "ﬁve ①"
    const Json& refCompat = referenceCase(r, compat);
    EXPECT_NE(refCompat.at("ids_plain"), referenceCase(r, "five 1").at("ids_plain"));
    EXPECT_EQ(refCompat.at("decoded"), compat);
    EXPECT_EQ(Json(tok.encode(compat, false)), refCompat.at("ids_plain"));
    EXPECT_EQ(tok.decode(tok.encode(compat)), compat);
}

// ---- Unicode normalizers ----

// Each case: normalizer type, input, what the normalizer must produce. The expected strings
// come from the Unicode Character Database (UnicodeData.txt decompositions, Hangul
// composition of UAX #15 section 16, SpecialCasing.txt), not from ICU.
struct NormalizerCase {
    const char* type;
    std::string input, want;
};

const std::vector<NormalizerCase>& normalizerCases()
{
    static const std::vector<NormalizerCase> cases = {
        {"NFC", "e\xCC\x81", "\xC3\xA9"},    // e + U+0301 -> é
        {"NFC", "\xE2\x84\xA6", "\xCE\xA9"}, // OHM SIGN -> Ω (singleton)
        {"NFC", "\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8", "\xEA\xB0\x81"},   // jamo -> 각
        {"NFC", "\xEF\xAC\x81 \xE2\x91\xA0", "\xEF\xAC\x81 \xE2\x91\xA0"}, // ﬁ ① unchanged
        {"NFC", "q\xCC\xA3\xCC\x87", "q\xCC\xA3\xCC\x87"},    // no precomposed q with marks
        {"NFC", "a\xCC\x87\xCC\xA3", "\xE1\xBA\xA1\xCC\x87"}, // reorder: ạ + U+0307
        {"NFD", "\xC3\xA9", "e\xCC\x81"},                     // é -> e + U+0301
        {"NFD", "\xEA\xB0\x81", "\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"}, // 각 -> jamo
        {"NFD", "\xEF\xAC\x81", "\xEF\xAC\x81"}, // ﬁ is a compatibility char
        {"NFKC", "\xEF\xAC\x81", "fi"},          // ﬁ -> fi
        {"NFKC", "\xE2\x91\xA0", "1"},           // ① -> 1
        {"NFKC", "\xEF\xBC\xA6\xEF\xBD\x95\xEF\xBD\x8C\xEF\xBD\x8C", "Full"}, // fullwidth
        {"NFKC", "x\xC2\xB2", "x2"},                                          // superscript two
        {"NFKC", "e\xCC\x81", "\xC3\xA9"},
        {"NFKD", "\xE2\x91\xA0", "1"},
        {"NFKD", "\xC3\xA9", "e\xCC\x81"},
        {"NFKD", "\xEF\xAC\x81", "fi"},
        {"Lowercase", "ABC \xC3\x89T\xC3\x89", "abc \xC3\xA9t\xC3\xA9"}, // ÉTÉ -> été
        {"Lowercase", "\xCE\x9F\xCE\xA3", "\xCE\xBF\xCF\x82"}, // ΟΣ -> ος (final sigma)
        {"Lowercase", "\xC4\xB0", "i\xCC\x87"}, // İ -> i + U+0307 (SpecialCasing, root locale)
        {"Lowercase", "plain ascii 123", "plain ascii 123"},
    };
    return cases;
}

// A byte-level tokenizer whose vocabulary is the 256 byte symbols and no merges: every text
// round-trips, so decode(encode(x)) shows exactly what the normalizer made of x.
Json byteVocabTokenizer(const Json& normalizer)
{
    Json vocab = Json::object();
    const auto& alphabet = text::byteLevelAlphabet();
    for (size_t b = 0; b < alphabet.size(); ++b)
        vocab[alphabet[b]] = b;
    return {{"added_tokens", Json::array()},
            {"normalizer", normalizer},
            {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}},
            {"post_processor", nullptr},
            {"decoder", {{"type", "ByteLevel"}}},
            {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", Json::array()}}}};
}

TEST(TokenizerNormalizers, KnownStringsDirect)
{
    const std::map<std::string, text::NormalizationForm> forms = {
        {"NFC", text::NormalizationForm::Nfc},
        {"NFD", text::NormalizationForm::Nfd},
        {"NFKC", text::NormalizationForm::Nfkc},
        {"NFKD", text::NormalizationForm::Nfkd}};
    for (const NormalizerCase& c : normalizerCases()) {
        const std::string got = c.type == std::string("Lowercase")
                                    ? text::lowercaseUnicode(c.input, "f", "o")
                                    : text::normalizeUnicode(c.input, forms.at(c.type), "f", "o");
        EXPECT_EQ(got, c.want) << c.type << " of " << Json(c.input).dump();
    }
    // ASCII is invariant under every form (the fast path) and so is the empty string.
    for (const auto& [name, form] : forms) {
        EXPECT_EQ(text::normalizeUnicode("Hello, world!\n", form, "f", "o"), "Hello, world!\n");
        EXPECT_EQ(text::normalizeUnicode("", form, "f", "o"), "");
    }
}

TEST(TokenizerNormalizers, EachTypeThroughTokenizerJson)
{
    TempDir dir("ptq-tok");
    const std::string path = dir.file("tokenizer.json");
    for (const NormalizerCase& c : normalizerCases()) {
        test::writeFile(path, byteVocabTokenizer({{"type", c.type}}).dump());
        const Tokenizer tok = Tokenizer::fromFiles(path, "");
        EXPECT_EQ(tok.decode(tok.encode(c.input)), c.want)
            << c.type << " of " << Json(c.input).dump();
    }
    // In a Sequence the normalizers apply in order: NFD then Lowercase keeps the mark apart.
    const Json seq = {{"type", "Sequence"},
                      {"normalizers", {{{"type", "NFD"}}, {{"type", "Lowercase"}}}}};
    test::writeFile(path, byteVocabTokenizer(seq).dump());
    const Tokenizer tok = Tokenizer::fromFiles(path, "");
    EXPECT_EQ(tok.decode(tok.encode("\xC3\x89T\xC3\x89")), "e\xCC\x81te\xCC\x81");
}

TEST(TokenizerNormalizers, InvalidUtf8NamesFileAndOffset)
{
    expectPtqError(
        [] {
            text::normalizeUnicode("ab\xC3\xA9\xFF", text::NormalizationForm::Nfc, "t.json",
                                   "normalizer");
        },
        "t.json", "normalizer: invalid UTF-8 at byte 4");
    expectPtqError([] { text::lowercaseUnicode("\xC3(", "t.json", "normalizer"); }, "t.json",
                   "invalid UTF-8 at byte 0");
}

// ---- tokenizer_writer round trips ----

// Ids a byte-only SentencePiece tokenizer must give: "▁" (its last id) for each space and
// the prepended one, <0xNN> = 3 + NN for every byte of everything else.
std::vector<int32_t> byteIds(const std::string& text, int32_t spaceId)
{
    std::vector<int32_t> ids;
    const std::string normalized = " " + text;
    for (const char c : normalized)
        if (c == ' ')
            ids.push_back(spaceId);
        else
            ids.push_back(3 + int32_t(uint8_t(c)));
    return ids;
}

TEST(TokenizerWriter, ByteTokenizerRoundTripsAnyText)
{
    TempDir dir("ptq-tok");
    writeSentencePieceTokenizer(dir.path().string(), TokenizerSpec{});
    const Tokenizer tok = Tokenizer::fromDir(dir.path().string());
    EXPECT_EQ(tok.kind(), "SentencePiece BPE");
    EXPECT_EQ(tok.vocabSize(), 260);
    EXPECT_EQ(tok.bosId(), 1);
    EXPECT_EQ(tok.eosId(), 2);
    EXPECT_EQ(tok.idToToken(3), "<0x00>");
    EXPECT_EQ(tok.idToToken(258), "<0xFF>");
    EXPECT_EQ(tok.tokenToId(kSpace), 259);
    for (const std::string text :
         {"Hello world", "  two leading, trailing  ",
          "\xE4\xB8\xAD\xE6\x96\x87 and emoji "
          "\xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F"
          "\x8F\xBD",
          "tabs\tand\nnew\r\nlines\n\n\n", "x", "caf\xC3\xA9 na\xC3\xAFve"}) {
        std::vector<int32_t> want = {1};
        const auto body = byteIds(text, 259);
        want.insert(want.end(), body.begin(), body.end());
        const auto ids = tok.encode(text);
        EXPECT_EQ(ids, want) << text;
        EXPECT_EQ(tok.decode(ids, true), text);
        EXPECT_EQ(tok.encode(text, false), body);
    }
    EXPECT_EQ(tok.encode(""), std::vector<int32_t>{1});
    EXPECT_EQ(tok.decode({}), "");
}

TEST(TokenizerWriter, EosFlagFromConfig)
{
    TempDir dir("ptq-tok");
    TokenizerSpec spec;
    spec.addBos = false;
    spec.addEos = true;
    writeSentencePieceTokenizer(dir.path().string(), spec);
    const Tokenizer tok = Tokenizer::fromDir(dir.path().string());
    std::vector<int32_t> want = byteIds("ab", 259);
    want.push_back(2);
    EXPECT_EQ(tok.encode("ab"), want);
}

TEST(TokenizerWriter, MergesApplyInRankOrder)
{
    TempDir dir("ptq-tok");
    TokenizerSpec spec;
    spec.pieces = {kSpace, "h", "e", "l", "o", "he", "ll", "hell", "hello", kSpace + "hello"};
    spec.merges = {{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {kSpace, "hello"}};
    writeSentencePieceTokenizer(dir.path().string(), spec);
    const Tokenizer tok = Tokenizer::fromDir(dir.path().string());
    const int32_t spaceHello = 259 + 9, hell = 259 + 7, space = 259;
    EXPECT_EQ(tok.encode("hello hello"), (std::vector<int32_t>{1, spaceHello, spaceHello}));
    // "▁hellx": h+e, l+l, he+ll apply; no merge joins "hell" with x or "▁" with "hell".
    EXPECT_EQ(tok.encode("hellx", false), (std::vector<int32_t>{space, hell, 3 + 'x'}));
    EXPECT_EQ(tok.decode(tok.encode("hello hellx hello"), true), "hello hellx hello");

    // Priority: with (b,c) ranked before (a,b), "abc" becomes a + bc; swapped, ab + c.
    for (const bool bcFirst : {true, false}) {
        TempDir d2("ptq-tok");
        TokenizerSpec s;
        s.pieces = {"a", "b", "c", "ab", "bc"};
        s.merges = bcFirst ? decltype(s.merges){{"b", "c"}, {"a", "b"}}
                           : decltype(s.merges){{"a", "b"}, {"b", "c"}};
        writeSentencePieceTokenizer(d2.path().string(), s);
        const Tokenizer t = Tokenizer::fromDir(d2.path().string());
        const int32_t a = 259, c = 261, ab = 262, bc = 263, sp = 264;
        EXPECT_EQ(t.encode("abc", false),
                  bcFirst ? (std::vector<int32_t>{sp, a, bc}) : (std::vector<int32_t>{sp, ab, c}));
    }
}

// Slow, obvious BPE: rescan the whole word for the lowest-ranked adjacent pair (leftmost on
// ties) and merge it, until no pair has a rank.
std::vector<std::string> naiveBpe(std::vector<std::string> symbols,
                                  const std::map<std::pair<std::string, std::string>, int>& ranks)
{
    for (;;) {
        int best = INT_MAX;
        size_t at = 0;
        for (size_t i = 0; i + 1 < symbols.size(); ++i) {
            const auto it = ranks.find({symbols[i], symbols[i + 1]});
            if (it != ranks.end() && it->second < best) {
                best = it->second;
                at = i;
            }
        }
        if (best == INT_MAX)
            return symbols;
        symbols[at] += symbols[at + 1];
        symbols.erase(symbols.begin() + std::ptrdiff_t(at) + 1);
    }
}

TEST(TokenizerBpe, HeapMergeMatchesNaiveRescan)
{
    std::mt19937 rng(7);
    // Random merges over the alphabet {▁, a, b, c}: each joins two existing tokens.
    TokenizerSpec spec;
    spec.pieces = {kSpace, "a", "b", "c"};
    std::map<std::pair<std::string, std::string>, int> ranks;
    while (spec.merges.size() < 60) {
        const std::string& x = spec.pieces[rng() % spec.pieces.size()];
        const std::string& y = spec.pieces[rng() % spec.pieces.size()];
        if (x.size() + y.size() > 12 || ranks.count({x, y}))
            continue;
        const std::string xy = x + y;
        ranks[{x, y}] = int(spec.merges.size());
        spec.merges.emplace_back(x, y);
        if (std::find(spec.pieces.begin(), spec.pieces.end(), xy) == spec.pieces.end())
            spec.pieces.push_back(xy);
    }
    TempDir dir("ptq-tok");
    writeSentencePieceTokenizer(dir.path().string(), spec);
    const Tokenizer tok = Tokenizer::fromDir(dir.path().string());
    const std::string alphabet = "abc ";
    for (int trial = 0; trial < 300; ++trial) {
        std::string text;
        const size_t n = rng() % 40;
        for (size_t i = 0; i < n; ++i)
            text += alphabet[rng() % alphabet.size()];
        std::vector<std::string> symbols = {kSpace};
        for (const char ch : text)
            symbols.push_back(ch == ' ' ? kSpace : std::string(1, ch));
        std::vector<int32_t> want;
        if (!text.empty())
            for (const std::string& s : naiveBpe(symbols, ranks))
                want.push_back(*tok.tokenToId(s));
        EXPECT_EQ(tok.encode(text, false), want) << "text '" << text << "'";
    }
}

// ---- broken inputs ----

// A small valid byte-level tokenizer.json that the tests below break one key at a time.
Json smallTokenizer()
{
    Json vocab = Json::object();
    const std::vector<std::string> tokens = {"a", "b", "ab", "<|end|>"};
    for (size_t i = 0; i < tokens.size(); ++i)
        vocab[tokens[i]] = i;
    return {{"version", "1.0"},
            {"added_tokens",
             {{{"id", 3}, {"content", "<|end|>"}, {"special", true}, {"normalized", false}}}},
            {"normalizer", nullptr},
            {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}},
            {"post_processor", nullptr},
            {"decoder", {{"type", "ByteLevel"}}},
            {"model",
             {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"a b"}}, {"unk_token", nullptr}}}};
}

struct BrokenFiles {
    TempDir dir{"ptq-tok"};
    std::string json = dir.file("tokenizer.json");
    std::string config = dir.file("tokenizer_config.json");
};

void expectLoadFails(const std::string& jsonText, const std::string& phrase)
{
    BrokenFiles f;
    test::writeFile(f.json, jsonText);
    expectPtqError([&] { Tokenizer::fromFiles(f.json, ""); }, f.json, phrase);
}

TEST(TokenizerErrors, SmallTokenizerIsValid)
{
    BrokenFiles f;
    test::writeFile(f.json, smallTokenizer().dump());
    const Tokenizer tok = Tokenizer::fromFiles(f.json, "");
    EXPECT_EQ(tok.encode("abab<|end|>a"), (std::vector<int32_t>{2, 2, 3, 0}));
    EXPECT_EQ(tok.kind(), "byte-level BPE");
}

TEST(TokenizerErrors, InvalidJson)
{
    expectLoadFails("{\"model\": {", "not valid JSON");
}

TEST(TokenizerErrors, TruncatedFile)
{
    const std::string full = smallTokenizer().dump(2);
    expectLoadFails(full.substr(0, full.size() / 2), "not valid JSON");
}

TEST(TokenizerErrors, MissingModel)
{
    Json j = smallTokenizer();
    j.erase("model");
    expectLoadFails(j.dump(), "'model'");
}

TEST(TokenizerErrors, UnsupportedModelType)
{
    Json j = smallTokenizer();
    j["model"]["type"] = "WordPiece";
    expectLoadFails(j.dump(), "unsupported model type 'WordPiece'");
    j["model"]["type"] = "Unigram";
    expectLoadFails(j.dump(), "unsupported model type 'Unigram'");
}

TEST(TokenizerErrors, VocabNotAnObject)
{
    Json j = smallTokenizer();
    j["model"]["vocab"] = Json::array({"a", "b"});
    expectLoadFails(j.dump(), "model.vocab");
}

TEST(TokenizerErrors, DuplicateVocabId)
{
    Json j = smallTokenizer();
    j["model"]["vocab"]["b"] = 0;
    expectLoadFails(j.dump(), "is also used by");
}

TEST(TokenizerErrors, MergeReferencesUnknownToken)
{
    Json j = smallTokenizer();
    j["model"]["merges"] = {"a b", "a zz"};
    expectLoadFails(j.dump(), "token 'zz' is not in model.vocab");
    j["model"]["merges"] = Json::array({Json::array({"b", "a"})});
    expectLoadFails(j.dump(), "merged token 'ba' is not in model.vocab");
}

TEST(TokenizerErrors, UnsupportedPreTokenizer)
{
    Json j = smallTokenizer();
    j["pre_tokenizer"] = {{"type", "BertPreTokenizer"}};
    expectLoadFails(j.dump(), "unsupported pre_tokenizer type 'BertPreTokenizer'");
}

TEST(TokenizerErrors, UnsupportedNormalizer)
{
    Json j = smallTokenizer();
    j["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "BertNormalizer"}}}}};
    expectLoadFails(j.dump(), "unsupported normalizer type 'BertNormalizer'");
}

TEST(TokenizerErrors, BadSplitRegex)
{
    Json j = smallTokenizer();
    j["pre_tokenizer"] = {
        {"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
    expectLoadFails(j.dump(), "cannot compile regex");
}

TEST(TokenizerErrors, AddedTokenIdOutOfRange)
{
    Json j = smallTokenizer();
    j["added_tokens"][0]["id"] = -4;
    expectLoadFails(j.dump(), "out of range");
}

TEST(TokenizerErrors, AddedTokenCollidesWithVocab)
{
    Json j = smallTokenizer();
    j["added_tokens"][0]["content"] = "<|new|>";
    j["added_tokens"][0]["id"] = 1; // id 1 is "b"
    expectLoadFails(j.dump(), "collides with the vocabulary token 'b'");
}

TEST(TokenizerErrors, ConfigNotJson)
{
    BrokenFiles f;
    test::writeFile(f.json, smallTokenizer().dump());
    test::writeFile(f.config, "{\"add_bos_token\": tru");
    expectPtqError([&] { Tokenizer::fromFiles(f.json, f.config); }, f.config, "not valid JSON");
}

TEST(TokenizerErrors, ConfigBosTokenUnknown)
{
    BrokenFiles f;
    test::writeFile(f.json, smallTokenizer().dump());
    test::writeFile(f.config, R"({"add_bos_token": true, "bos_token": "<s>"})");
    expectPtqError([&] { Tokenizer::fromFiles(f.json, f.config); }, f.config,
                   "'<s>' is not in the vocabulary");
}

TEST(TokenizerErrors, InvalidUtf8Input)
{
    BrokenFiles f;
    test::writeFile(f.json, smallTokenizer().dump());
    const Tokenizer tok = Tokenizer::fromFiles(f.json, "");
    expectPtqError([&] { tok.encode("ab\xC3(ab"); }, f.json, "input text at byte 2");
    expectPtqError([&] { tok.encode("\xED\xA0\x80"); }, f.json, "invalid UTF-8"); // surrogate
}

TEST(TokenizerErrors, DecodeIdOutOfRange)
{
    BrokenFiles f;
    test::writeFile(f.json, smallTokenizer().dump());
    const Tokenizer tok = Tokenizer::fromFiles(f.json, "");
    expectPtqError([&] { tok.decode({0, 4}); }, f.json, "token id 4");
    expectPtqError([&] { tok.idToToken(-1); }, f.json, "out of range");
}

TEST(TokenizerErrors, CharacterWithoutTokenOrUnk)
{
    BrokenFiles f;
    test::writeFile(f.json, smallTokenizer().dump());
    const Tokenizer tok = Tokenizer::fromFiles(f.json, "");
    expectPtqError([&] { tok.encode("abc"); }, f.json, "no unk_token");
}

TEST(TokenizerErrors, WriterRejectsMergeOfUnknownPiece)
{
    TempDir dir("ptq-tok");
    TokenizerSpec spec;
    spec.pieces = {"a", "b"};
    spec.merges = {{"a", "b"}};
    expectPtqError([&] { writeSentencePieceTokenizer(dir.path().string(), spec); },
                   "tokenizer.json", "'ab' is not among the pieces");
}

} // namespace
