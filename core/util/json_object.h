#pragma once
// The one strict reader of JSON objects (recipes, sweep specs, method parameters): typed
// reads with defaults, and every key the caller did not ask for reported by finish() as
// unknown, so a misspelt key is an error instead of a silently ignored setting. Errors name
// the source (a file, or "parameters of method gptq"), the key's path within the document
// ("weight_grid.bits", "wbits[1]") and the problem.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

namespace ptq {

class JsonObject {
public:
    // Throws ptq::Error when j is not an object. `path` prefixes key paths ("" at the top);
    // `noun` names a key in messages ("key", "parameter").
    JsonObject(const nlohmann::json& j, std::string source, std::string path = "",
               std::string noun = "key");

    // The value of `key`, or null when absent; either way the key is known from now on.
    const nlohmann::json* find(const std::string& key);

    bool boolean(const std::string& key, bool fallback);
    int64_t integer(const std::string& key, int64_t fallback,
                    int64_t min = std::numeric_limits<int64_t>::min(),
                    int64_t max = std::numeric_limits<int64_t>::max());
    double number(const std::string& key, double fallback);
    std::string string(const std::string& key, const std::string& fallback);
    // The list at `key` ([] when absent); throws when it is not a list.
    const nlohmann::json& array(const std::string& key);
    std::vector<int64_t> integers(const std::string& key, int64_t min, int64_t max);
    std::vector<std::string> strings(const std::string& key); // non-empty strings

    // bool, integral, floating point or std::string, by the matching read above.
    template <typename T> T get(const std::string& key, T fallback)
    {
        if constexpr (std::is_same_v<T, bool>)
            return boolean(key, fallback);
        else if constexpr (std::is_integral_v<T>)
            return static_cast<T>(integer(key, fallback, std::numeric_limits<T>::min(),
                                          std::numeric_limits<T>::max()));
        else if constexpr (std::is_floating_point_v<T>)
            return static_cast<T>(number(key, fallback));
        else
            return string(key, fallback);
    }

    // v as an integer in [min, max]; `at` is its path for messages.
    int64_t checkedInteger(const nlohmann::json& v, const std::string& at, int64_t min,
                           int64_t max) const;
    // Throws ptq::Error naming the first key that no read asked for.
    void finish() const;

    std::string where(const std::string& key) const;
    const std::string& source() const { return m_source; }

private:
    [[noreturn]] void fail(const std::string& at, const std::string& what) const;

    const nlohmann::json& m_j;
    std::string m_source;
    std::string m_path;
    std::string m_noun;
    std::set<std::string> m_known;
};

// "an integer", "a string", ... for messages.
std::string jsonTypeName(const nlohmann::json& v);

} // namespace ptq
