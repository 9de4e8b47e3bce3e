// Speed and memory of the Mamba block at mamba-2.8b's widths (hidden 2560, inner 5120, 16
// states, time-step rank 160, 4 conv taps) over one 2048-token window, two blocks deep, next
// to the GEMM floor of the same block: its four linears alone, on the same machine and thread
// count. The selective scan (model/selective_scan.h) is also timed alone, and against the
// per-step tensor-op recurrence of transformers' slow_forward for scale.
//
// FLOPs per block (multiply-add = 2): linears 2*T*(2*C*D + D*(R+2N) + R*D + D*C); the scan
// ~5*T*D*N (exp, two multiply-adds, the C dot) is not a GEMM and is reported as time only.
//
// Usage: bench_mamba_scan [--threads N] [--tokens T] [--reps R]

#include "engine/threads.h"
#include "model/checkpoint_writer.h"
#include "model/model.h"
#include "model/selective_scan.h"
#include "timing.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include <unistd.h>

using namespace ptq;
using ptq::bench::bestOf;
using ptq::bench::seconds;

namespace {

constexpr int64_t kHidden = 2560, kInner = 5120, kStates = 16, kRank = 160, kTaps = 4;

// Peak resident set of this process (VmHWM), MB.
double peakRssMb()
{
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmHWM:", 0) == 0)
            return std::stod(line.substr(6)) / 1024.0;
    return 0;
}

ModelConfig mambaConfig()
{
    ModelConfig c;
    c.modelType = "mamba";
    c.vocabSize = 50280;
    c.hiddenSize = kHidden;
    c.intermediateSize = kInner;
    c.numLayers = 2;
    c.rmsNormEps = 1e-5;
    c.tieWordEmbeddings = true;
    c.ssm.stateSize = kStates;
    c.ssm.timeStepRank = kRank;
    c.ssm.convKernel = kTaps;
    return c;
}

// Block i's tensors as a freshly initialised model has them (Architecture::initialTensor,
// linears N(0, 0.02)).
BlockWeights randomBlock(const Model& model, int64_t i)
{
    auto gen = at::detail::createCPUGenerator(10 + i);
    BlockWeights w;
    w.index = i;
    w.layout = model.layout(i);
    for (const auto& spec : w.layout->tensors) {
        auto t = model.architecture().initialTensor(i, spec, gen);
        if (!t.defined())
            t = spec.shape.size() == 1 ? torch::ones(spec.shape)
                                       : torch::randn(spec.shape, gen, torch::kFloat).mul_(0.02);
        w.tensors[spec.key] = t;
    }
    return w;
}

// transformers' slow_forward recurrence: one (B,D,N) update and one (B,D) read per step.
torch::Tensor perStepScan(const torch::Tensor& x, const torch::Tensor& dt, const torch::Tensor& a,
                          const torch::Tensor& b, const torch::Tensor& c)
{
    auto h = torch::zeros({x.size(0), x.size(2), a.size(1)});
    auto y = torch::empty_like(x);
    for (int64_t t = 0; t < x.size(1); ++t) {
        auto step = dt.select(1, t).unsqueeze(-1);
        h = torch::exp(step * a) * h +
            step * b.select(1, t).unsqueeze(1) * x.select(1, t).unsqueeze(-1);
        y.select(1, t).copy_(torch::matmul(h, c.select(1, t).unsqueeze(-1)).squeeze(-1));
    }
    return y;
}

} // namespace

int main(int argc, char** argv)
{
    int threads = 2, reps = 3;
    int64_t tokens = 2048;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string arg = argv[i], value = argv[i + 1];
        if (arg == "--threads")
            threads = std::stoi(value);
        else if (arg == "--tokens")
            tokens = std::stoll(value);
        else if (arg == "--reps")
            reps = std::stoi(value);
        else {
            std::fprintf(stderr, "usage: bench_mamba_scan [--threads N] [--tokens T] [--reps R]\n");
            return 2;
        }
    }
    setEngineThreads(threads);
    torch::NoGradGuard noGrad;
    const auto dir =
        std::filesystem::temp_directory_path() / ("ptq-bench-mamba-" + std::to_string(::getpid()));
    writeLlamaCheckpoint(dir.string(), mambaConfig(), {});
    const Model model(Checkpoint::open(dir.string()));
    std::filesystem::remove_all(dir);
    const BlockWeights w0 = randomBlock(model, 0), w1 = randomBlock(model, 1);
    const double rssWeights = peakRssMb();
    const int64_t t = tokens;
    auto h = torch::randn({1, t, kHidden});
    const auto ctx = model.context(t);

    const double walk =
        bestOf(reps, [&] { model.blockForward(w1, model.blockForward(w0, h, *ctx), *ctx); });
    const double block = walk / 2;
    const double rssBlock = peakRssMb();
    const double linearFlops = 2.0 * t *
                               (2.0 * kHidden * kInner + kInner * (kRank + 2.0 * kStates) +
                                kRank * kInner + kInner * kHidden);
    auto x = torch::randn({1, t, kHidden});
    auto u = torch::randn({1, t, kInner});
    auto r = torch::randn({1, t, kRank});
    std::vector<torch::Tensor> lin;
    for (const auto& [name, p] : w0.linears())
        lin.push_back(*p);
    const double linears = bestOf(reps, [&] {
        torch::linear(x, lin[0]);
        torch::linear(u, lin[1]);
        torch::linear(r, lin[2]);
        torch::linear(u, lin[3]);
    });
    auto dt = torch::rand({1, t, kInner}).mul_(0.1).add_(0.001);
    auto a = -torch::arange(1, kStates + 1, torch::kFloat).expand({kInner, kStates}).contiguous();
    auto b = torch::randn({1, t, kStates}), c = torch::randn({1, t, kStates});
    const double scan = bestOf(reps, [&] { ssm::selectiveScan(u, dt, a, b, c); });
    const double perStep = seconds([&] { perStepScan(u, dt, a, b, c); });
    const double maxDiff = (ssm::selectiveScan(u, dt, a, b, c) - perStepScan(u, dt, a, b, c))
                               .abs()
                               .max()
                               .item<double>();

    std::printf("mamba-2.8b-shaped block (C %lld, D %lld, N %lld, R %lld, K %lld), T = %lld, "
                "threads %d\n",
                (long long)kHidden, (long long)kInner, (long long)kStates, (long long)kRank,
                (long long)kTaps, (long long)t, engineThreads());
    std::printf("block forward (fp32)   %.3f s   %.0f tok/s   (2 blocks walked: %.3f s)\n", block,
                t / block, walk);
    std::printf("GEMM floor (4 linears) %.3f s   %.0f tok/s   %.0f GFLOP/s   block/floor %.2fx\n",
                linears, t / linears, linearFlops / linears / 1e9, block / linears);
    std::printf("selective scan alone   %.3f s   (%.1f%% of the block); per-step tensor ops "
                "(transformers' slow_forward) %.3f s, %.1fx slower; max |diff| %.2e\n",
                scan, 100.0 * scan / block, perStep, perStep / scan, maxDiff);
    std::printf("conv, norms, gate, glue %.3f s\n", block - linears - scan);
    std::printf("peak RSS: %.0f MB with the two blocks' fp32 weights, %.0f MB after the walk "
                "(block weights %.0f MB each)\n",
                rssWeights, rssBlock,
                4.0 *
                    (2 * kHidden * kInner + kInner * (kRank + 2 * kStates) + kRank * kInner +
                     kInner * kHidden + kInner * kStates) /
                    1048576.0);
    return 0;
}
