#include "model/llama.h"

#include "model/config_reader.h"
#include "util/error.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ptq {

namespace {

// Attention scores of one query chunk stay under this many bytes (fp32), so memory does not
// grow with T^2 * heads; 64 MB gives 256-row chunks at T=2048 with 32 heads.
constexpr int64_t kScoreChunkBytes = 64ll << 20;
// The forward runs at most this many tokens (whole windows) at once so the MLP
// intermediates (tokens x I) stay bounded however large the caller's batch is.
constexpr int64_t kTokensPerChunk = 4096;

// Indices of the attention linears in BlockLayout::linears (and BlockWeights::computeLinears):
// every row built on llamaAttentionLayout starts with them.
enum Linear { Q, K, V, O };

const SwiGluKeys kDenseMlp{"mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"};

// Inference attention of whole sequences: x (B,T,C) in the compute dtype -> (B,T,H*D) in the
// compute dtype. Query rows run in chunks so the scores stay bounded.
torch::Tensor chunkedAttention(const ModelConfig& cfg, const BlockWeights& w,
                               const std::vector<torch::Tensor>& lin, const torch::Tensor& x,
                               const RopeTables& rope, torch::ScalarType dtype,
                               const BlockHooks& hooks)
{
    const int64_t b = x.size(0), t = x.size(1);
    const int64_t heads = cfg.numHeads, kvHeads = cfg.numKvHeads, d = cfg.headDim;
    const int64_t rep = heads / kvHeads;

    auto project = [&](int idx, const char* bias, int64_t n) {
        auto y = torch::linear(x, lin[idx]).to(torch::kFloat);
        if (auto bt = w.get(bias); bt.defined())
            y.add_(bt);
        return y.view({b, t, n, d}); // (B,T,N,D) fp32
    };
    auto q = llama::applyRope(project(Q, "self_attn.q_proj.bias", heads), rope);
    auto k = llama::applyRope(project(K, "self_attn.k_proj.bias", kvHeads), rope);
    auto v = project(V, "self_attn.v_proj.bias", kvHeads);
    if (const BlockRuntime* rt = hooks.runtime) {
        if (rt->headRotation.defined()) {
            q = torch::matmul(q, rt->headRotation);
            k = torch::matmul(k, rt->headRotation);
        }
        k = BlockHooks::cache(rt->keyCache, k);
        v = BlockHooks::cache(rt->valueCache, v);
    }

    // Grouped-query layout: query head h = kv * rep + r uses kv head h / rep (HF repeat_kv),
    // so the rep query heads of one kv head become extra rows of one matmul and k/v are
    // never repeated in memory. Scale folded into q.
    q.mul_(1.0 / std::sqrt(static_cast<double>(d)));
    auto qg = q.view({b, t, kvHeads, rep, d}).permute({0, 2, 3, 1, 4}).to(dtype).contiguous();
    auto kt = k.permute({0, 2, 1, 3}).to(dtype).contiguous(); // (B,KV,T,D)
    auto vt = v.permute({0, 2, 1, 3}).to(dtype).contiguous(); // (B,KV,T,D)

    auto out = torch::empty({b, t, kvHeads, rep, d}, x.options().dtype(dtype));
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

// The attention of the autograd forward: fp32, differentiable (llama_ops).
torch::Tensor autogradAttention(const ModelConfig& cfg, const BlockWeights& w,
                                const std::vector<torch::Tensor>& lin, const torch::Tensor& x,
                                const RopeTables& rope, const BlockHooks& hooks)
{
    llama::QkvHooks qkv;
    if (const BlockRuntime* rt = hooks.runtime) {
        qkv.headRotation = rt->headRotation;
        qkv.key = rt->keyCache;
        qkv.value = rt->valueCache;
    }
    const auto qb = w.get("self_attn.q_proj.bias"), kb = w.get("self_attn.k_proj.bias"),
               vb = w.get("self_attn.v_proj.bias");
    return llama::causalAttention(cfg, {lin[Q], qb, lin[K], kb, lin[V], vb}, x, rope, qkv);
}

using Json = nlohmann::json;

RopeScaling readRopeScaling(const ConfigReader& root)
{
    RopeScaling rs;
    const auto nested = root.nested("rope_scaling");
    if (!nested)
        return rs;
    const ConfigReader& r = *nested;
    // Newer configs spell it "rope_type", older ones "type".
    const std::string type = r.has("rope_type") ? r.string("rope_type", "") : r.string("type", "");
    if (type == "default" || type.empty())
        return rs; // transformers treats "default" as unscaled RoPE
    if (type != "linear" && type != "llama3")
        root.fail("rope_scaling",
                  "unsupported rope_scaling type '" + type + "' (supported: linear, llama3)");
    rs.type = type;
    rs.factor = r.number("factor");
    if (!std::isfinite(rs.factor) || rs.factor < 1.0)
        r.fail("factor", "must be a finite number >= 1");
    if (type == "llama3") {
        rs.lowFreqFactor = r.finitePositive("low_freq_factor", std::nan(""));
        rs.highFreqFactor = r.finitePositive("high_freq_factor", std::nan(""));
        if (std::isnan(rs.lowFreqFactor))
            r.fail("low_freq_factor", "missing required key");
        if (std::isnan(rs.highFreqFactor))
            r.fail("high_freq_factor", "missing required key");
        // The smoothing ramp divides by (high - low).
        if (!(rs.highFreqFactor > rs.lowFreqFactor))
            r.fail("high_freq_factor", "must be greater than low_freq_factor");
        rs.originalMaxPositionEmbeddings = r.positive("original_max_position_embeddings");
    }
    return rs;
}

void readAttention(const ConfigReader& r, ModelConfig& c)
{
    c.numHeads = r.positive("num_attention_heads");
    c.numKvHeads = r.positive("num_key_value_heads", c.numHeads);
    if (r.has("head_dim")) {
        c.headDim = r.positive("head_dim");
    } else {
        if (c.hiddenSize % c.numHeads != 0)
            r.fail("num_attention_heads", "hidden_size " + std::to_string(c.hiddenSize) +
                                              " is not divisible by num_attention_heads " +
                                              std::to_string(c.numHeads));
        c.headDim = c.hiddenSize / c.numHeads;
    }
    if (c.numHeads % c.numKvHeads != 0)
        r.fail("num_key_value_heads", "num_attention_heads " + std::to_string(c.numHeads) +
                                          " is not divisible by num_key_value_heads " +
                                          std::to_string(c.numKvHeads));
    // RoPE rotates pairs of channels.
    if (c.headDim % 2 != 0)
        r.fail("head_dim", "head dimension " + std::to_string(c.headDim) + " must be even");
}

void readFamilyKeys(const ConfigReader& r, ModelConfig& c)
{
    if (c.modelType == "llama" || c.modelType == "deepseek") {
        c.attentionBias = r.boolean("attention_bias", false);
        // An MLP bias or another activation would run without error and give wrong numbers.
        if (r.boolean("mlp_bias", false))
            r.fail("mlp_bias", "MLP biases are not supported");
    } else if (c.modelType == "qwen2" || c.modelType == "qwen2_moe") {
        c.attentionBias = true;
        if (r.boolean("use_sliding_window", false))
            c.slidingWindow = r.positive("sliding_window");
    } else { // mistral, mixtral
        c.attentionBias = false;
        c.slidingWindow = r.positive("sliding_window", 0);
    }
    const std::string act = r.string("hidden_act", "silu");
    if (act != "silu")
        r.fail("hidden_act", "unsupported activation '" + act + "' (supported: silu)");
}

} // namespace

std::shared_ptr<BlockLayout> llamaAttentionLayout(const ModelConfig& c)
{
    auto l = std::make_shared<BlockLayout>();
    const int64_t hidden = c.hiddenSize, q = c.numHeads * c.headDim, kv = c.numKvHeads * c.headDim;
    auto add = [&](const std::string& key, std::vector<int64_t> shape, bool linear) {
        const bool bias = key.size() > 5 && key.compare(key.size() - 5, 5, ".bias") == 0;
        l->tensors.push_back({key, bias ? key : key + ".weight", std::move(shape), linear});
    };
    add("input_layernorm", {hidden}, false);
    add("self_attn.q_proj", {q, hidden}, true);
    add("self_attn.k_proj", {kv, hidden}, true);
    add("self_attn.v_proj", {kv, hidden}, true);
    add("self_attn.o_proj", {hidden, q}, true);
    if (c.attentionBias) {
        add("self_attn.q_proj.bias", {q}, false);
        add("self_attn.k_proj.bias", {kv}, false);
        add("self_attn.v_proj.bias", {kv}, false);
    }
    add("post_attention_layernorm", {hidden}, false);
    l->linears = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj"};
    l->inputGroups.resize(2);
    l->inputGroups[0].input = "self_attn.q_proj";
    l->inputGroups[0].linears = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"};
    l->inputGroups[1].input = "self_attn.o_proj";
    l->inputGroups[1].linears = {"self_attn.o_proj"};
    l->folds = {{"attn_qkv",
                 ArchFeature::NormFold,
                 "input_layernorm",
                 "",
                 {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"},
                 {},
                 "self_attn.q_proj",
                 "self_attn",
                 true},
                {"v_o",
                 ArchFeature::ValueOutputFold,
                 "self_attn.v_proj",
                 c.attentionBias ? "self_attn.v_proj.bias" : "",
                 {"self_attn.o_proj"},
                 {},
                 "self_attn.o_proj",
                 "self_attn.o_proj",
                 false,
                 c.headDim,
                 c.numHeads / c.numKvHeads}};
    l->residualWriters = {"self_attn.o_proj"};
    l->attentionScoreLinears = {"self_attn.q_proj", "self_attn.k_proj"};
    l->hidden = hidden;
    l->attnHeads = c.numHeads;
    l->kvHeads = c.numKvHeads;
    l->headDim = c.headDim;
    return l;
}

void addSwiGlu(BlockLayout& l, const SwiGluKeys& k, int64_t inter, const std::string& foldName,
               int64_t expert, const std::string& pass)
{
    const int64_t hidden = l.hidden;
    l.tensors.push_back({k.gate, k.gate + ".weight", {inter, hidden}, true});
    l.tensors.push_back({k.up, k.up + ".weight", {inter, hidden}, true});
    l.tensors.push_back({k.down, k.down + ".weight", {hidden, inter}, true});
    for (const auto& n : {k.gate, k.up, k.down})
        l.linears.push_back(n);
    const bool routed = expert >= 0;
    InputGroup in{k.gate, {k.gate, k.up}, false, routed, expert, pass.empty() ? "" : pass + "_in"};
    InputGroup down{k.down, {k.down}, true, routed, expert, pass.empty() ? "" : pass + "_down"};
    l.inputGroups.push_back(std::move(in));
    l.inputGroups.push_back(std::move(down));
    l.folds.push_back(
        {foldName, ArchFeature::UpDownFold, k.up, "", {k.down}, {}, k.down, k.down, false});
    l.residualWriters.push_back(k.down);
}

std::shared_ptr<const BlockLayout> llamaDenseLayout(const ModelConfig& c)
{
    auto l = llamaAttentionLayout(c);
    l->folds.push_back({"mlp_gate_up",
                        ArchFeature::NormFold,
                        "post_attention_layernorm",
                        "",
                        {"mlp.gate_proj", "mlp.up_proj"},
                        {},
                        "mlp.gate_proj",
                        "mlp",
                        false});
    addSwiGlu(*l, kDenseMlp, c.intermediateSize, "up_down");
    return l;
}

torch::Tensor swiGluForward(const BlockLayout& l, const SwiGluKeys& k,
                            const std::vector<torch::Tensor>& lin, const torch::Tensor& x,
                            torch::ScalarType dtype, const BlockHooks& hooks, bool autograd)
{
    const auto& gate = lin[linearIndex(l, k.gate)];
    const auto& up = lin[linearIndex(l, k.up)];
    const auto& down = lin[linearIndex(l, k.down)];
    auto x2 = hooks.input(l.groupOf(k.gate), x, dtype);
    torch::Tensor act;
    if (autograd) {
        act = torch::silu(torch::linear(x2, gate)) * torch::linear(x2, up);
    } else {
        act = torch::linear(x2, gate);
        torch::silu_(act).mul_(torch::linear(x2, up));
    }
    return torch::linear(hooks.input(l.groupOf(k.down), act, dtype), down).to(torch::kFloat);
}

void readLlamaConfig(const ConfigReader& r, ModelConfig& c)
{
    c.intermediateSize = r.positive("intermediate_size");
    readAttention(r, c);
    c.maxPositionEmbeddings = r.positive("max_position_embeddings", 2048);
    c.rmsNormEps = r.finitePositive("rms_norm_eps", 1e-6);
    c.ropeTheta = r.finitePositive("rope_theta", 10000.0);
    c.ropeScaling = readRopeScaling(r);
    readFamilyKeys(r, c);
}

void writeLlamaConfig(const ModelConfig& c, nlohmann::ordered_json& j)
{
    using OJson = nlohmann::ordered_json;
    j["intermediate_size"] = c.intermediateSize;
    j["num_hidden_layers"] = c.numLayers;
    j["num_attention_heads"] = c.numHeads;
    j["num_key_value_heads"] = c.numKvHeads;
    j["head_dim"] = c.headDim;
    j["hidden_act"] = "silu";
    j["max_position_embeddings"] = c.maxPositionEmbeddings;
    j["rms_norm_eps"] = c.rmsNormEps;
    j["rope_theta"] = c.ropeTheta;
    const auto& rs = c.ropeScaling;
    if (rs.type.empty()) {
        j["rope_scaling"] = nullptr;
    } else {
        OJson o{{"rope_type", rs.type}, {"factor", rs.factor}};
        if (rs.type == "llama3") {
            o["low_freq_factor"] = rs.lowFreqFactor;
            o["high_freq_factor"] = rs.highFreqFactor;
            o["original_max_position_embeddings"] = rs.originalMaxPositionEmbeddings;
        }
        j["rope_scaling"] = o;
    }
    j["tie_word_embeddings"] = c.tieWordEmbeddings;
    if (c.modelType == "llama" || c.modelType == "deepseek") {
        j["attention_bias"] = c.attentionBias;
        j["mlp_bias"] = false;
    } else if (c.modelType == "qwen2" || c.modelType == "qwen2_moe") {
        j["use_sliding_window"] = c.slidingWindow > 0;
        j["sliding_window"] = c.slidingWindow > 0 ? OJson(c.slidingWindow) : OJson(nullptr);
    } else {
        j["sliding_window"] = c.slidingWindow > 0 ? OJson(c.slidingWindow) : OJson(nullptr);
    }
}

LlamaArchitecture::LlamaArchitecture(const ModelConfig& config)
    : LlamaArchitecture(config,
                        std::vector<std::shared_ptr<const BlockLayout>>(
                            std::max<int64_t>(config.numLayers, 0), llamaDenseLayout(config)))
{}

LlamaArchitecture::LlamaArchitecture(const ModelConfig& config,
                                     std::vector<std::shared_ptr<const BlockLayout>> layouts)
    : Architecture(config), m_layouts(std::move(layouts)), m_fallback(llamaDenseLayout(config))
{}

std::shared_ptr<const BlockLayout> LlamaArchitecture::layout(int64_t block) const
{
    if (block >= 0 && block < static_cast<int64_t>(m_layouts.size()))
        return m_layouts[static_cast<std::size_t>(block)];
    if (m_layouts.empty())
        return m_fallback;
    throw Error(config().modelType, "block " + std::to_string(block),
                "outside the model's " + std::to_string(m_layouts.size()) + " blocks");
}

torch::Tensor LlamaArchitecture::feedForward(const BlockWeights& w,
                                             const std::vector<torch::Tensor>& lin,
                                             const torch::Tensor& x, torch::ScalarType dtype,
                                             const BlockHooks& hooks, const BlockCall& call) const
{
    return swiGluForward(*w.layout, kDenseMlp, lin, x, dtype, hooks, call.autograd);
}

// The block's composition, once, for one chunk of whole sequences. h (B,T,C) fp32.
// Inference: the compute dtype, in-place where it saves memory; autograd: fp32 and
// out-of-place, so gradients reach the weights and the input.
torch::Tensor LlamaArchitecture::composeBlock(const BlockWeights& w,
                                              const std::vector<torch::Tensor>& lin,
                                              const torch::Tensor& h, const RopeTables& rope,
                                              torch::ScalarType dtype, const BlockHooks& hooks,
                                              const BlockCall& call) const
{
    const auto& cfg = config();
    const auto& layout = *w.layout;
    const double eps = cfg.rmsNormEps;
    auto x = hooks.input(layout.groupOf("self_attn.q_proj"),
                         llama::rmsNorm(h, w.at("input_layernorm"), eps), dtype);
    auto attn = call.autograd ? autogradAttention(cfg, w, lin, x, rope, hooks)
                              : chunkedAttention(cfg, w, lin, x, rope, dtype, hooks);
    attn = hooks.input(layout.groupOf("self_attn.o_proj"), attn, dtype);
    auto h1 = h + torch::linear(attn, lin[O]).to(torch::kFloat); // residual in fp32
    auto ff = feedForward(w, lin, llama::rmsNorm(h1, w.at("post_attention_layernorm"), eps), dtype,
                          hooks, call);
    if (call.autograd)
        return h1 + ff;
    h1.add_(ff);
    return h1;
}

const ArchitectureInfo& LlamaArchitecture::info() const
{
    return findArchitecture(config().modelType);
}

std::string LlamaArchitecture::blockPrefix(int64_t i) const
{
    return "model.layers." + std::to_string(i) + ".";
}

Architecture::HeadNames LlamaArchitecture::headNames() const
{
    // Tied models reuse the embedding (as transformers does, even when a copy is stored as
    // lm_head); an untied model without lm_head.weight is reported as incomplete.
    const std::string embed = "model.embed_tokens.weight";
    return {embed, "model.norm.weight", config().tieWordEmbeddings ? embed : "lm_head.weight"};
}

void LlamaArchitecture::validateConfig(const std::string& file) const
{
    const auto& c = config();
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
}

std::shared_ptr<const ForwardContext> LlamaArchitecture::context(int64_t seqlen) const
{
    return std::make_shared<LlamaContext>(llama::ropeTables(config(), seqlen));
}

const RopeTables& LlamaArchitecture::ropeOf(const ForwardContext& ctx, int64_t t,
                                            int64_t index) const
{
    const auto* lc = dynamic_cast<const LlamaContext*>(&ctx);
    if (!lc)
        throw Error(info().modelType, "block " + std::to_string(index),
                    "the forward context was made by another architecture");
    const auto& rope = lc->rope();
    if (!rope.cos.defined() || rope.cos.size(0) < t || rope.cos.size(1) != config().headDim)
        throw Error(info().modelType, "rope tables", "shorter than the sequence");
    return rope;
}

torch::Tensor LlamaArchitecture::blockForward(const BlockWeights& w, const torch::Tensor& h,
                                              const ForwardContext& ctx, const BlockCall& call,
                                              torch::ScalarType computeDtype) const
{
    const auto& c = config();
    if (h.dim() != 3 || h.size(2) != c.hiddenSize || h.scalar_type() != torch::kFloat)
        throw Error(info().modelType, "block " + std::to_string(w.index),
                    "hidden states must be (B,T," + std::to_string(c.hiddenSize) + ") float32");
    const int64_t b = h.size(0), t = h.size(1);
    const auto& rope = ropeOf(ctx, t, w.index);
    checkRuntime(w);
    BlockHooks hooks;
    hooks.runtime = w.runtime.get();
    hooks.observe = call.observe && *call.observe ? call.observe : nullptr;
    if (call.autograd) {
        std::vector<torch::Tensor> lin;
        for (const auto& [name, t] : w.linears())
            lin.push_back(t->to(torch::kFloat));
        return composeBlock(w, lin, h, rope, torch::kFloat, hooks, call);
    }
    torch::NoGradGuard noGrad;
    const auto lin = w.computeLinears(computeDtype);
    const int64_t windows = std::max<int64_t>(1, kTokensPerChunk / std::max<int64_t>(t, 1));
    if (b <= windows)
        return composeBlock(w, lin, h, rope, computeDtype, hooks, call);
    auto out = torch::empty_like(h);
    for (int64_t b0 = 0; b0 < b; b0 += windows) {
        const int64_t n = std::min(windows, b - b0);
        out.narrow(0, b0, n).copy_(
            composeBlock(w, lin, h.narrow(0, b0, n), rope, computeDtype, hooks, call));
    }
    return out;
}

torch::Tensor LlamaArchitecture::moduleForward(const BlockWeights& w, const std::string& module,
                                               const torch::Tensor& x,
                                               const ForwardContext& ctx) const
{
    torch::NoGradGuard noGrad;
    if (module == "self_attn") {
        const auto& rope = ropeOf(ctx, x.size(1), w.index);
        const auto lin = w.computeLinears(torch::kFloat);
        auto mix = chunkedAttention(config(), w, lin, x.to(torch::kFloat), rope, torch::kFloat,
                                    BlockHooks{});
        return torch::linear(mix, lin[O]);
    }
    if (module == "mlp") {
        auto act = torch::silu(torch::linear(x, w.at("mlp.gate_proj"))) *
                   torch::linear(x, w.at("mlp.up_proj"));
        if (w.runtime)
            if (auto r = w.runtime->inputRotation("mlp.down_proj"); r.defined())
                act = torch::matmul(act, r);
        return torch::linear(act, w.at("mlp.down_proj"));
    }
    return Architecture::moduleForward(w, module, x, ctx);
}

torch::Tensor LlamaArchitecture::finalNorm(const torch::Tensor& h,
                                           const torch::Tensor& weight) const
{
    return llama::rmsNorm(h, weight, config().rmsNormEps);
}

} // namespace ptq
