#pragma once
// The one shape of long work: a config in, a result out, and a progress callback that
// returns false to cancel. Long operations call it at least once per block and once per
// second of work; a cancelled operation throws ptq::Cancelled.

#include <functional>
#include <stdexcept>
#include <string>

namespace ptq {

struct Progress {
    std::string stage;   // e.g. "perplexity", "block"
    std::string detail;  // human-readable, e.g. "window 3/40"
    long long done = 0;  // units of work finished
    long long total = 0; // 0 when unknown
};

using ProgressFn = std::function<bool(const Progress&)>;

class Cancelled : public std::runtime_error {
public:
    Cancelled() : std::runtime_error("cancelled by the user") {}
};

// Calls fn (if set); throws Cancelled when it returns false.
inline void reportProgress(const ProgressFn& fn, const Progress& p)
{
    if (fn && !fn(p))
        throw Cancelled();
}

} // namespace ptq
