#include "text/tokenizer.h"

#include "text/bpe.h"
#include "text/tokenizer_parts.h"
#include "text/unicode.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/sha256.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

namespace ptq {

namespace {

using Json = nlohmann::json;

std::string fileBytesSha256(const std::string& path)
{
    return sha256Hex(readFileBytes(path));
}

struct AddedToken {
    std::string content;
    int32_t id = 0;
    bool special = false, lstrip = false, rstrip = false, singleWord = false;
};

// A piece of the input: either plain text or one added token.
struct Section {
    std::string_view text;
    const AddedToken* added = nullptr;
};

bool containsByteLevel(const Json& j)
{
    if (j.is_object()) {
        const auto t = j.find("type");
        if (t != j.end() && t->is_string() && *t == "ByteLevel")
            return true;
        for (const auto& item : j.items())
            if (containsByteLevel(item.value()))
                return true;
    } else if (j.is_array()) {
        for (const auto& item : j)
            if (containsByteLevel(item))
                return true;
    }
    return false;
}

// "Word" characters for single_word added tokens: letters, digits, '_' and anything
// non-ASCII that is not whitespace (a deliberate approximation of Unicode \w).
bool isWordChar(char32_t cp)
{
    if (cp < 0x80)
        return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
               cp == '_';
    return !text::isJsWhitespace(cp);
}

} // namespace

struct Tokenizer::Impl {
    std::string jsonPath;
    std::unique_ptr<text::BpeModel> model;
    std::unique_ptr<text::Normalizer> normalizer;
    std::unique_ptr<text::PreTokenizer> preTokenizer;
    std::unique_ptr<text::Decoder> decoder;
    std::vector<AddedToken> added;
    std::array<std::vector<const AddedToken*>, 256> addedByFirstByte; // longest first
    std::unordered_set<std::string> specialTokens;                    // skipped by decode
    std::vector<int32_t> prefixIds, suffixIds;                        // what addSpecialTokens adds
    std::optional<int32_t> bos, eos;
    std::string kind;
    std::string fingerprint;

    void readAddedTokens(const Json& root);
    void readConfig(const std::string& configPath, const Json& root);
    void readPostProcessor(const Json& pp, const std::string& key);
    int32_t specialId(const std::string& token, const std::string& file,
                      const std::string& key) const;
    std::vector<Section> splitOnAddedTokens(std::string_view text) const;
    const AddedToken* matchAt(std::string_view text, size_t i) const;
    void encodeSection(std::string_view text, size_t sectionIndex, std::vector<int32_t>& out) const;
};

void Tokenizer::Impl::readAddedTokens(const Json& root)
{
    const auto it = root.find("added_tokens");
    if (it == root.end() || it->is_null())
        return;
    if (!it->is_array())
        throw Error(jsonPath, "added_tokens", "expected an array");
    std::unordered_map<int32_t, std::string> seen;
    for (size_t i = 0; i < it->size(); ++i) {
        const Json& t = (*it)[i];
        const std::string key = "added_tokens[" + std::to_string(i) + "]";
        if (!t.is_object() || !t.contains("content") || !t["content"].is_string() ||
            t["content"].get<std::string>().empty() || !t.contains("id"))
            throw Error(jsonPath, key, "expected {\"id\": int, \"content\": non-empty string}");
        AddedToken a;
        a.content = t["content"].get<std::string>();
        const Json& id = t["id"];
        if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= INT32_MAX)
            throw Error(jsonPath, key + ".id",
                        "id " + id.dump() + " of '" + a.content + "' is out of range [0, 2^31-1)");
        a.id = int32_t(id.get<int64_t>());
        auto flag = [&](const char* name) { return t.value(name, false) == true; };
        a.special = flag("special");
        a.lstrip = flag("lstrip");
        a.rstrip = flag("rstrip");
        a.singleWord = flag("single_word");
        if (const auto vocabId = model->find(a.content); vocabId && *vocabId != a.id)
            throw Error(jsonPath, key,
                        "'" + a.content + "' has id " + std::to_string(a.id) +
                            " but model.vocab gives it id " + std::to_string(*vocabId));
        if (const std::string* other = model->token(a.id); other && *other != a.content)
            throw Error(jsonPath, key,
                        "id " + std::to_string(a.id) + " of '" + a.content +
                            "' collides with the vocabulary token '" + *other + "'");
        if (const auto s = seen.find(a.id); s != seen.end() && s->second != a.content)
            throw Error(jsonPath, key,
                        "id " + std::to_string(a.id) + " is also used by added token '" +
                            s->second + "'");
        seen[a.id] = a.content;
        added.push_back(a);
    }
    for (const AddedToken& a : added) {
        model->addToken(a.content, a.id);
        if (a.special)
            specialTokens.insert(a.content);
        addedByFirstByte[uint8_t(a.content[0])].push_back(&a);
    }
    for (auto& bucket : addedByFirstByte)
        std::stable_sort(bucket.begin(), bucket.end(),
                         [](const AddedToken* x, const AddedToken* y) {
                             return x->content.size() > y->content.size();
                         });
}

