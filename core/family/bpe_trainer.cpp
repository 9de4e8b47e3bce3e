#include "family/bpe_trainer.h"

#include "text/tokenizer.h"
#include "text/unicode.h"
#include "util/error.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <unordered_set>

namespace ptq::text {

namespace {

const char* const kMetaspace = "\xE2\x96\x81"; // U+2581
constexpr char32_t kMetaspaceCp = 0x2581;
constexpr int kReservedIds = 3 + 256; // <unk> <s> </s> and the byte tokens
constexpr int32_t kUnknown = -1;      // a character left to byte fallback

uint64_t pairKey(int32_t a, int32_t b)
{
    return (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
}
int32_t pairLeft(uint64_t key)
{
    return int32_t(key >> 32);
}
int32_t pairRight(uint64_t key)
{
    return int32_t(key & 0xffffffffu);
}

// Names the tokenizer already uses for its special and byte tokens; a merge spelling one
// of them would be a duplicate piece.
bool isReservedName(const std::string& s)
{
    if (s == "<unk>" || s == "<s>" || s == "</s>")
        return true;
    const auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
    return s.size() == 6 && s.compare(0, 3, "<0x") == 0 && hex(s[3]) && hex(s[4]) && s[5] == '>';
}

struct Word {
    std::vector<int32_t> symbols;
    long long count = 0;
    long long fallbackTokens = 0; // byte tokens of the characters outside the base set
};

// The training state: symbols, words as symbol sequences, pair counts, and for each pair
// the words that contained it when it was counted (entries may be stale; they are checked).
class MergeState {
public:
    std::vector<std::string> symbols;
    std::unordered_map<std::string, int32_t> symbolIds;
    std::vector<Word> words;
    std::unordered_map<uint64_t, long long> pairCounts;
    std::unordered_map<uint64_t, std::vector<int32_t>> pairWords;

    struct Candidate {
        long long count;
        uint64_t key;
    };
    // Max-heap order: higher count first, then the bytewise smaller (left, right) strings.
    bool lowerPriority(const Candidate& x, const Candidate& y) const
    {
        if (x.count != y.count)
            return x.count < y.count;
        const std::string& xl = symbols[size_t(pairLeft(x.key))];
        const std::string& yl = symbols[size_t(pairLeft(y.key))];
        if (xl != yl)
            return xl > yl;
        return symbols[size_t(pairRight(x.key))] > symbols[size_t(pairRight(y.key))];
    }
    void push(long long count, uint64_t key)
    {
        heap.push_back({count, key});
        std::push_heap(heap.begin(), heap.end(), [this](const Candidate& a, const Candidate& b) {
            return lowerPriority(a, b);
        });
    }
    Candidate pop()
    {
        std::pop_heap(heap.begin(), heap.end(), [this](const Candidate& a, const Candidate& b) {
            return lowerPriority(a, b);
        });
        const Candidate top = heap.back();
        heap.pop_back();
        return top;
    }
    bool empty() const { return heap.empty(); }

    void countInitialPairs()
    {
        for (size_t w = 0; w < words.size(); ++w) {
            const auto& s = words[w].symbols;
            for (size_t i = 0; i + 1 < s.size(); ++i) {
                if (s[i] == kUnknown || s[i + 1] == kUnknown)
                    continue;
                const uint64_t key = pairKey(s[i], s[i + 1]);
                pairCounts[key] += words[w].count;
                auto& list = pairWords[key];
                if (list.empty() || list.back() != int32_t(w))
                    list.push_back(int32_t(w));
            }
        }
        for (const auto& [key, count] : pairCounts)
            push(count, key);
    }

    // Replaces every (a, b) in the words that hold it by `merged`, updating the pair counts
    // by the difference between each word's pairs before and after.
    void applyMerge(uint64_t key, int32_t merged)
    {
        const int32_t a = pairLeft(key), b = pairRight(key);
        std::vector<int32_t> candidates = std::move(pairWords[key]);
        pairWords.erase(key);
        std::map<uint64_t, long long> delta; // ordered: heap pushes happen in a fixed order
        std::unordered_set<int32_t> visited;
        for (int32_t w : candidates) {
            if (!visited.insert(w).second)
                continue;
            Word& word = words[size_t(w)];
            std::vector<int32_t>& s = word.symbols;
            bool found = false;
            for (size_t i = 0; i + 1 < s.size() && !found; ++i)
                found = s[i] == a && s[i + 1] == b;
            if (!found)
                continue;
            addPairs(s, -word.count, delta);
            std::vector<int32_t> out;
            out.reserve(s.size());
            for (size_t i = 0; i < s.size(); ++i) {
                if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
                    out.push_back(merged);
                    ++i;
                } else {
                    out.push_back(s[i]);
                }
            }
            s = std::move(out);
            addPairs(s, word.count, delta);
            for (size_t i = 0; i + 1 < s.size(); ++i) {
                if ((s[i] == merged || s[i + 1] == merged) && s[i] != kUnknown &&
                    s[i + 1] != kUnknown)
                    pairWords[pairKey(s[i], s[i + 1])].push_back(w);
            }
        }
        for (const auto& [k, d] : delta) {
            if (d == 0)
                continue;
            long long& c = pairCounts[k];
            c += d;
            if (c <= 0)
                pairCounts.erase(k);
            else
                push(c, k);
        }
    }

private:
    static void addPairs(const std::vector<int32_t>& s, long long count,
                         std::map<uint64_t, long long>& delta)
    {
        for (size_t i = 0; i + 1 < s.size(); ++i) {
            if (s[i] != kUnknown && s[i + 1] != kUnknown)
                delta[pairKey(s[i], s[i + 1])] += count;
        }
    }

    std::vector<Candidate> heap;
};

std::vector<char32_t> codePoints(std::string_view s)
{
    std::vector<char32_t> out;
    for (size_t i = 0; i < s.size();) {
        size_t n = 0;
        out.push_back(decodeCodePoint(s, i, &n));
        i += n;
    }
    return out;
}

// Base characters: most frequent first (ties by code point) until `coverage` of all
// character occurrences is reached, "▁" always included, at most `limit` of them.
std::vector<char32_t> chooseBaseCharacters(const std::map<char32_t, long long>& counts,
                                           double coverage, size_t limit)
{
    std::vector<std::pair<char32_t, long long>> sorted(counts.begin(), counts.end());
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& x, const auto& y) { return x.second > y.second; });
    long long total = 0;
    for (const auto& [cp, n] : sorted)
        total += n;
    std::vector<char32_t> base = {kMetaspaceCp};
    long long covered = counts.count(kMetaspaceCp) ? counts.at(kMetaspaceCp) : 0;
    for (const auto& [cp, n] : sorted) {
        if (base.size() >= limit || double(covered) >= coverage * double(total))
            break;
        if (cp == kMetaspaceCp)
            continue;
        base.push_back(cp);
        covered += n;
    }
    return base;
}

