#include "cli/args.h"

#include <cerrno>
#include <cstdlib>

namespace ptq::cli {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& valueOptions,
           const std::set<std::string>& flagOptions)
{
    for (std::size_t i = 0; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        if (a.rfind("--", 0) != 0)
            throw UsageError("unexpected argument '" + a + "'");
        std::string key = a.substr(2);
        std::string inlineValue;
        bool hasInline = false;
        if (auto eq = key.find('='); eq != std::string::npos) {
            inlineValue = key.substr(eq + 1);
            key = key.substr(0, eq);
            hasInline = true;
        }
        if (flagOptions.count(key)) {
            if (hasInline)
                throw UsageError("option --" + key + " takes no value");
            m_flags.insert(key);
        } else if (valueOptions.count(key)) {
            if (hasInline) {
                m_values[key] = inlineValue;
            } else {
                if (i + 1 >= argv.size())
                    throw UsageError("option --" + key + " needs a value");
                m_values[key] = argv[++i];
            }
        } else {
            throw UsageError("unknown option --" + key);
        }
    }
}

bool Args::has(const std::string& key) const
{
    return m_values.count(key) != 0 || m_flags.count(key) != 0;
}

std::string Args::str(const std::string& key) const
{
    auto it = m_values.find(key);
    if (it == m_values.end())
        throw UsageError("missing required option --" + key);
    return it->second;
}

std::string Args::str(const std::string& key, const std::string& fallback) const
{
    auto it = m_values.find(key);
    return it == m_values.end() ? fallback : it->second;
}

int64_t Args::integer(const std::string& key, int64_t fallback, int64_t min, int64_t max) const
{
    auto it = m_values.find(key);
    if (it == m_values.end())
        return fallback;
    const std::string& s = it->second;
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno == ERANGE)
        throw UsageError("option --" + key + " expects an integer, got '" + s + "'");
    if (v < min || v > max)
        throw UsageError("option --" + key + " must be in [" + std::to_string(min) + ", " +
                         std::to_string(max) + "], got " + s);
    return v;
}

} // namespace ptq::cli
