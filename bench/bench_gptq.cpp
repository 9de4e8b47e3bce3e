// Speed of GPTQ on one 4096x4096 layer (a 7B attention projection) with GPTQ's default
// calibration size of 128 x 2048 tokens, next to the plain fp32 GEMM rate of the same run,
// so each stage's efficiency is a ratio measured on the same machine and thread count.
//
// FLOP floors (multiply-add = 2), N tokens, d = in, o = out, B = block size:
//   Hessian       2*N*d^2        one X^T X GEMM over all calibration rows
//   quantization  o*d*(d-1)      error propagation: column i's error updates the d-1-i
//                                later columns of all o rows, o*d(d-1)/2 multiply-adds in
//                                total however it is split; with lazy batches
//                                o*d*(d-B) of it are GEMMs after each block and o*d*(B-1)
//                                the updates inside blocks
//               + 2*d^3/3        Cholesky (d^3/3) and the triangular inverse (d^3/3) that
//                                give the upper factor of H^-1
// Quantizing each weight (O(o*d)), the group parameters and the passes over memory (reading
// the Hessian out, copying W, writing codes) are not counted. The last line is the whole
// method on the layer: Hessian plus quantization against the sum of their floors. Timings are the
// best of 3 after a warm-up (best of 5 for the GEMM rate): on a shared machine the best run
// is the one least disturbed by other processes.
//
// Usage: bench_gptq [--out O] [--in D] [--tokens N] [--chunk C] [--bits b] [--group g]
//                   [--threads T]   (setEngineThreads(T) for torch and OpenBLAS; default 0 =
//                                    one per core, as the engine runs)

#include "engine/threads.h"
#include "quant/gptq.h"
#include "quant/hessian.h"
#include "timing.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>

using namespace ptq;
using ptq::bench::bestOf;
using ptq::bench::seconds;

namespace {

struct Options {
    int64_t out = 4096, in = 4096, tokens = 128 * 2048, chunk = 8192, group = 128;
    int bits = 4, threads = 0;
};

Options parse(int argc, char** argv)
{
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        const long long v = std::atoll(argv[i + 1]);
        if (k == "--out")
            o.out = v;
        else if (k == "--in")
            o.in = v;
        else if (k == "--tokens")
            o.tokens = v;
        else if (k == "--chunk")
            o.chunk = v;
        else if (k == "--bits")
            o.bits = int(v);
        else if (k == "--group")
            o.group = v;
        else if (k == "--threads")
            o.threads = int(v);
        else {
            std::fprintf(stderr, "unknown option %s\n", k.c_str());
            std::exit(2);
        }
    }
    return o;
}

void line(const char* what, double s, double flops, double rate)
{
    const double floor = flops / rate;
    std::printf("%-26s %8.3f s   floor %8.3f s (%7.1f GFLOP)   %6.1f GFLOP/s   %.2fx floor\n", what,
                s, floor, flops / 1e9, flops / s / 1e9, s / floor);
}

} // namespace

int main(int argc, char** argv)
{
    const Options o = parse(argc, argv);
    // The engine's setting: GPTQ runs its BLAS work single-threaded in fixed chunks spread
    // over the engine's threads (util/blas.h), so the thread count is what the engine uses.
    setEngineThreads(o.threads);
    torch::manual_seed(0);
    std::printf(
        "GPTQ bench: W%d g%lld, layer %lld x %lld, %lld calibration tokens, %d torch threads\n",
        o.bits, (long long)o.group, (long long)o.out, (long long)o.in, (long long)o.tokens,
        engineThreads());

    // The reference rate: a square fp32 GEMM and the X^T X shape of one Hessian chunk.
    const auto a = torch::randn({o.in, o.in}), b = torch::randn({o.in, o.in});
    const double gemmFlops = 2.0 * o.in * o.in * o.in;
    const double gemmRate = gemmFlops / bestOf(5, [&] { (void)torch::matmul(a, b); });
    const auto xc = torch::randn({o.chunk, o.in});
    const double xtxRate =
        2.0 * o.chunk * o.in * o.in / bestOf(3, [&] { (void)torch::matmul(xc.t(), xc); });
    std::printf("fp32 GEMM %lld^3: %.1f GFLOP/s; X^T X (%lld x %lld): %.1f GFLOP/s\n",
                (long long)o.in, gemmRate / 1e9, (long long)o.chunk, (long long)o.in,
                xtxRate / 1e9);

    // Hessian: chunks of random activations; generation is not timed.
    HessianAccumulator acc(o.in, "bench.proj");
    double hessianTime = 0;
    for (int64_t done = 0; done < o.tokens; done += o.chunk) {
        const auto x = torch::randn({std::min(o.chunk, o.tokens - done), o.in});
        hessianTime += seconds([&] { acc.add(x); });
    }
    line("Hessian accumulation", hessianTime, 2.0 * o.tokens * o.in * o.in, gemmRate);

    const auto h = acc.hessian();
    const auto w = torch::randn({o.out, o.in}) * 0.02;
    const double d = double(o.in);
    const double factorFlops = 2.0 * d * d * d / 3.0;
    const double propagateFlops = double(o.out) * d * (d - 1.0);
    std::vector<std::string> warnings;
    const double factorTime =
        bestOf(3, [&] { (void)gptqInverseFactor(h, 0.01, "bench.proj", warnings); });
    line("  factor of H^-1", factorTime, factorFlops, gemmRate);

    const QuantGrid grid{o.bits, false, o.group, 1.0};
    WeightQuantResult r;
    const double quantTime = bestOf(3, [&] {
        r = GptqQuantizer().quantize({"bench.proj", w, &acc}, grid, nullptr);
    });
    line("GPTQ quantization", quantTime, factorFlops + propagateFlops, gemmRate);
    line("  without the factor", quantTime - factorTime, propagateFlops, gemmRate);
    line("GPTQ total (H + quant.)", hessianTime + quantTime,
         2.0 * o.tokens * o.in * o.in + factorFlops + propagateFlops, gemmRate);
    std::printf("bits per weight %.4f, loss %.6g\n", r.q.bitsPerWeight(), r.loss);
    return 0;
}