int32_t Tokenizer::Impl::specialId(const std::string& token, const std::string& file,
                                   const std::string& key) const
{
    if (const auto id = model->find(token))
        return *id;
    throw Error(file, key, "token '" + token + "' is not in the vocabulary");
}

void Tokenizer::Impl::readPostProcessor(const Json& pp, const std::string& key)
{
    if (pp.is_null())
        return;
    const std::string type = pp.is_object() ? pp.value("type", "") : "";
    if (type == "ByteLevel")
        return; // offsets only; adds no tokens
    if (type == "Sequence" && pp.contains("processors") && pp["processors"].is_array()) {
        for (size_t i = 0; i < pp["processors"].size(); ++i)
            readPostProcessor(pp["processors"][i], key + ".processors[" + std::to_string(i) + "]");
        return;
    }
    if (type == "BertProcessing" || type == "RobertaProcessing") {
        for (const char* which : {"cls", "sep"}) {
            const Json& v = pp.value(which, Json());
            if (!v.is_array() || v.size() != 2 || !v[1].is_number_integer())
                throw Error(jsonPath, key + "." + which, "expected [token, id]");
            (std::string(which) == "cls" ? prefixIds : suffixIds).push_back(v[1].get<int32_t>());
        }
        return;
    }
    if (type != "TemplateProcessing")
        throw Error(jsonPath, key, "unsupported post_processor type '" + type + "'");
    const Json& single = pp.value("single", Json());
    if (!single.is_array())
        throw Error(jsonPath, key + ".single", "expected an array");
    const Json& specials = pp.value("special_tokens", Json::object());
    bool afterSequence = false;
    for (const Json& item : single) {
        if (item.contains("Sequence")) {
            afterSequence = true;
            continue;
        }
        if (!item.contains("SpecialToken") || !item["SpecialToken"].value("id", Json()).is_string())
            throw Error(jsonPath, key + ".single", "unexpected template item " + item.dump());
        const std::string name = item["SpecialToken"]["id"].get<std::string>();
        std::vector<int32_t> ids;
        if (specials.contains(name) && specials[name].contains("ids"))
            ids = specials[name]["ids"].get<std::vector<int32_t>>();
        else
            ids.push_back(specialId(name, jsonPath, key + ".single"));
        auto& target = afterSequence ? suffixIds : prefixIds;
        target.insert(target.end(), ids.begin(), ids.end());
    }
}

void Tokenizer::Impl::readConfig(const std::string& configPath, const Json& root)
{
    readPostProcessor(root.value("post_processor", Json()), "post_processor");
    if (prefixIds.size() == 1)
        bos = prefixIds[0];
    if (suffixIds.size() == 1)
        eos = suffixIds[0];
    if (configPath.empty())
        return;
    const Json config = readJsonFile(configPath);
    if (!config.is_object())
        throw Error(configPath, "JSON", "expected an object at the top level");
    auto tokenName = [&](const char* key) -> std::optional<std::string> {
        const auto it = config.find(key);
        if (it == config.end() || it->is_null())
            return std::nullopt;
        if (it->is_string())
            return it->get<std::string>();
        if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
            return (*it)["content"].get<std::string>();
        throw Error(configPath, key, "expected a string or {\"content\": ...}");
    };
    auto flag = [&](const char* key) -> std::optional<bool> {
        const auto it = config.find(key);
        if (it == config.end() || it->is_null())
            return std::nullopt;
        if (!it->is_boolean())
            throw Error(configPath, key, std::string("expected a boolean, got ") + it->type_name());
        return it->get<bool>();
    };
    if (const auto name = tokenName("bos_token"))
        bos = specialId(*name, configPath, "bos_token");
    if (const auto name = tokenName("eos_token"))
        eos = specialId(*name, configPath, "eos_token");
    const auto addBos = flag("add_bos_token"), addEos = flag("add_eos_token");
    // The config's flags, when given, decide over the post-processor template (transformers
    // lets them override it); a flag left out counts as false.
    if (addBos || addEos) {
        prefixIds.clear();
        suffixIds.clear();
        if (addBos.value_or(false)) {
            if (!bos)
                throw Error(configPath, "add_bos_token", "true but no bos_token is defined");
            prefixIds.push_back(*bos);
        }
        if (addEos.value_or(false)) {
            if (!eos)
                throw Error(configPath, "add_eos_token", "true but no eos_token is defined");
            suffixIds.push_back(*eos);
        }
    }
    const auto extra = config.find("additional_special_tokens");
    if (extra != config.end() && extra->is_array())
        for (const Json& t : *extra)
            if (t.is_string())
                specialTokens.insert(t.get<std::string>());
}

