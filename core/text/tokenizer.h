#pragma once
// Tokenizers read from a Hugging Face tokenizer.json (and tokenizer_config.json for BOS/EOS):
//  - BPE with byte-level pre-tokenisation (GPT-2, LLaMA-3, Qwen2): regex split, bytes mapped
//    to printable code points, ranked merges;
//  - SentencePiece-style BPE (LLaMA-1/2, Mistral): "▁" metaspace normaliser, merges over code
//    points, <0xNN> byte fallback for pieces outside the vocabulary;
//  - added tokens (special or not) matched in the raw text before the model runs.
// Supported tokenizer.json parts: model BPE; normalizers Sequence, Prepend, Replace, Strip,
// NFC, NFD, NFKC, NFKD (ICU), Lowercase;
// pre-tokenizers ByteLevel, Split (PCRE2 regex compiled as written, all five behaviours),
// Metaspace, Digits, Sequence; decoders ByteLevel, Replace, ByteFallback, Fuse, Strip,
// Metaspace, Sequence; post-processors TemplateProcessing, ByteLevel, Bert/Roberta, Sequence.
// Anything else (Unigram, WordPiece, BertNormalizer...) fails to load with a ptq::Error
// naming it. The reference for ids is transformers.js (tests/tokenizer/reference.js): GPT-2,
// LLaMA-2, LLaMA-3 and Qwen2/Qwen3 agree id for id on WikiText-2 and hard cases. Torch-free.

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
    // `text` must be UTF-8: ill-formed bytes throw ptq::Error naming their offset. Added
    // tokens found in the text always become their ids, whatever addSpecialTokens says.
    // Thread-safe (the per-word cache is locked).
    std::vector<int32_t> encode(const std::string& text, bool addSpecialTokens = true) const;
    // Inverse of encode through the decoder chain. clean_up_tokenization_spaces is not
    // applied, so byte-level tokenizers give the encoded text back exactly; SentencePiece
    // ones turn every "\u2581" into a space and show one extra space after an added token
    // that was followed by text (the normaliser prefixed that text with "\u2581").
    // Ill-formed byte sequences (partial byte tokens) decode to U+FFFD. Throws ptq::Error for
    // an id that no token uses.
    std::string decode(const std::vector<int32_t>& ids, bool skipSpecialTokens = false) const;

    int32_t vocabSize() const; // largest id + 1, added tokens included
    std::optional<int32_t> bosId() const;
    std::optional<int32_t> eosId() const;
    std::optional<int32_t> tokenToId(const std::string& token) const;
    std::string idToToken(int32_t id) const; // throws ptq::Error when out of range
    std::string kind() const;                // "byte-level BPE" | "SentencePiece BPE"
    // sha256 of tokenizer.json's bytes and of tokenizer_config.json's (when read): equal
    // fingerprints encode every text alike, so token caches key on it.
    const std::string& fingerprint() const;

private:
    struct Impl;
    explicit Tokenizer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace ptq
