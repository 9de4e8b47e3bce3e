#include "text/bpe.h"

#include "text/unicode.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <limits>
#include <queue>

namespace ptq::text {

namespace {

using Json = nlohmann::json;

constexpr int32_t kUnknownSymbol = -1;      // a code point the vocabulary lacks
constexpr size_t kMaxCachedWordBytes = 256; // long pre-tokens rarely repeat
constexpr size_t kMaxCacheEntries = 200000;

// One symbol of a word being merged (BpeModel::mergeWord): a node of a linked list over the
// word's pieces.
struct Symbol {
    int32_t id;
    size_t begin, end; // byte range in `word`
    int prev, next;    // neighbours in the linked list, -1 at the ends
};

// A merge of two adjacent symbols; the heap pops the lowest rank, the leftmost among equal
// ranks.
struct Candidate {
    uint32_t rank;
    size_t begin;
    int left;
    int32_t leftId, rightId, result;
    bool operator>(const Candidate& o) const
    {
        return rank != o.rank ? rank > o.rank : begin > o.begin;
    }
};

// One symbol per code point of `word` (not empty), linked in order, ids not yet looked up.
std::vector<Symbol> codePointSymbols(std::string_view word)
{
    std::vector<Symbol> symbols;
    for (size_t i = 0; i < word.size();) {
        size_t n = 0;
        decodeCodePoint(word, i, &n);
        symbols.push_back(
            {kUnknownSymbol, i, i + n, int(symbols.size()) - 1, int(symbols.size()) + 1});
        i += n;
    }
    symbols.back().next = -1;
    return symbols;
}

std::string optionalString(const Json& model, const char* key, const std::string& file)
{
    const auto it = model.find(key);
    if (it == model.end() || it->is_null())
        return {};
    if (!it->is_string())
        throw Error(file, std::string("model.") + key,
                    std::string("expected a string or null, got ") + it->type_name());
    return it->get<std::string>();
}

bool optionalBool(const Json& model, const char* key, const std::string& file)
{
    const auto it = model.find(key);
    if (it == model.end() || it->is_null())
        return false;
    if (!it->is_boolean())
        throw Error(file, std::string("model.") + key,
                    std::string("expected a boolean, got ") + it->type_name());
    return it->get<bool>();
}

} // namespace

BpeModel::BpeModel(const Json& model, const std::string& file) : m_file(file)
{
    if (model.contains("dropout") && !model["dropout"].is_null())
        throw Error(file, "model.dropout", "BPE dropout is not supported (it is random)");
    if (!optionalString(model, "continuing_subword_prefix", file).empty())
        throw Error(file, "model.continuing_subword_prefix",
                    "a non-empty continuing_subword_prefix is not supported");
    m_endOfWordSuffix = optionalString(model, "end_of_word_suffix", file);
    m_unkToken = optionalString(model, "unk_token", file);
    m_byteFallback = optionalBool(model, "byte_fallback", file);
    m_fuseUnk = optionalBool(model, "fuse_unk", file);
    m_ignoreMerges = optionalBool(model, "ignore_merges", file);

    const auto vocab = model.find("vocab");
    if (vocab == model.end())
        throw Error(file, "model.vocab", "missing required key");
    readVocab(*vocab);
    const auto merges = model.find("merges");
    if (merges != model.end() && !merges->is_null())
        readMerges(*merges);
    if (!m_unkToken.empty())
        m_unkId = find(m_unkToken);
}

void BpeModel::readVocab(const Json& vocab)
{
    if (!vocab.is_object())
        throw Error(m_file, "model.vocab",
                    std::string("expected an object {token: id}, got ") + vocab.type_name());
    m_ids.reserve(vocab.size() * 2);
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        const Json& v = it.value();
        if (!v.is_number_integer() || v.get<int64_t>() < 0 ||
            v.get<int64_t>() >= std::numeric_limits<int32_t>::max())
            throw Error(m_file, "model.vocab['" + it.key() + "']",
                        "id must be an integer in [0, 2^31-1), got " + v.dump());
        const auto id = int32_t(v.get<int64_t>());
        if (size_t(id) >= m_tokens.size()) {
            m_tokens.resize(size_t(id) + 1);
            m_used.resize(size_t(id) + 1, 0);
        }
        if (m_used[id])
            throw Error(m_file, "model.vocab['" + it.key() + "']",
                        "id " + std::to_string(id) + " is also used by '" + m_tokens[id] + "'");
        m_tokens[id] = it.key();
        m_used[id] = 1;
        m_ids.emplace(it.key(), id);
    }
}

void BpeModel::readMerges(const Json& merges)
{
    if (!merges.is_array())
        throw Error(m_file, "model.merges",
                    std::string("expected an array, got ") + merges.type_name());
    m_merges.reserve(merges.size() * 2);
    for (size_t rank = 0; rank < merges.size(); ++rank) {
        const Json& m = merges[rank];
        const std::string object = "model.merges[" + std::to_string(rank) + "]";
        std::string left, right;
        if (m.is_string()) {
            // Older files write "a b"; tokens of such vocabularies contain no plain space.
            const std::string s = m.get<std::string>();
            const size_t space = s.find(' ');
            if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
                throw Error(m_file, object,
                            "expected \"left right\" with one space, got '" + s + "'");
            left = s.substr(0, space);
            right = s.substr(space + 1);
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
            left = m[0].get<std::string>();
            right = m[1].get<std::string>();
        } else {
            throw Error(m_file, object,
                        "expected \"left right\" or [left, right], got " + m.dump());
        }
        const auto a = m_ids.find(left), b = m_ids.find(right), c = m_ids.find(left + right);
        for (const auto* part : {&left, &right})
            if (m_ids.find(*part) == m_ids.end())
                throw Error(m_file, object, "token '" + *part + "' is not in model.vocab");
        if (c == m_ids.end())
            throw Error(m_file, object,
                        "merged token '" + left + right + "' is not in model.vocab");
        // The first occurrence of a pair defines its rank.
        m_merges.emplace(pairKey(a->second, b->second), Merge{uint32_t(rank), c->second});
    }
}

