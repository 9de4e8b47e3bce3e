// Crash safety of `ptqbench sweep`: the real executable is killed with SIGKILL at seeded
// random moments, over and over, on fresh and on continuing results stores. After every
// kill the file passes SQLite's integrity check, every run that was done before still is,
// with the same numbers, and once the sweep is allowed to finish every number equals the
// one of an uninterrupted reference sweep, bit for bit. SIGINT cancels the current run,
// records it 'cancelled' and exits 130.

#include "core/llama_reference.h"
#include "core/test_files.h"

#include "model/checkpoint_writer.h"
#include "store/results_store.h"
#include "text/tokenizer_writer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <random>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace ptq;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

std::string generatedText(uint32_t seed, int lines)
{
    static const char* words[] = {"quantized", "weights", "keep",  "the",   "model", "small",
                                  "and",       "fast",    "while", "error", "stays", "low"};
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> pick(0, int(std::size(words)) - 1);
    std::string text;
    for (int l = 0; l < lines; ++l) {
        for (int w = 0; w < 10; ++w)
            text += std::string(w ? " " : "") + words[pick(rng)];
        text += ".\n";
    }
    return text;
}

// Starts `ptqbench sweep SPEC --db DB --quiet` with stdout and stderr on /dev/null; with
// `fault` ("point:n", util/fault.h) the process kills itself there.
pid_t startSweep(const std::string& spec, const std::string& db, const std::string& fault = {})
{
    const pid_t pid = fork();
    if (pid == 0) {
        if (!fault.empty())
            setenv("PTQ_FAULT_KILL", fault.c_str(), 1);
        const int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl(PTQBENCH_EXE, PTQBENCH_EXE, "sweep", spec.c_str(), "--db", db.c_str(), "--quiet",
              static_cast<char*>(nullptr));
        _exit(127);
    }
    return pid;
}

// Waits until the child has exited but leaves it a zombie (not reaped), as a parent that
// has not got round to it yet does.
void waitExitedNotReaped(pid_t pid)
{
    siginfo_t info{};
    waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT);
}

int waitExit(pid_t pid)
{
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

// Everything a finished run stores that does not depend on the clock.
struct RunNumbers {
    std::string status;
    std::map<std::pair<std::string, std::string>, double> metrics;
    std::vector<std::tuple<int64_t, std::string, double, double, double, double, uint64_t>> layers;
    std::vector<std::pair<int64_t, double>> blocks;
    uint64_t packedBytes = 0;
    double bitsPerWeight = 0;

    bool operator==(const RunNumbers& o) const
    {
        return status == o.status && metrics == o.metrics && layers == o.layers &&
               blocks == o.blocks && packedBytes == o.packedBytes &&
               bitsPerWeight == o.bitsPerWeight;
    }
};

bool hasRunsTable(const std::string& db)
{
    sqlite3* h = nullptr;
    bool found = false;
    if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK)
        sqlite3_exec(
            h, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'runs'",
            [](void* f, int, char**, char**) {
                *static_cast<bool*>(f) = true;
                return 0;
            },
            &found, nullptr);
    sqlite3_close(h);
    return found;
}

// fingerprint -> numbers of every run in the file (layers only for done runs).
std::map<std::string, RunNumbers> snapshot(const std::string& db)
{
    std::map<std::string, RunNumbers> out;
    if (!fs::exists(db) || !hasRunsTable(db))
        return out; // killed before the schema was committed
    ResultsStore store(db, ResultsStore::Mode::ReadOnly);
    for (const auto& r : store.listRuns()) {
        RunNumbers n;
        n.status = runStatusName(r.status);
        for (const auto& m : r.metrics)
            n.metrics[{m.name, m.datasetSha256}] = m.value;
        if (r.status == RunStatus::Done) {
            for (const auto& l : store.layerErrors(r.id))
                n.layers.emplace_back(l.block, l.layer, l.relWeightError, l.outputError,
                                      l.methodLoss, l.maxAbsError, l.bytes);
            for (const auto& b : store.blockErrors(r.id))
                n.blocks.emplace_back(b.block, b.outputError);
            n.packedBytes = r.packedBytes;
            n.bitsPerWeight = r.bitsPerWeight;
        }
        out[r.fingerprint] = n;
    }
    return out;
}

// PRAGMA integrity_check through a plain read-write connection, which also replays the WAL
// the killed process left behind.
std::string integrity(const std::string& db)
{
    sqlite3* h = nullptr;
    if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
        sqlite3_close(h);
        return "cannot open";
    }
    std::string result;
    sqlite3_exec(
        h, "PRAGMA integrity_check",
        [](void* out, int, char** values, char**) {
            *static_cast<std::string*>(out) += values[0] ? values[0] : "NULL";
            return 0;
        },
        &result, nullptr);
    sqlite3_close(h);
    return result;
}

void removeStore(const std::string& db)
{
    for (const char* suffix : {"", "-wal", "-shm", "-journal"})
        fs::remove(db + suffix);
}

class SweepKillTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        const ModelConfig c = ptq::testing::tinyLlamaConfig(260, 64);
        writeLlamaCheckpoint(m_dir.file("tiny"), c, randomLlamaWeights(c, 11));
        writeSentencePieceTokenizer(m_dir.file("tiny"), {});
        ptq::test::writeFile(m_dir.file("calib.txt"), generatedText(1, 30));
        ptq::test::writeFile(m_dir.file("eval.txt"), generatedText(2, 30));
        const json spec = {{"models", {"tiny"}},
                           {"recipes", {"rtn", "gptq", "quarot-rtn"}},
                           {"wbits", {3, 4}},
                           {"groups", {16}},
                           {"calib", {{"path", "calib.txt"}, {"samples", 4}, {"seqlen", 32}}},
                           {"eval", {{"texts", {"eval.txt"}}, {"seqlen", 32}, {"windows", 4}}},
                           {"seed", 5},
                           {"threads", 1}};
        ptq::test::writeFile(m_dir.file("spec.json"), spec.dump(2));
    }

    ptq::test::TempDir m_dir{"sweep-kill"};
};

} // namespace

TEST_F(SweepKillTest, KilledSweepsLeaveAConsistentStoreAndResumeToTheSameNumbers)
{
    const std::string spec = m_dir.file("spec.json");
    const std::string refDb = m_dir.file("reference.db");
    const auto t0 = Clock::now();
    ASSERT_EQ(waitExit(startSweep(spec, refDb)), 0);
    const double fullSeconds = std::chrono::duration<double>(Clock::now() - t0).count();
    const auto reference = snapshot(refDb);
    ASSERT_EQ(reference.size(), 6u);
    for (const auto& [fp, n] : reference) {
        ASSERT_EQ(n.status, "done") << fp;
        ASSERT_EQ(n.layers.size(), 14u);
        ASSERT_FALSE(n.metrics.empty());
    }

    // Delays spread over one uninterrupted sweep, start-up included; a fresh store every
    // fourth kill so that early moments (schema creation, first runs) are hit repeatedly.
    std::mt19937 rng(20261125);
    std::uniform_real_distribution<double> delay(0.0, fullSeconds);
    const std::string db = m_dir.file("killed.db");
    int killedAlive = 0;
    const int kills = 20;
    for (int i = 0; i < kills; ++i) {
        if (i % 4 == 0)
            removeStore(db);
        const auto before = snapshot(db);
        const pid_t pid = startSweep(spec, db);
        std::this_thread::sleep_for(std::chrono::duration<double>(delay(rng)));
        if (waitpid(pid, nullptr, WNOHANG) == 0)
            ++killedAlive;
        kill(pid, SIGKILL);
        waitExit(pid);
        if (!fs::exists(db))
            continue; // killed before the file was created
        ASSERT_EQ(integrity(db), "ok") << "kill " << i;
        const auto after = snapshot(db);
        for (const auto& [fp, n] : before) {
            if (n.status != "done")
                continue;
            ASSERT_TRUE(after.count(fp)) << "kill " << i << ": a done run vanished";
            EXPECT_TRUE(after.at(fp) == n) << "kill " << i << ": a done run changed";
        }
        for (const auto& [fp, n] : after) {
            ASSERT_TRUE(reference.count(fp)) << "kill " << i << ": unknown run " << fp;
            if (n.status == "done")
                EXPECT_TRUE(n == reference.at(fp)) << "kill " << i << ": numbers differ";
            else
                EXPECT_TRUE(n.metrics.empty()) << "kill " << i << ": unfinished run with numbers";
        }
    }
    // Every fourth kill starts on an empty store: those runs cannot finish before the kill.
    EXPECT_GE(killedAlive, kills / 4);

    ASSERT_EQ(waitExit(startSweep(spec, db)), 0);
    EXPECT_EQ(integrity(db), "ok");
    const auto finished = snapshot(db);
    ASSERT_EQ(finished.size(), reference.size());
    for (const auto& [fp, n] : reference) {
        ASSERT_TRUE(finished.count(fp));
        EXPECT_TRUE(finished.at(fp) == n) << fp;
    }
}

TEST_F(SweepKillTest, InterruptCancelsTheCurrentRunAndExits130)
{
    const std::string db = m_dir.file("interrupted.db");
    const pid_t pid = startSweep(m_dir.file("spec.json"), db);
    // Waits for the first run to start, then interrupts.
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    bool running = false;
    while (!running && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        if (!fs::exists(db))
            continue;
        try {
            ResultsStore store(db, ResultsStore::Mode::ReadOnly);
            RunFilter f;
            f.status = RunStatus::Running;
            f.withMetrics = false;
            running = !store.listRuns(f).empty();
        } catch (const Error&) {
            // the schema may not be there yet
        }
    }
    ASSERT_TRUE(running) << "the sweep never started a run";
    kill(pid, SIGINT);
    EXPECT_EQ(waitExit(pid), 130);
    const auto runs = snapshot(db);
    int cancelled = 0, runningLeft = 0;
    for (const auto& [fp, n] : runs) {
        cancelled += n.status == "cancelled";
        runningLeft += n.status == "running";
    }
    EXPECT_EQ(cancelled, 1);
    EXPECT_EQ(runningLeft, 0);
}