const AddedToken* Tokenizer::Impl::matchAt(std::string_view text, size_t i) const
{
    for (const AddedToken* a : addedByFirstByte[uint8_t(text[i])]) {
        if (text.compare(i, a->content.size(), a->content) != 0)
            continue;
        if (a->singleWord) {
            size_t n = 0;
            const size_t end = i + a->content.size();
            bool boundedLeft = i == 0, boundedRight = end == text.size();
            if (!boundedLeft) {
                size_t start = i - 1;
                while (start > 0 && (uint8_t(text[start]) & 0xC0) == 0x80)
                    --start;
                boundedLeft = !isWordChar(text::decodeCodePoint(text, start, &n));
            }
            if (!boundedRight)
                boundedRight = !isWordChar(text::decodeCodePoint(text, end, &n));
            if (!boundedLeft || !boundedRight)
                continue;
        }
        return a;
    }
    return nullptr;
}

// Leftmost-longest matching of the added tokens in the raw text, as transformers.js does;
// lstrip / rstrip then trim the whitespace of the neighbouring text sections.
std::vector<Section> Tokenizer::Impl::splitOnAddedTokens(std::string_view text) const
{
    std::vector<Section> sections;
    size_t start = 0;
    for (size_t i = 0; i < text.size();) {
        const AddedToken* a = added.empty() ? nullptr : matchAt(text, i);
        if (!a) {
            ++i;
            continue;
        }
        if (i > start)
            sections.push_back({text.substr(start, i - start), nullptr});
        sections.push_back({text.substr(i, a->content.size()), a});
        i += a->content.size();
        start = i;
    }
    if (start < text.size())
        sections.push_back({text.substr(start), nullptr});
    for (size_t i = 0; i < sections.size(); ++i) {
        const AddedToken* a = sections[i].added;
        if (!a)
            continue;
        if (a->lstrip && i > 0 && !sections[i - 1].added)
            sections[i - 1].text = text::trimEndJs(sections[i - 1].text);
        if (a->rstrip && i + 1 < sections.size() && !sections[i + 1].added)
            sections[i + 1].text = text::trimStartJs(sections[i + 1].text);
    }
    return sections;
}

