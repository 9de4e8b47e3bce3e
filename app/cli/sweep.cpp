// ptqbench sweep: the cross product of models, recipes and grid values, each run recorded in
// the results store; rerunning the same sweep skips what is done and resumes the rest.

#include "engine/sweep.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <unistd.h>

namespace ptq::cli {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

volatile std::sig_atomic_t g_interrupted = 0;

void onInterrupt(int)
{
    g_interrupted = 1;
}

// SIGINT/SIGTERM cancel the current run (recorded 'cancelled'); SA_RESETHAND gives a second
// Ctrl-C its default effect, for a run that does not reach a progress check soon enough.
void installInterruptHandler()
{
    struct sigaction sa {};
    sa.sa_handler = onInterrupt;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

// Removes every "--key V" / "--key=V" from argv and returns the values, split at commas.
std::vector<std::string> takeRepeated(std::vector<std::string>& argv, const std::string& key)
{
    std::vector<std::string> values, rest;
    const std::string flag = "--" + key;
    for (std::size_t i = 0; i < argv.size(); ++i) {
        std::string v;
        if (argv[i] == flag) {
            if (i + 1 >= argv.size())
                throw UsageError("option " + flag + " needs a value");
            v = argv[++i];
        } else if (argv[i].rfind(flag + "=", 0) == 0) {
            v = argv[i].substr(flag.size() + 1);
        } else {
            rest.push_back(argv[i]);
            continue;
        }
        std::stringstream in(v);
        for (std::string item; std::getline(in, item, ',');)
            if (!item.empty())
                values.push_back(item);
    }
    argv = rest;
    return values;
}

json integerList(const Args& a, const std::string& key)
{
    json out = json::array();
    std::stringstream in(a.str(key));
    for (std::string item; std::getline(in, item, ',');) {
        char* end = nullptr;
        const long long v = std::strtoll(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0')
            throw UsageError("option --" + key + " expects integers separated by commas, got '" +
                             a.str(key) + "'");
        out.push_back(v);
    }
    return out;
}

// The flags as a spec object, so that both forms share one parser and one set of checks.
json specFromFlags(const Args& a, const std::vector<std::string>& models,
                   const std::vector<std::string>& recipes, const std::vector<std::string>& evals,
                   const std::vector<std::string>& tasks)
{
    json j = {{"models", models}, {"recipes", recipes}};
    for (const auto& [flag, key] : {std::pair<std::string, std::string>{"wbits", "wbits"},
                                    {"group", "groups"},
                                    {"abits", "abits"},
                                    {"kvbits", "kvbits"}})
        if (a.has(flag))
            j[key] = integerList(a, flag);
    j["calib"] = {{"path", a.str("calib")},
                  {"samples", a.integer("calib-samples", 128, 1, 1 << 20)},
                  {"seqlen", a.integer("calib-seqlen", 2048, 2, 1 << 20)}};
    json taskList = json::array();
    for (const auto& t : tasks)
        taskList.push_back({{"path", t},
                            {"layout", a.str("task-layout", "generic")},
                            {"examples", a.integer("task-examples", 0, 0, 1 << 30)}});
    j["eval"] = {{"texts", evals},
                 {"seqlen", a.integer("seqlen", 2048, 2, 1 << 20)},
                 {"windows", a.integer("windows", 0, 0, 1 << 30)},
                 {"tasks", taskList}};
    j["seed"] = a.integer("seed", 0, 0, INT64_MAX);
    j["threads"] = a.integer("threads", 0, 0, 1024);
    return j;
}

std::string formatDuration(double s)
{
    char buf[32];
    if (s < 60)
        std::snprintf(buf, sizeof buf, "%.0fs", s);
    else if (s < 3600)
        std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
    else
        std::snprintf(buf, sizeof buf, "%dh%02dm", int(s) / 3600, (int(s) % 3600) / 60);
    return buf;
}

// A redrawn bar with an ETA on a terminal; one line per run start and finish otherwise.
class SweepReporter {
public:
    explicit SweepReporter(bool quiet) : m_quiet(quiet), m_tty(isatty(fileno(stdout)) != 0) {}

    ProgressFn progress()
    {
        return [this](const Progress& p) {
            if (m_tty && !m_quiet)
                drawBar(p);
            return g_interrupted == 0;
        };
    }

    void onEvent(const SweepEvent& e)
    {
        if (e.kind == SweepEvent::Kind::Done || e.kind == SweepEvent::Kind::Failed) {
            m_executedSeconds += e.seconds;
            ++m_executed;
        }
        m_index = e.index;
        m_total = e.total;
        m_label = e.run ? e.run->label : "";
        if (m_quiet || (m_tty && e.kind == SweepEvent::Kind::Started))
            return;
        clearBar();
        const std::string pos = std::to_string(e.index + 1) + "/" + std::to_string(e.total);
        switch (e.kind) {
        case SweepEvent::Kind::Skipped:
            std::printf("skip   %s  %s (already recorded)\n", pos.c_str(), m_label.c_str());
            break;
        case SweepEvent::Kind::Started:
            std::printf("start  %s  %s (run %lld)\n", pos.c_str(), m_label.c_str(),
                        static_cast<long long>(e.runId));
            break;
        case SweepEvent::Kind::Done:
            std::printf("done   %s  %s: %s [%s]\n", pos.c_str(), m_label.c_str(),
                        keyMetricText(*e.results).c_str(), formatDuration(e.seconds).c_str());
            break;
        case SweepEvent::Kind::Failed:
            std::printf("FAILED %s  %s: %s\n", pos.c_str(), m_label.c_str(), e.error.c_str());
            break;
        case SweepEvent::Kind::Cancelled:
            std::printf("cancel %s  %s (recorded as cancelled)\n", pos.c_str(), m_label.c_str());
            break;
        }
        std::fflush(stdout);
    }

    void finish() { clearBar(); }

private:
    void drawBar(const Progress& p)
    {
        constexpr int kWidth = 24;
        const double frac = m_total > 0 ? double(m_index) / double(m_total) : 0.0;
        std::string bar(static_cast<std::size_t>(frac * kWidth + 0.5), '#');
        bar.resize(kWidth, '.');
        std::string eta = "ETA --";
        if (m_executed > 0)
            eta =
                "ETA " + formatDuration(m_executedSeconds / m_executed * double(m_total - m_index));
        std::printf("\r\033[K[%s] %lld/%lld %s | %s %lld/%lld | %s", bar.c_str(),
                    static_cast<long long>(m_index + 1), static_cast<long long>(m_total),
                    m_label.c_str(), p.stage.c_str(), p.done, p.total, eta.c_str());
        std::fflush(stdout);
        m_drawn = true;
    }

    void clearBar()
    {
        if (m_drawn)
            std::printf("\r\033[K");
        m_drawn = false;
    }

    bool m_quiet;
    bool m_tty;
    bool m_drawn = false;
    int64_t m_index = 0, m_total = 0, m_executed = 0;
    double m_executedSeconds = 0;
    std::string m_label;
};

void printPlan(const std::vector<PlannedRun>& plan, const std::string& dbPath)
{
    std::unique_ptr<ResultsStore> store;
    if (fs::exists(dbPath))
        store = std::make_unique<ResultsStore>(dbPath, ResultsStore::Mode::ReadOnly);
    std::printf("%zu runs planned (store %s)\n", plan.size(), dbPath.c_str());
    for (std::size_t i = 0; i < plan.size(); ++i) {
        std::string status = "new";
        if (store)
            if (auto r = store->findRun(plan[i].fingerprint))
                status = runStatusName(r->status);
        std::printf("%4zu  %-11s %s\n", i + 1, status.c_str(), plan[i].label.c_str());
    }
}

} // namespace

int runSweepCommand(const std::vector<std::string>& args)
{
    std::vector<std::string> argv = args;
    const auto models = takeRepeated(argv, "model");
    const auto recipes = takeRepeated(argv, "recipe");
    const auto evals = takeRepeated(argv, "eval");
    const auto tasks = takeRepeated(argv, "task");
    const std::set<std::string> valueOptions = {
        "db",          "wbits",         "group",        "abits",  "kvbits",
        "calib",       "calib-samples", "calib-seqlen", "seqlen", "windows",
        "task-layout", "task-examples", "seed",         "threads"};
    const auto positionals = takePositionals(argv, valueOptions);
    Args a(argv, valueOptions, {"retry-failed", "dry-run", "quiet"});
    if (positionals.size() > 1)
        throw UsageError("expected one spec file, got '" + positionals[1] + "' as well");

    SweepSpec spec;
    if (!positionals.empty()) {
        const bool flagsToo = !models.empty() || !recipes.empty() || !evals.empty() ||
                              !tasks.empty() || a.has("calib") || a.has("wbits") || a.has("group");
        if (flagsToo)
            throw UsageError("give either a spec file or --model/--recipe/... flags, not both");
        spec = SweepSpec::fromFile(positionals[0]);
    } else {
        if (models.empty() || recipes.empty())
            throw UsageError("needs a spec file, or --model DIR and --recipe NAME at least");
        spec = SweepSpec::fromJson(specFromFlags(a, models, recipes, evals, tasks), "command line");
    }
    const std::string dbPath = a.str("db", ResultsStore::defaultPath());
    if (a.flag("dry-run")) {
        printPlan(planSweep(spec), dbPath);
        return 0;
    }

    ResultsStore store(dbPath);
    installInterruptHandler();
    SweepReporter reporter(a.flag("quiet"));
    SweepOptions options;
    options.retryFailed = a.flag("retry-failed");
    options.onEvent = [&](const SweepEvent& e) { reporter.onEvent(e); };
    const SweepCounts c = runSweep(store, spec, reporter.progress(), options);
    reporter.finish();
    std::printf("sweep: %lld done, %lld skipped, %lld failed%s; store %s\n",
                static_cast<long long>(c.done), static_cast<long long>(c.skipped),
                static_cast<long long>(c.failed), c.cancelled ? ", stopped by a cancel" : "",
                store.path().c_str());
    if (c.interrupted)
        std::printf("       %lld run(s) left running by a process that is gone were marked "
                    "interrupted\n",
                    static_cast<long long>(c.interrupted));
    if (c.takenOver)
        std::printf("       %lld of this sweep's runs left running by a process that is gone "
                    "were rerun\n",
                    static_cast<long long>(c.takenOver));
    if (!c.unfinished.empty()) {
        std::printf("       %zu run(s) not done:\n", c.unfinished.size());
        for (const auto& u : c.unfinished)
            std::printf("       run %lld  %-11s %s: %s\n", static_cast<long long>(u.runId),
                        runStatusName(u.status).c_str(), u.label.c_str(), u.reason.c_str());
    }
    if (c.cancelled || g_interrupted)
        return 130;
    return c.failed ? 1 : 0;
}

} // namespace ptq::cli
