#include "family/task_gen.h"

#include "util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <set>

namespace ptq::data {

namespace {

// mt19937_64 output is fixed by the standard; the distributions are not, so bounded draws
// and shuffles are done here to keep files identical across standard libraries.
class Rng {
public:
    explicit Rng(uint64_t seed) : m_engine(seed) {}
    // Uniform in [0, n) by rejection (no modulo bias); n > 0.
    uint64_t below(uint64_t n)
    {
        const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
        uint64_t x;
        do
            x = m_engine();
        while (x >= limit);
        return x % n;
    }
    int64_t between(int64_t lo, int64_t hi) { return lo + int64_t(below(uint64_t(hi - lo + 1))); }
    template <class T> void shuffle(std::vector<T>& v)
    {
        for (std::size_t i = v.size(); i > 1; --i)
            std::swap(v[i - 1], v[below(i)]);
    }

private:
    std::mt19937_64 m_engine;
};

bool isAsciiAlpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool isUpper(char c)
{
    return c >= 'A' && c <= 'Z';
}

std::string lower(std::string s)
{
    for (char& c : s)
        if (isUpper(c))
            c = char(c - 'A' + 'a');
    return s;
}

std::vector<std::string_view> words(std::string_view s)
{
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && s[i] == ' ')
            ++i;
        const std::size_t start = i;
        while (i < s.size() && s[i] != ' ')
            ++i;
        if (i > start)
            out.push_back(s.substr(start, i - start));
    }
    return out;
}

// Closing punctuation that may follow a word or a sentence end: ASCII quotes and brackets,
// and the UTF-8 right quotes U+2019 / U+201D.
std::size_t closingLength(std::string_view s, std::size_t i)
{
    if (s[i] == '"' || s[i] == '\'' || s[i] == ')' || s[i] == ']')
        return 1;
    if (s.substr(i, 3) == "\xe2\x80\x99" || s.substr(i, 3) == "\xe2\x80\x9d")
        return 3;
    return 0;
}

// The plain alphabetic word a token carries (trailing punctuation dropped), or "".
std::string plainWord(std::string_view token)
{
    std::size_t end = 0;
    while (end < token.size() && isAsciiAlpha(token[end]))
        ++end;
    for (std::size_t i = end; i < token.size();) {
        const std::size_t n = closingLength(token, i);
        if (n == 0 && std::string_view(".,;:!?").find(token[i]) == std::string_view::npos)
            return "";
        i += n ? n : 1;
    }
    return end >= 3 ? std::string(token.substr(0, end)) : "";
}

bool isAbbreviation(std::string_view word)
{
    static const std::set<std::string_view> known = {
        "Mr",  "Mrs", "Messrs", "Dr",  "St",  "Mme",  "Esq", "Gen", "Col", "Capt", "Lieut",
        "Rev", "Jr",  "Sr",     "Hon", "Gov", "Prof", "No",  "vs",  "Mt",  "Ft"};
    while (!word.empty() && (word.front() == '"' || word.front() == '(' || word.front() == '\''))
        word.remove_prefix(1);
    return known.count(word) || (word.size() == 1 && isUpper(word[0]));
}

std::string join(const std::vector<std::string>& parts, std::size_t begin, std::size_t end)
{
    std::string out;
    for (std::size_t i = begin; i < end; ++i)
        out += (i > begin ? " " : "") + parts[i];
    return out;
}

struct TestDocument {
    const Document* doc;
    std::vector<std::string> sentences; // all paragraphs, in order
};

std::vector<TestDocument> testDocuments(const std::vector<Document>& docs,
                                        const TaskGenConfig& config)
{
    if (config.numChoices < 2)
        throw Error("", "task generator numChoices", "must be at least 2");
    std::vector<TestDocument> out;
    for (const Document& d : docs) {
        if (assignSplit(d, config.validFrac, config.testFrac) != Split::Test)
            continue;
        TestDocument t{&d, {}};
        std::size_t start = 0;
        while (start <= d.text.size()) {
            std::size_t end = d.text.find('\n', start);
            if (end == std::string::npos)
                end = d.text.size();
            for (auto& s : splitSentences(std::string_view(d.text).substr(start, end - start)))
                t.sentences.push_back(std::move(s));
            start = end + 1;
        }
        out.push_back(std::move(t));
    }
    return out;
}

// Keeps at most maxExamples of the candidates, chosen at random, in their original order.
std::vector<GeneratedExample> subsample(std::vector<GeneratedExample> all, int64_t maxExamples,
                                        Rng& rng)
{
    if (maxExamples <= 0 || int64_t(all.size()) <= maxExamples)
        return all;
    std::vector<std::size_t> index(all.size());
    for (std::size_t i = 0; i < index.size(); ++i)
        index[i] = i;
    rng.shuffle(index);
    index.resize(std::size_t(maxExamples));
    std::sort(index.begin(), index.end());
    std::vector<GeneratedExample> out;
    for (std::size_t i : index)
        out.push_back(std::move(all[i]));
    return out;
}

