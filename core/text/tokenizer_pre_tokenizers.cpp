// The pre-tokenizers of a tokenizer.json and makePreTokenizer.

#include "text/tokenizer_parts.h"

#include "text/tokenizer_parts_internal.h"
#include "text/unicode.h"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ptq::text {

namespace {

using detail::Config;
using detail::Json;
using detail::kMetaspace;
using detail::Pattern;

// The GPT-2 pre-tokenisation regex (the ByteLevel pre-tokenizer's use_regex).
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

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

} // namespace

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

} // namespace ptq::text
