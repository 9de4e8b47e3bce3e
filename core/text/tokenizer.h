#pragma once
// Tokenizers read from a Hugging Face tokenizer.json (and tokenizer_config.json for BOS/EOS):
//  - BPE with byte-level pre-tokenisation (GPT-2, LLaMA-3, Qwen2): regex split, bytes mapped
//    to printable code points, ranked merges;
//  - SentencePiece-style BPE (LLaMA-1/2, Mistral): "▁" metaspace normaliser, merges over code
//    points, <0xNN> byte fallback for pieces outside the vocabulary;
//  - added tokens (special or not) matched in the raw text before the model runs.
// Torch-free.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ptq {

class Tokenizer {
public:
    // `dir` holds tokenizer.json and optionally tokenizer_config.json.
    static Tokenizer fromDir(const std::string& dir);
    // tokenizerConfigPath may be empty.
    static Tokenizer fromFiles(const std::string& tokenizerJsonPath,
                               const std::string& tokenizerConfigPath);
    ~Tokenizer();
    Tokenizer(Tokenizer&&) noexcept;
    Tokenizer& operator=(Tokenizer&&) noexcept;

    // addSpecialTokens: prepend BOS / append EOS as tokenizer_config.json says
    // (add_bos_token / add_eos_token; the post_processor template when the config is silent).
    std::vector<int32_t> encode(const std::string& text, bool addSpecialTokens = true) const;
    std::string decode(const std::vector<int32_t>& ids, bool skipSpecialTokens = false) const;

    int32_t vocabSize() const; // largest id + 1, added tokens included
    std::optional<int32_t> bosId() const;
    std::optional<int32_t> eosId() const;
    std::optional<int32_t> tokenToId(const std::string& token) const;
    std::string idToToken(int32_t id) const; // throws ptq::Error when out of range
    std::string kind() const;                // "byte-level BPE" | "SentencePiece BPE"

private:
    struct Impl;
    explicit Tokenizer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace ptq
