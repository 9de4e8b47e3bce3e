#include "cli/commands.h"

#include "cli/args.h"
#include "cli/terminal_progress.h"
#include "engine/threads.h"
#include "eval/perplexity.h"
#include "family/default_model.h"
#include "model/checkpoint.h"
#include "model/model.h"
#include "text/tokenizer.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

namespace ptq::cli {

namespace {

torch::ScalarType parseComputeDtype(const std::string& s)
{
    if (s == "fp32")
        return torch::kFloat;
    if (s == "bf16")
        return torch::kBFloat16;
    throw UsageError("--dtype must be fp32 or bf16, got '" + s + "'");
}

std::string humanCount(int64_t n)
{
    char buf[64];
    if (n >= 1000000000)
        std::snprintf(buf, sizeof buf, "%.2f B", n / 1e9);
    else if (n >= 1000000)
        std::snprintf(buf, sizeof buf, "%.2f M", n / 1e6);
    else if (n >= 1000)
        std::snprintf(buf, sizeof buf, "%.1f K", n / 1e3);
    else
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
    return buf;
}

PerplexityConfig perplexityConfigFrom(const Args& a)
{
    PerplexityConfig pc;
    pc.seqlen = a.integer("seqlen", 2048, 2, 1 << 20);
    pc.maxWindows = a.integer("windows", 0, 0, 1 << 30);
    if (a.has("random")) {
        pc.sampling = WindowSampling::Random;
        pc.randomWindows = a.integer("random", 256, 1, 1 << 30);
    }
    pc.seed = static_cast<uint64_t>(a.integer("seed", 0, 0, INT64_MAX));
    return pc;
}

nlohmann::json perplexityJson(const PerplexityResult& r)
{
    return {{"perplexity", r.perplexity},
            {"mean_nll", r.meanNll},
            {"tokens_in_text", r.tokensInText},
            {"tokens_scored", r.tokensScored},
            {"windows", r.windows},
            {"seqlen", r.seqlen},
            {"seconds", r.seconds},
            {"tokens_per_second", r.tokensPerSecond}};
}

} // namespace

int runInfo(const std::vector<std::string>& args)
{
    Args a(args, {"model"}, {"json"});
    const CheckpointSummary s = summarizeCheckpoint(a.str("model"));
    if (a.flag("json")) {
        std::cout << nlohmann::json{{"dir", s.dir},
                                    {"architecture", s.architecture},
                                    {"parameters", s.parameters},
                                    {"layers", s.layers},
                                    {"hidden_size", s.hiddenSize},
                                    {"heads", s.numHeads},
                                    {"kv_heads", s.numKvHeads},
                                    {"state_size", s.stateSize},
                                    {"inner_size", s.innerSize},
                                    {"vocab_size", s.vocabSize},
                                    {"dtype", s.dtype},
                                    {"bytes_on_disk", s.bytesOnDisk},
                                    {"shards", s.shards},
                                    {"tokenizer", s.hasTokenizer}}
                         .dump(2)
                  << "\n";
        return 0;
    }
    std::printf("model         %s\n", s.dir.c_str());
    std::printf("architecture  %s\n", s.architecture.c_str());
    std::printf("parameters    %s (%lld)\n", humanCount(s.parameters).c_str(),
                static_cast<long long>(s.parameters));
    std::printf("layers        %lld\n", static_cast<long long>(s.layers));
    if (s.stateSize > 0)
        std::printf("hidden size   %lld, inner %lld, %lld states per channel (no attention)\n",
                    static_cast<long long>(s.hiddenSize), static_cast<long long>(s.innerSize),
                    static_cast<long long>(s.stateSize));
    else
        std::printf("hidden size   %lld, heads %lld, kv heads %lld\n",
                    static_cast<long long>(s.hiddenSize), static_cast<long long>(s.numHeads),
                    static_cast<long long>(s.numKvHeads));
    std::printf("vocabulary    %lld\n", static_cast<long long>(s.vocabSize));
    std::printf("dtype         %s\n", s.dtype.c_str());
    std::printf("on disk       %.2f MB in %d shard(s)\n", s.bytesOnDisk / 1e6, s.shards);
    std::printf("tokenizer     %s\n", s.hasTokenizer ? "tokenizer.json" : "missing");
    return 0;
}

int runEval(const std::vector<std::string>& args)
{
    Args a(args, {"model", "text", "seqlen", "windows", "random", "seed", "dtype", "threads"},
           {"json", "quiet"});
    setEngineThreads(static_cast<int>(a.integer("threads", 0, 0, 1024)));
    const std::string dir = a.str("model");
    const std::string textPath = a.str("text");
    PerplexityConfig pc = perplexityConfigFrom(a);
    ForwardOptions fo;
    fo.computeDtype = parseComputeDtype(a.str("dtype", "fp32"));

    auto checkpoint = Checkpoint::open(dir);
    Tokenizer tokenizer = Tokenizer::fromDir(dir);
    Model model(checkpoint, fo);
    std::vector<int32_t> tokens = tokenizeTextFile(tokenizer, textPath);
    // Mixture of Experts: the tokens each layer's router sends to each expert (load balance).
    std::map<int64_t, std::vector<int64_t>> load;
    const RouterObserver route = [&](int64_t block, const std::string&, const torch::Tensor& logits,
                                     const torch::Tensor& experts) {
        const auto counts = torch::bincount(experts.reshape({-1}), {}, logits.size(-1));
        auto& row = load[block];
        row.resize(std::size_t(counts.size(0)), 0);
        for (int64_t e = 0; e < counts.size(0); ++e)
            row[std::size_t(e)] += counts[e].item<int64_t>();
    };
    if (model.config().moe.enabled())
        pc.route = &route;
    TerminalProgress progress(!a.flag("quiet") && !a.flag("json"));
    PerplexityResult r = evaluatePerplexity(model, tokens, pc, progress.callback());
    progress.finish();
    // Per layer: each expert's share of the k choices per token (1/E when balanced).
    auto shares = [&](const std::vector<int64_t>& row) {
        int64_t total = 0;
        for (int64_t n : row)
            total += n;
        std::vector<double> out;
        for (int64_t n : row)
            out.push_back(total > 0 ? double(n) / double(total) : 0.0);
        return out;
    };

    if (a.flag("json")) {
        nlohmann::json j = perplexityJson(r);
        j["model"] = dir;
        j["text"] = textPath;
        j["compute_dtype"] = a.str("dtype", "fp32");
        j["sampling"] = pc.sampling == WindowSampling::Random ? "random" : "sequential";
        if (!load.empty()) {
            nlohmann::json layers = nlohmann::json::array();
            for (const auto& [block, row] : load)
                layers.push_back({{"block", block}, {"tokens", row}, {"share", shares(row)}});
            j["expert_load"] = layers;
        }
        std::cout << j.dump(2) << "\n";
        return 0;
    }
    std::printf("model        %s (%s, %s)\n", dir.c_str(), model.config().modelType.c_str(),
                checkpoint->dominantDType().c_str());
    std::printf("text         %s\n", textPath.c_str());
    std::printf("windows      %lld x %lld tokens (%s), %lld tokens in text\n",
                static_cast<long long>(r.windows), static_cast<long long>(r.seqlen),
                pc.sampling == WindowSampling::Random ? "random offsets" : "sequential",
                static_cast<long long>(r.tokensInText));
    std::printf("scored       %lld tokens\n", static_cast<long long>(r.tokensScored));
    std::printf("perplexity   %.4f  (mean NLL %.6f nats/token)\n", r.perplexity, r.meanNll);
    std::printf("time         %.2f s  (%.0f tokens/s, %s)\n", r.seconds, r.tokensPerSecond,
                a.str("dtype", "fp32").c_str());
    for (const auto& [block, row] : load) {
        const auto s = shares(row);
        std::printf("expert load  layer %lld:", static_cast<long long>(block));
        for (double v : s)
            std::printf(" %.3f", v);
        std::printf("  (min %.3f, max %.3f; balanced %.3f)\n",
                    *std::min_element(s.begin(), s.end()), *std::max_element(s.begin(), s.end()),
                    1.0 / double(s.size()));
    }
    return 0;
}

int runMakeDefault(const std::vector<std::string>& args)
{
    Args a(args, {"out", "text", "dtype", "seed"}, {});
    DefaultModelSpec spec;
    spec.trainTextPath = a.str("text");
    const std::string dtype = a.str("dtype", "F32");
    if (!parseDType(dtype, spec.storage) ||
        (spec.storage != DType::F32 && spec.storage != DType::F16 && spec.storage != DType::BF16))
        throw UsageError("--dtype must be F32, F16 or BF16, got '" + dtype + "'");
    spec.seed = static_cast<uint64_t>(a.integer("seed", 0, 0, INT64_MAX));
    const std::string out = a.str("out");
    writeDefaultModel(out, spec);
    std::printf("wrote %s\n", out.c_str());
    return 0;
}

} // namespace ptq::cli
