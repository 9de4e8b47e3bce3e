#pragma once
// The "BPE" model of a tokenizer.json: vocabulary, ranked merges, unk / byte fallback.
// Encodes one pre-token at a time. Torch-free.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ptq::text {

class BpeModel {
public:
    // `model` is tokenizer.json's "model" object; errors name `file` and the key.
    BpeModel(const nlohmann::json& model, const std::string& file);

    // Makes an added token known to the model's lookup (transformers.js does the same, so a
    // pre-token spelled like an added token maps to its id).
    void addToken(const std::string& content, int32_t id);

    // Appends the ids of one pre-token (already normalised / byte-mapped) to `out`.
    void encode(std::string_view word, std::vector<int32_t>& out) const;

    std::optional<int32_t> find(std::string_view token) const;
    std::optional<int32_t> unkId() const { return m_unkId; }
    const std::string& unkToken() const { return m_unkToken; } // empty when the model has none
    bool fuseUnk() const { return m_fuseUnk; }
    int32_t size() const { return int32_t(m_tokens.size()); }
    // nullptr for ids that no vocabulary entry or added token uses.
    const std::string* token(int32_t id) const;

private:
    struct Merge {
        uint32_t rank;
        int32_t result;
    };
    void readVocab(const nlohmann::json& vocab);
    void readMerges(const nlohmann::json& merges);
    void mergeWord(std::string_view word, std::vector<int32_t>& out) const;
    void emitUnknown(std::string_view piece, std::vector<int32_t>& out) const;
    static uint64_t pairKey(int32_t a, int32_t b)
    {
        return (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
    }

    std::string m_file;
    std::unordered_map<std::string, int32_t> m_ids;
    std::vector<std::string> m_tokens;
    std::vector<char> m_used;
    std::unordered_map<uint64_t, Merge> m_merges;
    std::optional<int32_t> m_unkId;
    std::string m_unkToken;
    bool m_byteFallback = false;
    bool m_fuseUnk = false;
    bool m_ignoreMerges = false;
    std::string m_endOfWordSuffix;

    // Pre-tokens repeat a lot in running text; the cache keeps their ids.
    mutable std::mutex m_cacheMutex;
    mutable std::unordered_map<std::string, std::vector<int32_t>> m_cache;
};

} // namespace ptq::text
