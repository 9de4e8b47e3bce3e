#pragma once
// Minimal command-line parsing for ptqbench: "--key value" and "--flag" options after a
// subcommand. Unknown options and missing values are errors, never silently ignored.

#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace ptq::cli {

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Args {
public:
    // valueOptions take one value; flagOptions take none. Throws UsageError.
    Args(const std::vector<std::string>& argv, const std::set<std::string>& valueOptions,
         const std::set<std::string>& flagOptions);

    bool has(const std::string& key) const;
    std::string str(const std::string& key) const; // required
    std::string str(const std::string& key, const std::string& fallback) const;
    int64_t integer(const std::string& key, int64_t fallback, int64_t min, int64_t max) const;
    bool flag(const std::string& key) const { return m_flags.count(key) != 0; }

private:
    std::map<std::string, std::string> m_values;
    std::set<std::string> m_flags;
};

} // namespace ptq::cli