GeneratedExample withGold(const TestDocument& t, std::string context, std::string truth,
                          std::vector<std::string> distractors, Rng& rng)
{
    GeneratedExample ex;
    ex.context = std::move(context);
    ex.gold = int64_t(rng.below(distractors.size() + 1));
    ex.choices = std::move(distractors);
    ex.choices.insert(ex.choices.begin() + ex.gold, std::move(truth));
    ex.docId = t.doc->id;
    ex.source = t.doc->source;
    return ex;
}

// Per lowercase word of one document: occurrences and how many were capitalised.
struct WordStats {
    int64_t count = 0;
    int64_t capitalized = 0;
    int frequencyClass() const { return int(std::floor(std::log2(double(count)))); }
    bool mostlyCapitalized() const { return 2 * capitalized > count; }
};

std::map<std::string, WordStats> vocabulary(const TestDocument& t)
{
    std::map<std::string, WordStats> vocab;
    for (const auto& s : t.sentences)
        for (auto token : words(s)) {
            while (!token.empty() &&
                   (token.front() == '"' || token.front() == '(' || token.front() == '\''))
                token.remove_prefix(1);
            const std::string w = plainWord(token);
            if (w.empty())
                continue;
            auto& stats = vocab[lower(w)];
            stats.count += 1;
            stats.capitalized += isUpper(w[0]);
        }
    return vocab;
}

// n distractors for `word`: same capitalisation habit and frequency class (log2 of the
// count), the class window widened until enough words qualify; fewer than n when the
// document's vocabulary is too small. Shown in the true word's capitalisation.
std::vector<std::string> pickDistractors(const std::map<std::string, WordStats>& vocab,
                                         const std::string& word, std::size_t n, Rng& rng)
{
    const std::string key = lower(word);
    const WordStats& target = vocab.at(key);
    std::vector<std::string> pool;
    for (int pass = 0; pass < 2 && pool.size() < n; ++pass) {
        for (int radius = 0; radius <= 24 && pool.size() < n; ++radius) {
            pool.clear();
            for (const auto& [w, s] : vocab)
                if (w != key && std::abs(s.frequencyClass() - target.frequencyClass()) <= radius &&
                    (pass == 1 || s.mostlyCapitalized() == target.mostlyCapitalized()))
                    pool.push_back(w);
        }
    }
    if (pool.size() < n)
        return {};
    for (std::size_t i = 0; i < n; ++i) // partial Fisher-Yates: the first n are the sample
        std::swap(pool[i], pool[i + rng.below(pool.size() - i)]);
    pool.resize(n);
    for (auto& w : pool)
        if (isUpper(word[0]))
            w[0] = char(w[0] - 'a' + 'A');
    return pool;
}

// A sentence of the pool of next-sentence choices.
struct PoolSentence {
    int64_t words;
    std::size_t doc;
    const std::string* text;
};

// n sentences of about `words` words from documents other than `doc`, distinct from each
// other and from `truth`; the length window widens until enough are found.
std::vector<std::string> pickSentences(const std::vector<PoolSentence>& pool, std::size_t doc,
                                       const std::string& truth, int64_t words, std::size_t n,
                                       Rng& rng)
{
    const auto byWords = [](const PoolSentence& p, int64_t w) { return p.words < w; };
    for (int64_t tolerance = std::max<int64_t>(2, words / 5);; tolerance *= 2) {
        const auto lo = std::lower_bound(pool.begin(), pool.end(), words - tolerance, byWords);
        const auto hi = std::lower_bound(pool.begin(), pool.end(), words + tolerance + 1, byWords);
        const std::size_t span = std::size_t(hi - lo);
        std::vector<std::string> out;
        std::set<std::string> seen = {truth};
        for (int attempt = 0; span > 0 && attempt < 64 && out.size() < n; ++attempt) {
            const PoolSentence& p = *(lo + std::ptrdiff_t(rng.below(span)));
            if (p.doc != doc && seen.insert(*p.text).second)
                out.push_back(*p.text);
        }
        if (out.size() == n)
            return out;
        if (lo == pool.begin() && hi == pool.end())
            return {};
    }
}

} // namespace

std::vector<std::string> splitSentences(std::string_view p)
{
    std::vector<std::string> out;
    const auto emit = [&](std::size_t begin, std::size_t end) {
        while (begin < end && p[begin] == ' ')
            ++begin;
        while (end > begin && p[end - 1] == ' ')
            --end;
        if (end > begin)
            out.emplace_back(p.substr(begin, end - begin));
    };
    std::size_t start = 0;
    for (std::size_t i = 0; i < p.size(); ++i) {
        if (p[i] != '.' && p[i] != '!' && p[i] != '?')
            continue;
        std::size_t j = i + 1;
        while (j < p.size() && (p[j] == '.' || p[j] == '!' || p[j] == '?'))
            ++j;
        for (std::size_t n; j < p.size() && (n = closingLength(p, j)) > 0;)
            j += n;
        if (j < p.size() && p[j] != ' ')
            continue;
        if (p[i] == '.' && j == i + 1) {
            const std::size_t wordStart = p.rfind(' ', i);
            const std::size_t b = wordStart == std::string_view::npos ? 0 : wordStart + 1;
            if (isAbbreviation(p.substr(b, i - b)))
                continue;
        }
        emit(start, j);
        start = j;
        i = j - 1;
    }
    emit(start, p.size());
    return out;
}

