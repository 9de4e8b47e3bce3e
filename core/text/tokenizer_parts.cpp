#include "text/tokenizer_parts.h"

#include "text/unicode.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <optional>

namespace ptq::text {

namespace {

using Json = nlohmann::json;

// The GPT-2 pre-tokenisation regex (the ByteLevel pre-tokenizer's use_regex).
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

const char* const kMetaspace = "\xE2\x96\x81"; // U+2581 LOWER ONE EIGHTH BLOCK

// Typed access to one component object; failures name the file and the key path.
class Config {
public:
    Config(const Json& json, std::string file, std::string key)
        : m_json(json), m_file(std::move(file)), m_key(std::move(key))
    {
        if (!m_json.is_object())
            fail(std::string("expected an object, got ") + m_json.type_name());
    }
    [[noreturn]] void fail(const std::string& reason, const std::string& sub = "") const
    {
        throw Error(m_file, sub.empty() ? m_key : m_key + "." + sub, reason);
    }
    const Json* find(const char* key) const
    {
        const auto it = m_json.find(key);
        return it == m_json.end() || it->is_null() ? nullptr : &*it;
    }
    std::string type() const { return string("type"); }
    std::string string(const char* key) const
    {
        const Json* v = find(key);
        if (!v)
            fail("missing required key", key);
        if (!v->is_string())
            fail(std::string("expected a string, got ") + v->type_name(), key);
        return v->get<std::string>();
    }
    std::string string(const char* key, const std::string& fallback) const
    {
        return find(key) ? string(key) : fallback;
    }
    bool boolean(const char* key, bool fallback) const
    {
        const Json* v = find(key);
        if (!v)
            return fallback;
        if (!v->is_boolean())
            fail(std::string("expected a boolean, got ") + v->type_name(), key);
        return v->get<bool>();
    }
    int64_t integer(const char* key, int64_t fallback) const
    {
        const Json* v = find(key);
        if (!v)
            return fallback;
        if (!v->is_number_integer() || v->get<int64_t>() < 0)
            fail("expected a non-negative integer, got " + v->dump(), key);
        return v->get<int64_t>();
    }
    const Json& array(const char* key) const
    {
        const Json* v = find(key);
        if (!v || !v->is_array())
            fail("expected an array", key);
        return *v;
    }
    std::string sub(const char* key, size_t i) const
    {
        return m_key + "." + key + "[" + std::to_string(i) + "]";
    }
    const std::string& file() const { return m_file; }
    const std::string& key() const { return m_key; }

private:
    const Json& m_json;
    std::string m_file;
    std::string m_key;
};

// A {"String": s} or {"Regex": r} pattern: finds matches as byte ranges.
class Pattern {
public:
    Pattern(const Config& c)
    {
        const Json* p = c.find("pattern");
        if (!p || !p->is_object())
            c.fail("expected {\"String\": ...} or {\"Regex\": ...}", "pattern");
        if (p->contains("String") && (*p)["String"].is_string()) {
            m_literal = (*p)["String"].get<std::string>();
            if (m_literal.empty())
                c.fail("empty String pattern", "pattern");
        } else if (p->contains("Regex") && (*p)["Regex"].is_string()) {
            m_regex.emplace((*p)["Regex"].get<std::string>(), c.file(), c.key() + ".pattern");
        } else {
            c.fail("expected {\"String\": ...} or {\"Regex\": ...}, got " + p->dump(), "pattern");
        }
    }
    std::vector<std::pair<size_t, size_t>> findAll(std::string_view s) const
    {
        if (m_regex)
            return m_regex->findAll(s);
        std::vector<std::pair<size_t, size_t>> out;
        for (size_t at = s.find(m_literal); at != std::string_view::npos;
             at = s.find(m_literal, at + m_literal.size()))
            out.emplace_back(at, at + m_literal.size());
        return out;
    }
    std::string replaceAll(const std::string& s, const std::string& content) const
    {
        std::string out;
        size_t prev = 0;
        for (const auto& [b, e] : findAll(s)) {
            out.append(s, prev, b - prev);
            out += content;
            prev = e;
        }
        out.append(s, prev, std::string::npos);
        return out;
    }

private:
    std::string m_literal;
    std::optional<Regex> m_regex;
};

// ---- normalizers ----

class NormalizerSequence : public Normalizer {
public:
    std::vector<std::unique_ptr<Normalizer>> parts;
    std::string normalize(std::string text) const override
    {
        for (const auto& p : parts)
            text = p->normalize(std::move(text));
        return text;
    }
};

class PrependNormalizer : public Normalizer {
public:
    explicit PrependNormalizer(std::string prefix) : m_prefix(std::move(prefix)) {}
    std::string normalize(std::string text) const override
    {
        return text.empty() ? text : m_prefix + text;
    }

private:
    std::string m_prefix;
};

class ReplaceNormalizer : public Normalizer {
public:
    explicit ReplaceNormalizer(const Config& c) : m_pattern(c), m_content(c.string("content")) {}
    std::string normalize(std::string text) const override
    {
        return m_pattern.replaceAll(text, m_content);
    }

private:
    Pattern m_pattern;
    std::string m_content;
};

class StripNormalizer : public Normalizer {
public:
    StripNormalizer(bool left, bool right) : m_left(left), m_right(right) {}
    std::string normalize(std::string text) const override
    {
        std::string_view v = text;
        if (m_left)
            v = trimStartJs(v);
        if (m_right)
            v = trimEndJs(v);
        return std::string(v);
    }

private:
    bool m_left, m_right;
};

// NFC/NFD/NFKC/NFKD through ICU; transformers.js calls String.prototype.normalize, which V8
// implements with ICU as well.
class UnicodeNormalizer : public Normalizer {
public:
    UnicodeNormalizer(NormalizationForm form, const Config& c)
        : m_form(form), m_file(c.file()), m_key(c.key())
    {}
    std::string normalize(std::string text) const override
    {
        return normalizeUnicode(text, m_form, m_file, m_key);
    }

private:
    NormalizationForm m_form;
    std::string m_file, m_key;
};

class LowercaseNormalizer : public Normalizer {
public:
    explicit LowercaseNormalizer(const Config& c) : m_file(c.file()), m_key(c.key()) {}
    std::string normalize(std::string text) const override
    {
        return lowercaseUnicode(text, m_file, m_key);
    }

private:
    std::string m_file, m_key;
};

// ---- pre-tokenizers ----

std::string toByteLevel(std::string_view piece)
{
    const auto& alphabet = byteLevelAlphabet();
    std::string out;
    out.reserve(piece.size() * 2);
    for (const char ch : piece)
        out += alphabet[uint8_t(ch)];
    return out;
}

// transformers.js semantics: the prefix space is added to every piece that lacks one, and
// the pieces are the regex matches (the GPT-2 pattern leaves no gaps).
class ByteLevelPreTokenizer : public PreTokenizer {
public:
    explicit ByteLevelPreTokenizer(const Config& c)
        : m_addPrefixSpace(c.boolean("add_prefix_space", false))
    {
        if (c.boolean("use_regex", true))
            m_regex.emplace(kGpt2Pattern, c.file(), c.key());
    }
    std::vector<std::string> split(const std::vector<std::string>& pieces,
                                   size_t /*sectionIndex*/) const override
    {
        std::vector<std::string> out;
        for (const std::string& raw : pieces) {
            const std::string text = m_addPrefixSpace && raw.rfind(' ', 0) != 0 ? " " + raw : raw;
            if (!m_regex) {
                out.push_back(toByteLevel(text));
                continue;
            }
            for (const auto& [b, e] : m_regex->findAll(text))
                if (e > b)
                    out.push_back(toByteLevel(std::string_view(text).substr(b, e - b)));
        }
        return out;
    }

private:
    bool m_addPrefixSpace;
    std::optional<Regex> m_regex;
};

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// Hugging Face semantics for every behaviour; `invert` makes the matches the kept pieces and
// the text between them the delimiters.
class SplitPreTokenizer : public PreTokenizer {
public:
    explicit SplitPreTokenizer(const Config& c) : m_pattern(c), m_invert(c.boolean("invert", false))
    {
        const std::string b = c.string("behavior", "Isolated");
        if (b == "Removed")
            m_behavior = SplitBehavior::Removed;
        else if (b == "Isolated")
            m_behavior = SplitBehavior::Isolated;
        else if (b == "MergedWithPrevious")
            m_behavior = SplitBehavior::MergedWithPrevious;
        else if (b == "MergedWithNext")
            m_behavior = SplitBehavior::MergedWithNext;
        else if (b == "Contiguous")
            m_behavior = SplitBehavior::Contiguous;
        else
            c.fail("unsupported Split behavior '" + b + "'", "behavior");
    }
    std::vector<std::string> split(const std::vector<std::string>& pieces,
                                   size_t /*sectionIndex*/) const override
    {
        std::vector<std::string> out;
        for (const std::string& p : pieces)
            splitOne(p, out);
        return out;
    }

private:
    void splitOne(const std::string& text, std::vector<std::string>& out) const
    {
        // (piece, is-delimiter) segments covering the text in order.
        std::vector<std::pair<std::string_view, bool>> segments;
        const std::string_view v = text;
        size_t prev = 0;
        for (const auto& [b, e] : m_pattern.findAll(v)) {
            if (b > prev)
                segments.emplace_back(v.substr(prev, b - prev), m_invert);
            if (e > b)
                segments.emplace_back(v.substr(b, e - b), !m_invert);
            prev = e;
        }
        if (prev < v.size())
            segments.emplace_back(v.substr(prev), m_invert);

        std::vector<std::string> result;
        bool pendingNext = false, lastWasDelimiter = false;
        for (const auto& [piece, delimiter] : segments) {
            const bool glue =
                (m_behavior == SplitBehavior::MergedWithPrevious && delimiter && !result.empty()) ||
                (m_behavior == SplitBehavior::Contiguous && delimiter && lastWasDelimiter) ||
                pendingNext;
            if (m_behavior == SplitBehavior::Removed && delimiter)
                continue;
            if (glue)
                result.back() += piece;
            else
                result.emplace_back(piece);
            pendingNext = m_behavior == SplitBehavior::MergedWithNext && delimiter;
            lastWasDelimiter = delimiter;
        }
        out.insert(out.end(), result.begin(), result.end());
    }

