#include "util/json_object.h"

#include "util/error.h"

namespace ptq {

using json = nlohmann::json;

std::string jsonTypeName(const json& v)
{
    if (v.is_number_integer())
        return "an integer " + v.dump();
    if (v.is_number())
        return "a number " + v.dump();
    if (v.is_object())
        return "an object";
    if (v.is_array())
        return "a list";
    if (v.is_null())
        return "null";
    return std::string("a ") + v.type_name() + " " + v.dump();
}

JsonObject::JsonObject(const json& j, std::string source, std::string path, std::string noun)
    : m_j(j), m_source(std::move(source)), m_path(std::move(path)), m_noun(std::move(noun))
{
    if (!j.is_object())
        fail(m_path.empty() ? "document" : m_path,
             "expected a JSON object, got " + jsonTypeName(j));
}

void JsonObject::fail(const std::string& at, const std::string& what) const
{
    throw Error(m_source, at, what);
}

std::string JsonObject::where(const std::string& key) const
{
    return m_path.empty() ? key : m_path + "." + key;
}

const json* JsonObject::find(const std::string& key)
{
    m_known.insert(key);
    const auto it = m_j.find(key);
    return it == m_j.end() ? nullptr : &*it;
}

bool JsonObject::boolean(const std::string& key, bool fallback)
{
    const json* v = find(key);
    if (!v)
        return fallback;
    if (!v->is_boolean())
        fail(where(key), "must be true or false, got " + jsonTypeName(*v));
    return v->get<bool>();
}

int64_t JsonObject::checkedInteger(const json& v, const std::string& at, int64_t min,
                                   int64_t max) const
{
    if (!v.is_number_integer())
        fail(at, "must be an integer, got " + jsonTypeName(v));
    if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
        fail(at, "must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " +
                     v.dump());
    const int64_t x = v.get<int64_t>();
    if (x < min || x > max)
        fail(at, "must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " +
                     std::to_string(x));
    return x;
}

int64_t JsonObject::integer(const std::string& key, int64_t fallback, int64_t min, int64_t max)
{
    const json* v = find(key);
    return v ? checkedInteger(*v, where(key), min, max) : fallback;
}

double JsonObject::number(const std::string& key, double fallback)
{
    const json* v = find(key);
    if (!v)
        return fallback;
    if (!v->is_number())
        fail(where(key), "must be a number, got " + jsonTypeName(*v));
    return v->get<double>();
}

std::string JsonObject::string(const std::string& key, const std::string& fallback)
{
    const json* v = find(key);
    if (!v)
        return fallback;
    if (!v->is_string())
        fail(where(key), "must be a string, got " + jsonTypeName(*v));
    return v->get<std::string>();
}

const json& JsonObject::array(const std::string& key)
{
    static const json empty = json::array();
    const json* v = find(key);
    if (!v)
        return empty;
    if (!v->is_array())
        fail(where(key), "must be a list, got " + jsonTypeName(*v));
    return *v;
}

std::vector<int64_t> JsonObject::integers(const std::string& key, int64_t min, int64_t max)
{
    std::vector<int64_t> out;
    const json& a = array(key);
    for (std::size_t i = 0; i < a.size(); ++i)
        out.push_back(checkedInteger(a[i], where(key) + "[" + std::to_string(i) + "]", min, max));
    return out;
}

std::vector<std::string> JsonObject::strings(const std::string& key)
{
    std::vector<std::string> out;
    const json& a = array(key);
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (!a[i].is_string() || a[i].get<std::string>().empty())
            fail(where(key) + "[" + std::to_string(i) + "]",
                 "must be a non-empty string, got " + a[i].dump());
        out.push_back(a[i].get<std::string>());
    }
    return out;
}

void JsonObject::finish() const
{
    for (auto it = m_j.begin(); it != m_j.end(); ++it) {
        if (m_known.count(it.key()))
            continue;
        std::string known;
        for (const auto& k : m_known)
            known += (known.empty() ? "" : ", ") + k;
        fail(where(it.key()),
             "unknown " + m_noun + " (known here: " + (known.empty() ? "none" : known) + ")");
    }
}

} // namespace ptq