std::vector<GeneratedExample> generateLastWordTask(const std::vector<Document>& docs,
                                                   const TaskGenConfig& config)
{
    Rng rng(config.seed);
    const auto tests = testDocuments(docs, config);
    const int64_t minS = std::max<int64_t>(1, config.minSentences);
    const int64_t maxS = std::max(minS, config.maxSentences);
    std::vector<GeneratedExample> all;
    std::set<std::string> seen;
    for (const TestDocument& t : tests) {
        const auto vocab = vocabulary(t);
        const int64_t n = int64_t(t.sentences.size());
        for (int64_t pos = 0; pos + minS <= n;) {
            const int64_t len = std::min(rng.between(minS, maxS), n - pos);
            const std::size_t end = std::size_t(pos + len);
            std::size_t first = std::size_t(pos);
            pos += len;
            // Long sentences (the addresses have many) would make passages far longer than
            // LAMBADA's; drop leading sentences down to maxWords.
            while (first + 1 < end &&
                   int64_t(words(join(t.sentences, first, end)).size()) > config.maxWords)
                ++first;
            const std::string passage = join(t.sentences, first, end);
            const auto tokens = words(passage);
            if (int64_t(tokens.size()) < config.minWords ||
                int64_t(tokens.size()) > config.maxWords)
                continue;
            const std::string word = plainWord(tokens.back());
            if (word.empty())
                continue;
            auto distractors =
                pickDistractors(vocab, word, std::size_t(config.numChoices - 1), rng);
            std::string context(
                std::string_view(passage).substr(0, tokens.back().data() - passage.data()));
            while (!context.empty() && context.back() == ' ')
                context.pop_back();
            if (distractors.empty() || context.empty() || !seen.insert(context).second)
                continue;
            all.push_back(withGold(t, std::move(context), word, std::move(distractors), rng));
        }
    }
    return subsample(std::move(all), config.maxExamples, rng);
}

std::vector<GeneratedExample> generateNextSentenceTask(const std::vector<Document>& docs,
                                                       const TaskGenConfig& config)
{
    // A stream of its own, so adding last-word examples never changes these.
    Rng rng(config.seed ^ 0x9e3779b97f4a7c15ull);
    const auto tests = testDocuments(docs, config);
    std::vector<PoolSentence> pool;
    const auto fits = [&](const std::string& s) {
        const int64_t w = int64_t(words(s).size());
        return w >= config.minChoiceWords && w <= config.maxChoiceWords;
    };
    for (std::size_t d = 0; d < tests.size(); ++d)
        for (const auto& s : tests[d].sentences)
            if (fits(s))
                pool.push_back({int64_t(words(s).size()), d, &s});
    std::stable_sort(pool.begin(), pool.end(),
                     [](const auto& a, const auto& b) { return a.words < b.words; });
    const int64_t minK = std::max<int64_t>(1, config.minContextSentences);
    const int64_t maxK = std::max(minK, config.maxContextSentences);
    std::vector<GeneratedExample> all;
    std::set<std::string> seen;
    for (std::size_t d = 0; d < tests.size(); ++d) {
        const auto& s = tests[d].sentences;
        for (int64_t pos = 0;;) {
            const int64_t k = rng.between(minK, maxK);
            if (pos + k >= int64_t(s.size()))
                break;
            const std::string& truth = s[std::size_t(pos + k)];
            std::string context = join(s, std::size_t(pos), std::size_t(pos + k));
            pos += k + 1;
            if (!fits(truth) || !seen.insert(context).second)
                continue;
            auto distractors = pickSentences(pool, d, truth, int64_t(words(truth).size()),
                                             std::size_t(config.numChoices - 1), rng);
            if (distractors.empty())
                continue;
            all.push_back(
                withGold(tests[d], std::move(context), truth, std::move(distractors), rng));
        }
    }
    return subsample(std::move(all), config.maxExamples, rng);
}

std::string taskJsonl(const std::vector<GeneratedExample>& examples)
{
    std::string out;
    for (std::size_t i = 0; i < examples.size(); ++i) {
        const auto& ex = examples[i];
        nlohmann::ordered_json line;
        line["context"] = ex.context;
        line["choices"] = ex.choices;
        line["gold"] = ex.gold;
        line["doc_id"] = ex.docId;
        line["source"] = ex.source;
        try {
            out += line.dump() + "\n";
        } catch (const nlohmann::json::exception& e) {
            throw Error("", "generated example " + std::to_string(i) + " (" + ex.docId + ")",
                        std::string("cannot be written as JSON: ") + e.what());
        }
    }
    return out;
}

void writeTaskJsonl(const std::string& path, const std::vector<GeneratedExample>& examples)
{
    const std::string text = taskJsonl(examples);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), std::streamsize(text.size()));
    if (!out)
        throw Error(path, "task file", "cannot write it");
}

} // namespace ptq::data
