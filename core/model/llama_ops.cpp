#include "model/llama_ops.h"

#include <cmath>
#include <limits>

namespace ptq::llama {

torch::Tensor rmsNorm(const torch::Tensor& x, const torch::Tensor& weight, double eps)
{
    auto scale = x.square().mean(-1, true).add_(eps).rsqrt_();
    return x * scale * weight;
}

RopeTables ropeTables(const ModelConfig& config, int64_t seqlen)
{
    const auto& c = config;
    const auto& rs = c.ropeScaling;
    const int64_t half = c.headDim / 2;
    // inv_freq_i = theta^(-2i/d), in double; the tables are rounded to fp32 once at the end.
    auto inv = torch::arange(half, torch::kDouble).mul_(2.0 / c.headDim);
    inv = torch::pow(c.ropeTheta, inv).reciprocal_();
    auto pos = torch::arange(seqlen, torch::kDouble);
    if (rs.type == "linear") {
        pos.div_(rs.factor);
    } else if (rs.type == "llama3") {
        // transformers' _compute_llama3_parameters: long wavelengths are divided by the
        // factor, short ones kept, the band between interpolated smoothly.
        const double oldCtx = static_cast<double>(rs.originalMaxPositionEmbeddings);
        const double lowWavelen = oldCtx / rs.lowFreqFactor;
        const double highWavelen = oldCtx / rs.highFreqFactor;
        auto wavelen = (2.0 * M_PI) / inv;
        auto smooth =
            (oldCtx / wavelen - rs.lowFreqFactor) / (rs.highFreqFactor - rs.lowFreqFactor);
        auto mid = (1.0 - smooth) * inv / rs.factor + smooth * inv;
        auto scaled = torch::where(wavelen.gt(lowWavelen), inv / rs.factor, mid);
        inv = torch::where(wavelen.lt(highWavelen), inv, scaled);
    }
    auto freqs = torch::outer(pos, inv); // (T, D/2)
    auto emb = torch::cat({freqs, freqs}, 1);
    return {emb.cos().to(torch::kFloat), emb.sin().to(torch::kFloat)};
}

torch::Tensor applyRope(const torch::Tensor& x, const RopeTables& rope)
{
    const int64_t t = x.size(1);
    const int64_t half = x.size(3) / 2;
    auto c = rope.cos.narrow(0, 0, t).narrow(1, 0, half).view({1, t, 1, half});
    auto s = rope.sin.narrow(0, 0, t).narrow(1, 0, half).view({1, t, 1, half});
    auto x1 = x.narrow(3, 0, half);
    auto x2 = x.narrow(3, half, half);
    return torch::cat({x1 * c - x2 * s, x2 * c + x1 * s}, 3);
}

torch::Tensor blockedMask(int64_t q0, int64_t tc, int64_t k0, int64_t tk, int64_t window)
{
    auto rows = torch::arange(q0, q0 + tc, torch::kLong).unsqueeze(1);
    auto cols = torch::arange(k0, k0 + tk, torch::kLong).unsqueeze(0);
    auto blocked = cols.gt(rows);
    if (window > 0)
        blocked.logical_or_(cols.le(rows - window));
    return blocked;
}

torch::Tensor causalAttention(const ModelConfig& c, const QkvWeights& w, const torch::Tensor& x,
                              const RopeTables& rope, const QkvHooks& hooks)
{
    const int64_t b = x.size(0), t = x.size(1);
    const int64_t heads = c.numHeads, kvHeads = c.numKvHeads, d = c.headDim;
    const int64_t rep = heads / kvHeads;
    auto project = [&](const torch::Tensor& weight, const torch::Tensor& bias, int64_t n) {
        auto y = torch::linear(x, weight);
        if (bias.defined())
            y = y + bias;
        return y.view({b, t, n, d}); // (B,T,N,D)
    };
    auto q = applyRope(project(w.q, w.qBias, heads), rope);
    auto k = applyRope(project(w.k, w.kBias, kvHeads), rope);
    auto v = project(w.v, w.vBias, kvHeads);
    if (hooks.headRotation.defined()) {
        q = torch::matmul(q, hooks.headRotation);
        k = torch::matmul(k, hooks.headRotation);
    }
    // The hooks take (B,KV,T,D); k and v stay (B,T,KV,D) here.
    if (hooks.key)
        k = hooks.key(k.permute({0, 2, 1, 3})).permute({0, 2, 1, 3});
    if (hooks.value)
        v = hooks.value(v.permute({0, 2, 1, 3})).permute({0, 2, 1, 3});
    q = q * (1.0 / std::sqrt(static_cast<double>(d)));
    auto qg = q.view({b, t, kvHeads, rep, d})
                  .permute({0, 2, 3, 1, 4})
                  .reshape({b * kvHeads, rep * t, d});              // (B*KV, rep*T, D)
    auto kt = k.permute({0, 2, 1, 3}).reshape({b * kvHeads, t, d}); // (B*KV, T, D)
    auto vt = v.permute({0, 2, 1, 3}).reshape({b * kvHeads, t, d}); // (B*KV, T, D)
    auto scores = torch::matmul(qg, kt.transpose(1, 2)).view({b * kvHeads, rep, t, t});
    scores = scores.masked_fill(blockedMask(0, t, 0, t, c.slidingWindow),
                                -std::numeric_limits<float>::infinity());
    auto probs = torch::softmax(scores, -1).view({b * kvHeads, rep * t, t});
    auto o = torch::matmul(probs, vt).view({b, kvHeads, rep, t, d});
    return o.permute({0, 3, 1, 2, 4}).reshape({b, t, heads * d});
}

} // namespace ptq::llama
