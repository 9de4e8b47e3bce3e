// The decoders of a tokenizer.json and makeDecoder.

#include "text/tokenizer_parts.h"

#include "text/tokenizer_parts_internal.h"
#include "text/unicode.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ptq::text {

namespace {

using detail::Config;
using detail::Json;
using detail::kMetaspace;
using detail::Pattern;

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
