#include "engine/quantize.h"

#include "eval/perplexity.h"
#include "quant/act_quant.h"
#include "quant/registry.h"
#include "text/tokenizer.h"
#include "util/error.h"

#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <set>

namespace ptq {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t)
{
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// The calibration passes: with trueSequential, one per input group in execution order (a
// group is calibrated on the outputs of the groups before it, already quantized), groups of
// one pass name (an MoE layer's experts) together in the pass of the first; otherwise one
// pass for every group.
std::vector<std::vector<InputGroup>> quantizationPasses(const BlockLayout& layout,
                                                        bool trueSequential)
{
    if (!trueSequential)
        return {layout.inputGroups};
    std::vector<std::vector<InputGroup>> passes;
    std::map<std::string, std::size_t> named;
    for (const auto& g : layout.inputGroups) {
        if (!g.pass.empty()) {
            if (auto it = named.find(g.pass); it != named.end()) {
                passes[it->second].push_back(g);
                continue;
            }
            named[g.pass] = passes.size();
        }
        passes.push_back({g});
    }
    return passes;
}

// What one calibration pass collects, per shared input (keyed by the group's first name).
struct Capture {
    std::map<std::string, std::unique_ptr<HessianAccumulator>> hessians;
    std::map<std::string, std::vector<torch::Tensor>> samples; // (rows, in) chunks
    std::map<std::string, int64_t> rows;                       // tokens seen per input
    std::map<std::string, torch::Tensor> absMax;               // (in) max |x| per channel
    std::vector<int64_t> routed; // MoE: calibration tokens routed to each expert
    int64_t stride = 1;

