#include "quant/block_activations.h"

#include "model/llama_ops.h"
#include "util/error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace ptq {

namespace {

// Scores of one query chunk stay under this many bytes, so memory does not grow with T^2.
constexpr int64_t kScoreChunkBytes = 64ll << 20;
// Sequences are run this many tokens at a time, bounding the MLP intermediates.
constexpr int64_t kTokensPerChunk = 4096;

// Running statistics of one linear input over the token stream.
struct StatsAccumulator {
    torch::Tensor absSum, absMax;
    std::vector<torch::Tensor> rows;
    int64_t tokens = 0;

    // x (n,in): tokens [first, first + n) of the flattened stream.
    void add(const torch::Tensor& x, int64_t first, int64_t stride)
    {
        auto a = x.abs();
        auto sum = a.sum(0, false, torch::kDouble);
        auto mx = std::get<0>(a.max(0));
        absSum = absSum.defined() ? absSum + sum : sum;
        absMax = absMax.defined() ? torch::maximum(absMax, mx) : mx;
        tokens += x.size(0);
        // The first sampled index at or after `first`.
        const int64_t start = (stride - first % stride) % stride;
        if (start < x.size(0))
            rows.push_back(x.slice(0, start, x.size(0), stride).clone());
    }

    LinearInputStats finish() const
    {
        LinearInputStats s;
        s.absMean = (absSum / double(std::max<int64_t>(tokens, 1))).to(torch::kFloat);
        s.absMax = absMax;
        s.rows = torch::cat(rows, 0);
        return s;
    }
};

void checkInputs(const ModelConfig& config, const BlockWeights& w, const torch::Tensor& inputs,
                 const RopeTables& rope)
{
    const std::string object = "block " + std::to_string(w.index) + " calibration inputs";
    if (!inputs.defined() || inputs.dim() != 3 || inputs.size(2) != config.hiddenSize ||
        inputs.scalar_type() != torch::kFloat || inputs.size(0) == 0 || inputs.size(1) == 0)
        throw Error("block activations", object,
                    "expected a non-empty (N,T," + std::to_string(config.hiddenSize) +
                        ") float32 tensor");
    if (!rope.cos.defined() || rope.cos.size(0) < inputs.size(1))
        throw Error("block activations", object, "the RoPE tables are shorter than T");
}

torch::Tensor downRotation(const BlockWeights& w)
{
    return w.runtime ? w.runtime->downInputRotation : torch::Tensor();
}

} // namespace

torch::Tensor attentionMix(const ModelConfig& config, const BlockWeights& w, const torch::Tensor& x,
                           const RopeTables& rope)
{
    torch::NoGradGuard noGrad;
    const int64_t b = x.size(0), t = x.size(1);
    const int64_t heads = config.numHeads, kvHeads = config.numKvHeads, d = config.headDim;
    auto project = [&](const torch::Tensor& weight, const torch::Tensor& bias, int64_t n) {
        auto y = torch::linear(x, weight, bias.defined() ? bias : torch::Tensor());
        return y.view({b, t, n, d}); // (B,T,N,D)
    };
    auto q = llama::applyRope(project(w.qProj, w.qBias, heads), rope);
    auto k = llama::applyRope(project(w.kProj, w.kBias, kvHeads), rope);
    auto v = project(w.vProj, w.vBias, kvHeads);
    // Query head h reads kv head h / (H/KV), as transformers' repeat_kv.
    const int64_t rep = heads / kvHeads;
    auto qh = (q / std::sqrt(double(d))).permute({0, 2, 1, 3});               // (B,H,T,D)
    auto kh = k.permute({0, 2, 1, 3}).repeat_interleave(rep, 1).contiguous(); // (B,H,T,D)
    auto vh = v.permute({0, 2, 1, 3}).repeat_interleave(rep, 1).contiguous(); // (B,H,T,D)
    auto out = torch::empty({b, heads, t, d}, x.options());
    const int64_t chunk =
        std::clamp<int64_t>(kScoreChunkBytes / std::max<int64_t>(b * heads * t * 4, 1), 1, t);
    for (int64_t q0 = 0; q0 < t; q0 += chunk) {
        const int64_t tc = std::min(chunk, t - q0);
        auto scores = torch::matmul(qh.narrow(2, q0, tc), kh.transpose(2, 3)); // (B,H,tc,T)
        scores.masked_fill_(llama::blockedMask(q0, tc, 0, t, config.slidingWindow),
                            -std::numeric_limits<float>::infinity());
        out.narrow(2, q0, tc).copy_(torch::matmul(torch::softmax(scores, -1), vh));
    }
    return out.permute({0, 2, 1, 3}).reshape({b, t, heads * d});
}

torch::Tensor mlpOutput(const torch::Tensor& x, const torch::Tensor& gate, const torch::Tensor& up,
                        const torch::Tensor& down, const torch::Tensor& r)
{
    auto act = torch::silu(torch::linear(x, gate)) * torch::linear(x, up);
    return torch::linear(r.defined() ? torch::matmul(act, r) : act, down);
}

double meanSquaredError(const torch::Tensor& a, const torch::Tensor& b)
{
    return (a.to(torch::kDouble) - b.to(torch::kDouble)).pow(2).mean().item<double>();
}

BlockActivations collectBlockActivations(const ModelConfig& config, const BlockWeights& w,
                                         const torch::Tensor& inputs, const RopeTables& rope,
                                         int64_t maxRows)
{
    torch::NoGradGuard noGrad;
    checkInputs(config, w, inputs, rope);
    const int64_t n = inputs.size(0), t = inputs.size(1), c = inputs.size(2);
    const int64_t stride =
        std::max<int64_t>(1, (n * t + maxRows - 1) / std::max<int64_t>(maxRows, 1));
    const int64_t perChunk = std::max<int64_t>(1, kTokensPerChunk / t);
    const auto r = downRotation(w);
    const double eps = config.rmsNormEps;

    StatsAccumulator attn, o, mlp, down;
    BlockActivations out;
    out.output = torch::empty_like(inputs);
    std::vector<torch::Tensor> sequences;
    const int64_t keepSequences = std::clamp<int64_t>(maxRows / t, 1, n);
    for (int64_t b0 = 0; b0 < n; b0 += perChunk) {
        const int64_t nb = std::min(perChunk, n - b0);
        const int64_t first = b0 * t;
        auto h = inputs.narrow(0, b0, nb);
        auto x = llama::rmsNorm(h, w.inputNorm, eps); // (nb,T,C)
        if (b0 < keepSequences)
            sequences.push_back(x.narrow(0, 0, std::min(nb, keepSequences - b0)).clone());
        auto mix = attentionMix(config, w, x, rope); // (nb,T,H*D)
        auto h1 = h + torch::linear(mix, w.oProj);
        auto x2 = llama::rmsNorm(h1, w.postNorm, eps);
        auto act = torch::silu(torch::linear(x2, w.gateProj)) * torch::linear(x2, w.upProj);
        if (r.defined())
            act = torch::matmul(act, r);
        out.output.narrow(0, b0, nb).copy_(h1 + torch::linear(act, w.downProj));
        attn.add(x.reshape({-1, c}), first, stride);
        o.add(mix.reshape({-1, mix.size(2)}), first, stride);
        mlp.add(x2.reshape({-1, c}), first, stride);
        down.add(act.reshape({-1, act.size(2)}), first, stride);
    }
    out.attnInput = attn.finish();
    out.oInput = o.finish();
    out.mlpInput = mlp.finish();
    out.downInput = down.finish();
    out.attnSequences = torch::cat(sequences, 0);
    return out;
}

} // namespace ptq