// Symbols for the base characters (ids in `base` order) and every word as symbols.
MergeState initialState(const std::vector<std::pair<std::string, long long>>& sortedWords,
                        const std::vector<char32_t>& base)
{
    MergeState state;
    std::unordered_map<char32_t, int32_t> charIds;
    for (char32_t cp : base) {
        std::string s;
        appendUtf8(s, cp);
        charIds[cp] = int32_t(state.symbols.size());
        state.symbolIds.emplace(s, int32_t(state.symbols.size()));
        state.symbols.push_back(s);
    }
    for (const auto& [text, count] : sortedWords) {
        Word word;
        word.count = count;
        for (char32_t cp : codePoints(text)) {
            const auto it = charIds.find(cp);
            word.symbols.push_back(it == charIds.end() ? kUnknown : it->second);
            if (it == charIds.end()) // one byte token per UTF-8 byte
                word.fallbackTokens += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        }
        state.words.push_back(std::move(word));
    }
    state.countInitialPairs();
    return state;
}

// The merge loop: best pair first, until the pieces fill the budget or no pair repeats.
std::vector<std::pair<std::string, std::string>> runMerges(MergeState& state, size_t pieceBudget,
                                                           const BpeTrainerConfig& config,
                                                           const ProgressFn& progress)
{
    std::vector<std::pair<std::string, std::string>> merges;
    const long long expected = (long long)(pieceBudget - state.symbols.size());
    std::unordered_set<uint64_t> banned;
    while (state.symbols.size() < pieceBudget && !state.empty()) {
        const auto top = state.pop();
        const auto it = state.pairCounts.find(top.key);
        if (it == state.pairCounts.end() || it->second != top.count || banned.count(top.key))
            continue; // stale entry
        if (top.count < 2)
            break; // a pair seen once teaches nothing about unseen text
        const std::string& left = state.symbols[size_t(pairLeft(top.key))];
        const std::string& right = state.symbols[size_t(pairRight(top.key))];
        const std::string merged = left + right;
        if (isReservedName(merged)) {
            banned.insert(top.key);
            continue;
        }
        merges.emplace_back(left, right);
        // Different pairs may spell the same piece ("a"+"bc", "ab"+"c"): one symbol.
        auto [idIt, isNew] = state.symbolIds.emplace(merged, int32_t(state.symbols.size()));
        if (isNew)
            state.symbols.push_back(merged);
        state.applyMerge(top.key, idIt->second);
        const long long done = (long long)merges.size();
        if (config.progressEvery > 0 && done % config.progressEvery == 0)
            reportProgress(progress, {"bpe", "merge " + std::to_string(done), done, expected});
    }
    reportProgress(progress, {"bpe", "done", (long long)merges.size(), (long long)merges.size()});
    return merges;
}

} // namespace

