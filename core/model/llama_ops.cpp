#include "model/llama_ops.h"

#include "model/llama.h"

#include <cmath>

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

} // namespace ptq::llama
