#include "quant/omniquant.h"

#include "model/llama_ops.h"
#include "quant/act_quant.h"
#include "quant/block_activations.h"
#include "quant/lwc.h"
#include "quant/method.h"
#include "util/error.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
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

// The learnable state of one block. Undefined tensors are not learned: scales of 1, or no
// clipping (gamma = beta = 1).
struct OmniState {
    torch::Tensor attnScale;                          // (C) input_layernorm -> q/k/v
    torch::Tensor voScale;                            // (KV*D) v_proj rows -> o_proj columns
    torch::Tensor mlpScale;                           // (C) post_attention_layernorm -> gate/up
    std::vector<torch::Tensor> gammaLogit, betaLogit; // per linear, (groups, 1)

    std::vector<torch::Tensor> letParameters() const
    {
        std::vector<torch::Tensor> p;
        for (const auto& t : {attnScale, voScale, mlpScale})
            if (t.defined())
                p.push_back(t);
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

// (H*D) per-channel values of o_proj's input -> (KV*D): the maximum over the query heads that
// read each kv head (query head h reads kv head h / rep).
torch::Tensor perKvChannel(const torch::Tensor& x, const ModelConfig& c)
{
    const int64_t rep = c.numHeads / c.numKvHeads;
    return x.view({c.numKvHeads, rep, c.headDim}).amax(1).reshape({-1});
}

// (KV*D) -> (H*D): the scale of every o_proj input column.
torch::Tensor expandKvScale(const torch::Tensor& s, const ModelConfig& c)
{
    const int64_t rep = c.numHeads / c.numKvHeads;
    return s.view({c.numKvHeads, 1, c.headDim})
        .expand({c.numKvHeads, rep, c.headDim})
        .reshape({-1});
}

OmniState initialState(const BlockWeights& w, const BlockContext& ctx, const QuantGrid& grid,
                       const OmniQuantParams& p)
{
    torch::NoGradGuard noGrad;
    const ModelConfig& c = ctx.model->config();
    OmniState s;
    if (*p.let) {
        const auto acts = collectBlockActivations(c, w, ctx.inputs, *ctx.rope, kStatRows);
        s.attnScale = smoothInit(acts.attnInput.absMax, {w.qProj, w.kProj, w.vProj}, p.alpha);
        s.mlpScale = smoothInit(acts.mlpInput.absMax, {w.gateProj, w.upProj}, p.alpha);
        const auto oCols = perKvChannel(w.oProj.abs().amax(0), c);
        s.voScale = smoothInit(perKvChannel(acts.oInput.absMax, c), {oCols.unsqueeze(0)}, p.alpha);
    }
    if (p.lwc) {
        for (auto& [name, t] : const_cast<BlockWeights&>(w).linears()) {
            const int64_t groups = lwcGroupCount(grid, t->size(0), t->size(1));
            s.gammaLogit.push_back(torch::full({groups, 1}, p.lwcInit));
            s.betaLogit.push_back(torch::full({groups, 1}, p.lwcInit));
        }
    }
    for (auto& t : s.letParameters())
        t.requires_grad_(true);
    for (auto& t : s.lwcParameters())
        t.requires_grad_(true);
    return s;
}

// w with the LET scales folded in: the same full-precision function. Differentiable in the
// scales; also the final fold, so what was trained is exactly what is kept.
BlockWeights foldLet(const BlockWeights& w, const OmniState& s, const ModelConfig& c)
{
    BlockWeights t = w;
    t.computeCache.reset();
    if (s.attnScale.defined()) {
        const auto sa = s.attnScale.clamp_min(kMinScale);
        t.inputNorm = w.inputNorm / sa;
        t.qProj = w.qProj * sa, t.kProj = w.kProj * sa, t.vProj = w.vProj * sa;
    }
    if (s.voScale.defined()) {
        const auto sv = s.voScale.clamp_min(kMinScale);
        t.vProj = t.vProj / sv.unsqueeze(1);
        if (w.vBias.defined())
            t.vBias = w.vBias / sv;
        t.oProj = w.oProj * expandKvScale(sv, c);
    }
    if (s.mlpScale.defined()) {
        const auto sm = s.mlpScale.clamp_min(kMinScale);
        t.postNorm = w.postNorm / sm;
        t.gateProj = w.gateProj * sm, t.upProj = w.upProj * sm;
    }
    return t;
}

// The LET-folded block with every linear LWC fake-quantized on the grid.
BlockWeights quantizedTrial(const BlockWeights& w, const OmniState& s, const ModelConfig& c,
                            const QuantGrid& grid)
{
    BlockWeights t = foldLet(w, s, c);
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

// The block on h (B,T,C) with trial weights, differentiable, activations fake-quantized when
// the recipe asks.
torch::Tensor trialForward(const ModelConfig& c, const BlockWeights& w, const torch::Tensor& h,
                           const RopeTables& rope, const ActQuantSpec* a)
{
    const double eps = c.rmsNormEps;
    auto x = actQuant(llama::rmsNorm(h, w.inputNorm, eps), a);
    auto h1 =
        h + torch::linear(
                actQuant(llama::causalAttention(
                             c, {w.qProj, w.qBias, w.kProj, w.kBias, w.vProj, w.vBias}, x, rope),
                         a),
                w.oProj);
    auto x2 = actQuant(llama::rmsNorm(h1, w.postNorm, eps), a);
    auto act = torch::silu(torch::linear(x2, w.gateProj)) * torch::linear(x2, w.upProj);
    if (w.runtime && w.runtime->downInputRotation.defined())
        act = torch::matmul(act, w.runtime->downInputRotation);
    return h1 + torch::linear(actQuant(act, a), w.downProj);
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
    const ModelConfig& c = tr.ctx.model->config();
    const auto trial = quantizedTrial(tr.w, s, c, tr.grid);
    const int64_t n = tr.ctx.inputs.size(0);
    double sum = 0.0;
    for (int64_t b0 = 0; b0 < n; b0 += batch) {
        const int64_t len = std::min(batch, n - b0);
        auto out = trialForward(c, trial, tr.ctx.inputs.narrow(0, b0, len), *tr.ctx.rope,
                                tr.ctx.activations);
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

std::unique_ptr<torch::optim::AdamW> makeOptimizer(const OmniState& s, const OmniQuantParams& p)
{
    using torch::optim::AdamWOptions;
    std::vector<torch::optim::OptimizerParamGroup> groups;
    const auto let = s.letParameters(), lwc = s.lwcParameters();
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
    auto optimizer = makeOptimizer(s, p);
    if (!optimizer || p.epochs == 0)
        return;
    torch::AutoGradMode enableGrad(true); // the pipeline runs under NoGradGuard
    const ModelConfig& c = tr.ctx.model->config();
    const int64_t n = tr.ctx.inputs.size(0), batch = std::min(p.batchSize, n);
    const std::string stage = "omniquant " + tr.object;
    auto lastReport = Clock::now();
    int64_t steps = 0;
    for (int64_t epoch = 0; epoch < p.epochs; ++epoch) {
        double epochLoss = 0.0;
        int64_t batches = 0;
        for (int64_t b0 = 0; b0 + batch <= n; b0 += batch, ++batches, ++steps) {
            optimizer->zero_grad();
            const auto trial = quantizedTrial(tr.w, s, c, tr.grid);
            auto out = trialForward(c, trial, tr.ctx.inputs.narrow(0, b0, batch), *tr.ctx.rope,
                                    tr.ctx.activations);
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
    if (!ctx.model || !ctx.rope)
        throw Error("omniquant", object, "the block context lacks the model or the RoPE tables");
    if (!ctx.weightGrid)
        throw Error("omniquant", object,
                    "the block context lacks the recipe's weight grid, which LWC trains against");
    const auto& c = ctx.model->config();
    const auto& x = ctx.inputs;
    if (!x.defined() || x.dim() != 3 || x.scalar_type() != torch::kFloat ||
        x.size(2) != c.hiddenSize || x.size(0) == 0 || x.size(1) > ctx.rope->cos.size(0))
        throw Error("omniquant", object + " calibration inputs",
                    "expected (N,T,C) float32 with N >= 1, C = hidden_size and T within the "
                    "RoPE tables");
    for (auto& [name, tensor] : w.linears()) {
        try {
            validate(*ctx.weightGrid, tensor->size(1));
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
    scales("attn_qkv", s.attnScale);
    scales("v_o", s.voScale);
    scales("mlp_gate_up", s.mlpScale);
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
        targets = ctx.model->blockForward(w, ctx.inputs, *ctx.rope);
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
    BlockWeights folded = foldLet(w, state, ctx.model->config());
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
    for (auto* t : {&folded.inputNorm, &folded.postNorm, &folded.vBias})
        if (t->defined())
            *t = t->detach();
    recordState(state, record);
    w = folded;
    record.values["seconds"] = secondsSince(started);
    reportProgress(progress, {"omniquant " + object, "folded", m_params.epochs, m_params.epochs});
}

} // namespace ptq
