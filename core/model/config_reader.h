#pragma once
// Typed, lenient reads of config.json keys (transformers' configs carry many keys the engine
// does not use, so unknown keys are allowed; absent and null both mean "not given"). Every
// failure names the file and the key's path. Each architecture reads its own keys with it
// (ArchitectureInfo::readConfig); nested objects (rope_scaling, a multimodal model's
// text_config) get a reader of their own through nested().

#include "util/error.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

namespace ptq {

// Typed access to config.json keys; every failure names the file and the key.
class ConfigReader {
public:
    using Json = nlohmann::json;

    ConfigReader(const Json& object, std::string file, std::string prefix = "")
        : m_json(object), m_file(std::move(file)), m_prefix(std::move(prefix))
    {}

    // Absent and null both count as "not given", as transformers treats them.
    const Json* find(const char* key) const
    {
        const auto it = m_json.find(key);
        return it == m_json.end() || it->is_null() ? nullptr : &*it;
    }
    bool has(const char* key) const { return find(key) != nullptr; }

    [[noreturn]] void fail(const char* key, const std::string& reason) const
    {
        throw Error(m_file, "key '" + m_prefix + key + "'", reason);
    }

    const Json& require(const char* key) const
    {
        if (const Json* v = find(key))
            return *v;
        fail(key, "missing required key");
    }

    int64_t integer(const char* key) const
    {
        const Json& v = require(key);
        if (!v.is_number_integer())
            fail(key, std::string("expected an integer, got ") + v.type_name() + " " + v.dump());
        if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX))
            fail(key, "integer " + v.dump() + " is too large");
        return v.get<int64_t>();
    }
    int64_t positive(const char* key) const
    {
        const int64_t v = integer(key);
        if (v <= 0)
            fail(key, "must be positive, got " + std::to_string(v));
        return v;
    }
    int64_t positive(const char* key, int64_t fallback) const
    {
        return has(key) ? positive(key) : fallback;
    }

    double number(const char* key) const
    {
        const Json& v = require(key);
        if (!v.is_number())
            fail(key, std::string("expected a number, got ") + v.type_name() + " " + v.dump());
        return v.get<double>();
    }
    double finitePositive(const char* key, double fallback) const
    {
        if (!has(key))
            return fallback;
        const double v = number(key);
        if (!std::isfinite(v) || v <= 0)
            fail(key, "must be a finite positive number, got " + find(key)->dump());
        return v;
    }

    bool boolean(const char* key, bool fallback) const
    {
        const Json* v = find(key);
        if (!v)
            return fallback;
        if (!v->is_boolean())
            fail(key, std::string("expected a boolean, got ") + v->type_name() + " " + v->dump());
        return v->get<bool>();
    }

    std::string string(const char* key, const std::string& fallback) const
    {
        const Json* v = find(key);
        if (!v)
            return fallback;
        if (!v->is_string())
            fail(key, std::string("expected a string, got ") + v->type_name() + " " + v->dump());
        return v->get<std::string>();
    }

    // bos/eos: an integer, a list of integers (the first is the primary one), or null.
    std::optional<int64_t> tokenId(const char* key) const
    {
        const Json* v = find(key);
        if (!v)
            return std::nullopt;
        if (v->is_array()) {
            for (const Json& e : *v) {
                if (!e.is_number_integer() || e.get<int64_t>() < 0)
                    fail(key, "expected non-negative integer token ids, got " + v->dump());
            }
            if (v->empty())
                return std::nullopt;
            return (*v)[0].get<int64_t>();
        }
        const int64_t id = integer(key);
        if (id < 0)
            fail(key, "token id must be non-negative, got " + std::to_string(id));
        return id;
    }

    const std::string& file() const { return m_file; }
    const std::string& prefix() const { return m_prefix; }

    // A reader of the object at `key` (keys prefixed "key."), or nullopt when absent or
    // null; fails when the value is not an object.
    std::optional<ConfigReader> nested(const char* key) const
    {
        const Json* v = find(key);
        if (!v)
            return std::nullopt;
        if (!v->is_object())
            fail(key, std::string("expected an object or null, got ") + v->type_name());
        return ConfigReader(*v, m_file, m_prefix + key + ".");
    }

private:
    const Json& m_json;
    std::string m_file;
    std::string m_prefix;
};

} // namespace ptq
