// ptqbench quantize: one run without a store: one recipe applied to a checkpoint, then FP vs
// quantized perplexity and KL on an evaluation text, the size accounting and the per-layer
// error table. The same run path as sweeps and the GUI (engine/run.h).

#include "analysis/export.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/terminal_progress.h"
#include "engine/run.h"
#include "engine/threads.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>

namespace ptq::cli {

namespace {

Recipe recipeFrom(const Args& a)
{
    Recipe r = Recipe::fromNameOrFile(a.str("recipe"));
    if (a.has("wbits"))
        r.weightGrid.bits = static_cast<int>(a.integer("wbits", 4, 2, 8));
    if (a.has("group"))
        r.weightGrid.groupSize = a.integer("group", 0, -1, 1 << 20);
    if (a.flag("sym"))
        r.weightGrid.symmetric = true;
    if (a.has("abits")) {
        ActQuantSpec s = r.activations.value_or(ActQuantSpec{});
        s.bits = static_cast<int>(a.integer("abits", 8, 2, 16));
        if (s.bits >= 16)
            r.activations.reset();
        else
            r.activations = s;
    }
    if (a.has("kvbits")) {
        KvQuantSpec s = r.kv.value_or(KvQuantSpec{});
        s.bits = static_cast<int>(a.integer("kvbits", 8, 2, 16));
        if (s.bits >= 16)
            r.kv.reset();
        else
            r.kv = s;
    }
    r.validate("--recipe " + a.str("recipe"));
    return r;
}

double metric(const RunResults& r, const std::string& name)
{
    for (const auto& m : r.metrics)
        if (m.name == name)
            return m.value;
    return std::nan("");
}

nlohmann::json resultJson(const Recipe& recipe, const RunResults& r)
{
    nlohmann::json metrics = nlohmann::json::object();
    for (const auto& m : r.metrics)
        metrics[m.name] = m.value;
    nlohmann::json blocks = nlohmann::json::array();
    for (const auto& b : r.blocks)
        blocks.push_back(
            {{"block", b.block}, {"output_error", b.outputError}, {"seconds", b.seconds}});
    return {{"recipe", recipe.toJson()},
            {"bits_per_weight", r.bitsPerWeight},
            {"packed_bytes", r.packedBytes},
            {"fp16_bytes", r.fp16Bytes},
            {"quantize_seconds", r.quantizeSeconds},
            {"eval_seconds", r.evalSeconds},
            {"metrics", metrics},
            {"warnings", r.warnings},
            {"layers", nlohmann::json::parse(toJson(layerErrorsTable(r.layers)))},
            {"blocks", blocks}};
}

void printSummary(const Recipe& recipe, const RunResults& r)
{
    std::printf("recipe        %s\n", recipe.canonical().c_str());
    std::printf("bits/weight   %.4f (quantized linears, scales and zeros included)\n",
                r.bitsPerWeight);
    std::printf("size          %.3f MB packed vs %.3f MB fp16 (%.1f%%)\n", r.packedBytes / 1e6,
                r.fp16Bytes / 1e6, r.fp16Bytes ? 100.0 * r.packedBytes / r.fp16Bytes : 0.0);
    std::printf("perplexity    %.4f -> %.4f\n", metric(r, "perplexity_fp"),
                metric(r, "perplexity"));
    std::printf("KL            mean %.6f, max %.4f nats/token; top-1 agreement %.2f%%\n",
                metric(r, "kl_mean"), metric(r, "kl_max"), 100.0 * metric(r, "top1_agreement"));
    if (std::isfinite(metric(r, "routing_agreement")))
        std::printf("routing       %.2f%% of tokens keep their top-k experts; %.3f MB read per "
                    "token\n",
                    100.0 * metric(r, "routing_agreement"), metric(r, "active_packed_bytes") / 1e6);
    std::printf("time          quantize %.2f s, evaluate %.2f s\n", r.quantizeSeconds,
                r.evalSeconds);
    for (const auto& w : r.warnings)
        std::printf("warning       %s\n", w.c_str());
    std::printf("\n%5s  %-18s %12s %12s %12s %10s %8s\n", "block", "layer", "rel W err",
                "output err", "max |dW|", "bytes", "tokens");
    for (const auto& l : r.layers)
        std::printf("%5lld  %-18s %12.4e %12.4e %12.4e %10llu %8lld\n",
                    static_cast<long long>(l.block), l.layer.c_str(), l.relWeightError,
                    l.outputError, l.maxAbsError, static_cast<unsigned long long>(l.bytes),
                    static_cast<long long>(l.routedTokens >= 0 ? l.routedTokens : l.calibTokens));
    for (const auto& b : r.blocks) {
        std::printf("block %lld output error %.4e (%.2f s)", static_cast<long long>(b.block),
                    b.outputError, b.seconds);
        if (std::isfinite(b.routingAgreement))
            std::printf(", routing agreement %.2f%%", 100.0 * b.routingAgreement);
        std::printf("\n");
    }
}

} // namespace

int runQuantize(const std::vector<std::string>& args)
{
    Args a(args,
           {"model", "recipe", "wbits", "group", "abits", "kvbits", "calib", "calib-samples",
            "calib-seqlen", "eval", "seqlen", "windows", "seed", "layers-csv", "threads"},
           {"sym", "json", "quiet"});
    setEngineThreads(static_cast<int>(a.integer("threads", 0, 0, 1024)));
    // The run path of sweeps and the GUI (engine/run.h), without a store.
    RunRequest req;
    req.modelDir = a.str("model");
    req.recipe = recipeFrom(a);
    req.calib.path = a.str("calib");
    req.calib.samples = a.integer("calib-samples", 128, 1, 1 << 20);
    req.calib.seqlen = a.integer("calib-seqlen", 2048, 2, 1 << 20);
    req.eval.texts = {a.str("eval")};
    req.eval.seqlen = a.integer("seqlen", 2048, 2, 1 << 20);
    req.eval.windows = a.integer("windows", 0, 0, 1 << 30);
    req.seed = static_cast<uint64_t>(a.integer("seed", 0, 0, INT64_MAX));

    TerminalProgress progress(!a.flag("quiet") && !a.flag("json"));
    const RunResults r = executeRun(req, progress.callback());
    progress.finish();
    if (a.has("layers-csv"))
        writeFileAtomically(a.str("layers-csv"), toCsv(layerErrorsTable(r.layers)));
    if (a.flag("json"))
        std::cout << resultJson(req.recipe, r).dump(2) << "\n";
    else
        printSummary(req.recipe, r);
    return 0;
}

} // namespace ptq::cli