    LinearObserver observer()
    {
        return [this](const std::string& name, const torch::Tensor& x) {
            auto it = samples.find(name);
            if (it == samples.end())
                return;
            auto r = x.reshape({-1, x.size(-1)});
            rows[name] += r.size(0);
            if (r.size(0) > 0) {
                auto m = std::get<0>(r.abs().max(0));
                auto& acc = absMax[name];
                acc = acc.defined() ? torch::maximum(acc, m) : m;
            }
            if (auto h = hessians.find(name); h != hessians.end())
                h->second->add(r);
            it->second.push_back(r.slice(0, 0, r.size(0), stride).clone());
        };
    }
    RouterObserver router()
    {
        return [this](int64_t, const std::string&, const torch::Tensor& logits,
                      const torch::Tensor& experts) {
            const auto counts = torch::bincount(experts.reshape({-1}), {}, logits.size(-1));
            routed.resize(std::max<std::size_t>(routed.size(), std::size_t(counts.size(0))), 0);
            for (int64_t e = 0; e < counts.size(0); ++e)
                routed[std::size_t(e)] += counts[e].item<int64_t>();
        };
    }
    // Moves what `other` captured for its inputs into this capture.
    void take(Capture& other)
    {
        for (auto& [k, v] : other.hessians)
            hessians[k] = std::move(v);
        for (auto& [k, v] : other.samples)
            samples[k] = std::move(v);
        for (auto& [k, v] : other.rows)
            rows[k] = v;
        for (auto& [k, v] : other.absMax)
            absMax[k] = v;
    }
};

struct BlockJob {
    const Model& model;
    const QuantizeConfig& config;
    const WeightQuantizer& quantizer;
    const ForwardContext& forward;
    const ProgressFn& progress;
    long long& step;
    long long totalSteps;
    bool needsHessian;
};

std::string fullName(const BlockJob& job, int64_t block, const std::string& linear)
{
    return job.model.architecture().blockPrefix(block) + linear;
}

// ||a - b||^2 / ||a||^2 in float64.
double relSquaredError(const torch::Tensor& a, const torch::Tensor& b)
{
    const double num = (a.to(torch::kDouble) - b.to(torch::kDouble)).pow(2).sum().item<double>();
    const double den = a.to(torch::kDouble).pow(2).sum().item<double>();
    return den > 0 ? num / den : (num > 0 ? INFINITY : 0.0);
}

LayerRecord quantizeLinear(const BlockJob& job, BlockWeights& w, const std::string& linear,
                           const Capture& cap, const std::string& inputKey,
                           QuantizedModel::Block& out)
{
    const auto started = Clock::now();
    torch::Tensor* slot = &w.at(linear);
    const std::string name = fullName(job, w.index, linear);
    const Progress here{"quantize", name, job.step, job.totalSteps};
    ProgressFn inner = [&](const Progress&) { return !job.progress || job.progress(here); };

    LayerInput input{name, *slot, nullptr};
    if (auto h = cap.hessians.find(inputKey); h != cap.hessians.end())
        input.hessian = h->second.get();
    // A linear the recipe's group does not divide (only those the layout allows) is quantized
    // per output channel.
    const QuantGrid grid = gridFor(job.config.recipe.weightGrid, slot->size(1));
    WeightQuantResult res = job.quantizer.quantize(input, grid, inner);
    if (!allFinite(res.dequantized))
        throw Error("quantization pipeline", name, "the quantized weight contains NaN or Inf");

    LayerRecord rec;
    rec.block = w.index;
    rec.layer = linear;
    const auto original = slot->to(torch::kFloat);
    const auto diff = original - res.dequantized;
    const double wNorm = original.norm().item<double>();
    rec.relWeightError = wNorm > 0 ? diff.norm().item<double>() / wNorm : 0.0;
    rec.maxAbsError = diff.abs().max().item<double>();
    auto x = torch::cat(cap.samples.at(inputKey), 0); // (rows, in)
    rec.outputError =
        relSquaredError(torch::linear(x, original), torch::linear(x, res.dequantized));
    rec.methodLoss = res.loss;
    rec.calibTokens = cap.rows.count(inputKey) ? cap.rows.at(inputKey) : 0;
    if (auto m = cap.absMax.find(inputKey); m != cap.absMax.end()) {
        rec.inputAbsMax = m->second.max().item<double>();
        const double median = m->second.median().item<double>();
        rec.inputOutlierRatio = median > 0 ? rec.inputAbsMax / median : 0.0;
    }
    if (w.layout->hasTensor(linear) && w.layout->tensor(linear).linear) {
        const InputGroup& g = w.layout->groupOf(linear);
        rec.expert = g.expert;
        if (g.routed && g.expert >= 0)
            rec.routedTokens =
                std::size_t(g.expert) < cap.routed.size() ? cap.routed[std::size_t(g.expert)] : 0;
    }
    rec.bits = grid.bits;
    rec.groupSize = grid.groupSize;
    rec.bytes = res.q.bytes();
    *slot = res.dequantized;
    out.linears.emplace_back(linear, std::move(res.q));
    rec.seconds = secondsSince(started);
    reportProgress(job.progress, {"quantize", name, ++job.step, job.totalSteps});
    return rec;
}

// Runs the block on h with an observer and fills a capture for the given inputs (a group's
// input, or a router: every token of its MoE layer). allExperts: every expert's observers see
// every token (BlockCall::allExperts).
void calibrate(const BlockJob& job, const BlockWeights& w, const torch::Tensor& h,
               const std::vector<std::string>& inputs, Capture& cap, bool allExperts)
{
    const int64_t rows = h.size(0) * h.size(1);
    cap.stride = std::max<int64_t>(1, rows / std::max<int64_t>(1, job.config.errorSampleRows));
    for (const auto& input : inputs) {
        cap.samples[input] = {};
        if (job.needsHessian)
            cap.hessians[input] = std::make_unique<HessianAccumulator>(
                w.at(input).size(1), fullName(job, w.index, input));
    }
    const LinearObserver observe = cap.observer();
    const RouterObserver route = cap.router();
    BlockCall call;
    call.observe = &observe;
    call.route = &route;
    call.allExperts = allExperts;
    job.model.blockForward(w, h, job.forward, call);
}

std::vector<std::string> inputsOf(const std::vector<InputGroup>& groups)
{
    std::vector<std::string> out;
    for (const auto& g : groups)
        out.push_back(g.input);
    return out;
}

// A routed expert whose calibration tokens are fewer than its input width has a singular
// Hessian before damping and statistics from a handful of tokens (none at all for an expert
// no token chose, where reference scripts produce all-zero weights or NaN): such groups are
// calibrated again on every token (BlockCall::allExperts), with a warning naming the expert.
void calibrateStarvedExperts(const BlockJob& job, const BlockWeights& w, const torch::Tensor& h,
                             const std::vector<InputGroup>& pass, Capture& cap,
                             std::vector<std::string>& warnings)
{
    std::vector<std::string> starved;
    for (const auto& g : pass) {
        const int64_t width = w.at(g.input).size(1), seen = cap.rows[g.input];
        if (!g.routed || seen >= width)
            continue;
        starved.push_back(g.input);
        warnings.push_back("block " + std::to_string(w.index) + ": expert " +
                           std::to_string(g.expert) + " (" + g.input + ") saw " +
                           std::to_string(seen) + " routed calibration tokens, fewer than its " +
                           "input width " + std::to_string(width) +
                           "; its statistics come from all calibration tokens");
    }
    if (starved.empty())
        return;
    Capture all;
    calibrate(job, w, h, starved, all, true);
    cap.take(all);
}

// Full-precision reference error of the block, in window chunks to bound memory.
double blockOutputError(const BlockJob& job, const BlockWeights& fp, const torch::Tensor& h,
                        const torch::Tensor& hq)
{
    const int64_t n = h.size(0),
                  chunk = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, h.size(1)));
    double num = 0, den = 0;
    for (int64_t b0 = 0; b0 < n; b0 += chunk) {
        const int64_t len = std::min(chunk, n - b0);
        auto ref = job.model.blockForward(fp, h.narrow(0, b0, len), job.forward).to(torch::kDouble);
        num += (ref - hq.narrow(0, b0, len).to(torch::kDouble)).pow(2).sum().item<double>();
        den += ref.pow(2).sum().item<double>();
    }
    return den > 0 ? num / den : 0.0;
}

