#include "quant/block_activations.h"

#include "util/error.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace ptq {

namespace {

// Running statistics of one linear input over the token stream.
struct StatsAccumulator {
    torch::Tensor absSum, absMax;
    std::vector<torch::Tensor> rows, sequences;
    int64_t tokens = 0, sequencesKept = 0;

    // x (n,T,in): the next n sequences of the stream.
    void add(const torch::Tensor& x3, int64_t stride, int64_t keepSequences)
    {
        if (keepSequences > sequencesKept) {
            const int64_t take = std::min(x3.size(0), keepSequences - sequencesKept);
            sequences.push_back(x3.narrow(0, 0, take).clone());
            sequencesKept += take;
        }
        const auto x = x3.reshape({-1, x3.size(-1)});
        const int64_t first = tokens;
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

    LinearInputStats finish(int64_t width) const
    {
        LinearInputStats s;
        s.tokens = tokens;
        if (tokens == 0) {
            s.absMean = torch::zeros({width});
            s.absMax = torch::zeros({width});
            s.rows = torch::zeros({0, width});
            return s;
        }
        s.absMean = (absSum / double(std::max<int64_t>(tokens, 1))).to(torch::kFloat);
        s.absMax = absMax;
        s.rows = torch::cat(rows, 0);
        if (!sequences.empty())
            s.sequences = torch::cat(sequences, 0);
        return s;
    }
};

} // namespace

const LinearInputStats& BlockActivations::at(const std::string& input) const
{
    auto it = inputs.find(input);
    if (it == inputs.end())
        throw Error("block activations", input, "no statistics were collected for this input");
    return it->second;
}

double meanSquaredError(const torch::Tensor& a, const torch::Tensor& b)
{
    return (a.to(torch::kDouble) - b.to(torch::kDouble)).pow(2).mean().item<double>();
}

BlockActivations collectBlockActivations(const Model& model, const BlockWeights& w,
                                         const torch::Tensor& inputs, const ForwardContext& ctx,
                                         int64_t maxRows)
{
    torch::NoGradGuard noGrad;
    const int64_t hidden = w.layout->hidden;
    const std::string object = "block " + std::to_string(w.index) + " calibration inputs";
    if (!inputs.defined() || inputs.dim() != 3 || inputs.size(2) != hidden ||
        inputs.scalar_type() != torch::kFloat || inputs.size(0) == 0 || inputs.size(1) == 0)
        throw Error("block activations", object,
                    "expected a non-empty (N,T," + std::to_string(hidden) + ") float32 tensor");
    const int64_t n = inputs.size(0), t = inputs.size(1);
    const int64_t stride =
        std::max<int64_t>(1, (n * t + maxRows - 1) / std::max<int64_t>(maxRows, 1));
    const int64_t keep = std::clamp<int64_t>(maxRows / t, 1, n);
    std::set<std::string> sequenceInputs;
    for (const auto& f : w.layout->folds)
        if (f.sequences)
            sequenceInputs.insert(f.input);

    std::map<std::string, StatsAccumulator> acc;
    for (const auto& g : w.layout->inputGroups)
        acc[g.input];
    for (const auto& r : w.layout->routers) // every token entering an MoE layer
        acc[r];
    LinearObserver observe = [&](const std::string& name, const torch::Tensor& x) {
        auto it = acc.find(name); // each group's input once: under its first linear's name
        if (it != acc.end())
            it->second.add(x, stride, sequenceInputs.count(name) ? keep : 0);
    };
    BlockWeights plain = w.copy();
    if (w.runtime) { // rotations only: statistics are taken in full precision
        auto rt = std::make_shared<BlockRuntime>();
        rt->inputRotations = w.runtime->inputRotations;
        rt->headRotation = w.runtime->headRotation;
        plain.runtime = rt;
    }
    BlockCall call;
    call.observe = &observe;
    BlockActivations out;
    out.output = model.architecture().blockForward(plain, inputs, ctx, call, torch::kFloat);
    for (const auto& g : w.layout->inputGroups)
        out.inputs[g.input] = acc[g.input].finish(w.at(g.input).size(1));
    for (const auto& r : w.layout->routers)
        out.inputs[r] = acc[r].finish(hidden);
    return out;
}

torch::Tensor consumerScale(const FoldPoint& f, const torch::Tensor& s)
{
    if (f.repeat <= 1)
        return s;
    const int64_t d = f.headDim, groups = s.size(0) / d;
    return s.view({groups, 1, d}).expand({groups, f.repeat, d}).reshape({-1});
}

torch::Tensor perProducerChannel(const FoldPoint& f, const torch::Tensor& x)
{
    if (f.repeat <= 1)
        return x;
    const int64_t d = f.headDim;
    return x.view({-1, f.repeat, d}).amax(1).reshape({-1});
}

void foldScale(BlockWeights& w, const FoldPoint& f, const torch::Tensor& s)
{
    auto& producer = w.at(f.producer);
    producer = producer.dim() == 1 ? producer / s : producer / s.unsqueeze(1);
    if (!f.producerBias.empty())
        if (auto it = w.tensors.find(f.producerBias); it != w.tensors.end() && it->second.defined())
            it->second = it->second / s;
    const auto sc = consumerScale(f, s);
    for (const auto& c : f.consumers)
        w.at(c) = w.at(c) * sc;
    for (const auto& c : f.exactConsumers) // routers: the same logits from the scaled input
        w.at(c) = w.at(c) * sc;
}

} // namespace ptq