std::vector<std::string> splitTrainingWords(std::string_view text)
{
    std::vector<std::string> words;
    std::string current = kMetaspace;
    bool inNewlines = false;
    auto flush = [&] {
        if (!current.empty())
            words.push_back(std::move(current));
        current.clear();
    };
    // ' ' and '\n' never occur inside a multi-byte UTF-8 sequence, so bytes suffice here.
    for (char c : text) {
        if (c == ' ') {
            flush();
            current = kMetaspace;
            inNewlines = false;
        } else if (c == '\n') {
            if (!inNewlines)
                flush();
            current.push_back(c);
            inNewlines = true;
        } else {
            if (inNewlines)
                flush();
            current.push_back(c);
            inNewlines = false;
        }
    }
    flush();
    return words;
}

void BpeTrainer::addText(std::string_view text, const std::string& name)
{
    if (const auto bad = firstInvalidUtf8(text))
        throw Error(name, "byte " + std::to_string(*bad), "ill-formed UTF-8");
    for (std::string& w : splitTrainingWords(text))
        ++m_words[std::move(w)];
    m_textBytes += (long long)text.size();
}

BpeTrainerResult BpeTrainer::train(const BpeTrainerConfig& config, const ProgressFn& progress) const
{
    if (config.vocabSize < kReservedIds + 1)
        throw Error("", "vocabSize", "must be at least " + std::to_string(kReservedIds + 1));
    if (!(config.characterCoverage > 0 && config.characterCoverage <= 1))
        throw Error("", "characterCoverage", "must lie in (0, 1]");
    const auto start = std::chrono::steady_clock::now();
    const size_t pieceBudget = size_t(config.vocabSize - kReservedIds);

    // Words in a fixed order, so ids and the work lists do not depend on hashing.
    std::vector<std::pair<std::string, long long>> sortedWords(m_words.begin(), m_words.end());
    std::sort(sortedWords.begin(), sortedWords.end());
    std::map<char32_t, long long> charCounts;
    for (const auto& [word, count] : sortedWords) {
        for (char32_t cp : codePoints(word))
            charCounts[cp] += count;
    }
    const std::vector<char32_t> base =
        chooseBaseCharacters(charCounts, config.characterCoverage, pieceBudget);
    MergeState state = initialState(sortedWords, base);

    BpeTrainerResult result;
    result.baseCharacters = int(base.size());
    result.droppedCharacters =
        int(charCounts.size()) - int(base.size()) + (charCounts.count(kMetaspaceCp) ? 0 : 1);
    result.spec.merges = runMerges(state, pieceBudget, config, progress);
    result.merges = int(result.spec.merges.size());
    for (const Word& word : state.words) {
        const auto known = std::count_if(word.symbols.begin(), word.symbols.end(),
                                         [](int32_t id) { return id != kUnknown; });
        result.trainingTokens += (known + word.fallbackTokens) * word.count;
    }
    result.spec.pieces = state.symbols;
    result.spec.addBos = config.addBos;
    result.spec.addEos = config.addEos;
    result.vocabSize = kReservedIds + int(state.symbols.size());
    result.distinctWords = (long long)m_words.size();
    result.textBytes = m_textBytes;
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

CompressionStats measureCompression(const Tokenizer& tokenizer, std::string_view text)
{
    CompressionStats stats;
    stats.bytes = (long long)text.size();
    stats.tokens = (long long)tokenizer.encode(std::string(text), false).size();
    stats.bytesPerToken = stats.tokens > 0 ? double(stats.bytes) / double(stats.tokens) : 0.0;
    return stats;
}

} // namespace ptq::text
