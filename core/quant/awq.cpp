#include "quant/awq.h"

#include "quant/block_activations.h"
#include "quant/method.h"
#include "util/error.h"

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

namespace ptq {

namespace {

// Token rows kept per linear input for the scale search; the per-channel statistics use
// every calibration token. Bounds the cost of the n-point search on long calibration sets.
constexpr int64_t kSearchTokens = 4096;

struct ScaleChoice {
    double alpha = 0.0;
    torch::Tensor scales; // (in)
    double lossAlpha0 = 0.0;
    double loss = std::numeric_limits<double>::infinity();
};

// Module output error of the trial weights (RTN-quantized, scaled back) of a group.
using GroupLoss = std::function<double(const std::vector<torch::Tensor>& trial)>;

// AWQ's grid search: s = xMean^alpha, normalised so that max(s) * min(s) = 1; each trial
// quantizes W*diag(s) and divides by s again, so the loss sees the quantization error only.
ScaleChoice searchScales(const std::string& group, const torch::Tensor& xMean,
                         const std::vector<torch::Tensor>& weights, const AwqParams& p,
                         const GroupLoss& loss)
{
    ScaleChoice best;
    for (int64_t i = 0; i < p.nGrid; ++i) {
        const double alpha = double(i) / double(p.nGrid);
        auto s = xMean.pow(alpha).clamp_min(1e-4);
        s = s / (s.max() * s.min()).sqrt();
        std::vector<torch::Tensor> trial;
        for (const auto& weight : weights)
            trial.push_back(rtnFakeQuantize(weight * s, p.grid) / s);
        const double l = loss(trial);
        if (!std::isfinite(l))
            throw Error("awq", group,
                        "the search loss is not finite at alpha " + std::to_string(alpha));
        if (i == 0)
            best.lossAlpha0 = l;
        if (l < best.loss) {
            best.loss = l;
            best.alpha = alpha;
            best.scales = s;
        }
    }
    return best;
}

// Clamps each output row's quantization groups of w (out,in) to the shrink of max|w| that
// minimises that group's output error on x (n,in). Returns the clipped weight; meanShrink
// receives the average chosen shrink.
torch::Tensor clipWeight(const torch::Tensor& w, const torch::Tensor& x, const AwqParams& p,
                         double& meanShrink)
{
    const int64_t out = w.size(0), in = w.size(1);
    const int64_t columns = groupColumns(p.grid, in);
    const int64_t steps = std::max<int64_t>(1, int64_t(p.maxShrink * double(p.clipGrid)));
    QuantGrid rowGrid = p.grid;
    rowGrid.groupSize = 0;
    auto clipped = w.clone();
    double shrinkSum = 0.0;
    for (int64_t c0 = 0; c0 < in; c0 += columns) {
        auto wg = w.narrow(1, c0, columns);     // (out,g)
        auto xg = x.narrow(1, c0, columns);     // (n,g)
        auto reference = torch::mm(xg, wg.t()); // (n,out)
        auto maxAbs = wg.abs().amax(1, true);   // (out,1)
        auto bestMax = maxAbs.clone();
        auto bestErr = torch::full({out, 1}, std::numeric_limits<float>::infinity());
        for (int64_t i = 0; i < steps; ++i) {
            auto limit = maxAbs * (1.0 - double(i) / double(p.clipGrid));
            auto trial = torch::max(torch::min(wg, limit), -limit);
            const auto params = findParams(trial, rowGrid);
            auto q = fakeQuantize(trial, params.scale, params.zero, p.grid.bits);
            auto err = (torch::mm(xg, q.t()) - reference).pow(2).mean(0).unsqueeze(1);
            auto better = err < bestErr;
            bestErr = torch::where(better, err, bestErr);
            bestMax = torch::where(better, limit, bestMax);
        }
        clipped.narrow(1, c0, columns).copy_(torch::max(torch::min(wg, bestMax), -bestMax));
        auto ratio =
            torch::where(maxAbs > 0, bestMax / maxAbs.clamp_min(1e-30), torch::ones_like(maxAbs));
        shrinkSum += ratio.sum().item<double>();
    }
    meanShrink = shrinkSum / double(out * (in / columns));
    return clipped;
}

// Evenly strided rows of x, at most `count`.
torch::Tensor sampleRows(const torch::Tensor& x, int64_t count)
{
    const int64_t stride = std::max<int64_t>(1, (x.size(0) + count - 1) / count);
    return x.slice(0, 0, x.size(0), stride);
}

void checkContext(BlockWeights& w, const BlockContext& ctx, const QuantGrid& grid)
{
    const std::string object = "block " + std::to_string(w.index);
    if (!ctx.model || !ctx.rope)
        throw Error("awq", object, "the block context lacks the model or the RoPE tables");
    for (auto& [name, tensor] : w.linears()) {
        try {
            validate(grid, tensor->size(1));
        } catch (const Error& e) {
            throw Error("awq", object + " " + name, e.what());
        }
    }
}

// The chosen scales of the four groups; a group not scaled has undefined scales.
struct BlockScales {
    ScaleChoice qkv, vo, gateUp, upDown;
};

// Searches every group on the unscaled block (as the reference does), recording
// "G.alpha", "G.loss_alpha0" and "G.loss" per group G.
BlockScales searchBlockScales(const BlockWeights& w, const BlockContext& ctx,
                              const BlockActivations& acts, const AwqParams& p,
                              TransformRecord& record, const std::function<void(int)>& step)
{
    const ModelConfig& cfg = ctx.model->config();
    const RopeTables& rope = *ctx.rope;
    const torch::Tensor r = w.runtime ? w.runtime->downInputRotation : torch::Tensor();
    auto note = [&](const std::string& group, const ScaleChoice& c, int done) {
        record.values[group + ".alpha"] = c.alpha;
        record.values[group + ".loss_alpha0"] = c.lossAlpha0;
        record.values[group + ".loss"] = c.loss;
        step(done);
    };
    // Loss on the output of one linear applied to sampled rows x.
    auto linearLoss = [](const torch::Tensor& x, const torch::Tensor& weight) {
        return [x, ref = torch::linear(x, weight)](const std::vector<torch::Tensor>& t) {
            return meanSquaredError(torch::linear(x, t[0]), ref);
        };
    };
    BlockScales s;

    // (a) input_layernorm -> q, k, v; loss on the attention module's output.
    const auto& xs = acts.attnSequences;
    const auto attnRef = torch::linear(attentionMix(cfg, w, xs, rope), w.oProj);
    s.qkv = searchScales("attn_qkv", acts.attnInput.absMean, {w.qProj, w.kProj, w.vProj}, p,
                         [&](const std::vector<torch::Tensor>& t) {
                             BlockWeights trial = w;
                             trial.qProj = t[0], trial.kProj = t[1], trial.vProj = t[2];
                             auto out = torch::linear(attentionMix(cfg, trial, xs, rope), w.oProj);
                             return meanSquaredError(out, attnRef);
                         });
    note("attn_qkv", s.qkv, 1);

    // (b) v_proj -> o_proj: v's output channels are o's input channels only when every query
    // head has its own value head (no grouped-query attention).
    if (cfg.numKvHeads == cfg.numHeads) {
        s.vo = searchScales("v_o", acts.oInput.absMean, {w.oProj}, p,
                            linearLoss(acts.oInput.rows, w.oProj));
        note("v_o", s.vo, 2);
    }

    // (c) post_attention_layernorm -> gate, up; loss on the MLP output.
    const auto& x2 = acts.mlpInput.rows;
    const auto mlpRef = mlpOutput(x2, w.gateProj, w.upProj, w.downProj, r);
    s.gateUp =
        searchScales("mlp_gate_up", acts.mlpInput.absMean, {w.gateProj, w.upProj}, p,
                     [&](const std::vector<torch::Tensor>& t) {
                         return meanSquaredError(mlpOutput(x2, t[0], t[1], w.downProj, r), mlpRef);
                     });
    note("mlp_gate_up", s.gateUp, 3);

    // (d) up_proj -> down_proj. With a rotated down input, up's rows no longer map to down's
    // columns one to one, so the group is skipped.
    if (!r.defined()) {
        s.upDown = searchScales("up_down", acts.downInput.absMean, {w.downProj}, p,
                                linearLoss(acts.downInput.rows, w.downProj));
        note("up_down", s.upDown, 4);
    } else {
        record.warnings.push_back("awq: block " + std::to_string(w.index) +
                                  ": up_proj -> down_proj not scaled (down's input is rotated)");
    }
    return s;
}

// The previous operation's output divided by s, the following linears' columns times s:
// the full-precision block is unchanged.
void foldScales(BlockWeights& w, const BlockScales& s)
{
    const auto& sa = s.qkv.scales;
    w.inputNorm = w.inputNorm / sa;
    w.qProj = w.qProj * sa, w.kProj = w.kProj * sa, w.vProj = w.vProj * sa;
    if (s.vo.scales.defined()) {
        w.vProj = w.vProj / s.vo.scales.unsqueeze(1);
        if (w.vBias.defined())
            w.vBias = w.vBias / s.vo.scales;
        w.oProj = w.oProj * s.vo.scales;
    }
    const auto& sc = s.gateUp.scales;
    w.postNorm = w.postNorm / sc;
    w.gateProj = w.gateProj * sc, w.upProj = w.upProj * sc;
    if (s.upDown.scales.defined()) {
        w.upProj = w.upProj / s.upDown.scales.unsqueeze(1);
        w.downProj = w.downProj * s.upDown.scales;
    }
}

// Clip search on the scaled block, recording "clip.L.mean_shrink" per linear L.
void clipBlock(BlockWeights& w, const BlockActivations& acts, const BlockScales& s,
               const AwqParams& p, TransformRecord& record)
{
    // The sampled inputs of the scaled block: dividing by s is exactly what the fold did.
    auto sample = [&](const torch::Tensor& rows, const torch::Tensor& scales) {
        return sampleRows(scales.defined() ? rows / scales : rows, p.clipSamples);
    };
    const auto xAttn = sample(acts.attnInput.rows, s.qkv.scales);
    const auto xMlp = sample(acts.mlpInput.rows, s.gateUp.scales);
    // q and k are not clipped, as in the reference: their errors pass through softmax.
    const std::vector<std::tuple<std::string, torch::Tensor*, torch::Tensor>> linears = {
        {"self_attn.v_proj", &w.vProj, xAttn},
        {"self_attn.o_proj", &w.oProj, sample(acts.oInput.rows, s.vo.scales)},
        {"mlp.gate_proj", &w.gateProj, xMlp},
        {"mlp.up_proj", &w.upProj, xMlp},
        {"mlp.down_proj", &w.downProj, sample(acts.downInput.rows, s.upDown.scales)}};
    for (const auto& [linear, weight, x] : linears) {
        double shrink = 1.0;
        *weight = clipWeight(*weight, x, p, shrink);
        record.values["clip." + linear + ".mean_shrink"] = shrink;
    }
}

} // namespace

torch::Tensor rtnFakeQuantize(const torch::Tensor& weight, const QuantGrid& grid)
{
    const int64_t out = weight.size(0), in = weight.size(1);
    const auto p = findWeightParams(weight, grid);
    return fakeQuantize(weight, expandToColumns(p.scale, out, in), expandToColumns(p.zero, out, in),
                        grid.bits);
}

AwqParams AwqParams::fromJson(const nlohmann::json& params)
{
    MethodParams m("awq", params);
    AwqParams p;
    p.nGrid = m.getInt("nGrid", p.nGrid);
    p.clip = m.getBool("clip", p.clip);
    p.clipGrid = m.getInt("clipGrid", p.clipGrid);
    p.maxShrink = m.getDouble("maxShrink", p.maxShrink);
    p.clipSamples = m.getInt("clipSamples", p.clipSamples);
    p.grid.bits = int(m.getInt("wbits", p.grid.bits));
    p.grid.groupSize = m.getInt("groupSize", p.grid.groupSize);
    p.grid.symmetric = m.getBool("symmetric", p.grid.symmetric);
    m.finish();
    if (p.nGrid < 1)
        throw Error(m.source(), "nGrid", "must be at least 1, got " + std::to_string(p.nGrid));
    if (p.clipGrid < 1)
        throw Error(m.source(), "clipGrid",
                    "must be at least 1, got " + std::to_string(p.clipGrid));
    if (!(p.maxShrink >= 0.0 && p.maxShrink < 1.0))
        throw Error(m.source(), "maxShrink",
                    "must lie in [0, 1), got " + std::to_string(p.maxShrink));
    if (p.clipSamples < 1)
        throw Error(m.source(), "clipSamples",
                    "must be at least 1, got " + std::to_string(p.clipSamples));
    if (p.grid.bits < 2 || p.grid.bits > 8)
        throw Error(m.source(), "wbits", "must lie in 2..8, got " + std::to_string(p.grid.bits));
    if (p.grid.groupSize < -1)
        throw Error(m.source(), "groupSize",
                    "must be -1 (per tensor), 0 (per channel) or a positive column count");
    return p;
}

void AwqTransform::applyToBlock(BlockWeights& w, const BlockContext& ctx, TransformRecord& record,
                                const ProgressFn& progress)
{
    torch::NoGradGuard noGrad;
    checkContext(w, ctx, m_params.grid);
    record.transform = name();
    record.block = w.index;
    const std::string stage = "awq block " + std::to_string(w.index);
    const auto acts =
        collectBlockActivations(ctx.model->config(), w, ctx.inputs, *ctx.rope, kSearchTokens);
    const auto scales = searchBlockScales(w, ctx, acts, m_params, record, [&](int done) {
        reportProgress(progress, {stage, "scale search", done, 5});
    });
    foldScales(w, scales);
    if (!m_params.clip)
        return;
    if (m_params.grid.groupSize == -1) {
        record.warnings.push_back("awq: clipping skipped for a per-tensor grid");
        return;
    }
    clipBlock(w, acts, scales, m_params, record);
    reportProgress(progress, {stage, "clip search", 5, 5});
}

} // namespace ptq
