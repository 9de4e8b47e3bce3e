#include "quant/quarot.h"

#include "quant/hadamard.h"

#include "util/error.h"
#include <algorithm>

namespace ptq {

namespace {

const char* const kSource = "quarot transform";

// Distinct, reproducible streams for Q, H_I and H_d from the run and recipe seeds.
uint64_t streamSeed(uint64_t runSeed, uint64_t paramSeed, uint64_t stream)
{
    uint64_t x = runSeed * 0x9e3779b97f4a7c15ULL ^ (paramSeed + 0x632be59bd9b4e019ULL * stream);
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ULL;
    return x ^ (x >> 29);
}

// W (out, in) diag(g): the norm gain moves into the linear that reads the normed input.
torch::Tensor fuseGain(const torch::Tensor& w, const torch::Tensor& g)
{
    return w * g.to(torch::kFloat).unsqueeze(0);
}

// Per head of size d along dim: rows (dim 0) <- R^T rows, or columns (dim 1) <- columns R.
torch::Tensor rotateHeads(const torch::Tensor& w, const torch::Tensor& r, int64_t d, int dim)
{
    if (dim == 0) {
        const int64_t in = w.size(1);
        auto v = w.reshape({-1, d, in});                  // (heads, D, in)
        return torch::matmul(r.t(), v).reshape({-1, in}); // R^T per head
    }
    const int64_t out = w.size(0);
    auto v = w.reshape({out, -1, d}); // (out, heads, D)
    return torch::matmul(v, r).reshape({out, -1});
}

} // namespace

QuarotParams QuarotParams::fromJson(const nlohmann::json& params)
{
    QuarotParams p;
    nlohmann::json rest = params;
    if (rest.is_object() && rest.contains("rotation")) {
        const auto& r = rest["rotation"];
        if (!r.is_string() || (r != "hadamard" && r != "random"))
            throw Error("parameters of transform quarot", "rotation",
                        "expected \"hadamard\" or \"random\", got " + r.dump());
        p.hadamard = r == "hadamard";
        rest.erase("rotation");
    }
    MethodParams reader("quarot", rest);
    const int64_t seed = reader.getInt("seed", 0);
    if (seed < 0)
        throw Error(reader.source(), "seed", "must be non-negative");
    p.seed = static_cast<uint64_t>(seed);
    p.onlineHadamard = reader.getBool("onlineHadamard", p.onlineHadamard);
    p.headRotation = reader.getBool("headRotation", p.headRotation);
    reader.finish();
    return p;
}

QuarotTransform::Rotation QuarotTransform::makeRotation(int64_t n, uint64_t seed,
                                                        const std::string& object)
{
    Rotation r;
    r.matrix = randomRotation(n, seed, m_params.hadamard, object, m_warnings);
    if (m_params.hadamard && hadamardKnown(n))
        r.signs = randomSigns(n, seed); // randomHadamard(n, seed) = H diag(signs) / sqrt(n)
    return r;
}

void QuarotTransform::makeRotations(const std::vector<std::shared_ptr<const BlockLayout>>& layouts,
                                    uint64_t seed)
{
    const BlockLayout& layout = *layouts.front();
    m_warnings.clear();
    m_residual =
        makeRotation(layout.hidden, streamSeed(seed, m_params.seed, 1), "residual rotation");
    m_online.clear();
    uint64_t stream = 2;
    for (const auto& l : layouts) { // inputs in order of first use over the blocks
        for (const auto& g : l->inputGroups) {
            if (!g.onlineRotation || m_online.count(g.input))
                continue;
            const int64_t n = l->tensor(g.linears.front()).shape.at(1);
            m_online[g.input] = makeRotation(n, streamSeed(seed, m_params.seed, stream),
                                             g.input + " input rotation");
            stream = stream == 2 ? 4 : stream + 1; // stream 3 is the head rotation's
        }
    }
    m_head = layout.headDim > 0
                 ? makeRotation(layout.headDim, streamSeed(seed, m_params.seed, 3), "head rotation")
                 : Rotation{};
}

torch::Tensor QuarotTransform::onlineRotation(const std::string& input) const
{
    auto it = m_online.find(input);
    return it == m_online.end() ? torch::Tensor() : it->second.matrix;
}

torch::Tensor QuarotTransform::timesRotation(const torch::Tensor& w, const Rotation& r)
{
    const auto x = w.to(torch::kFloat);
    if (r.signs.defined())
        return fastHadamardTransform(x) * r.signs;
    return torch::matmul(x, r.matrix);
}

torch::Tensor QuarotTransform::rotationTTimes(const Rotation& r, const torch::Tensor& w)
{
    return timesRotation(w.t(), r).t().contiguous();
}

void QuarotTransform::prepareHead(HeadTensors& head, const Model& model, uint64_t seed)
{
    const auto layouts = model.architecture().distinctLayouts();
    const BlockLayout& layout = *layouts.front();
    const int64_t c = layout.hidden, v = model.config().vocabSize;
    const auto names = model.architecture().headNames();
    if (!head.embedding.defined() || head.embedding.sizes() != torch::IntArrayRef({v, c}))
        throw Error(kSource, names.embedding, "expected shape (vocab, hidden)");
    if (!head.finalNorm.defined() || head.finalNorm.sizes() != torch::IntArrayRef({c}))
        throw Error(kSource, names.finalNorm, "expected shape (hidden)");
    if (!head.lmHead.defined())
        head.lmHead = head.embedding; // tied: lm_head starts as the embedding
    if (head.lmHead.sizes() != torch::IntArrayRef({v, c}))
        throw Error(kSource, names.lmHead, "expected shape (vocab, hidden)");
    makeRotations(layouts, seed);
    auto lm = fuseGain(head.lmHead, head.finalNorm);
    head.finalNorm = torch::ones({c});
    head.embedding = timesRotation(head.embedding, m_residual);
    head.lmHead = timesRotation(lm, m_residual);
}

void QuarotTransform::applyToBlock(BlockWeights& w, const BlockContext& ctx,
                                   TransformRecord& record, const ProgressFn& progress)
{
    (void)progress;
    const std::string object = "block " + std::to_string(w.index);
    if (!ctx.model)
        throw Error(kSource, object, "the block context has no model");
    if (!m_residual.matrix.defined())
        throw Error(kSource, object, "prepareHead must run before the first block");
    const BlockLayout& layout = *w.layout;
    const int64_t c = layout.hidden, d = layout.headDim;
    if (m_residual.matrix.size(0) != c || (d > 0 && m_head.matrix.size(0) != d))
        throw Error(kSource, object, "the model's sizes differ from those of prepareHead");

    // The residual stream's readers: fuse each norm gain into the linears it feeds and absorb
    // Q on their input side; its writers absorb Q^T on their output side.
    for (const FoldPoint* f : layout.foldsOf(ArchFeature::NormFold)) {
        auto& norm = w.at(f->producer);
        for (const auto& linear : f->consumers)
            w.at(linear) = timesRotation(fuseGain(w.at(linear), norm), m_residual);
        for (const auto& exact : f->exactConsumers) // routers: rotated, kept in full precision
            w.at(exact) = timesRotation(fuseGain(w.at(exact), norm), m_residual);
        norm = torch::ones({c});
    }
    for (const auto& linear : layout.residualWriters)
        w.at(linear) = rotationTTimes(m_residual, w.at(linear));
    // Values and outputs per head: v rows (and bias) by H_d^T, o columns by H_d.
    for (const FoldPoint* f : layout.foldsOf(ArchFeature::ValueOutputFold)) {
        w.at(f->producer) = rotateHeads(w.at(f->producer), m_head.matrix, d, 0);
        if (auto bias = w.get(f->producerBias); bias.defined())
            w.at(f->producerBias) =
                rotateHeads(bias.to(torch::kFloat).unsqueeze(1), m_head.matrix, d, 0).squeeze(1);
        for (const auto& linear : f->consumers)
            w.at(linear) = rotateHeads(w.at(linear), m_head.matrix, d, 1);
    }

    auto runtime =
        w.runtime ? std::make_shared<BlockRuntime>(*w.runtime) : std::make_shared<BlockRuntime>();
    if (m_params.onlineHadamard) {
        for (const auto& [input, rotation] : m_online) {
            if (!std::any_of(layout.inputGroups.begin(), layout.inputGroups.end(),
                             [&](const InputGroup& g) { return g.input == input; }))
                continue; // an input of another block layout
            for (const auto& linear : layout.groupOf(input).linears)
                w.at(linear) = timesRotation(w.at(linear), rotation);
            runtime->inputRotations[input] = rotation.matrix;
        }
    }
    if (m_params.headRotation && d > 0)
        runtime->headRotation = m_head.matrix;
    w.runtime = runtime;

    for (auto& [name, t] : w.linears())
        *t = t->contiguous();
    record.transform = name();
    record.block = w.index;
    record.values["hidden_rotation_hadamard"] = m_params.hadamard && hadamardKnown(c);
    record.values["online_hadamard"] = m_params.onlineHadamard;
    record.values["head_rotation"] = m_params.headRotation;
    for (const auto& warning : m_warnings)
        record.warnings.push_back(warning);
}

} // namespace ptq
