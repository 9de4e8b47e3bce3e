// The normalizers of a tokenizer.json and makeNormalizer. Pre-tokenizers:
// tokenizer_pre_tokenizers.cpp; decoders: tokenizer_decoders.cpp.

#include "text/tokenizer_parts.h"

#include "text/tokenizer_parts_internal.h"
#include "text/unicode.h"

#include <memory>
#include <string>
#include <vector>

namespace ptq::text {

namespace {

using detail::Config;
using detail::Json;
using detail::Pattern;

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

} // namespace ptq::text