// Static activation ranges of the block's linear inputs; an MoE expert that no calibration
// token chose takes its range from every token.
std::map<std::string, ActRange> activationRanges(const BlockJob& job, const BlockWeights& w,
                                                 const torch::Tensor& h)
{
    std::map<std::string, ActRange> ranges, all;
    job.model.blockForward(w, h, job.forward, [&](const std::string& name, const torch::Tensor& x) {
        ranges[name].add(x);
    });
    bool missing = false;
    for (const auto& g : w.layout->inputGroups)
        missing = missing || !ranges.count(g.input);
    if (!missing)
        return ranges;
    const LinearObserver observe = [&](const std::string& name, const torch::Tensor& x) {
        all[name].add(x);
    };
    BlockCall call;
    call.observe = &observe;
    call.allExperts = true;
    job.model.blockForward(w, h, job.forward, call);
    for (const auto& g : w.layout->inputGroups)
        if (!ranges.count(g.input) && all.count(g.input))
            ranges[g.input] = all[g.input];
    return ranges;
}

} // namespace

// ---------------------------------------------------------------------------------------------

QuantizedModel::QuantizedModel(const Model& base, std::vector<Block> blocks, HeadTensors head)
    : m_base(base), m_blocks(std::make_shared<const std::vector<Block>>(std::move(blocks))),
      m_head(std::move(head))
{}

const QuantizedModel::Block& QuantizedModel::block(int64_t i) const
{
    if (i < 0 || i >= numBlocks())
        throw Error("quantized model", "block " + std::to_string(i), "out of range");
    return (*m_blocks)[static_cast<std::size_t>(i)];
}

namespace {

BlockWeights dequantizedBlock(const QuantizedModel::Block& b)
{
    BlockWeights w = b.rest.copy();
    for (const auto& [name, q] : b.linears)
        w.tensors[name] = q.dequantize();
    return w;
}

} // namespace

BlockWeights QuantizedModel::blockWeights(int64_t i) const
{
    return dequantizedBlock(block(i));
}

Model QuantizedModel::model() const
{
    auto overlay = std::make_shared<WeightOverlay>();
    auto blocks = m_blocks;
    overlay->block = [blocks](int64_t i) {
        if (i < 0 || i >= static_cast<int64_t>(blocks->size()))
            throw Error("quantized model", "block " + std::to_string(i), "out of range");
        return dequantizedBlock((*blocks)[static_cast<std::size_t>(i)]);
    };
    overlay->embedding = m_head.embedding;
    overlay->finalNorm = m_head.finalNorm;
    overlay->lmHead = m_head.lmHead;
    return m_base.withOverlay(overlay);
}

