// Whether the process recorded with a 'running' run is still at work: real child processes
// in each state (running, exited and reaped, an unreaped zombie, a pid that names another
// process), checked through store/process_owner.h and through the results store's stale-run
// marking and run claiming, which decide on it.

#include "store/process_owner.h"
#include "store/results_store.h"

#include "test_files.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace ptq;
using ptq::store::OwnerState;
using ptq::store::ProcessOwner;
using ptq::test::TempDir;

namespace {

// Field 3 (state) and field 22 (start time) of /proc/PID/stat, read independently of the
// code under test; state '-' when the entry is gone.
std::pair<char, std::string> procState(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(in, line))
        return {'-', ""};
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::vector<std::string> f;
    for (std::string v; rest >> v;)
        f.push_back(v);
    return {f.at(0).at(0), f.at(19)};
}

// A child that sleeps until killed.
pid_t sleepingChild()
{
    const pid_t pid = fork();
    if (pid == 0) {
        for (;;)
            pause();
    }
    return pid;
}

void waitForState(pid_t pid, char state)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (procState(pid).first != state && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ASSERT_EQ(procState(pid).first, state) << "pid " << pid;
}

// The owner a process `pid` would have recorded: this machine and namespace, its start time.
ProcessOwner ownerOf(pid_t pid)
{
    ProcessOwner o = ProcessOwner::current();
    o.pid = pid;
    o.startTicks = std::stoull(procState(pid).second);
    return o;
}

bool procAvailable()
{
    return procState(getpid()).first != '-';
}

void setOwner(const std::string& db, int64_t run, const ProcessOwner& o)
{
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    const std::string sql = "UPDATE runs SET host = '" + o.host +
                            "', pid = " + std::to_string(o.pid) + ", owner = '" + o.token() +
                            "' WHERE id = " + std::to_string(run);
    EXPECT_EQ(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(h);
}

RunSpec spec(uint64_t seed)
{
    RunSpec s;
    s.modelFingerprint = "fpA";
    s.recipeName = "rtn";
    s.recipeJson = R"({"method":"rtn"})";
    s.seed = seed;
    return s;
}

} // namespace

TEST(ProcessOwner, TokenRoundTripsAndNamesThisProcess)
{
    if (!procAvailable())
        GTEST_SKIP() << "no /proc";
    const ProcessOwner me = ProcessOwner::current();
    EXPECT_EQ(me.pid, int64_t(getpid()));
    EXPECT_FALSE(me.bootId.empty());
    EXPECT_EQ(me.pidNamespace.rfind("pid:[", 0), 0u) << me.pidNamespace;
    EXPECT_EQ(std::to_string(me.startTicks), procState(getpid()).second);
    const ProcessOwner back = ProcessOwner::fromStored(me.host, me.pid, me.token());
    EXPECT_EQ(back.token(), me.token());
    EXPECT_EQ(ownerState(back), OwnerState::Alive);
    EXPECT_EQ(store::describeOwner(back), "process " + std::to_string(me.pid) + " on " + me.host);
    EXPECT_EQ(ProcessOwner::fromStored("h", 5, "garbage").token(), "");
}

TEST(ProcessOwner, StatesOfRealProcesses)
{
    if (!procAvailable())
        GTEST_SKIP() << "no /proc";
    // Running, then a zombie (killed, not reaped: kill(pid, 0) still succeeds), then gone.
    const pid_t child = sleepingChild();
    ASSERT_GT(child, 0);
    waitForState(child, 'S');
    const ProcessOwner owner = ownerOf(child);
    EXPECT_EQ(ownerState(owner), OwnerState::Alive);
    kill(child, SIGKILL);
    waitForState(child, 'Z');
    EXPECT_EQ(kill(child, 0), 0); // why a pid check alone took zombies for live processes
    EXPECT_EQ(ownerState(owner), OwnerState::Dead);
    waitpid(child, nullptr, 0);
    EXPECT_EQ(ownerState(owner), OwnerState::Dead);

    // A live pid that names another process than the one recorded (a reused pid).
    ProcessOwner reused = ProcessOwner::current();
    reused.startTicks += 1;
    EXPECT_EQ(ownerState(reused), OwnerState::Dead);

    // Elsewhere: another host, or another pid namespace on this one, cannot be examined.
    ProcessOwner remote = ProcessOwner::current();
    remote.host += "-other";
    EXPECT_EQ(ownerState(remote), OwnerState::Unknown);
    ProcessOwner container = ProcessOwner::current();
    container.pidNamespace = "pid:[1]";
    EXPECT_EQ(ownerState(container), OwnerState::Unknown);
    // The same host name after a reboot: the process is gone.
    ProcessOwner rebooted = ProcessOwner::current();
    rebooted.bootId = "00000000-0000-0000-0000-000000000000";
    EXPECT_EQ(ownerState(rebooted), OwnerState::Dead);
}