    Pattern m_pattern;
    bool m_invert;
    SplitBehavior m_behavior = SplitBehavior::Isolated;
};

class PreTokenizerSequence : public PreTokenizer {
public:
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    std::vector<std::string> split(const std::vector<std::string>& pieces,
                                   size_t sectionIndex) const override
    {
        std::vector<std::string> current = pieces;
        for (const auto& p : parts)
            current = p->split(current, sectionIndex);
        return current;
    }
};

// Hugging Face semantics (transformers.js ignores `split` and reads only add_prefix_space):
// spaces become the replacement, the replacement is prepended per prepend_scheme, and with
// split the text is cut before every replacement character.
class MetaspacePreTokenizer : public PreTokenizer {
public:
    explicit MetaspacePreTokenizer(const Config& c)
        : m_replacement(c.string("replacement", kMetaspace)), m_split(c.boolean("split", true))
    {
        if (m_replacement.empty())
            c.fail("empty replacement", "replacement");
        m_scheme = c.string("prepend_scheme", "always");
        if (m_scheme != "always" && m_scheme != "first" && m_scheme != "never")
            c.fail("unsupported prepend_scheme '" + m_scheme + "'", "prepend_scheme");
        if (!c.boolean("add_prefix_space", true))
            m_scheme = "never";
    }
    std::vector<std::string> split(const std::vector<std::string>& pieces,
                                   size_t sectionIndex) const override
    {
        std::vector<std::string> out;
        for (size_t i = 0; i < pieces.size(); ++i) {
            std::string text;
            for (const char ch : pieces[i])
                text += ch == ' ' ? m_replacement : std::string(1, ch);
            const bool prepend =
                m_scheme == "always" || (m_scheme == "first" && sectionIndex == 0 && i == 0);
            if (prepend && text.rfind(m_replacement, 0) != 0)
                text = m_replacement + text;
            if (!m_split) {
                out.push_back(std::move(text));
                continue;
            }
            size_t start = 0;
            for (size_t at = text.find(m_replacement, 1); at != std::string::npos;
                 at = text.find(m_replacement, at + m_replacement.size())) {
                out.push_back(text.substr(start, at - start));
                start = at;
            }
            out.push_back(text.substr(start));
        }
        return out;
    }

private:
    std::string m_replacement;
    std::string m_scheme;
    bool m_split;
};

// ASCII digits, as both reference implementations define them.
class DigitsPreTokenizer : public PreTokenizer {
public:
    explicit DigitsPreTokenizer(bool individual) : m_individual(individual) {}
    std::vector<std::string> split(const std::vector<std::string>& pieces,
                                   size_t /*sectionIndex*/) const override
    {
        std::vector<std::string> out;
        for (const std::string& p : pieces) {
            size_t start = 0;
            for (size_t i = 1; i <= p.size(); ++i) {
                const bool boundary = i == p.size() || isDigit(p[i]) != isDigit(p[i - 1]) ||
                                      (m_individual && isDigit(p[i]));
                if (boundary) {
                    out.push_back(p.substr(start, i - start));
                    start = i;
                }
            }
        }
        return out;
    }

private:
    static bool isDigit(char c) { return c >= '0' && c <= '9'; }
    bool m_individual;
};

// ---- decoders ----

class ByteLevelDecoder : public Decoder {
public:
    explicit ByteLevelDecoder(std::shared_ptr<const DecoderContext> ctx) : m_ctx(std::move(ctx)) {}
    std::vector<std::string> decodeChain(std::vector<std::string> tokens) const override
    {
        std::vector<std::string> out;
        std::string bytes;
        bool pending = false;
        for (const std::string& t : tokens) {
            if (m_ctx->addedTokens.count(t)) {
                if (pending)
                    out.push_back(sanitizeUtf8(bytes));
                bytes.clear();
                pending = false;
                out.push_back(t);
                continue;
            }
            pending = true;
            for (size_t i = 0; i < t.size();) {
                size_t n = 0;
                const char32_t cp = decodeCodePoint(t, i, &n);
                if (const auto b = byteLevelByte(cp))
                    bytes += char(*b);
                else
                    bytes.append(t, i, n); // not byte-level: keep the character itself
                i += n;
            }
        }
        if (pending)
            out.push_back(sanitizeUtf8(bytes));
        return out;
    }

private:
    std::shared_ptr<const DecoderContext> m_ctx;
};

class ReplaceDecoder : public Decoder {
public:
    explicit ReplaceDecoder(const Config& c) : m_pattern(c), m_content(c.string("content")) {}
    std::vector<std::string> decodeChain(std::vector<std::string> tokens) const override
    {
        for (std::string& t : tokens)
            t = m_pattern.replaceAll(t, m_content);
        return tokens;
    }

private:
    Pattern m_pattern;
    std::string m_content;
};

// Runs of <0xHH> tokens become the UTF-8 text they spell (invalid bytes -> U+FFFD).
class ByteFallbackDecoder : public Decoder {
public:
    std::vector<std::string> decodeChain(std::vector<std::string> tokens) const override
    {
        std::vector<std::string> out;
        std::string bytes;
        for (const std::string& t : tokens) {
            if (const auto b = byteToken(t)) {
                bytes += char(*b);
                continue;
            }
            if (!bytes.empty())
                out.push_back(sanitizeUtf8(bytes));
            bytes.clear();
            out.push_back(t);
        }
        if (!bytes.empty())
            out.push_back(sanitizeUtf8(bytes));
        return out;
    }

private:
    static std::optional<uint8_t> byteToken(const std::string& t)
    {
        if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>')
            return std::nullopt;
        auto hex = [](char c) -> int {
            if (c >= '0' && c <= '9')
                return c - '0';
            if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
            if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
            return -1;
        };
        const int hi = hex(t[3]), lo = hex(t[4]);
        if (hi < 0 || lo < 0)
            return std::nullopt;
        return uint8_t(hi * 16 + lo);
    }
};

class FuseDecoder : public Decoder {
public:
    std::vector<std::string> decodeChain(std::vector<std::string> tokens) const override
    {
        std::string all;
        for (const std::string& t : tokens)
            all += t;
        return {all};
    }
};

class StripDecoder : public Decoder {
public:
    explicit StripDecoder(const Config& c)
        : m_content(c.string("content")), m_start(size_t(c.integer("start", 0))),
          m_stop(size_t(c.integer("stop", 0)))
    {
        if (m_content.empty())
            c.fail("empty content", "content");
    }
    std::vector<std::string> decodeChain(std::vector<std::string> tokens) const override
    {
        const size_t n = m_content.size();
        for (std::string& t : tokens) {
            size_t begin = 0, end = t.size();
            for (size_t k = 0; k < m_start && t.compare(begin, n, m_content) == 0; ++k)
                begin += n;
            for (size_t k = 0;
                 k < m_stop && end >= begin + n && t.compare(end - n, n, m_content) == 0; ++k)
                end -= n;
            t = t.substr(begin, end - begin);
        }
        return tokens;
    }

private:
    std::string m_content;
    size_t m_start, m_stop;
};

class MetaspaceDecoder : public Decoder {
public:
    explicit MetaspaceDecoder(const Config& c) : m_replacement(c.string("replacement", kMetaspace))
    {
        m_stripFirst = c.find("add_prefix_space") ? c.boolean("add_prefix_space", true)
                                                  : c.string("prepend_scheme", "always") != "never";
    }
    std::vector<std::string> decodeChain(std::vector<std::string> tokens) const override
    {
        for (size_t i = 0; i < tokens.size(); ++i) {
            std::string t;
            const std::string& s = tokens[i];
            for (size_t at = 0; at < s.size();) {
                if (s.compare(at, m_replacement.size(), m_replacement) == 0) {
                    t += ' ';
                    at += m_replacement.size();
                } else {
                    t += s[at++];
                }
            }
            if (m_stripFirst && i == 0 && !t.empty() && t[0] == ' ')
                t.erase(0, 1);
            tokens[i] = std::move(t);
        }
        return tokens;
    }

private:
    std::string m_replacement;
    bool m_stripFirst;
};

class DecoderSequence : public Decoder {
public:
    std::vector<std::unique_ptr<Decoder>> parts;
    std::vector<std::string> decodeChain(std::vector<std::string> tokens) const override
    {
        for (const auto& p : parts)
            tokens = p->decodeChain(std::move(tokens));
        return tokens;
    }
};

} // namespace

std::unique_ptr<Normalizer> makeNormalizer(const Json& config, const std::string& file,
                                           const std::string& key)
{
    if (config.is_null())
        return nullptr;
    const Config c(config, file, key);
    const std::string type = c.type();
    if (type == "Sequence") {
        auto seq = std::make_unique<NormalizerSequence>();
        const Json& parts = c.array("normalizers");
        for (size_t i = 0; i < parts.size(); ++i)
            seq->parts.push_back(makeNormalizer(parts[i], file, c.sub("normalizers", i)));
        return seq;
    }
    if (type == "Prepend")
        return std::make_unique<PrependNormalizer>(c.string("prepend"));
    if (type == "Replace")
        return std::make_unique<ReplaceNormalizer>(c);
    if (type == "Strip")
        return std::make_unique<StripNormalizer>(c.boolean("strip_left", true),
                                                 c.boolean("strip_right", true));
    if (type == "NFC")
        return std::make_unique<UnicodeNormalizer>(NormalizationForm::Nfc, c);
    if (type == "NFD")
        return std::make_unique<UnicodeNormalizer>(NormalizationForm::Nfd, c);
    if (type == "NFKC")
        return std::make_unique<UnicodeNormalizer>(NormalizationForm::Nfkc, c);
    if (type == "NFKD")
        return std::make_unique<UnicodeNormalizer>(NormalizationForm::Nfkd, c);
    if (type == "Lowercase")
        return std::make_unique<LowercaseNormalizer>(c);
    c.fail("unsupported normalizer type '" + type + "'");
}

std::unique_ptr<PreTokenizer> makePreTokenizer(const Json& config, const std::string& file,
                                               const std::string& key)
{
    if (config.is_null())
        return nullptr;
    const Config c(config, file, key);
    const std::string type = c.type();
    if (type == "Sequence") {
        auto seq = std::make_unique<PreTokenizerSequence>();
        const Json& parts = c.array("pretokenizers");
        for (size_t i = 0; i < parts.size(); ++i)
            seq->parts.push_back(makePreTokenizer(parts[i], file, c.sub("pretokenizers", i)));
        return seq;
    }
    if (type == "ByteLevel")
        return std::make_unique<ByteLevelPreTokenizer>(c);
    if (type == "Split")
        return std::make_unique<SplitPreTokenizer>(c);
    if (type == "Metaspace")
        return std::make_unique<MetaspacePreTokenizer>(c);
    if (type == "Digits")
        return std::make_unique<DigitsPreTokenizer>(c.boolean("individual_digits", false));
    c.fail("unsupported pre_tokenizer type '" + type + "'");
}

std::unique_ptr<Decoder> makeDecoder(const Json& config, const std::string& file,
                                     const std::string& key,
                                     std::shared_ptr<const DecoderContext> context)
{
    if (config.is_null())
        return nullptr;
    const Config c(config, file, key);
    const std::string type = c.type();
    if (type == "Sequence") {
        auto seq = std::make_unique<DecoderSequence>();
        const Json& parts = c.array("decoders");
        for (size_t i = 0; i < parts.size(); ++i)
            seq->parts.push_back(makeDecoder(parts[i], file, c.sub("decoders", i), context));
        return seq;
    }
    if (type == "ByteLevel")
        return std::make_unique<ByteLevelDecoder>(std::move(context));
    if (type == "Replace")
        return std::make_unique<ReplaceDecoder>(c);
    if (type == "ByteFallback")
        return std::make_unique<ByteFallbackDecoder>();
    if (type == "Fuse")
        return std::make_unique<FuseDecoder>();
    if (type == "Strip")
        return std::make_unique<StripDecoder>(c);
    if (type == "Metaspace")
        return std::make_unique<MetaspaceDecoder>(c);
    c.fail("unsupported decoder type '" + type + "'");
}

} // namespace ptq::text
