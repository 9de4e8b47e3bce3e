#include "model/llama.h"

#include "model/llama_ops.h"
#include "util/error.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>

namespace ptq {

namespace {

// Attention scores of one query chunk stay under this many bytes (fp32), so memory does not
// grow with T^2 * heads; 64 MB gives 256-row chunks at T=2048 with 32 heads.
constexpr int64_t kScoreChunkBytes = 64ll << 20;
// blockForward runs at most this many tokens (whole windows) at once so the MLP
// intermediates (tokens x I) stay bounded however large the caller's batch is.
constexpr int64_t kTokensPerChunk = 4096;

std::string shapeText(const std::vector<int64_t>& shape)
{
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

std::string layerName(int64_t i, const char* suffix)
{
    return "model.layers." + std::to_string(i) + "." + suffix;
}

bool torchTypeOf(DType t, torch::ScalarType& out)
{
    switch (t) {
    case DType::F32:
        out = torch::kFloat;
        return true;
    case DType::F16:
        out = torch::kHalf;
        return true;
    case DType::BF16:
        out = torch::kBFloat16;
        return true;
    default:
        return false;
    }
}

// Copies (and widens to fp32) a tensor stored at p. from_blob needs an element-aligned
// pointer; safetensors does not promise aligned offsets, so unaligned data goes through memcpy.
torch::Tensor tensorFromBytes(const uint8_t* p, torch::ScalarType type,
                              const std::vector<int64_t>& shape)
{
    const auto elem = static_cast<uintptr_t>(c10::elementSize(type));
    torch::Tensor raw;
    if (reinterpret_cast<uintptr_t>(p) % elem == 0) {
        // Read-only use: clone()/to() below only read from the mapping.
        raw = torch::from_blob(const_cast<uint8_t*>(p), shape, torch::TensorOptions(type));
        return type == torch::kFloat ? raw.clone() : raw.to(torch::kFloat);
    }
    raw = torch::empty(shape, torch::TensorOptions(type));
    std::memcpy(raw.data_ptr(), p, static_cast<std::size_t>(raw.numel()) * elem);
    return raw.to(torch::kFloat);
}

} // namespace

struct BlockWeights::ComputeCache {
    std::mutex mutex;
    torch::ScalarType dtype = torch::kFloat;
    std::vector<torch::Tensor> sources;
    std::vector<int64_t> versions;
    std::vector<torch::Tensor> casted;
};

struct LlamaModel::HeadState {
    std::mutex mutex;
    torch::Tensor finalNorm;     // (C)
    torch::Tensor lmHead;        // (V,C) fp32
    torch::Tensor lmHeadCompute; // (V,C) in the compute dtype
};

std::vector<std::pair<std::string, torch::Tensor*>> BlockWeights::linears()
{
    return {{"self_attn.q_proj", &qProj}, {"self_attn.k_proj", &kProj},
            {"self_attn.v_proj", &vProj}, {"self_attn.o_proj", &oProj},
            {"mlp.gate_proj", &gateProj}, {"mlp.up_proj", &upProj},
            {"mlp.down_proj", &downProj}};
}

namespace {

// The seven linears of w in the compute dtype, in BlockWeights::linears() order.
std::vector<torch::Tensor> computeLinears(const BlockWeights& w, torch::ScalarType dtype)
{
    const std::vector<torch::Tensor> src = {w.qProj,    w.kProj,  w.vProj,   w.oProj,
                                            w.gateProj, w.upProj, w.downProj};
    bool allThere = true;
    for (const auto& t : src)
        allThere = allThere && t.scalar_type() == dtype;
    if (allThere)
        return src;
    // Inference tensors carry no version counter, so a cached cast could go stale unseen.
    bool cacheable = true;
    for (const auto& t : src)
        cacheable = cacheable && !t.is_inference();
    if (!cacheable) {
        std::vector<torch::Tensor> out;
        for (const auto& t : src)
            out.push_back(t.to(dtype));
        return out;
    }
    static std::mutex creation; // two threads running the same block must share one cache
    std::shared_ptr<BlockWeights::ComputeCache> cachePtr;
    {
        std::lock_guard<std::mutex> lock(creation);
        if (!w.computeCache)
            w.computeCache = std::make_shared<BlockWeights::ComputeCache>();
        cachePtr = w.computeCache;
    }
    auto& cache = *cachePtr;
    std::lock_guard<std::mutex> lock(cache.mutex);
    bool valid = cache.dtype == dtype && cache.sources.size() == src.size();
    for (std::size_t i = 0; valid && i < src.size(); ++i)
        valid = cache.sources[i].is_same(src[i]) && cache.versions[i] == src[i]._version();
    if (!valid) {
        cache.dtype = dtype;
        cache.sources = src;
        cache.versions.clear();
        cache.casted.clear();
        for (const auto& t : src) {
            cache.versions.push_back(t._version());
            cache.casted.push_back(t.to(dtype).contiguous());
        }
    }
    return cache.casted;
}

// The optional per-call behaviour of blockForward: the block's runtime hooks and the
// observer. active() is false on the plain path, which then runs exactly as without them.
struct Hooks {
    const BlockRuntime* runtime = nullptr;
    const LinearObserver* observe = nullptr;