TEST(ProcessOwner, StoreMarksAndClaimsRunsOfGoneProcessesOnly)
{
    if (!procAvailable())
        GTEST_SKIP() << "no /proc";
    TempDir dir("tst-owner");
    const std::string db = dir.file("r.db");
    ResultsStore store(db);
    store.upsertModel(ModelRecord{0, "fpA", "a", "/m/a", "llama", 1, "{}"});
    const int64_t zombieRun = store.addRun(spec(1)), liveRun = store.addRun(spec(2)),
                  reusedRun = store.addRun(spec(3)), legacyRun = store.addRun(spec(4)),
                  doneRun = store.addRun(spec(5)), failedRun = store.addRun(spec(6));
    for (int64_t id : {zombieRun, liveRun, reusedRun, legacyRun})
        store.markRunning(id);
    store.markRunning(doneRun);
    store.completeRun(doneRun, RunResults{});
    store.markRunning(failedRun);
    store.failRun(failedRun, "boom");

    const pid_t zombie = sleepingChild(), live = sleepingChild();
    waitForState(zombie, 'S');
    waitForState(live, 'S');
    setOwner(db, zombieRun, ownerOf(zombie));
    setOwner(db, liveRun, ownerOf(live));
    ProcessOwner reused = ownerOf(live);
    reused.startTicks += 1;
    setOwner(db, reusedRun, reused);
    ProcessOwner legacy = ownerOf(live); // a row of an older build: host and pid only
    legacy.bootId.clear();
    setOwner(db, legacyRun, legacy);
    kill(zombie, SIGKILL);
    waitForState(zombie, 'Z');

    const RunClaim fromZombie = store.claimRun(zombieRun);
    EXPECT_EQ(fromZombie.outcome, ClaimOutcome::TakenFromDeadProcess);
    EXPECT_EQ(fromZombie.found.pid, int64_t(zombie));
    EXPECT_EQ(store.run(zombieRun)->pid, int64_t(getpid()));
    EXPECT_EQ(store.run(zombieRun)->owner, ProcessOwner::current().token());
    EXPECT_EQ(store.claimRun(zombieRun).outcome, ClaimOutcome::RunningElsewhere); // now ours
    const RunClaim fromLive = store.claimRun(liveRun);
    EXPECT_EQ(fromLive.outcome, ClaimOutcome::RunningElsewhere);
    EXPECT_EQ(fromLive.ownerState, OwnerState::Alive);
    EXPECT_EQ(store.claimRun(doneRun).outcome, ClaimOutcome::AlreadyDone);
    EXPECT_EQ(store.claimRun(failedRun).outcome, ClaimOutcome::FailedBefore);
    EXPECT_EQ(store.claimRun(failedRun, true).outcome, ClaimOutcome::Claimed);

    // The reused pid is stale; the legacy row with a live pid is not (it cannot be told apart).
    EXPECT_EQ(store.markStaleRunsInterrupted(), 1);
    EXPECT_EQ(store.run(reusedRun)->status, RunStatus::Interrupted);
    EXPECT_EQ(store.run(legacyRun)->status, RunStatus::Running);
    EXPECT_EQ(store.run(liveRun)->status, RunStatus::Running);
    EXPECT_EQ(store.claimRun(reusedRun).outcome, ClaimOutcome::Claimed);

    kill(live, SIGKILL);
    waitForState(live, 'Z');
    EXPECT_EQ(store.markStaleRunsInterrupted(), 2); // liveRun and legacyRun: a zombie now
    waitpid(zombie, nullptr, 0);
    waitpid(live, nullptr, 0);
    EXPECT_EQ(store.run(liveRun)->status, RunStatus::Interrupted);
    EXPECT_EQ(store.run(legacyRun)->status, RunStatus::Interrupted);
}
