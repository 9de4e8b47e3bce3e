// ptqbench zeroshot: lm-eval-style multiple-choice accuracy (acc, acc_norm) of a checkpoint on
// local JSONL task files.

#include "eval/zeroshot.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/terminal_progress.h"
#include "engine/threads.h"
#include "model/checkpoint.h"
#include "model/model.h"
#include "text/tokenizer.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

namespace ptq::cli {

namespace {

std::vector<std::string> splitList(const std::string& s)
{
    std::vector<std::string> out;
    std::stringstream in(s);
    for (std::string item; std::getline(in, item, ',');)
        if (!item.empty())
            out.push_back(item);
    if (out.empty())
        throw UsageError("--tasks expects a comma-separated list of JSONL files");
    return out;
}

} // namespace

int runZeroShot(const std::vector<std::string>& args)
{
    Args a(args, {"model", "tasks", "layout", "examples", "threads"}, {"json", "quiet"});
    setEngineThreads(static_cast<int>(a.integer("threads", 0, 0, 1024)));
    const std::string dir = a.str("model");
    TaskSpec spec = taskPreset(a.str("layout", "generic"));
    ZeroShotConfig zc;
    zc.maxExamples = a.integer("examples", 0, 0, 1 << 24);

    auto checkpoint = Checkpoint::open(dir);
    Tokenizer tokenizer = Tokenizer::fromDir(dir);
    Model model(checkpoint);
    nlohmann::json results = nlohmann::json::array();
    TerminalProgress progress(!a.flag("quiet") && !a.flag("json"));
    std::vector<ZeroShotResult> rows;
    for (const std::string& path : splitList(a.str("tasks"))) {
        spec.name = std::filesystem::path(path).stem().string();
        const Task task = loadTask(path, spec);
        rows.push_back(evaluateZeroShot(model, tokenizer, task, zc, progress.callback()));
        rows.back().task = spec.name;
    }
    progress.finish();
    if (a.flag("json")) {
        for (const auto& r : rows)
            results.push_back({{"task", r.task},
                               {"n", r.n},
                               {"acc", r.acc},
                               {"acc_stderr", r.accStderr},
                               {"acc_norm", r.accNorm},
                               {"acc_norm_stderr", r.accNormStderr},
                               {"seconds", r.seconds}});
        std::cout << nlohmann::json{{"model", dir}, {"tasks", results}}.dump(2) << "\n";
        return 0;
    }
    std::printf("model  %s\n", dir.c_str());
    std::printf("%-16s %6s %16s %16s %9s\n", "task", "n", "acc", "acc_norm", "seconds");
    for (const auto& r : rows)
        std::printf("%-16s %6lld %8.4f ±%.4f %8.4f ±%.4f %9.1f\n", r.task.c_str(),
                    static_cast<long long>(r.n), r.acc, r.accStderr, r.accNorm, r.accNormStderr,
                    r.seconds);
    return 0;
}

} // namespace ptq::cli
