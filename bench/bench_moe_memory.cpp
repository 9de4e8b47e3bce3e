// Peak memory and time of quantizing a Mixtral-8x7B-shaped checkpoint, a few layers deep:
// hidden 4096, 8 experts of intermediate 14336 (top-2), 32 query / 8 KV heads, vocabulary
// 32000, random BF16 weights written one shard per block in the Hugging Face layout.
// The engine holds one block's weights (in fp32), one input group's Hessians and the
// calibration hidden states at a time; this prints what that costs at the real widths.
//
// Usage:
//   bench_moe_memory --write DIR [--layers 2]          write the checkpoint (≈ 2.9 GB a layer)
//   bench_moe_memory --quantize DIR [--recipe gptq] [--wbits 4] [--group 128]
//                    [--samples 8] [--seqlen 512] [--threads 2]
// Quantizing runs in its own process so its peak RSS (VmHWM) is the engine's alone.

#include "engine/quantize.h"
#include "engine/threads.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "model/model.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

using namespace ptq;

namespace {

ModelConfig mixtralConfig(int64_t layers)
{
    ModelConfig c;
    c.modelType = "mixtral";
    c.vocabSize = 32000;
    c.hiddenSize = 4096;
    c.intermediateSize = 14336;
    c.numLayers = layers;
    c.numHeads = 32;
    c.numKvHeads = 8;
    c.headDim = 128;
    c.maxPositionEmbeddings = 32768;
    c.rmsNormEps = 1e-5;
    c.ropeTheta = 1e6;
    c.moe.experts = 8;
    c.moe.expertsPerToken = 2;
    c.moe.expertWidth = 14336;
    c.moe.auxLossCoef = 0.02;
    c.torchDtype = "bfloat16";
    return c;
}

// Peak and current resident set (MiB) from /proc/self/status.
std::pair<double, double> residentMiB()
{
    std::ifstream in("/proc/self/status");
    double peak = 0, now = 0;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("VmHWM:", 0) == 0)
            peak = std::stod(line.substr(6)) / 1024.0;
        if (line.rfind("VmRSS:", 0) == 0)
            now = std::stod(line.substr(6)) / 1024.0;
    }
    return {peak, now};
}

void writeShard(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                nlohmann::json& weightMap)
{
    std::vector<TensorToWrite> out;
    for (const auto& [name, t] : tensors) {
        out.push_back({name, DType::BF16, t.sizes().vec(), t.data_ptr()});
        weightMap[name] = std::filesystem::path(path).filename().string();
    }
    writeSafetensors(path, out);
}

void writeCheckpoint(const std::string& dir, int64_t layers)
{
    const ModelConfig c = mixtralConfig(layers);
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/config.json") << c.toJson();
    const auto arch = makeArchitecture(c);
    torch::manual_seed(0);
    auto draw = [](const std::vector<int64_t>& shape) {
        return shape.size() == 1 ? torch::ones(shape, torch::kBFloat16)
                                 : (torch::randn(shape) * 0.02).to(torch::kBFloat16);
    };
    nlohmann::json weightMap = nlohmann::json::object();
    const int64_t shards = layers + 1;
    auto shardName = [&](int64_t i) {
        char name[64];
        std::snprintf(name, sizeof name, "/model-%05lld-of-%05lld.safetensors", (long long)i + 1,
                      (long long)shards);
        return dir + name;
    };
    for (int64_t i = 0; i < layers; ++i) {
        std::map<std::string, torch::Tensor> block;
        for (const auto& t : arch->layout(i)->tensors)
            block[arch->blockPrefix(i) + t.checkpoint] = draw(t.shape);
        writeShard(shardName(i), block, weightMap);
        std::printf("wrote block %lld\n", (long long)i);
        std::fflush(stdout);
    }
    writeShard(shardName(layers),
               {{"model.embed_tokens.weight", draw({c.vocabSize, c.hiddenSize})},
                {"model.norm.weight", draw({c.hiddenSize})},
                {"lm_head.weight", draw({c.vocabSize, c.hiddenSize})}},
               weightMap);
    std::ofstream(dir + "/model.safetensors.index.json")
        << nlohmann::json{{"metadata", nlohmann::json::object()}, {"weight_map", weightMap}}.dump(
               1);
}

