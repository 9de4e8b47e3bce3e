#include "text/tokenizer_writer.h"

#include "util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unordered_map>

namespace ptq {

namespace {

using Json = nlohmann::json;

const char* const kMetaspace = "\xE2\x96\x81"; // U+2581, SentencePiece's space

void writeJson(const std::filesystem::path& path, const Json& json)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out)
        throw Error(path.string(), "", "cannot open for writing");
    out << json.dump(2) << '\n';
    if (!out.flush())
        throw Error(path.string(), "", "write failed");
}

Json addedToken(int id, const char* content)
{
    return {{"id", id},        {"content", content},  {"single_word", false}, {"lstrip", false},
            {"rstrip", false}, {"normalized", false}, {"special", true}};
}

// Vocabulary in id order: <unk> <s> </s>, the 256 byte tokens, the spec's pieces, and "▁"
// last when the pieces lack it (the decoder turns only vocabulary "▁" back into spaces, so a
// byte-coded "▁" would not round-trip).
std::vector<std::string> vocabulary(const TokenizerSpec& spec, const std::string& file)
{
    std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        tokens.emplace_back(name);
    }
    tokens.insert(tokens.end(), spec.pieces.begin(), spec.pieces.end());
    if (std::find(spec.pieces.begin(), spec.pieces.end(), kMetaspace) == spec.pieces.end())
        tokens.emplace_back(kMetaspace);
    std::unordered_map<std::string, size_t> seen;
    for (size_t i = 0; i < tokens.size(); ++i) {
        if (tokens[i].empty())
            throw Error(file, "piece " + std::to_string(i), "empty piece");
        if (!seen.emplace(tokens[i], i).second)
            throw Error(file, "piece '" + tokens[i] + "'",
                        "listed twice (ids " + std::to_string(seen[tokens[i]]) + " and " +
                            std::to_string(i) + ")");
    }
    return tokens;
}

Json tokenizerJson(const TokenizerSpec& spec, const std::string& file)
{
    const std::vector<std::string> tokens = vocabulary(spec, file);
    Json vocab = Json::object();
    for (size_t i = 0; i < tokens.size(); ++i)
        vocab[tokens[i]] = i;
    Json merges = Json::array();
    for (size_t i = 0; i < spec.merges.size(); ++i) {
        const auto& [a, b] = spec.merges[i];
        for (const std::string& name : {a, b, a + b}) {
            if (!vocab.contains(name))
                throw Error(file, "merge " + std::to_string(i) + " ('" + a + "', '" + b + "')",
                            "token '" + name + "' is not among the pieces");
        }
        merges.push_back({a, b});
    }
    Json single = Json::array();
    if (spec.addBos)
        single.push_back({{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}});
    single.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
    if (spec.addEos)
        single.push_back({{"SpecialToken", {{"id", "</s>"}, {"type_id", 0}}}});
    Json specials = Json::object();
    specials["<s>"] = {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}};
    specials["</s>"] = {{"id", "</s>"}, {"ids", {2}}, {"tokens", {"</s>"}}};

    Json root;
    root["version"] = "1.0";
    root["truncation"] = nullptr;
    root["padding"] = nullptr;
    root["added_tokens"] = {addedToken(0, "<unk>"), addedToken(1, "<s>"), addedToken(2, "</s>")};
    root["normalizer"] = {
        {"type", "Sequence"},
        {"normalizers",
         {{{"type", "Prepend"}, {"prepend", kMetaspace}},
          {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", kMetaspace}}}}};
    root["pre_tokenizer"] = nullptr;
    root["post_processor"] = {{"type", "TemplateProcessing"},
                              {"single", single},
                              {"pair", single},
                              {"special_tokens", specials}};
    root["decoder"] = {
        {"type", "Sequence"},
        {"decoders",
         {{{"type", "Replace"}, {"pattern", {{"String", kMetaspace}}}, {"content", " "}},
          {{"type", "ByteFallback"}},
          {{"type", "Fuse"}},
          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
    root["model"] = {{"type", "BPE"},
                     {"dropout", nullptr},
                     {"unk_token", "<unk>"},
                     {"continuing_subword_prefix", nullptr},
                     {"end_of_word_suffix", nullptr},
                     {"fuse_unk", true},
                     {"byte_fallback", true},
                     {"vocab", vocab},
                     {"merges", merges}};
    return root;
}

} // namespace

void writeSentencePieceTokenizer(const std::string& dir, const TokenizerSpec& spec)
{
    const std::filesystem::path base(dir);
    std::error_code ec;
    std::filesystem::create_directories(base, ec);
    if (ec)
        throw Error(dir, "", "cannot create directory: " + ec.message());
    const auto jsonPath = base / "tokenizer.json";
    writeJson(jsonPath, tokenizerJson(spec, jsonPath.string()));
    const Json config = {{"add_bos_token", spec.addBos},
                         {"add_eos_token", spec.addEos},
                         {"bos_token", "<s>"},
                         {"eos_token", "</s>"},
                         {"unk_token", "<unk>"},
                         {"pad_token", nullptr},
                         {"clean_up_tokenization_spaces", false},
                         {"legacy", true},
                         {"tokenizer_class", "LlamaTokenizer"}};
    writeJson(base / "tokenizer_config.json", config);
}

} // namespace ptq