    bool active() const { return runtime || observe; }

    // x (..., in) fp32 -> the input the linear(s) `names` see, observed, in the compute dtype.
    torch::Tensor linearInput(std::initializer_list<const char*> names, torch::Tensor x,
                              torch::ScalarType dtype) const
    {
        if (runtime && runtime->linearInput)
            x = runtime->linearInput(*names.begin(), x);
        if (observe)
            for (const char* n : names)
                (*observe)(n, x);
        return x.to(dtype);
    }

    // (B,T,N,D) fp32 keys or values -> the cache hook's result, same layout.
    static torch::Tensor cache(const std::function<torch::Tensor(const torch::Tensor&)>& hook,
                               const torch::Tensor& x)
    {
        if (!hook)
            return x;
        return hook(x.permute({0, 2, 1, 3}).contiguous()).permute({0, 2, 1, 3});
    }
};

// Attention of one chunk of whole sequences. x (B,T,C) in the compute dtype -> (B,T,H*D).
torch::Tensor attention(const ModelConfig& cfg, const BlockWeights& w,
                        const std::vector<torch::Tensor>& lin, const torch::Tensor& x,
                        const RopeTables& rope, torch::ScalarType dtype, const Hooks& hooks)
{
    const int64_t b = x.size(0), t = x.size(1);
    const int64_t heads = cfg.numHeads, kvHeads = cfg.numKvHeads, d = cfg.headDim;
    const int64_t rep = heads / kvHeads;

    auto project = [&](int idx, const torch::Tensor& bias, int64_t n) {
        auto y = torch::linear(x, lin[idx]).to(torch::kFloat);
        if (bias.defined())
            y.add_(bias);
        return y.view({b, t, n, d}); // (B,T,N,D) fp32
    };
    auto q = llama::applyRope(project(0, w.qBias, heads), rope);
    auto k = llama::applyRope(project(1, w.kBias, kvHeads), rope);
    auto v = project(2, w.vBias, kvHeads);
    if (const BlockRuntime* rt = hooks.runtime) {
        if (rt->headRotation.defined()) {
            q = torch::matmul(q, rt->headRotation);
            k = torch::matmul(k, rt->headRotation);
        }
        k = Hooks::cache(rt->keyCache, k);
        v = Hooks::cache(rt->valueCache, v);
    }

    // Grouped-query layout: query head h = kv * rep + r uses kv head h / rep (HF repeat_kv),
    // so the rep query heads of one kv head become extra rows of one matmul and k/v are
    // never repeated in memory. Scale folded into q.
    q.mul_(1.0 / std::sqrt(static_cast<double>(d)));
    auto qg = q.view({b, t, kvHeads, rep, d}).permute({0, 2, 3, 1, 4}).to(dtype).contiguous();
    auto kt = k.permute({0, 2, 1, 3}).to(dtype).contiguous(); // (B,KV,T,D)
    auto vt = v.permute({0, 2, 1, 3}).to(dtype).contiguous(); // (B,KV,T,D)

    auto out = torch::empty({b, t, kvHeads, rep, d}, x.options());
    const int64_t rowBytes = b * heads * t * 4;
    const int64_t chunk =
        std::clamp<int64_t>(kScoreChunkBytes / std::max<int64_t>(rowBytes, 1), 16, t);
    const int64_t window = cfg.slidingWindow;
    for (int64_t q0 = 0; q0 < t; q0 += chunk) {
        const int64_t tc = std::min(chunk, t - q0);
        const int64_t kEnd = q0 + tc; // causal: nothing past the chunk's last query
        const int64_t kBegin = window > 0 ? std::max<int64_t>(0, q0 - window + 1) : 0;
        const int64_t tk = kEnd - kBegin;
        auto qc = qg.narrow(3, q0, tc).reshape({b * kvHeads, rep * tc, d});
        auto kc = kt.narrow(2, kBegin, tk).reshape({b * kvHeads, tk, d});
        auto vc = vt.narrow(2, kBegin, tk).reshape({b * kvHeads, tk, d});
        // Scores stay in the compute dtype: libtorch's CPU softmax on bf16 input accumulates
        // in fp32 and rounds once, bit-identical to softmax(scores.float()).bfloat16() (checked
        // on 16M random scores) at a third of the time, and p.v needs bf16 probabilities.
        auto scores = torch::matmul(qc, kc.transpose(1, 2)).view({b * kvHeads, rep, tc, tk});
        scores.masked_fill_(llama::blockedMask(q0, tc, kBegin, tk, window),
                            -std::numeric_limits<float>::infinity());
        auto probs = torch::softmax(scores, -1).view({b * kvHeads, rep * tc, tk});
        auto o = torch::matmul(probs, vc).view({b, kvHeads, rep, tc, d});
        out.narrow(1, q0, tc).copy_(o.permute({0, 3, 1, 2, 4}));
    }
    return out.view({b, t, heads * d});
}

// blockChunk with runtime hooks or an observer: every linear input passes through fp32.
torch::Tensor hookedBlockChunk(const ModelConfig& cfg, const BlockWeights& w,
                               const std::vector<torch::Tensor>& lin, const torch::Tensor& h,
                               const RopeTables& rope, torch::ScalarType dtype, const Hooks& hooks)
{
    const double eps = cfg.rmsNormEps;
    auto x = hooks.linearInput({"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"},
                               llama::rmsNorm(h, w.inputNorm, eps), dtype);
    auto attn = attention(cfg, w, lin, x, rope, dtype, hooks).to(torch::kFloat);
    attn = hooks.linearInput({"self_attn.o_proj"}, attn, dtype);
    auto h1 = h + torch::linear(attn, lin[3]).to(torch::kFloat);
    auto x2 = hooks.linearInput({"mlp.gate_proj", "mlp.up_proj"},
                                llama::rmsNorm(h1, w.postNorm, eps), dtype);
    auto act = torch::linear(x2, lin[4]);
    torch::silu_(act).mul_(torch::linear(x2, lin[5]));
    auto down = act.to(torch::kFloat);
    if (hooks.runtime && hooks.runtime->downInputRotation.defined())
        down = torch::matmul(down, hooks.runtime->downInputRotation);
    down = hooks.linearInput({"mlp.down_proj"}, down, dtype);
    h1.add_(torch::linear(down, lin[6]).to(torch::kFloat));
    return h1;
}

torch::Tensor blockChunk(const ModelConfig& cfg, const BlockWeights& w,
                         const std::vector<torch::Tensor>& lin, const torch::Tensor& h,
                         const RopeTables& rope, torch::ScalarType dtype, const Hooks& hooks)
{
    if (hooks.active())
        return hookedBlockChunk(cfg, w, lin, h, rope, dtype, hooks);
    const double eps = cfg.rmsNormEps;
    auto x = llama::rmsNorm(h, w.inputNorm, eps).to(dtype);
    auto attn = attention(cfg, w, lin, x, rope, dtype, hooks);
    auto h1 = h + torch::linear(attn, lin[3]).to(torch::kFloat); // residual in fp32
    auto x2 = llama::rmsNorm(h1, w.postNorm, eps).to(dtype);
    auto act = torch::linear(x2, lin[4]);
    torch::silu_(act).mul_(torch::linear(x2, lin[5]));
    h1.add_(torch::linear(act, lin[6]).to(torch::kFloat));
    return h1;
}

} // namespace

LlamaModel::LlamaModel(std::shared_ptr<const Checkpoint> checkpoint, ForwardOptions options)
    : m_checkpoint(std::move(checkpoint)), m_options(options), m_head(std::make_shared<HeadState>())
{
    if (!m_checkpoint)
        throw Error("", "checkpoint", "no checkpoint given to the model");
    validateConfig();
}

std::string LlamaModel::configPath() const
{
    return m_checkpoint->dir() + "/config.json";
}

void LlamaModel::validateConfig() const
{
    const auto& c = config();
    const std::string file = configPath();
    auto positive = [&](int64_t v, const char* key) {
        if (v <= 0)
            throw Error(file, key, "must be positive, got " + std::to_string(v));
    };
    positive(c.vocabSize, "vocab_size");
    positive(c.hiddenSize, "hidden_size");
    positive(c.intermediateSize, "intermediate_size");
    positive(c.numHeads, "num_attention_heads");
    positive(c.numKvHeads, "num_key_value_heads");
    positive(c.headDim, "head_dim");
    if (c.numLayers < 0)
        throw Error(file, "num_hidden_layers", "must not be negative");
    if (c.numHeads % c.numKvHeads != 0)
        throw Error(file, "num_key_value_heads",
                    std::to_string(c.numKvHeads) + " does not divide num_attention_heads " +
                        std::to_string(c.numHeads));
    if (c.headDim % 2 != 0)
        throw Error(file, "head_dim",
                    "RoPE needs an even head dimension, got " + std::to_string(c.headDim));
    const auto& type = c.ropeScaling.type;
    if (!type.empty() && type != "default" && type != "linear" && type != "llama3")
        throw Error(file, "rope_scaling.rope_type", "unsupported RoPE scaling '" + type + "'");
    if (!type.empty() && type != "default" && !(c.ropeScaling.factor > 0))
        throw Error(file, "rope_scaling.factor", "must be positive");
    const auto dt = m_options.computeDtype;
    if (dt != torch::kFloat && dt != torch::kBFloat16)
        throw Error(m_checkpoint->dir(), "compute dtype",
                    std::string("unsupported: ") + c10::toString(dt) +
                        " (float32 or bfloat16 only)");
}

const TensorInfo& LlamaModel::checkedInfo(const std::string& name,
                                          const std::vector<int64_t>& shape) const
{
    if (!m_checkpoint->has(name))
        throw Error(m_checkpoint->dir(), name, "tensor missing from the checkpoint");
    const TensorInfo& info = m_checkpoint->info(name);
    const std::string& file = m_checkpoint->fileOf(name).path();
    if (info.shape != shape)
        throw Error(file, name,
                    "shape " + shapeText(info.shape) + ", expected " + shapeText(shape) +
                        " from config.json");
    torch::ScalarType type;
    if (!torchTypeOf(info.dtype, type))
        throw Error(file, name,
                    std::string("unsupported dtype ") + dtypeName(info.dtype) +
                        " (F32, F16 or BF16 expected)");
    return info;
}

torch::Tensor LlamaModel::loadTensor(const std::string& name,
                                     const std::vector<int64_t>& shape) const
{
    const TensorInfo& info = checkedInfo(name, shape);
    torch::ScalarType type = torch::kFloat;
    torchTypeOf(info.dtype, type);
    return tensorFromBytes(m_checkpoint->fileOf(name).data(info), type, shape);
}

torch::Tensor LlamaModel::embed(const torch::Tensor& ids) const
{
    const auto& c = config();
    if (ids.dim() != 2 || !c10::isIntegralType(ids.scalar_type(), false))
        throw Error(m_checkpoint->dir(), "input ids", "expected a (B,T) integer tensor");
    if (m_overlay && m_overlay->embedding.defined()) {
        auto flat = ids.to(torch::kLong).reshape({-1});
        if (flat.numel() > 0 &&
            (flat.min().item<int64_t>() < 0 || flat.max().item<int64_t>() >= c.vocabSize))
            throw Error(m_checkpoint->dir(), "input ids",
                        "token id outside the vocabulary of " + std::to_string(c.vocabSize));
        return m_overlay->embedding.index_select(0, flat)
            .to(torch::kFloat)
            .view({ids.size(0), ids.size(1), c.hiddenSize});
    }
    const std::string name = "model.embed_tokens.weight";
    const TensorInfo& info = checkedInfo(name, {c.vocabSize, c.hiddenSize});
    torch::ScalarType type = torch::kFloat;
    torchTypeOf(info.dtype, type);

    auto flat = ids.to(torch::kLong).contiguous().view(-1);
    const int64_t n = flat.numel();
    const int64_t* id = flat.data_ptr<int64_t>();
    // Only the rows in use are copied out of the mapping: a 128k x 4096 table stays on disk.
    const std::size_t rowBytes = static_cast<std::size_t>(c.hiddenSize) * dtypeSize(info.dtype);
    const uint8_t* base = m_checkpoint->fileOf(name).data(info);
    auto rows = torch::empty({n, c.hiddenSize}, torch::TensorOptions(type));
    auto* dst = static_cast<uint8_t*>(rows.data_ptr());
    for (int64_t i = 0; i < n; ++i) {
        if (id[i] < 0 || id[i] >= c.vocabSize)
            throw Error(m_checkpoint->dir(), "input ids",
                        "token id " + std::to_string(id[i]) + " outside the vocabulary of " +
                            std::to_string(c.vocabSize));
        std::memcpy(dst + i * rowBytes, base + id[i] * rowBytes, rowBytes);
    }
    return rows.to(torch::kFloat).view({ids.size(0), ids.size(1), c.hiddenSize});
}

BlockWeights LlamaModel::loadBlock(int64_t i) const
{
    const auto& c = config();
    if (i < 0 || i >= c.numLayers)
        throw Error(m_checkpoint->dir(), "block " + std::to_string(i),
                    "outside [0, " + std::to_string(c.numLayers) + ")");
    if (m_overlay && m_overlay->block)
        return m_overlay->block(i);
    const int64_t hidden = c.hiddenSize, q = c.numHeads * c.headDim;
    const int64_t kv = c.numKvHeads * c.headDim, inter = c.intermediateSize;
    auto load = [&](const char* suffix, std::vector<int64_t> shape) {
        return loadTensor(layerName(i, suffix), shape);
    };
    BlockWeights w;
    w.index = i;
    w.inputNorm = load("input_layernorm.weight", {hidden});
    w.qProj = load("self_attn.q_proj.weight", {q, hidden});
    w.kProj = load("self_attn.k_proj.weight", {kv, hidden});
    w.vProj = load("self_attn.v_proj.weight", {kv, hidden});
    w.oProj = load("self_attn.o_proj.weight", {hidden, q});
    if (c.attentionBias) {
        w.qBias = load("self_attn.q_proj.bias", {q});
        w.kBias = load("self_attn.k_proj.bias", {kv});
        w.vBias = load("self_attn.v_proj.bias", {kv});
    }
    w.postNorm = load("post_attention_layernorm.weight", {hidden});
    w.gateProj = load("mlp.gate_proj.weight", {inter, hidden});
    w.upProj = load("mlp.up_proj.weight", {inter, hidden});
    w.downProj = load("mlp.down_proj.weight", {hidden, inter});
    return w;
}

RopeTables LlamaModel::rope(int64_t seqlen) const
{
    return llama::ropeTables(config(), seqlen);
}

torch::Tensor LlamaModel::blockForward(const BlockWeights& w, const torch::Tensor& h,
                                       const RopeTables& rope, const LinearObserver& observe) const
{
    torch::NoGradGuard noGrad;
    const auto& c = config();
    if (h.dim() != 3 || h.size(2) != c.hiddenSize || h.scalar_type() != torch::kFloat)
        throw Error(m_checkpoint->dir(), "block " + std::to_string(w.index),
                    "hidden states must be (B,T," + std::to_string(c.hiddenSize) + ") float32");
    const int64_t b = h.size(0), t = h.size(1);
    if (!rope.cos.defined() || rope.cos.size(0) < t || rope.cos.size(1) != c.headDim)
        throw Error(m_checkpoint->dir(), "rope tables", "shorter than the sequence");
    const auto dtype = m_options.computeDtype;
    const auto lin = computeLinears(w, dtype);
    Hooks hooks;
    hooks.runtime = w.runtime.get();
    hooks.observe = observe ? &observe : nullptr;
    if (hooks.runtime) {
        const int64_t d = c.headDim, inter = c.intermediateSize;
        const auto& r = *hooks.runtime;
        if (r.headRotation.defined() && r.headRotation.sizes() != torch::IntArrayRef{d, d})
            throw Error(m_checkpoint->dir(), "block " + std::to_string(w.index),
                        "runtime head rotation must be (head_dim, head_dim)");
        if (r.downInputRotation.defined() &&
            r.downInputRotation.sizes() != torch::IntArrayRef{inter, inter})
            throw Error(m_checkpoint->dir(), "block " + std::to_string(w.index),
                        "runtime down_proj rotation must be (intermediate, intermediate)");
    }
    const int64_t windows = std::max<int64_t>(1, kTokensPerChunk / std::max<int64_t>(t, 1));
    if (b <= windows)
        return blockChunk(c, w, lin, h, rope, dtype, hooks);
    auto out = torch::empty_like(h);
    for (int64_t b0 = 0; b0 < b; b0 += windows) {
        const int64_t n = std::min(windows, b - b0);
        out.narrow(0, b0, n).copy_(blockChunk(c, w, lin, h.narrow(0, b0, n), rope, dtype, hooks));
    }
    return out;
}

LlamaModel LlamaModel::withOverlay(std::shared_ptr<const WeightOverlay> overlay) const
{
    const auto& c = config();
    if (overlay) {
        auto check = [&](const torch::Tensor& t, std::vector<int64_t> shape, const char* what) {
            if (t.defined() && t.sizes() != torch::IntArrayRef(shape))
                throw Error(m_checkpoint->dir(), what,
                            "overlay tensor has shape " + shapeText(t.sizes().vec()) +
                                ", expected " + shapeText(shape));
        };
        check(overlay->embedding, {c.vocabSize, c.hiddenSize}, "overlay embedding");
        check(overlay->finalNorm, {c.hiddenSize}, "overlay final norm");
        check(overlay->lmHead, {c.vocabSize, c.hiddenSize}, "overlay lm_head");
    }
    LlamaModel copy(m_checkpoint, m_options);
    copy.m_overlay = std::move(overlay);
    return copy;
}

const LlamaModel::HeadState& LlamaModel::head() const
{
    std::lock_guard<std::mutex> lock(m_head->mutex);
    if (!m_head->lmHead.defined()) {
        const auto& c = config();
        // Tied models reuse the embedding (as transformers does, even when a copy is stored
        // as lm_head); an untied model without lm_head.weight is reported as incomplete.
        const std::string name =
            c.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
        const WeightOverlay* o = m_overlay.get();
        m_head->finalNorm = o && o->finalNorm.defined()
                                ? o->finalNorm.to(torch::kFloat)
                                : loadTensor("model.norm.weight", {c.hiddenSize});
        m_head->lmHead = o && o->lmHead.defined() ? o->lmHead.to(torch::kFloat)
                                                  : loadTensor(name, {c.vocabSize, c.hiddenSize});
        m_head->lmHeadCompute = m_head->lmHead.to(m_options.computeDtype);
    }
    return *m_head;
}

torch::Tensor LlamaModel::finalNorm(const torch::Tensor& h) const
{
    torch::NoGradGuard noGrad;
    return llama::rmsNorm(h, head().finalNorm, config().rmsNormEps);
}

torch::Tensor LlamaModel::lmHead(const torch::Tensor& h) const
{
    torch::NoGradGuard noGrad;
    const auto& weight = head().lmHeadCompute;
    return torch::linear(h.to(m_options.computeDtype), weight).to(torch::kFloat);
}

torch::Tensor LlamaModel::forward(const torch::Tensor& ids) const
{
    torch::NoGradGuard noGrad;
    auto h = embed(ids);
    const auto tables = rope(ids.size(1));
    for (int64_t i = 0; i < numBlocks(); ++i)
        h = blockForward(loadBlock(i), h, tables);
    return lmHead(finalNorm(h));
}

} // namespace ptq
