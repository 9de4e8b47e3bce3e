// Speed of one 7B-shaped LLaMA block (hidden 4096, intermediate 11008, 32 heads, 32 kv heads)
// over one 2048-token window, fp32 and bf16 compute, next to the plain GEMM rate of the same
// run, so the block's efficiency is a ratio measured on the same machine and thread count.
//
// FLOPs counted per block (multiply-add = 2):
//   linears           2*T*(4*C*C + 3*C*I)      q, k, v, o (KV = H here) and gate, up, down
//   causal attention  2*T*T*C                  q.k^T and p.v over the lower triangle only
//                                              (half of the 4*T*T*C a full square would cost)
// Norms, RoPE, softmax and SiLU are not counted (O(T*C) or O(T*T*H)).
//
// Thread counts are applied with setEngineThreads (libtorch intra-op threads, which oneDNN's
// bf16 kernels follow). The fp32 GEMMs run in OpenBLAS, whose pthread build keeps its own
// thread count (OPENBLAS_NUM_THREADS, default: all cores) whatever libtorch is told.
//
// Usage: bench_block [--threads N]... [--tokens T] [--reps R]
//   --threads may repeat or take a list ("1,2"); default 1 and 2.

#include "engine/threads.h"
#include "model/checkpoint_writer.h"
#include "model/model.h"
#include "timing.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

using namespace ptq;
using ptq::bench::bestOf;
using ptq::bench::seconds;

namespace {

constexpr int64_t kHidden = 4096, kInter = 11008, kHeads = 32;

ModelConfig blockConfig()
{
    ModelConfig c;
    c.modelType = "llama";
    c.vocabSize = 32000;
    c.hiddenSize = kHidden;
    c.intermediateSize = kInter;
    c.numLayers = 1;
    c.numHeads = kHeads;
    c.numKvHeads = kHeads;
    c.headDim = kHidden / kHeads;
    c.maxPositionEmbeddings = 4096;
    c.rmsNormEps = 1e-5;
    return c;
}

// The block's tensors, named by the model's layout (model/llama.cpp).
BlockWeights randomBlock(const Model& model)
{
    auto gen = at::detail::createCPUGenerator(1);
    auto normal = [&](std::vector<int64_t> shape) {
        return torch::randn(shape, gen, torch::kFloat).mul_(0.02);
    };
    BlockWeights w;
    w.index = 0;
    w.layout = model.layout(0);
    w.tensors["input_layernorm"] = torch::ones({kHidden});
    w.tensors["post_attention_layernorm"] = torch::ones({kHidden});
    w.tensors["self_attn.q_proj"] = normal({kHidden, kHidden});
    w.tensors["self_attn.k_proj"] = normal({kHidden, kHidden});
    w.tensors["self_attn.v_proj"] = normal({kHidden, kHidden});
    w.tensors["self_attn.o_proj"] = normal({kHidden, kHidden});
    w.tensors["mlp.gate_proj"] = normal({kInter, kHidden});
    w.tensors["mlp.up_proj"] = normal({kInter, kHidden});
    w.tensors["mlp.down_proj"] = normal({kHidden, kInter});
    return w;
}

struct Args {
    std::vector<int> threads;
    int64_t tokens = 2048;
    int reps = 3;
};

Args parseArgs(int argc, char** argv)
{
    Args a;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (i + 1 >= argc) {
            std::fprintf(stderr, "usage: bench_block [--threads N]... [--tokens T] [--reps R]\n");
            std::exit(2);
        }
        const std::string value = argv[++i];
        if (arg == "--threads") {
            std::stringstream ss(value);
            for (std::string part; std::getline(ss, part, ',');)
                a.threads.push_back(std::stoi(part));
        } else if (arg == "--tokens") {
            a.tokens = std::stoll(value);
        } else if (arg == "--reps") {
            a.reps = std::stoi(value);
        } else {
            std::fprintf(stderr, "unknown option %s\n", arg.c_str());
            std::exit(2);
        }
    }
    if (a.threads.empty())
        a.threads = {1, 2};
    return a;
}

double gemmRate(int64_t m, torch::ScalarType dtype, int reps)
{
    auto a = torch::randn({m, kHidden}).to(dtype);
    auto b = torch::randn({kHidden, kInter}).to(dtype);
    const double t = bestOf(reps, [&] { torch::matmul(a, b); });
    return 2.0 * m * kHidden * kInter / t / 1e9;
}

