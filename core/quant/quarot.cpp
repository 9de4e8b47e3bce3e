#include "quant/quarot.h"

#include "quant/hadamard.h"
#include "util/error.h"

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

void QuarotTransform::makeRotations(const ModelConfig& config, uint64_t seed)
{
    m_warnings.clear();
    m_residual =
        makeRotation(config.hiddenSize, streamSeed(seed, m_params.seed, 1), "residual rotation");
    m_mlp = makeRotation(config.intermediateSize, streamSeed(seed, m_params.seed, 2),
                         "down_proj input rotation");
    m_head = makeRotation(config.headDim, streamSeed(seed, m_params.seed, 3), "head rotation");
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

void QuarotTransform::prepareHead(HeadTensors& head, const ModelConfig& config, uint64_t seed)
{
    const int64_t c = config.hiddenSize, v = config.vocabSize;
    if (!head.embedding.defined() || head.embedding.sizes() != torch::IntArrayRef({v, c}))
        throw Error(kSource, "model.embed_tokens.weight", "expected shape (vocab, hidden)");
    if (!head.finalNorm.defined() || head.finalNorm.sizes() != torch::IntArrayRef({c}))
        throw Error(kSource, "model.norm.weight", "expected shape (hidden)");
    if (!head.lmHead.defined())
        head.lmHead = head.embedding; // tied: lm_head starts as the embedding
    if (head.lmHead.sizes() != torch::IntArrayRef({v, c}))
        throw Error(kSource, "lm_head.weight", "expected shape (vocab, hidden)");
    makeRotations(config, seed);
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
    const ModelConfig& cfg = ctx.model->config();
    const int64_t c = cfg.hiddenSize, d = cfg.headDim;
    if (m_residual.matrix.size(0) != c || m_mlp.matrix.size(0) != cfg.intermediateSize ||
        m_head.matrix.size(0) != d)
        throw Error(kSource, object, "the model's sizes differ from those of prepareHead");

    // Attention: fuse the input norm, absorb Q on the input side of q/k/v and the output
    // side of o_proj, then rotate v (output side, bias included) and o (input side) per head.
    for (torch::Tensor* t : {&w.qProj, &w.kProj, &w.vProj})
        *t = timesRotation(fuseGain(*t, w.inputNorm), m_residual);
    w.inputNorm = torch::ones({c});
    w.oProj = rotationTTimes(m_residual, w.oProj);
    w.vProj = rotateHeads(w.vProj, m_head.matrix, d, 0);
    if (w.vBias.defined())
        w.vBias =
            rotateHeads(w.vBias.to(torch::kFloat).unsqueeze(1), m_head.matrix, d, 0).squeeze(1);
    w.oProj = rotateHeads(w.oProj, m_head.matrix, d, 1);

    // MLP: fuse the post-attention norm, absorb Q, and H_I into down_proj's input.
    for (torch::Tensor* t : {&w.gateProj, &w.upProj})
        *t = timesRotation(fuseGain(*t, w.postNorm), m_residual);
    w.postNorm = torch::ones({c});
    w.downProj = rotationTTimes(m_residual, w.downProj);

    auto runtime =
        w.runtime ? std::make_shared<BlockRuntime>(*w.runtime) : std::make_shared<BlockRuntime>();
    if (m_params.onlineHadamard) {
        w.downProj = timesRotation(w.downProj, m_mlp);
        runtime->downInputRotation = m_mlp.matrix;
    }
    if (m_params.headRotation)
        runtime->headRotation = m_head.matrix;
    w.runtime = runtime;

    for (auto* t : {&w.qProj, &w.kProj, &w.vProj, &w.oProj, &w.gateProj, &w.upProj, &w.downProj})
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
