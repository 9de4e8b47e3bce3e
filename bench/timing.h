#pragma once
// Wall-clock timing shared by the benchmarks.

#include <algorithm>
#include <chrono>
#include <functional>

namespace ptq::bench {

inline double seconds(const std::function<void()>& f)
{
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One warm-up call, then the best of `reps`.
inline double bestOf(int reps, const std::function<void()>& f)
{
    f();
    double best = 1e300;
    for (int i = 0; i < reps; ++i)
        best = std::min(best, seconds(f));
    return best;
}

} // namespace ptq::bench