// GFLOP/s of the seven linears alone at the block's shapes (weights (out,in) as in the block).
double linearsTime(const BlockWeights& w, int64_t t, torch::ScalarType dtype, int reps)
{
    auto x = torch::randn({1, t, kHidden}).to(dtype);
    auto xi = torch::randn({1, t, kInter}).to(dtype);
    std::vector<torch::Tensor> lin;
    for (const auto& [name, p] : w.linears())
        lin.push_back(p->to(dtype));
    return bestOf(reps, [&] {
        for (int i = 0; i < 6; ++i)
            torch::linear(x, lin[i]);
        torch::linear(xi, lin[6]);
    });
}

void runThreads(const Model& fp32, const Model& bf16, const BlockWeights& w, const Args& args,
                int threads)
{
    setEngineThreads(threads);
    const int64_t t = args.tokens;
    const double linearFlops = 2.0 * t * (4.0 * kHidden * kHidden + 3.0 * kHidden * kInter);
    const double attentionFlops = 2.0 * t * t * kHidden;
    const double flops = linearFlops + attentionFlops;
    auto h = torch::randn({1, t, kHidden});
    const auto ctx = fp32.context(t);

    std::printf("\n== threads %d (engineThreads() = %d), T = %lld ==\n", threads, engineThreads(),
                static_cast<long long>(t));
    for (const Model* model : {&fp32, &bf16}) {
        const bool isBf16 = model->options().computeDtype == torch::kBFloat16;
        const auto dtype = isBf16 ? torch::kBFloat16 : torch::kFloat;
        const char* name = isBf16 ? "bf16" : "fp32";
        BlockWeights fresh = w.copy(); // shares tensors; a fresh cast cache for the first-call time
        const double first = seconds([&] { model->blockForward(fresh, h, *ctx); });
        const double block = bestOf(args.reps, [&] { model->blockForward(fresh, h, *ctx); });
        const double linears = linearsTime(w, t, dtype, args.reps);
        const double gemm = gemmRate(t, dtype, args.reps);
        const double rate = flops / block / 1e9;
        std::printf("%s block: %.3f s  %.0f tok/s  %.0f GFLOP/s | GEMM %dx%dx%d %.0f GFLOP/s | "
                    "block/GEMM %.0f%%\n",
                    name, block, t / block, rate, int(t), int(kHidden), int(kInter), gemm,
                    100.0 * rate / gemm);
        std::printf("     first call (incl. weight casts) %.3f s; linears alone %.3f s "
                    "(%.0f GFLOP/s), rest (attention, norms, rope, glue) %.3f s\n",
                    first, linears, linearFlops / linears / 1e9, block - linears);
    }
}

} // namespace

int main(int argc, char** argv)
{
    const Args args = parseArgs(argc, argv);
    torch::NoGradGuard noGrad;
    // blockForward takes its shapes from a model; the folder holds config.json and an empty
    // tensor file only, the weights are made in memory.
    const auto dir =
        std::filesystem::temp_directory_path() / ("ptq-bench-block-" + std::to_string(::getpid()));
    writeLlamaCheckpoint(dir.string(), blockConfig(), {});
    auto checkpoint = Checkpoint::open(dir.string());
    const Model fp32(checkpoint, {torch::kFloat});
    const Model bf16(checkpoint, {torch::kBFloat16});
    const BlockWeights w = randomBlock(fp32);
    std::printf("7B-shaped block: C=%lld I=%lld H=KV=%lld, batch 1\n", (long long)kHidden,
                (long long)kInter, (long long)kHeads);
    std::printf("FLOPs: linears 2T(4C^2+3CI) + causal attention 2T^2C = %.1f GFLOP at T=%lld\n",
                (2.0 * args.tokens * (4.0 * kHidden * kHidden + 3.0 * kHidden * kInter) +
                 2.0 * args.tokens * args.tokens * kHidden) /
                    1e9,
                (long long)args.tokens);
    for (int n : args.threads)
        runThreads(fp32, bf16, w, args, n);
    std::filesystem::remove_all(dir);
    return 0;
}