int quantize(const std::string& dir, const std::string& recipe, int bits, int64_t group,
             int64_t samples, int64_t seqlen)
{
    const Model model(Checkpoint::open(dir));
    const auto& c = model.config();
    std::printf("model: %s, %lld layers, %lld experts of %lld, %.2fG parameters (%.2fG active)\n",
                c.modelType.c_str(), (long long)c.numLayers, (long long)c.moe.experts,
                (long long)c.moe.expertWidth, c.parameterCount() / 1e9,
                c.activeParameterCount() / 1e9);
    QuantizeConfig qc;
    qc.recipe = Recipe::builtin(recipe);
    qc.recipe.weightGrid = QuantGrid{bits, false, group, 1.0};
    qc.calibSamples = samples;
    qc.calibSeqlen = seqlen;
    std::vector<int32_t> tokens(std::size_t(samples * seqlen * 2));
    for (std::size_t i = 0; i < tokens.size(); ++i)
        tokens[i] = int32_t((i * 7919) % std::size_t(c.vocabSize));
    const auto before = residentMiB();
    const auto t0 = std::chrono::steady_clock::now();
    int64_t lastBlock = -1;
    const QuantizeResult r = quantizeModel(model, tokens, qc, [&](const Progress& p) {
        if (p.stage == "quantize" && p.detail.rfind("block ", 0) == 0 && p.done > lastBlock) {
            lastBlock = p.done;
            const auto rss = residentMiB();
            std::printf(
                "  %s done: RSS %.0f MiB, peak %.0f MiB, %.0f s\n", p.detail.c_str(), rss.second,
                rss.first,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            std::fflush(stdout);
        }
        return true;
    });
    const auto after = residentMiB();
    std::printf("recipe %s W%d g%lld, calibration %lld x %lld tokens\n", recipe.c_str(), bits,
                (long long)group, (long long)samples, (long long)seqlen);
    for (const auto& b : r.blocks)
        std::printf("  block %lld: %.1f s\n", (long long)b.block, b.seconds);
    std::printf("peak RSS %.0f MiB (%.0f MiB before quantizing), total %.1f s, packed %.2f GB\n",
                after.first, before.second, r.seconds, r.packedBytes / 1e9);
    const double perLayer = r.seconds / double(c.numLayers);
    std::printf("projected Mixtral-8x7B (32 layers): %.1f h at %.0f s per layer\n",
                perLayer * 32 / 3600.0, perLayer);
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    std::map<std::string, std::string> a;
    for (int i = 1; i + 1 < argc; i += 2)
        a[std::string(argv[i]).substr(2)] = argv[i + 1];
    auto get = [&](const std::string& k, const std::string& d) { return a.count(k) ? a[k] : d; };
    setEngineThreads(std::stoi(get("threads", "2")));
    try {
        if (a.count("write")) {
            writeCheckpoint(a["write"], std::stoll(get("layers", "2")));
            return 0;
        }
        if (a.count("quantize"))
            return quantize(a["quantize"], get("recipe", "gptq"), std::stoi(get("wbits", "4")),
                            std::stoll(get("group", "128")), std::stoll(get("samples", "8")),
                            std::stoll(get("seqlen", "512")));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_moe_memory: %s\n", e.what());
        return 1;
    }
    std::fprintf(stderr, "usage: bench_moe_memory --write DIR [--layers N] | --quantize DIR "
                         "[--recipe R] [--wbits B] [--group G] [--samples N] [--seqlen T]\n");
    return 2;
}