void BpeModel::addToken(const std::string& content, int32_t id)
{
    if (id < 0)
        return;
    if (size_t(id) >= m_tokens.size()) {
        m_tokens.resize(size_t(id) + 1);
        m_used.resize(size_t(id) + 1, 0);
    }
    m_tokens[id] = content;
    m_used[id] = 1;
    m_ids[content] = id;
    if (!m_unkToken.empty() && content == m_unkToken)
        m_unkId = id;
}

std::optional<int32_t> BpeModel::find(std::string_view token) const
{
    const auto it = m_ids.find(std::string(token));
    if (it == m_ids.end())
        return std::nullopt;
    return it->second;
}

const std::string* BpeModel::token(int32_t id) const
{
    if (id < 0 || size_t(id) >= m_tokens.size() || !m_used[id])
        return nullptr;
    return &m_tokens[id];
}

void BpeModel::encode(std::string_view word, std::vector<int32_t>& out) const
{
    if (word.empty())
        return;
    if (m_ignoreMerges) {
        if (const auto id = find(word)) {
            out.push_back(*id);
            return;
        }
    }
    const bool cacheable = word.size() < kMaxCachedWordBytes;
    if (cacheable) {
        std::lock_guard<std::mutex> lock(m_cacheMutex);
        const auto it = m_cache.find(std::string(word));
        if (it != m_cache.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    std::vector<int32_t> ids;
    mergeWord(word, ids);
    out.insert(out.end(), ids.begin(), ids.end());
    if (cacheable) {
        std::lock_guard<std::mutex> lock(m_cacheMutex);
        if (m_cache.size() >= kMaxCacheEntries)
            m_cache.clear();
        m_cache.emplace(std::string(word), std::move(ids));
    }
}

// Ranked BPE over the code points of `word`: repeatedly merge the adjacent pair with the
// lowest merge rank, the leftmost one among equal ranks. A heap of candidate pairs with lazy
// invalidation makes it O(n log n) in the word length (SentencePiece-style vocabularies feed
// whole lines as one word).
void BpeModel::mergeWord(std::string_view word, std::vector<int32_t>& out) const
{
    std::vector<Symbol> symbols = codePointSymbols(word);
    for (size_t s = 0; s < symbols.size(); ++s) {
        std::string piece(word.substr(symbols[s].begin, symbols[s].end - symbols[s].begin));
        if (s + 1 == symbols.size())
            piece += m_endOfWordSuffix;
        if (const auto id = find(piece))
            symbols[s].id = *id;
    }

    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
    auto consider = [&](int left) {
        if (left < 0 || symbols[left].next < 0)
            return;
        const Symbol& a = symbols[left];
        const Symbol& b = symbols[a.next];
        if (a.id == kUnknownSymbol || b.id == kUnknownSymbol)
            return;
        const auto it = m_merges.find(pairKey(a.id, b.id));
        if (it != m_merges.end())
            heap.push({it->second.rank, a.begin, left, a.id, b.id, it->second.result});
    };
    for (int s = 0; s + 1 < int(symbols.size()); ++s)
        consider(s);

    while (!heap.empty()) {
        const Candidate c = heap.top();
        heap.pop();
        Symbol& a = symbols[c.left];
        // Stale when either side has merged since: ids only change by growing, so equal ids
        // at the same left symbol mean the same pair.
        if (a.id != c.leftId || a.next < 0 || symbols[a.next].id != c.rightId)
            continue;
        Symbol& b = symbols[a.next];
        a.id = c.result;
        a.end = b.end;
        a.next = b.next;
        if (b.next >= 0)
            symbols[b.next].prev = c.left;
        b.id = kUnknownSymbol; // dead: never a valid pair again
        b.next = -1;
        consider(a.prev);
        consider(c.left);
    }

    for (int s = 0; s >= 0; s = symbols[s].next) {
        if (symbols[s].id != kUnknownSymbol)
            out.push_back(symbols[s].id);
        else
            emitUnknown(word.substr(symbols[s].begin, symbols[s].end - symbols[s].begin), out);
    }
}

void BpeModel::emitUnknown(std::string_view piece, std::vector<int32_t>& out) const
{
    if (m_byteFallback) {
        std::vector<int32_t> bytes;
        for (const char ch : piece) {
            char name[8];
            std::snprintf(name, sizeof name, "<0x%02X>", unsigned(uint8_t(ch)));
            const auto id = find(name);
            if (!id)
                break;
            bytes.push_back(*id);
        }
        if (bytes.size() == piece.size()) {
            out.insert(out.end(), bytes.begin(), bytes.end());
            return;
        }
    }
    if (!m_unkId)
        throw Error(m_file, "text piece '" + std::string(piece) + "'",
                    "not in the vocabulary and the model has no unk_token");
    out.push_back(*m_unkId);
}

} // namespace ptq::text
