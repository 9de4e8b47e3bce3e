// ptqbench quantize: one recipe applied to a checkpoint, then FP vs quantized perplexity and
// KL on an evaluation text, the size accounting and the per-layer error table.

#include "engine/quantize.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/terminal_progress.h"
#include "engine/threads.h"
#include "eval/kl.h"
#include "eval/perplexity.h"
#include "model/checkpoint.h"
#include "model/model.h"
#include "text/tokenizer.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

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

void writeLayersCsv(const std::string& path, const QuantizeResult& r)
{
    std::ofstream out(path, std::ios::trunc);
    if (!out)
        throw Error(path, "layers CSV", "cannot open it for writing");
    out << "block,layer,bits,group_size,rel_weight_error,output_error,method_loss,max_abs_error,"
           "bytes,seconds\n";
    for (const auto& l : r.layers)
        out << l.block << "," << l.name << "," << l.bits << "," << l.groupSize << ","
            << l.relWeightError << "," << l.outputError << "," << l.methodLoss << ","
            << l.maxAbsError << "," << l.bytes << "," << l.seconds << "\n";
    if (!out)
        throw Error(path, "layers CSV", "write error");
}

nlohmann::json resultJson(const Recipe& recipe, const QuantizeResult& q, const KlResult& kl)
{
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& l : q.layers)
        layers.push_back({{"block", l.block},
                          {"layer", l.name},
                          {"bits", l.bits},
                          {"group_size", l.groupSize},
                          {"rel_weight_error", l.relWeightError},
                          {"output_error", l.outputError},
                          {"method_loss", l.methodLoss},
                          {"max_abs_error", l.maxAbsError},
                          {"bytes", l.bytes},
                          {"seconds", l.seconds}});
    nlohmann::json blocks = nlohmann::json::array();
    for (const auto& b : q.blocks)
        blocks.push_back(
            {{"block", b.block}, {"output_error", b.outputError}, {"seconds", b.seconds}});
    return {{"recipe", recipe.toJson()},
            {"bits_per_weight", q.bitsPerWeight},
            {"packed_bytes", q.packedBytes},
            {"fp16_bytes", q.fp16Bytes},
            {"quantize_seconds", q.seconds},
            {"calibration_tokens", q.calibTokens},
            {"perplexity_fp", kl.fpPerplexity},
            {"perplexity_quantized", kl.quantPerplexity},
            {"mean_kl", kl.meanKl},
            {"max_kl", kl.maxKl},
            {"top1_agreement", kl.top1Agreement},
            {"eval_tokens", kl.tokensScored},
            {"eval_windows", kl.windows},
            {"eval_seconds", kl.seconds},
            {"warnings", q.warnings},
            {"layers", layers},
            {"blocks", blocks}};
}

void printSummary(const Recipe& recipe, const QuantizeResult& q, const KlResult& kl)
{
    std::printf("recipe        %s\n", recipe.canonical().c_str());
    std::printf("bits/weight   %.4f (quantized linears, scales and zeros included)\n",
                q.bitsPerWeight);
    std::printf("size          %.3f MB packed vs %.3f MB fp16 (%.1f%%)\n", q.packedBytes / 1e6,
                q.fp16Bytes / 1e6, q.fp16Bytes ? 100.0 * q.packedBytes / q.fp16Bytes : 0.0);
    std::printf("perplexity    %.4f -> %.4f (%lld windows, %lld tokens)\n", kl.fpPerplexity,
                kl.quantPerplexity, static_cast<long long>(kl.windows),
                static_cast<long long>(kl.tokensScored));
    std::printf("KL            mean %.6f, max %.4f nats/token; top-1 agreement %.2f%%\n", kl.meanKl,
                kl.maxKl, 100.0 * kl.top1Agreement);
    std::printf("time          quantize %.2f s, evaluate %.2f s\n", q.seconds, kl.seconds);
    for (const auto& w : q.warnings)
        std::printf("warning       %s\n", w.c_str());
    std::printf("\n%5s  %-18s %12s %12s %12s %10s\n", "block", "layer", "rel W err", "output err",
                "max |dW|", "bytes");
    for (const auto& l : q.layers)
        std::printf("%5lld  %-18s %12.4e %12.4e %12.4e %10llu\n", static_cast<long long>(l.block),
                    l.name.c_str(), l.relWeightError, l.outputError, l.maxAbsError,
                    static_cast<unsigned long long>(l.bytes));
    for (const auto& b : q.blocks)
        std::printf("block %lld output error %.4e (%.2f s)\n", static_cast<long long>(b.block),
                    b.outputError, b.seconds);
}

} // namespace

int runQuantize(const std::vector<std::string>& args)
{
    Args a(args,
           {"model", "recipe", "wbits", "group", "abits", "kvbits", "calib", "calib-samples",
            "calib-seqlen", "eval", "seqlen", "windows", "seed", "layers-csv", "threads"},
           {"sym", "json", "quiet"});
    setEngineThreads(static_cast<int>(a.integer("threads", 0, 0, 1024)));
    const std::string dir = a.str("model");
    QuantizeConfig qc;
    qc.recipe = recipeFrom(a);
    qc.calibTextPath = a.str("calib");
    qc.calibSamples = a.integer("calib-samples", 128, 1, 1 << 20);
    qc.calibSeqlen = a.integer("calib-seqlen", 2048, 2, 1 << 20);
    qc.seed = static_cast<uint64_t>(a.integer("seed", 0, 0, INT64_MAX));
    PerplexityConfig pc;
    pc.seqlen = a.integer("seqlen", 2048, 2, 1 << 20);
    pc.maxWindows = a.integer("windows", 0, 0, 1 << 30);
    const std::string evalPath = a.str("eval");

    auto checkpoint = Checkpoint::open(dir);
    Tokenizer tokenizer = Tokenizer::fromDir(dir);
    Model model(checkpoint);
    const auto evalTokens = tokenizeTextFile(tokenizer, evalPath);
    TerminalProgress progress(!a.flag("quiet") && !a.flag("json"));
    QuantizeResult q = quantizeModel(model, tokenizer, qc, progress.callback());
    const KlResult kl = evaluateKl(model, q.model->model(), evalTokens, pc, progress.callback());
    progress.finish();
    if (a.has("layers-csv"))
        writeLayersCsv(a.str("layers-csv"), q);
    if (a.flag("json"))
        std::cout << resultJson(qc.recipe, q, kl).dump(2) << "\n";
    else
        printSummary(qc.recipe, q, kl);
    return 0;
}

} // namespace ptq::cli