torch::Tensor calibrationWindows(const std::vector<int32_t>& tokens, int64_t samples,
                                 int64_t seqlen, uint64_t seed, const std::string& source)
{
    if (samples <= 0 || seqlen < 2)
        throw Error(source, "calibration",
                    "needs at least one sample of at least 2 tokens (got " +
                        std::to_string(samples) + " x " + std::to_string(seqlen) + ")");
    if (static_cast<int64_t>(tokens.size()) < seqlen + 1)
        throw Error(source, "calibration text",
                    "has " + std::to_string(tokens.size()) + " tokens, fewer than one window of " +
                        std::to_string(seqlen) + " + 1");
    PerplexityConfig pc;
    pc.seqlen = seqlen;
    pc.sampling = WindowSampling::Random;
    pc.randomWindows = samples;
    pc.seed = seed;
    const auto starts = windowStarts(static_cast<int64_t>(tokens.size()), pc);
    auto ids = torch::empty({samples, seqlen}, torch::kLong);
    auto* p = ids.data_ptr<int64_t>();
    for (int64_t b = 0; b < samples; ++b)
        for (int64_t t = 0; t < seqlen; ++t)
            p[b * seqlen + t] = tokens[starts[b] + t];
    return ids;
}

namespace {

struct Walk {
    const Model& work; // the model with the transformed head tensors
    const QuantizeConfig& config;
    const ProgressFn& progress;
    std::vector<std::unique_ptr<BlockTransform>> transforms;
    QuantizeResult& result;
};

QuantizedModel::Block quantizeBlock(Walk& walk, BlockJob& job, int64_t i, torch::Tensor& h)
{
    const auto started = Clock::now();
    const Recipe& recipe = walk.config.recipe;
    BlockWeights w = walk.work.loadBlock(i);
    for (std::size_t t = 0; t < walk.transforms.size(); ++t) {
        TransformRecord rec;
        rec.transform = recipe.transforms[t].method;
        rec.block = i;
        BlockContext ctx{&walk.work,
                         &job.forward,
                         h,
                         walk.config.seed,
                         &recipe.weightGrid,
                         recipe.activations ? &*recipe.activations : nullptr};
        walk.transforms[t]->applyToBlock(w, ctx, rec, walk.progress);
        walk.result.transforms.push_back(std::move(rec));
    }
    const BlockWeights fp = w.copy();

    QuantizedModel::Block out;
    const bool allExperts = recipe.expertCalibration == "all";
    for (const auto& pass : quantizationPasses(*w.layout, recipe.trueSequential)) {
        Capture cap;
        calibrate(job, w, h, inputsOf(pass), cap, allExperts);
        if (!allExperts)
            calibrateStarvedExperts(job, w, h, pass, cap, walk.result.warnings);
        for (const auto& group : pass)
            for (const auto& linear : group.linears) {
                walk.result.layers.push_back(quantizeLinear(job, w, linear, cap, group.input, out));
                const auto& rec = walk.result.layers.back();
                if (w.index == 0 && rec.groupSize != job.config.recipe.weightGrid.groupSize)
                    walk.result.warnings.push_back(
                        linear + ": group size " +
                        std::to_string(job.config.recipe.weightGrid.groupSize) +
                        " does not divide its " + std::to_string(w.at(linear).size(1)) +
                        " input features; quantized per output channel in every block");
            }
    }
    if (recipe.quantizeRouter && !w.layout->routers.empty()) {
        Capture cap; // the routers' input: every token of the layer
        calibrate(job, w, h, w.layout->routers, cap, false);
        for (const auto& router : w.layout->routers)
            walk.result.layers.push_back(quantizeLinear(job, w, router, cap, router, out));
    }
    std::map<std::string, ActRange> ranges;
    if (recipe.activations && !recipe.activations->dynamic)
        ranges = activationRanges(job, w, h);
    w.runtime =
        withQuantizedActivations(w.runtime, recipe.activations, recipe.kv, *w.layout, ranges);

    auto next = walk.work.blockForward(w, h, job.forward); // the quantized trajectory
    if (!allFinite(next))
        throw Error("quantization pipeline", "block " + std::to_string(i),
                    "non-finite hidden states (NaN or Inf) after quantization");
    BlockRecord br;
    br.block = i;
    br.outputError = blockOutputError(job, fp, h, next);
    h = next;
    br.seconds = secondsSince(started);
    walk.result.blocks.push_back(br);

    out.rest = w.copy();
    for (const auto& [name, q] : out.linears) // linears, and routers when quantized
        out.rest.tensors.erase(name);
    reportProgress(walk.progress,
                   {"quantize",
                    "block " + std::to_string(i + 1) + "/" + std::to_string(walk.work.numBlocks()),
                    ++job.step, job.totalSteps});
    return out;
}

// Bytes of the model: quantized linears as packed, the rest in fp16.
void accountSize(const Model& model, const std::vector<QuantizedModel::Block>& blocks,
                 QuantizeResult& r)
{
    uint64_t fpParams = model.headParameters();
    uint64_t packed = 0, quantParams = 0;
    double routedUnused = 0; // bytes of routed experts a token does not read
    const MoeConfig& moe = model.config().moe;
    for (const auto& b : blocks) {
        for (const auto& [key, t] : b.rest.tensors) // norms, biases: everything not quantized
            if (t.defined())
                fpParams += uint64_t(t.numel());
        for (const auto& [name, q] : b.linears) {
            packed += q.bytes();
            quantParams += uint64_t(q.outFeatures) * uint64_t(q.inFeatures);
            const auto& layout = *b.rest.layout;
            if (moe.enabled() && layout.tensor(name).linear && layout.groupOf(name).expert >= 0)
                routedUnused +=
                    double(q.bytes()) * (1.0 - double(moe.expertsPerToken) / double(moe.experts));
        }
    }
    r.packedBytes = packed + 2 * fpParams;
    r.activePackedBytes = r.packedBytes - uint64_t(std::llround(routedUnused));
    r.fp16Bytes = 2 * (fpParams + quantParams);
    r.bitsPerWeight = quantParams ? double(packed) * 8.0 / double(quantParams) : 0.0;
}

} // namespace

