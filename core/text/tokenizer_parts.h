#pragma once
// The pipeline stages of a tokenizer.json besides the model: normalizers, pre-tokenizers and
// decoders, built from their JSON objects. Semantics follow the Hugging Face tokenizers
// documentation; where transformers.js (the reference the tests compare against) differs,
// the comment at the stage says which one is followed. Torch-free.

#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

namespace ptq::text {

class Normalizer {
public:
    virtual ~Normalizer() = default;
    virtual std::string normalize(std::string text) const = 0;
};

class PreTokenizer {
public:
    virtual ~PreTokenizer() = default;
    // Splits every piece further. `sectionIndex` counts the sections between added tokens
    // (Metaspace's prepend_scheme "first" only prepends in section 0).
    virtual std::vector<std::string> split(const std::vector<std::string>& pieces,
                                           size_t sectionIndex) const = 0;
};

class Decoder {
public:
    virtual ~Decoder() = default;
    // Transforms the token strings; the caller concatenates the result.
    virtual std::vector<std::string> decodeChain(std::vector<std::string> tokens) const = 0;
};

// What the decoders need to know about the tokenizer: the added tokens pass through the
// ByteLevel decoder verbatim.
struct DecoderContext {
    std::unordered_set<std::string> addedTokens;
};

// Each returns nullptr for a JSON null; `key` is where the object sits ("normalizer",
// "pre_tokenizer.pretokenizers[1]") and goes into error messages with `file`.
std::unique_ptr<Normalizer> makeNormalizer(const nlohmann::json& config, const std::string& file,
                                           const std::string& key);
std::unique_ptr<PreTokenizer> makePreTokenizer(const nlohmann::json& config,
                                               const std::string& file, const std::string& key);
std::unique_ptr<Decoder> makeDecoder(const nlohmann::json& config, const std::string& file,
                                     const std::string& key,
                                     std::shared_ptr<const DecoderContext> context);

} // namespace ptq::text