// How many runs of the store are 'running' (0 when the file or its schema is not there yet).
int runningRuns(const std::string& db)
{
    if (!fs::exists(db) || !hasRunsTable(db))
        return 0;
    try {
        ResultsStore store(db, ResultsStore::Mode::ReadOnly);
        RunFilter f;
        f.status = RunStatus::Running;
        f.withMetrics = false;
        return int(store.listRuns(f).size());
    } catch (const Error&) {
        return 0; // the schema may be half-created
    }
}

// Kills the sweep `pid` a seeded moment after one of its runs has started (or once it has
// exited by itself) and waits for its death without reaping it.
void killWhileRunning(pid_t pid, const std::string& db, double extraSeconds)
{
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (runningRuns(db) == 0 && Clock::now() < deadline) {
        siginfo_t info{};
        if (waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid)
            return; // finished everything before a run was seen
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(extraSeconds));
    kill(pid, SIGKILL);
    waitExitedNotReaped(pid);
}

// The sweep is killed (SIGKILL) at seeded moments while a run is under way and at seeded
// passes of the store's status updates (util/fault.h: inside the claim and the completion
// transactions, right after their commits, and between computing a run and storing it), and
// the next sweep starts while the killed process is still an unreaped zombie, which
// kill(pid, 0) still finds: the liveness check must not take it for a live process, nor may
// a run be skipped on a status read once at the start. The last kill leaves a run 'running'
// by a zombie for the final sweep. After it every run is done, none is 'running' or
// 'interrupted', and every number equals the uninterrupted reference.
TEST_F(SweepKillTest, KillsAtStatusUpdatesWithUnreapedProcessesEndWithEveryRunDone)
{
    const std::string spec = m_dir.file("spec.json");
    const std::string refDb = m_dir.file("reference.db");
    ASSERT_EQ(waitExit(startSweep(spec, refDb)), 0);
    const auto reference = snapshot(refDb);
    ASSERT_EQ(reference.size(), 6u);

    const std::vector<std::string> points = {
        "store.claim.before_commit", "store.claim.after_commit", "store.complete.before_commit",
        "store.complete.after_commit", "sweep.run.computed"};
    std::mt19937 rng(20261205);
    std::uniform_real_distribution<double> extra(0.0, 0.3);
    std::uniform_int_distribution<std::size_t> pickPoint(0, points.size() - 1);
    std::uniform_int_distribution<int> pickHit(1, 3);
    const std::string db = m_dir.file("zombies.db");
    std::vector<pid_t> unreaped;
    const auto reapAll = [&] {
        for (pid_t old : unreaped)
            waitExit(old);
        unreaped.clear();
    };
    const int kills = 17;
    for (int i = 0; i < kills; ++i) {
        if (i % 6 == 0 || i == kills - 1) { // fresh stores, so that runs are left to kill
            reapAll();
            removeStore(db);
        }
        const bool atPoint = i % 2 == 1;
        const std::string fault =
            atPoint ? points[pickPoint(rng)] + ":" + std::to_string(pickHit(rng)) : "";
        const pid_t pid = startSweep(spec, db, fault);
        reapAll(); // the previous sweep is reaped only once this one is under way
        if (atPoint)
            waitExitedNotReaped(pid);
        else
            killWhileRunning(pid, db, i == kills - 1 ? 0.0 : extra(rng));
        unreaped.push_back(pid);
        ASSERT_EQ(integrity(db), "ok") << "kill " << i << " (" << fault << ")";
        for (const auto& [fp, n] : snapshot(db)) {
            ASSERT_TRUE(reference.count(fp)) << "kill " << i << ": unknown run " << fp;
            if (n.status == "done") {
                EXPECT_TRUE(n == reference.at(fp)) << "kill " << i << ": numbers differ";
            }
        }
    }
    // The last kill came while a run was under way: a zombie holds it now.
    ASSERT_EQ(runningRuns(db), 1);

    const pid_t last = startSweep(spec, db);
    const int exitCode = waitExit(last);
    reapAll();
    ASSERT_EQ(exitCode, 0);
    EXPECT_EQ(integrity(db), "ok");
    const auto finished = snapshot(db);
    ASSERT_EQ(finished.size(), reference.size());
    for (const auto& [fp, n] : reference) {
        ASSERT_TRUE(finished.count(fp));
        EXPECT_EQ(finished.at(fp).status, "done") << fp;
        EXPECT_TRUE(finished.at(fp) == n) << fp;
    }
}
