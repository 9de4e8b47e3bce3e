#pragma once
// Who is running a run, recorded with it so that another process can tell later whether the
// run is still being worked on or was left 'running' by a process that died.
//
// A pid alone cannot tell: kill(pid, 0) also succeeds for a process that is still exiting
// after SIGKILL (freeing a large address space takes a while) and for a zombie its parent
// has not reaped yet, and a pid is reused by unrelated processes. So the owner is the host
// name, the pid and, on Linux, the boot id, the pid namespace and the process's start time
// (field 22 of /proc/PID/stat, clock ticks after boot): together they name one process
// for as long as the machine runs, and /proc tells whether it is alive and not exiting.

#include <cstdint>
#include <string>

namespace ptq::store {

struct ProcessOwner {
    std::string host;
    int64_t pid = 0;
    std::string bootId;       // /proc/sys/kernel/random/boot_id; "" where unavailable
    std::string pidNamespace; // the link /proc/self/ns/pid, e.g. "pid:[4026531836]"
    uint64_t startTicks = 0;  // 0 where unavailable

    // This process.
    static ProcessOwner current();
    // The stored form of bootId, pidNamespace and startTicks (runs.owner): "" when none is
    // known, else "boot-id pid-namespace start-ticks".
    std::string token() const;
    // From a run row's host, pid and owner columns (owner "" for rows written before schema
    // version 3, or where /proc was unavailable).
    static ProcessOwner fromStored(const std::string& host, int64_t pid, const std::string& token);
};

enum class OwnerState {
    Alive,   // still running: on this machine, in this pid namespace, not exiting
    Dead,    // exited, exiting, a zombie, its pid now belongs to another process, or the
             // machine has rebooted since
    Unknown, // on another machine or in another container: cannot be examined from here
};

OwnerState ownerState(const ProcessOwner& owner);

// "process 7604 on vm" for messages.
std::string describeOwner(const ProcessOwner& owner);

} // namespace ptq::store
