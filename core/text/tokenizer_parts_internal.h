#pragma once
// Internals shared by the tokenizer pipeline stages (tokenizer_parts.cpp,
// tokenizer_pre_tokenizers.cpp, tokenizer_decoders.cpp): typed access to a component's JSON
// object and the String/Regex pattern. Not part of the public API.

#include "text/unicode.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ptq::text::detail {

using Json = nlohmann::json;

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

} // namespace ptq::text::detail
