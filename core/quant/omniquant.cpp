#include "quant/omniquant.h"

#include "quant/act_quant.h"
#include "quant/block_activations.h"
#include "quant/lwc.h"
#include "quant/method.h"
#include "util/error.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ptq {

namespace {

using Clock = std::chrono::steady_clock;

// LET scales are used clamped below, as SmoothQuant's initialisation is: a scale that an
// optimiser step drove to or through zero must not divide by zero.
constexpr double kMinScale = 1e-5;
// Only the per-channel maxima are needed for the initial scales, not sampled rows.
constexpr int64_t kStatRows = 1;

double secondsSince(Clock::time_point t)
{
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// The fold points LET learns a scale for: every norm -> linears and value -> output point
// (up -> down is left out, as in the reference).
bool learnsScale(const FoldPoint& f)
{
    return f.feature == ArchFeature::NormFold || f.feature == ArchFeature::ValueOutputFold;
}

// The learnable state of one block. Undefined tensors are not learned: scales of 1, or no
// clipping (gamma = beta = 1).
struct OmniState {
    std::map<std::string, torch::Tensor> scales;      // by fold point, on its producer channels
    std::vector<torch::Tensor> gammaLogit, betaLogit; // per linear, (groups, 1)

    std::vector<torch::Tensor> letParameters(const BlockLayout& layout) const
    {
        std::vector<torch::Tensor> p;
        for (const auto& f : layout.folds)
            if (auto it = scales.find(f.name); it != scales.end())
                p.push_back(it->second);
        return p;
    }
    std::vector<torch::Tensor> lwcParameters() const
    {
        std::vector<torch::Tensor> p;
        for (const auto* v : {&gammaLogit, &betaLogit})
            for (const auto& t : *v)
                if (t.defined())
                    p.push_back(t);
        return p;
    }
};

// SmoothQuant's s = max|X|^alpha / max|W|^(1-alpha) over the columns the scale multiplies.
torch::Tensor smoothInit(const torch::Tensor& actMax, const std::vector<torch::Tensor>& weights,
                         double alpha)
{
    torch::Tensor wMax;
    for (const auto& weight : weights) {
        auto m = weight.abs().amax(0);
        wMax = wMax.defined() ? torch::maximum(wMax, m) : m;
    }
    return (actMax.pow(alpha) / wMax.clamp_min(kMinScale).pow(1.0 - alpha)).clamp_min(kMinScale);
}

OmniState initialState(const BlockWeights& w, const BlockContext& ctx, const QuantGrid& grid,
                       const OmniQuantParams& p)
{
    torch::NoGradGuard noGrad;
    OmniState s;
    if (*p.let) {
        const auto acts =
            collectBlockActivations(*ctx.model, w, ctx.inputs, *ctx.forward, kStatRows);
        for (const auto& f : w.layout->folds) {
            if (!learnsScale(f))
                continue;
            // Per producer channel: the maximum over the consumer columns it feeds.
            const auto actMax = perProducerChannel(f, acts.at(f.input).absMax);
            std::vector<torch::Tensor> cols;
            for (const auto& c : f.consumers)
                cols.push_back(f.repeat > 1
                                   ? perProducerChannel(f, w.at(c).abs().amax(0)).unsqueeze(0)
                                   : w.at(c));
            // An MoE expert no calibration token chose starts (and, without gradient, stays)
            // unscaled.
            s.scales[f.name] = acts.at(f.input).tokens > 0 ? smoothInit(actMax, cols, p.alpha)
                                                           : torch::ones({actMax.size(0)});
        }
    }
    if (p.lwc) {
        for (const auto& [name, t] : w.linears()) {
            const int64_t groups = lwcGroupCount(grid, t->size(0), t->size(1));
            s.gammaLogit.push_back(torch::full({groups, 1}, p.lwcInit));
            s.betaLogit.push_back(torch::full({groups, 1}, p.lwcInit));
        }
    }
    for (auto& t : s.letParameters(*w.layout))
        t.requires_grad_(true);
    for (auto& t : s.lwcParameters())
        t.requires_grad_(true);
    return s;
}

// w with the LET scales folded in: the same full-precision function. Differentiable in the
// scales; also the final fold, so what was trained is exactly what is kept.
BlockWeights foldLet(const BlockWeights& w, const OmniState& s)
{
    BlockWeights t = w.copy();
    for (const auto& f : w.layout->folds)
        if (auto it = s.scales.find(f.name); it != s.scales.end())
            foldScale(t, f, it->second.clamp_min(kMinScale));
    return t;
}

// The LET-folded block with every linear LWC fake-quantized on the grid.
BlockWeights quantizedTrial(const BlockWeights& w, const OmniState& s, const QuantGrid& grid)
{
    BlockWeights t = foldLet(w, s);
    std::size_t i = 0;
    for (auto& [name, ptr] : t.linears()) {
        const bool clip = i < s.gammaLogit.size();
        *ptr = lwcFakeQuantize(*ptr, grid, clip ? s.gammaLogit[i] : torch::Tensor(),
                               clip ? s.betaLogit[i] : torch::Tensor());
        ++i;
    }
    return t;
}

// Activation fake quantization with a straight-through gradient.
torch::Tensor actQuant(const torch::Tensor& x, const ActQuantSpec* a)
{
    if (!a)
        return x;
    const auto d = x.detach();
    // Static scales come from calibration ranges the pipeline measures after the weights are
    // quantized; the training forward approximates them by the batch's range.
    const auto q = a->dynamic ? fakeQuantGroups(d, d.size(-1), a->bits, a->symmetric, a->clipRatio)
                              : fakeQuantGroups(d.reshape({1, -1}), d.numel(), a->bits,
                                                a->symmetric, a->clipRatio)
                                    .view(d.sizes());
    return x + (q - d);
}

// The block on h (B,T,C) with trial weights: the architecture's autograd forward, every
// linear input fake-quantized when the recipe quantizes activations.
torch::Tensor trialForward(const BlockContext& ctx, BlockWeights w, const torch::Tensor& h)
{
    if (const ActQuantSpec* a = ctx.activations) {
        auto rt = w.runtime ? std::make_shared<BlockRuntime>(*w.runtime)
                            : std::make_shared<BlockRuntime>();
        auto inner = rt->linearInput;
        rt->linearInput = [inner, a](const std::string& input, const torch::Tensor& x) {
            return actQuant(inner ? inner(input, x) : x, a);
        };
        w.runtime = rt;
    }
    BlockCall call;
    call.autograd = true;
    return ctx.model->architecture().blockForward(w, h, *ctx.forward, call, torch::kFloat);
}

struct Training {
    const BlockWeights& w;
    const BlockContext& ctx;
    const QuantGrid& grid;
    const torch::Tensor& targets; // (N,T,C) full-precision block outputs
    std::string object;           // "block i"
};

// Mean squared error over every calibration sample, no gradient.
double evalLoss(const Training& tr, const OmniState& s, int64_t batch)
{
    torch::NoGradGuard noGrad;
    const auto trial = quantizedTrial(tr.w, s, tr.grid);
    const int64_t n = tr.ctx.inputs.size(0);
    double sum = 0.0;
    for (int64_t b0 = 0; b0 < n; b0 += batch) {
        const int64_t len = std::min(batch, n - b0);
        auto out = trialForward(tr.ctx, trial, tr.ctx.inputs.narrow(0, b0, len));
        sum += (out.to(torch::kDouble) - tr.targets.narrow(0, b0, len).to(torch::kDouble))
                   .pow(2)
                   .sum()
                   .item<double>();
    }
    const double loss = sum / double(tr.targets.numel());
    if (!std::isfinite(loss))
        throw Error("omniquant", tr.object, "the block loss is not finite (NaN or Inf)");
    return loss;
}

std::unique_ptr<torch::optim::AdamW> makeOptimizer(const OmniState& s, const OmniQuantParams& p,
                                                   const BlockLayout& layout)
{
    using torch::optim::AdamWOptions;
    std::vector<torch::optim::OptimizerParamGroup> groups;
    const auto let = s.letParameters(layout), lwc = s.lwcParameters();
    // libtorch's AdamW decays by 1e-2 unless told otherwise; the paper's default is 0.
    if (!let.empty())
        groups.emplace_back(
            let, std::make_unique<AdamWOptions>(AdamWOptions(p.letLr).weight_decay(p.wd)));
    if (!lwc.empty())
        groups.emplace_back(
            lwc, std::make_unique<AdamWOptions>(AdamWOptions(p.lwcLr).weight_decay(p.wd)));
    if (groups.empty())
        return nullptr;
    return std::make_unique<torch::optim::AdamW>(groups, AdamWOptions(p.letLr).weight_decay(p.wd));
}

// AdamW over the samples for p.epochs epochs; records the first and last epoch's mean loss.
void train(const Training& tr, OmniState& s, const OmniQuantParams& p, TransformRecord& record,
           const ProgressFn& progress)
{
    auto optimizer = makeOptimizer(s, p, *tr.w.layout);
    if (!optimizer || p.epochs == 0)
        return;
    torch::AutoGradMode enableGrad(true); // the pipeline runs under NoGradGuard
    const int64_t n = tr.ctx.inputs.size(0), batch = std::min(p.batchSize, n);
    const std::string stage = "omniquant " + tr.object;
    auto lastReport = Clock::now();
    int64_t steps = 0;
    for (int64_t epoch = 0; epoch < p.epochs; ++epoch) {
        double epochLoss = 0.0;
        int64_t batches = 0;
        for (int64_t b0 = 0; b0 + batch <= n; b0 += batch, ++batches, ++steps) {
            optimizer->zero_grad();
            const auto trial = quantizedTrial(tr.w, s, tr.grid);
            auto out = trialForward(tr.ctx, trial, tr.ctx.inputs.narrow(0, b0, batch));
            auto loss = torch::mse_loss(out, tr.targets.narrow(0, b0, batch));
            const double value = loss.item<double>();
            if (!std::isfinite(value))
                throw Error("omniquant", tr.object,
                            "the training loss is not finite (NaN or Inf) in epoch " +
                                std::to_string(epoch + 1) + "; try lower learning rates");
            loss.backward();
            optimizer->step();
            epochLoss += value;
            if (secondsSince(lastReport) >= 1.0) {
                lastReport = Clock::now();
                reportProgress(progress,
                               {stage, "epoch " + std::to_string(epoch + 1), epoch, p.epochs});
            }
        }
        epochLoss /= double(std::max<int64_t>(1, batches));
        if (epoch == 0)
            record.values["epoch_loss_first"] = epochLoss;
        record.values["epoch_loss_last"] = epochLoss;
        reportProgress(
            progress, {stage, "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(p.epochs),
                       epoch + 1, p.epochs});
    }
    record.values["steps"] = double(steps);
}

void checkContext(BlockWeights& w, const BlockContext& ctx, const std::string& object)
{
    if (!ctx.model || !ctx.forward)
        throw Error("omniquant", object,
                    "the block context lacks the model or the forward context");
    if (!ctx.weightGrid)
        throw Error("omniquant", object,
                    "the block context lacks the recipe's weight grid, which LWC trains against");
    const auto& x = ctx.inputs;
    if (!x.defined() || x.dim() != 3 || x.scalar_type() != torch::kFloat ||
        x.size(2) != w.layout->hidden || x.size(0) == 0 || x.size(1) > ctx.forward->seqlen())
        throw Error("omniquant", object + " calibration inputs",
                    "expected (N,T,C) float32 with N >= 1, C = hidden_size and T within the "
                    "forward context's length");
    for (auto& [name, tensor] : w.linears()) {
        try {
            validate(w.layout->tensor(name).groupFallback
                         ? gridFor(*ctx.weightGrid, tensor->size(1))
                         : *ctx.weightGrid,
                     tensor->size(1));
        } catch (const Error& e) {
            throw Error("omniquant", object + " " + name, e.what());
        }
    }
}

void recordState(const OmniState& s, TransformRecord& record)
{
    auto scales = [&](const std::string& group, const torch::Tensor& t) {
        if (!t.defined())
            return;
        record.values["let." + group + ".scale_min"] = t.min().item<double>();
        record.values["let." + group + ".scale_max"] = t.max().item<double>();
    };
    for (const auto& [name, t] : s.scales)
        scales(name, t);
    if (s.gammaLogit.empty())
        return;
    double gamma = 0.0, beta = 0.0, groups = 0.0;
    for (std::size_t i = 0; i < s.gammaLogit.size(); ++i) {
        gamma += torch::sigmoid(s.gammaLogit[i]).sum().item<double>();
        beta += torch::sigmoid(s.betaLogit[i]).sum().item<double>();
        groups += double(s.gammaLogit[i].numel());
    }
    record.values["lwc.gamma_mean"] = gamma / groups;
    record.values["lwc.beta_mean"] = beta / groups;
}

} // namespace

OmniQuantParams OmniQuantParams::fromJson(const nlohmann::json& params)
{
    MethodParams m("omniquant", params);
    OmniQuantParams p;
    p.epochs = m.getInt("epochs", p.epochs);
    p.batchSize = m.getInt("batchSize", p.batchSize);
    if (params.is_object() && params.contains("let"))
        p.let = m.getBool("let", true);
    else
        m.getBool("let", true); // marks the key as known
    p.lwc = m.getBool("lwc", p.lwc);
    p.letLr = m.getDouble("letLr", p.letLr);
    p.lwcLr = m.getDouble("lwcLr", p.lwcLr);
    p.wd = m.getDouble("wd", p.wd);
    p.alpha = m.getDouble("alpha", p.alpha);
    p.lwcInit = m.getDouble("lwcInit", p.lwcInit);
    m.finish();
    auto fail = [&](const char* key, const std::string& why) { throw Error(m.source(), key, why); };
    if (p.epochs < 0)
        fail("epochs", "must not be negative, got " + std::to_string(p.epochs));
    if (p.batchSize < 1)
        fail("batchSize", "must be at least 1, got " + std::to_string(p.batchSize));
    if (!(p.letLr > 0.0) || !std::isfinite(p.letLr))
        fail("letLr", "must be a positive learning rate, got " + std::to_string(p.letLr));
    if (!(p.lwcLr > 0.0) || !std::isfinite(p.lwcLr))
        fail("lwcLr", "must be a positive learning rate, got " + std::to_string(p.lwcLr));
    if (!(p.wd >= 0.0) || !std::isfinite(p.wd))
        fail("wd", "must be a non-negative weight decay, got " + std::to_string(p.wd));
    if (!(p.alpha >= 0.0 && p.alpha <= 1.0))
        fail("alpha", "must lie in [0, 1], got " + std::to_string(p.alpha));
    if (!std::isfinite(p.lwcInit))
        fail("lwcInit", "must be a finite logit");
    return p;
}

void OmniQuantTransform::applyToBlock(BlockWeights& w, const BlockContext& ctx,
                                      TransformRecord& record, const ProgressFn& progress)
{
    const auto started = Clock::now();
    const std::string object = "block " + std::to_string(w.index);
    checkContext(w, ctx, object);
    record.transform = name();
    record.block = w.index;
    torch::Tensor targets;
    {
        torch::NoGradGuard noGrad;
        targets = ctx.model->blockForward(w, ctx.inputs, *ctx.forward);
    }
    const Training tr{w, ctx, *ctx.weightGrid, targets, object};
    const int64_t evalBatch = std::max<int64_t>(m_params.batchSize, 1);
    record.values["loss_rtn"] = evalLoss(tr, OmniState{}, evalBatch);
    OmniQuantParams p = m_params;
    p.let = m_params.let.value_or(ctx.activations != nullptr);
    record.values["let"] = *p.let ? 1.0 : 0.0;
    OmniState state = initialState(w, ctx, *ctx.weightGrid, p);
    record.values["loss_initial"] = evalLoss(tr, state, evalBatch);
    record.values["steps"] = 0.0;
    train(tr, state, p, record, progress);
    record.values["loss_final"] = evalLoss(tr, state, evalBatch);

    torch::NoGradGuard noGrad;
    BlockWeights folded = foldLet(w, state);
    std::size_t i = 0;
    for (auto& [linear, ptr] : folded.linears()) {
        if (i < state.gammaLogit.size())
            *ptr = lwcClamp(*ptr, *ctx.weightGrid, state.gammaLogit[i], state.betaLogit[i]);
        *ptr = ptr->detach();
        if (!allFinite(ptr->contiguous()))
            throw Error("omniquant", object + " " + linear,
                        "the transformed weight contains NaN or Inf");
        ++i;
    }
    for (auto& [key, t] : folded.tensors)
        if (t.defined())
            t = t.detach();
    recordState(state, record);
    w = folded;
    record.values["seconds"] = secondsSince(started);
    reportProgress(progress, {"omniquant " + object, "folded", m_params.epochs, m_params.epochs});
}

} // namespace ptq
