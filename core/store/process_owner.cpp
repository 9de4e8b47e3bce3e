#include "store/process_owner.h"

#include <cerrno>
#include <fstream>
#include <signal.h>
#include <sstream>
#include <unistd.h>
#include <vector>

namespace ptq::store {

namespace {

// PF_EXITING in the task flags (field 9 of /proc/PID/stat): set when the process starts to
// exit, before its memory is released (include/linux/sched.h).
constexpr uint64_t kTaskExiting = 0x4;

std::string firstLine(const std::string& path)
{
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

std::string readLink(const std::string& path)
{
    char buf[256];
    const ssize_t n = readlink(path.c_str(), buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, size_t(n)) : std::string();
}

std::string currentHost()
{
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0)
        return "unknown-host";
    return buf;
}

// The fields of /proc/PID/stat after "(comm)", which may itself hold spaces and brackets:
// [0] = state (field 3), [6] = flags (field 9), [19] = starttime (field 22).
struct ProcStat {
    bool exists = false;
    char state = '?';
    uint64_t flags = 0;
    uint64_t startTicks = 0;
};

ProcStat readProcStat(int64_t pid)
{
    ProcStat st;
    const std::string line = firstLine("/proc/" + std::to_string(pid) + "/stat");
    const auto close = line.rfind(')');
    if (close == std::string::npos)
        return st;
    std::istringstream in(line.substr(close + 1));
    std::vector<std::string> f;
    for (std::string v; in >> v;)
        f.push_back(v);
    if (f.size() < 20 || f[0].empty())
        return st;
    st.exists = true;
    st.state = f[0][0];
    st.flags = std::stoull(f[6]);
    st.startTicks = std::stoull(f[19]);
    return st;
}

bool killProbe(int64_t pid)
{
    // EPERM means the process exists but belongs to someone else.
    return kill(pid_t(pid), 0) == 0 || errno != ESRCH;
}

} // namespace

ProcessOwner ProcessOwner::current()
{
    ProcessOwner o;
    o.host = currentHost();
    o.pid = int64_t(getpid());
    o.bootId = firstLine("/proc/sys/kernel/random/boot_id");
    o.pidNamespace = readLink("/proc/self/ns/pid");
    o.startTicks = readProcStat(o.pid).startTicks;
    return o;
}

std::string ProcessOwner::token() const
{
    if (bootId.empty() || pidNamespace.empty() || startTicks == 0)
        return {};
    return bootId + " " + pidNamespace + " " + std::to_string(startTicks);
}

ProcessOwner ProcessOwner::fromStored(const std::string& host, int64_t pid,
                                      const std::string& token)
{
    ProcessOwner o;
    o.host = host;
    o.pid = pid;
    std::istringstream in(token);
    std::string ticks;
    if (in >> o.bootId >> o.pidNamespace >> ticks) {
        try {
            o.startTicks = std::stoull(ticks);
        } catch (const std::exception&) {
            o = ProcessOwner{host, pid, {}, {}, 0}; // unreadable: as if not recorded
        }
    } else {
        o.bootId.clear();
        o.pidNamespace.clear();
    }
    return o;
}

OwnerState ownerState(const ProcessOwner& owner)
{
    const ProcessOwner me = ProcessOwner::current();
    if (owner.host != me.host)
        return OwnerState::Unknown;
    if (owner.pid <= 0)
        return OwnerState::Dead;
    const bool identified = !owner.token().empty() && !me.token().empty();
    if (identified && owner.bootId != me.bootId)
        return OwnerState::Dead; // the same host has rebooted since
    if (identified && owner.pidNamespace != me.pidNamespace)
        return OwnerState::Unknown; // another container with this host name
    const ProcStat st = readProcStat(owner.pid);
    if (!st.exists) // no /proc entry: gone, unless /proc is not there at all
        return me.startTicks == 0 && killProbe(owner.pid) ? OwnerState::Alive : OwnerState::Dead;
    if (identified && st.startTicks != owner.startTicks)
        return OwnerState::Dead; // the pid now names another process
    if (st.state == 'Z' || st.state == 'X' || (st.flags & kTaskExiting) != 0)
        return OwnerState::Dead;
    return OwnerState::Alive;
}

std::string describeOwner(const ProcessOwner& owner)
{
    return "process " + std::to_string(owner.pid) + " on " +
           (owner.host.empty() ? std::string("?") : owner.host);
}

} // namespace ptq::store
