#include "quant/awq.h"

#include "quant/block_activations.h"
#include "quant/method.h"
#include "util/error.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
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
    const QuantGrid grid = gridFor(p.grid, in);
    const int64_t columns = groupColumns(grid, in);
    const int64_t steps = std::max<int64_t>(1, int64_t(p.maxShrink * double(p.clipGrid)));
    QuantGrid rowGrid = grid;
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
    if (!ctx.model || !ctx.forward)
        throw Error("awq", object, "the block context lacks the model or the forward context");
    for (auto& [name, tensor] : w.linears()) {
        if (w.layout->tensor(name).groupFallback)
            continue; // quantized per output channel when the group does not divide (gridFor)
        try {
            validate(grid, tensor->size(1));
        } catch (const Error& e) {
            throw Error("awq", object + " " + name, e.what());
        }
    }
}

// The chosen scales by fold point name; a fold point not scaled has no entry.
using BlockScales = std::map<std::string, ScaleChoice>;

// Why fold point f is not searched in block w, or "" when it is: a value -> output fold
// needs one value head per query head, and a rotated input no longer maps the producer's
// channels to the consumers' columns one to one.
std::string skipReason(const BlockWeights& w, const FoldPoint& f)
{
    if (f.repeat != 1)
        return "grouped-query heads";
    if (w.runtime && w.runtime->inputRotation(f.input).defined())
        return f.consumers.front() + "'s input is rotated";
    return "";
}

// An MoE expert that no calibration token chose has no statistics to search on.
bool hasTokens(const BlockActivations& acts, const std::string& input)
{
    return acts.at(input).tokens > 0;
}

// The loss of one fold point's search: the output error of its module (AWQ's
// module2inspect) with the consumers replaced by trial weights.
GroupLoss foldLoss(const BlockWeights& w, const FoldPoint& f, const BlockContext& ctx,
                   const BlockActivations& acts)
{
    const Architecture& arch = ctx.model->architecture();
    const auto& stats = acts.at(f.input);
    const torch::Tensor x = f.sequences ? stats.sequences : stats.rows;
    auto ref = arch.moduleForward(w, f.module, x, *ctx.forward);
    return [&w, &f, &arch, &ctx, x, ref](const std::vector<torch::Tensor>& trial) {
        BlockWeights t = w.copy();
        for (std::size_t i = 0; i < f.consumers.size(); ++i)
            t.at(f.consumers[i]) = trial[i];
        return meanSquaredError(arch.moduleForward(t, f.module, x, *ctx.forward), ref);
    };
}

// Searches every fold point on the unscaled block (as the reference does), recording
// "G.alpha", "G.loss_alpha0" and "G.loss" per fold point G.
BlockScales searchBlockScales(const BlockWeights& w, const BlockContext& ctx,
                              const BlockActivations& acts, const AwqParams& p,
                              TransformRecord& record, const std::function<void(int)>& step)
{
    BlockScales scales;
    int done = 0;
    for (const auto& f : w.layout->folds) {
        std::string why = skipReason(w, f);
        if (why.empty() && !hasTokens(acts, f.input))
            why = "no calibration token was routed to it";
        if (!why.empty()) {
            if (f.repeat == 1)
                record.warnings.push_back("awq: block " + std::to_string(w.index) + ": " + f.name +
                                          " not scaled (" + why + ")");
            continue;
        }
        std::vector<torch::Tensor> weights;
        for (const auto& c : f.consumers)
            weights.push_back(w.at(c));
        const auto c =
            searchScales(f.name, acts.at(f.input).absMean, weights, p, foldLoss(w, f, ctx, acts));
        record.values[f.name + ".alpha"] = c.alpha;
        record.values[f.name + ".loss_alpha0"] = c.lossAlpha0;
        record.values[f.name + ".loss"] = c.loss;
        scales[f.name] = c;
        step(++done);
    }
    return scales;
}

// Each chosen scale folded in: the producer's output divided by s, the consumers' columns
// times s; the full-precision block is unchanged.
void foldScales(BlockWeights& w, const BlockScales& s)
{
    for (const auto& f : w.layout->folds)
        if (auto it = s.find(f.name); it != s.end())
            foldScale(w, f, it->second.scales);
}

// Clip search on the scaled block, recording "clip.L.mean_shrink" per linear L.
void clipBlock(BlockWeights& w, const BlockActivations& acts, const BlockScales& s,
               const AwqParams& p, TransformRecord& record)
{
    const auto& layout = *w.layout;
    for (const auto& linear : layout.linears) {
        // Attention scores are not clipped, as in the reference: their errors pass through
        // softmax.
        const auto& skip = layout.attentionScoreLinears;
        if (std::find(skip.begin(), skip.end(), linear) != skip.end())
            continue;
        // The sampled inputs of the scaled block: dividing by s is exactly what the fold did.
        const auto& group = layout.groupOf(linear);
        if (!hasTokens(acts, group.input))
            continue; // an expert without routed calibration tokens keeps its range
        torch::Tensor x = acts.at(group.input).rows;
        for (const auto& f : layout.folds)
            if (std::find(f.consumers.begin(), f.consumers.end(), linear) != f.consumers.end())
                if (auto it = s.find(f.name); it != s.end())
                    x = x / consumerScale(f, it->second.scales);
        double shrink = 1.0;
        auto& weight = w.at(linear);
        weight = clipWeight(weight, sampleRows(x, p.clipSamples), p, shrink);
        record.values["clip." + linear + ".mean_shrink"] = shrink;
    }
}

} // namespace

torch::Tensor rtnFakeQuantize(const torch::Tensor& weight, const QuantGrid& recipeGrid)
{
    const int64_t out = weight.size(0), in = weight.size(1);
    const QuantGrid grid = gridFor(recipeGrid, in);
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
        collectBlockActivations(*ctx.model, w, ctx.inputs, *ctx.forward, kSearchTokens);
    const int steps = int(w.layout->folds.size()) + 1;
    const auto scales = searchBlockScales(w, ctx, acts, m_params, record, [&](int done) {
        reportProgress(progress, {stage, "scale search", done, steps});
    });
    foldScales(w, scales);
    if (!m_params.clip)
        return;
    if (m_params.grid.groupSize == -1) {
        record.warnings.push_back("awq: clipping skipped for a per-tensor grid");
        return;
    }
    clipBlock(w, acts, scales, m_params, record);
    reportProgress(progress, {stage, "clip search", steps, steps});
}

} // namespace ptq