void Tokenizer::Impl::encodeSection(std::string_view text, size_t sectionIndex,
                                    std::vector<int32_t>& out) const
{
    std::string normalized(text);
    if (normalizer)
        normalized = normalizer->normalize(std::move(normalized));
    if (normalized.empty())
        return;
    std::vector<std::string> pieces{std::move(normalized)};
    if (preTokenizer)
        pieces = preTokenizer->split(pieces, sectionIndex);
    const size_t first = out.size();
    for (const std::string& piece : pieces)
        model->encode(piece, out);
    // fuse_unk: a run of unknown pieces within a section becomes one <unk>.
    if (model->fuseUnk() && model->unkId()) {
        const int32_t unk = *model->unkId();
        auto begin = out.begin() + std::ptrdiff_t(first);
        auto end = std::unique(begin, out.end(),
                               [unk](int32_t a, int32_t b) { return a == unk && b == unk; });
        out.erase(end, out.end());
    }
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

Tokenizer Tokenizer::fromDir(const std::string& dir)
{
    const std::filesystem::path base(dir);
    const auto config = base / "tokenizer_config.json";
    return fromFiles((base / "tokenizer.json").string(),
                     std::filesystem::exists(config) ? config.string() : std::string());
}

Tokenizer Tokenizer::fromFiles(const std::string& tokenizerJsonPath,
                               const std::string& tokenizerConfigPath)
{
    auto impl = std::make_unique<Impl>();
    impl->jsonPath = tokenizerJsonPath;
    const Json root = readJsonFile(tokenizerJsonPath);
    if (!root.is_object())
        throw Error(tokenizerJsonPath, "JSON", "expected an object at the top level");
    const auto model = root.find("model");
    if (model == root.end() || !model->is_object())
        throw Error(tokenizerJsonPath, "key 'model'", "missing or not an object");
    // Files written before the "type" field existed are BPE when they carry merges.
    const std::string type = model->contains("type") && (*model)["type"].is_string()
                                 ? (*model)["type"].get<std::string>()
                                 : (model->contains("merges") ? "BPE" : "");
    if (type != "BPE")
        throw Error(tokenizerJsonPath, "model.type",
                    "unsupported model type '" + type + "' (only BPE is implemented)");
    impl->model = std::make_unique<text::BpeModel>(*model, tokenizerJsonPath);
    impl->readAddedTokens(root);
    if (!impl->model->unkToken().empty() && !impl->model->unkId())
        throw Error(tokenizerJsonPath, "model.unk_token",
                    "'" + impl->model->unkToken() + "' is not in the vocabulary");
    const Json null;
    impl->normalizer =
        text::makeNormalizer(root.value("normalizer", null), tokenizerJsonPath, "normalizer");
    impl->preTokenizer = text::makePreTokenizer(root.value("pre_tokenizer", null),
                                                tokenizerJsonPath, "pre_tokenizer");
    auto context = std::make_shared<text::DecoderContext>();
    for (const AddedToken& a : impl->added)
        context->addedTokens.insert(a.content);
    impl->decoder =
        text::makeDecoder(root.value("decoder", null), tokenizerJsonPath, "decoder", context);
    impl->readConfig(tokenizerConfigPath, root);
    impl->fingerprint =
        fileBytesSha256(tokenizerJsonPath) + ":" +
        (tokenizerConfigPath.empty() ? std::string() : fileBytesSha256(tokenizerConfigPath));
    impl->kind = containsByteLevel(root.value("pre_tokenizer", null)) ||
                         containsByteLevel(root.value("decoder", null))
                     ? "byte-level BPE"
                     : "SentencePiece BPE";
    return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::encode(const std::string& text, bool addSpecialTokens) const
{
    // Invalid UTF-8 is rejected rather than guessed at: neither reference implementation
    // defines what its bytes should become.
    if (const auto bad = text::firstInvalidUtf8(text))
        throw Error(m_impl->jsonPath, "input text at byte " + std::to_string(*bad),
                    "invalid UTF-8; encode() accepts UTF-8 text only");
    std::vector<int32_t> ids;
    if (addSpecialTokens)
        ids = m_impl->prefixIds;
    const std::vector<Section> sections = m_impl->splitOnAddedTokens(text);
    for (size_t i = 0; i < sections.size(); ++i) {
        if (sections[i].added)
            ids.push_back(sections[i].added->id);
        else if (!sections[i].text.empty())
            m_impl->encodeSection(sections[i].text, i, ids);
    }
    if (addSpecialTokens)
        ids.insert(ids.end(), m_impl->suffixIds.begin(), m_impl->suffixIds.end());
    return ids;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skipSpecialTokens) const
{
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (const int32_t id : ids) {
        const std::string& token = idToToken(id);
        if (!(skipSpecialTokens && m_impl->specialTokens.count(token)))
            tokens.push_back(token);
    }
    std::string text;
    if (!m_impl->decoder) {
        // No decoder: tokens joined by spaces, as the tokenizers library does.
        for (size_t i = 0; i < tokens.size(); ++i)
            text += (i ? " " : "") + tokens[i];
        return text;
    }
    for (const std::string& piece : m_impl->decoder->decodeChain(std::move(tokens)))
        text += piece;
    return text;
}

int32_t Tokenizer::vocabSize() const
{
    return m_impl->model->size();
}
std::optional<int32_t> Tokenizer::bosId() const
{
    return m_impl->bos;
}
std::optional<int32_t> Tokenizer::eosId() const
{
    return m_impl->eos;
}

std::optional<int32_t> Tokenizer::tokenToId(const std::string& token) const
{
    return m_impl->model->find(token);
}

std::string Tokenizer::idToToken(int32_t id) const
{
    if (const std::string* token = m_impl->model->token(id))
        return *token;
    throw Error(m_impl->jsonPath, "token id " + std::to_string(id),
                "out of range or unused (vocabulary size " + std::to_string(vocabSize()) + ")");
}

std::string Tokenizer::kind() const
{
    return m_impl->kind;
}

const std::string& Tokenizer::fingerprint() const
{
    return m_impl->fingerprint;
}

} // namespace ptq