QuantizeResult quantizeModel(const Model& model, const std::vector<int32_t>& calibTokens,
                             const QuantizeConfig& config, const ProgressFn& progress)
{
    torch::NoGradGuard noGrad;
    const auto started = Clock::now();
    const Recipe& recipe = config.recipe;
    const auto& c = model.config();
    const std::string source = "recipe " + recipe.name;
    recipe.validate(source);
    checkRecipeFits(recipe, model.architecture(), source);

    QuantizeResult result;
    std::vector<std::unique_ptr<BlockTransform>> transforms;
    for (const auto& step : recipe.transforms)
        transforms.push_back(findBlockTransform(step.method).make(completedParams(step, recipe)));
    const MethodInfo& method = findWeightQuantizer(recipe.weightQuantizer.method);
    auto quantizer = method.make(recipe.weightQuantizer.params);

    HeadTensors head; // stays undefined (read from the checkpoint) without transforms
    Model work = model;
    if (!transforms.empty()) {
        head = model.loadHead();
        for (auto& t : transforms)
            t->prepareHead(head, model, config.seed);
        auto overlay = std::make_shared<WeightOverlay>();
        overlay->embedding = head.embedding;
        overlay->finalNorm = head.finalNorm;
        overlay->lmHead = head.lmHead;
        work = model.withOverlay(overlay);
    }
    Walk walk{work, config, progress, std::move(transforms), result};

    const auto ids = calibrationWindows(calibTokens, config.calibSamples, config.calibSeqlen,
                                        config.seed, config.calibTextPath);
    result.calibTokens = ids.numel();
    for (int64_t i = 0; i < ids.numel(); ++i)
        if (ids.data_ptr<int64_t>()[i] >= c.vocabSize)
            throw Error(config.calibTextPath, "calibration tokens",
                        "token id outside the model's vocabulary (tokenizer and model differ)");
    const auto forward = work.context(config.calibSeqlen);
    long long step = 0;
    // One step per quantized linear and one per finished block.
    long long total = work.numBlocks();
    for (int64_t i = 0; i < work.numBlocks(); ++i)
        total +=
            static_cast<long long>(work.layout(i)->linears.size() +
                                   (recipe.quantizeRouter ? work.layout(i)->routers.size() : 0));
    BlockJob job{work, config, *quantizer, *forward, progress, step, total, method.needsHessian};
    std::vector<QuantizedModel::Block> blocks;
    work.walk(work.embed(ids), *forward, [&](int64_t i, const torch::Tensor& input) {
        torch::Tensor h = input; // (N,T,C) fp32, replaced by the quantized block's output
        blocks.push_back(quantizeBlock(walk, job, i, h));
        return h;
    });
    accountSize(model, blocks, result);
    result.model = std::make_shared<QuantizedModel>(model, std::move(blocks), head);
    result.seconds = secondsSince(started);
    return result;
}

QuantizeResult quantizeModel(const Model& model, const Tokenizer& tokenizer,
                             const QuantizeConfig& config, const ProgressFn& progress)
{
    return quantizeModel(model, tokenizeTextFile(tokenizer, config.calibTextPath), config,
                         progress);
}

} // namespace ptq
