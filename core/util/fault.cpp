#include "util/fault.h"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <string>

namespace ptq {

namespace {

struct FaultPlan {
    std::string name; // "" = no fault asked for
    long hit = 1;
    std::atomic<long> passes{0};

    FaultPlan()
    {
        const char* env = std::getenv("PTQ_FAULT_KILL");
        if (!env || !*env)
            return;
        name = env;
        if (const auto colon = name.find(':'); colon != std::string::npos) {
            hit = std::max(1L, std::strtol(name.c_str() + colon + 1, nullptr, 10));
            name.resize(colon);
        }
    }
};

FaultPlan& plan()
{
    static FaultPlan p;
    return p;
}

} // namespace

void faultPoint(const char* name)
{
    FaultPlan& p = plan();
    if (p.name.empty() || p.name != name)
        return;
    if (++p.passes == p.hit)
        std::raise(SIGKILL);
}

} // namespace ptq
