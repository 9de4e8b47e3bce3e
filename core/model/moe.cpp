#include "model/moe.h"

#include "model/config_reader.h"
#include "util/error.h"

#include <algorithm>

namespace ptq {

namespace {

using OJson = nlohmann::ordered_json;

MoeArchitecture::Keys keysFor(const ModelConfig& c)
{
    MoeArchitecture::Keys k;
    const MoeConfig& m = c.moe;
    const bool mixtral = c.modelType == "mixtral";
    const std::string base = mixtral ? "block_sparse_moe." : "mlp.";
    k.router = base + "gate";
    for (int64_t e = 0; e < m.experts; ++e) {
        const std::string p = base + "experts." + std::to_string(e) + ".";
        k.experts.push_back(mixtral ? SwiGluKeys{p + "w1", p + "w3", p + "w2"}
                                    : SwiGluKeys{p + "gate_proj", p + "up_proj", p + "down_proj"});
    }
    if (m.sharedWidth > 0) {
        const std::string p =
            c.modelType == "qwen2_moe" ? "mlp.shared_expert." : "mlp.shared_experts.";
        k.shared = {p + "gate_proj", p + "up_proj", p + "down_proj"};
    }
    if (m.sharedGate)
        k.sharedGate = "mlp.shared_expert_gate";
    return k;
}

// An MoE block: the LLaMA attention, then the router, the routed experts and the shared
// expert, all reading the post-attention norm.
std::shared_ptr<const BlockLayout> moeLayout(const ModelConfig& c, const MoeArchitecture::Keys& k)
{
    auto l = llamaAttentionLayout(c);
    const MoeConfig& m = c.moe;
    l->tensors.push_back({k.router, k.router + ".weight", {m.experts, c.hiddenSize}, false});
    l->routers = {k.router};
    FoldPoint in{"moe_in",
                 ArchFeature::NormFold,
                 "post_attention_layernorm",
                 "",
                 {},
                 {k.router},
                 k.router,
                 "moe",
                 false};
    for (const auto& e : k.experts) {
        in.consumers.push_back(e.gate);
        in.consumers.push_back(e.up);
    }
    if (!k.shared.gate.empty()) {
        in.consumers.push_back(k.shared.gate);
        in.consumers.push_back(k.shared.up);
    }
    if (!k.sharedGate.empty())
        in.exactConsumers.push_back(k.sharedGate);
    l->folds.push_back(std::move(in));
    for (std::size_t e = 0; e < k.experts.size(); ++e)
        addSwiGlu(*l, k.experts[e], m.expertWidth, "expert" + std::to_string(e) + "_up_down",
                  static_cast<int64_t>(e), "experts");
    if (!k.shared.gate.empty())
        addSwiGlu(*l, k.shared, m.sharedWidth, "shared_up_down", -1, "experts");
    if (!k.sharedGate.empty())
        l->tensors.push_back({k.sharedGate, k.sharedGate + ".weight", {1, c.hiddenSize}, false});
    return l;
}

std::vector<std::shared_ptr<const BlockLayout>> layoutsFor(const ModelConfig& c)
{
    const auto keys = keysFor(c);
    const auto dense = llamaDenseLayout(c);
    const auto moe = moeLayout(c, keys);
    std::vector<std::shared_ptr<const BlockLayout>> out;
    for (int64_t i = 0; i < c.numLayers; ++i)
        out.push_back(c.isMoeLayer(i) ? moe : dense);
    return out;
}

// The keys every MoE row shares: expert count and top-k.
void readRouting(const ConfigReader& r, ModelConfig& c, const char* expertsKey)
{
    MoeConfig& m = c.moe;
    m.experts = r.positive(expertsKey);
    m.expertsPerToken = r.positive("num_experts_per_tok");
    if (m.expertsPerToken > m.experts)
        r.fail("num_experts_per_tok", "routes each token to " + std::to_string(m.expertsPerToken) +
                                          " experts of only " + std::to_string(m.experts));
}

double nonNegative(const ConfigReader& r, const char* key, double fallback)
{
    if (!r.has(key))
        return fallback;
    const double v = r.number(key);
    if (!std::isfinite(v) || v < 0)
        r.fail(key, "must be a finite non-negative number");
    return v;
}

std::vector<int64_t> layerList(const ConfigReader& r, const char* key)
{
    std::vector<int64_t> out;
    const auto* v = r.find(key);
    if (!v)
        return out;
    if (!v->is_array())
        r.fail(key, "expected a list of layer indices, got " + v->dump());
    for (const auto& e : *v) {
        if (!e.is_number_integer() || e.get<int64_t>() < 0)
            r.fail(key, "expected non-negative layer indices, got " + v->dump());
        out.push_back(e.get<int64_t>());
    }
    return out;
}

// (N,E) router logits -> top-k weights (N,k) fp32 and experts (N,k) int64, as the row
// defines them. Ties between equal probabilities resolve as torch.topk does.
std::pair<torch::Tensor, torch::Tensor> route(const MoeConfig& m, const torch::Tensor& logits,
                                              bool deepseekNorm)
{
    auto probs = torch::softmax(logits, -1);
    auto [weights, experts] = torch::topk(probs, m.expertsPerToken, -1);
    if (m.normalizeTopK && m.expertsPerToken > 1)
        weights = deepseekNorm ? weights / (weights.sum(-1, true) + 1e-20)
                               : weights / weights.sum(-1, true);
    return {weights, experts};
}

} // namespace

void readMixtralConfig(const ConfigReader& r, ModelConfig& c)
{
    readLlamaConfig(r, c); // intermediate_size: the width of one expert
    readRouting(r, c, "num_local_experts");
    c.moe.expertWidth = c.intermediateSize;
    c.moe.normalizeTopK = true;
    // router_jitter_noise multiplies the router input by noise during training only.
    c.moe.auxLossCoef = nonNegative(r, "router_aux_loss_coef", 0.001);
}

void writeMixtralConfig(const ModelConfig& c, OJson& j)
{
    writeLlamaConfig(c, j);
    j["num_local_experts"] = c.moe.experts;
    j["num_experts_per_tok"] = c.moe.expertsPerToken;
    j["router_aux_loss_coef"] = c.moe.auxLossCoef;
    j["router_jitter_noise"] = 0.0;
    j["output_router_logits"] = false;
}

void readDeepseekConfig(const ConfigReader& r, ModelConfig& c)
{
    readLlamaConfig(r, c); // intermediate_size: the dense layers' MLP
    // DeepSeek-V2/V3 features that the DeepSeekMoE (V1) block does not have.
    if (r.has("kv_lora_rank"))
        r.fail("kv_lora_rank", "multi-head latent attention (DeepSeek-V2/V3) is not supported");
    if (r.has("topk_method") && r.string("topk_method", "") != "greedy")
        r.fail("topk_method",
               "only greedy top-k routing is supported, got '" + r.string("topk_method", "") + "'");
    if (r.has("n_group") && r.integer("n_group") > 1)
        r.fail("n_group", "grouped top-k routing is not supported");
    const std::string scoring = r.string("scoring_func", "softmax");
    if (scoring != "softmax")
        r.fail("scoring_func", "unsupported router scoring '" + scoring + "' (supported: softmax)");
    if (!r.has("n_routed_experts"))
        return; // a dense model
    readRouting(r, c, "n_routed_experts");
    MoeConfig& m = c.moe;
    m.expertWidth = r.positive("moe_intermediate_size");
    const int64_t shared = r.has("n_shared_experts") ? r.integer("n_shared_experts") : 0;
    if (shared < 0)
        r.fail("n_shared_experts", "must not be negative");
    m.sharedWidth = shared * m.expertWidth;
    m.firstDenseLayers = r.has("first_k_dense_replace") ? r.integer("first_k_dense_replace") : 0;
    if (m.firstDenseLayers < 0)
        r.fail("first_k_dense_replace", "must not be negative");
    m.layerFreq = r.positive("moe_layer_freq", 1);
    m.normalizeTopK = r.boolean("norm_topk_prob", false);
    m.auxLossCoef = nonNegative(r, "aux_loss_alpha", 0.001);
}

void writeDeepseekConfig(const ModelConfig& c, OJson& j)
{
    writeLlamaConfig(c, j);
    const MoeConfig& m = c.moe;
    if (!m.enabled())
        return;
    j["n_routed_experts"] = m.experts;
    j["n_shared_experts"] =
        m.sharedWidth > 0 ? OJson(m.sharedWidth / m.expertWidth) : OJson(nullptr);
    j["num_experts_per_tok"] = m.expertsPerToken;
    j["moe_intermediate_size"] = m.expertWidth;
    j["first_k_dense_replace"] = m.firstDenseLayers;
    j["moe_layer_freq"] = m.layerFreq;
    j["norm_topk_prob"] = m.normalizeTopK;
    j["scoring_func"] = "softmax";
    j["aux_loss_alpha"] = m.auxLossCoef;
}

void readQwen2MoeConfig(const ConfigReader& r, ModelConfig& c)
{
    readLlamaConfig(r, c); // intermediate_size: the mlp_only_layers' MLP
    readRouting(r, c, "num_experts");
    MoeConfig& m = c.moe;
    m.expertWidth = r.positive("moe_intermediate_size");
    m.sharedWidth = r.positive("shared_expert_intermediate_size");
    m.sharedGate = true;
    m.normalizeTopK = r.boolean("norm_topk_prob", false);
    m.layerFreq = r.positive("decoder_sparse_step", 1);
    m.denseLayers = layerList(r, "mlp_only_layers");
    m.auxLossCoef = nonNegative(r, "router_aux_loss_coef", 0.001);
}

void writeQwen2MoeConfig(const ModelConfig& c, OJson& j)
{
    writeLlamaConfig(c, j);
    const MoeConfig& m = c.moe;
    j["num_experts"] = m.experts;
    j["num_experts_per_tok"] = m.expertsPerToken;
    j["moe_intermediate_size"] = m.expertWidth;
    j["shared_expert_intermediate_size"] = m.sharedWidth;
    j["norm_topk_prob"] = m.normalizeTopK;
    j["decoder_sparse_step"] = m.layerFreq;
    j["mlp_only_layers"] = m.denseLayers;
    j["router_aux_loss_coef"] = m.auxLossCoef;
}

MoeArchitecture::MoeArchitecture(const ModelConfig& config)
    : LlamaArchitecture(config, layoutsFor(config)), m_keys(keysFor(config))
{}

void MoeArchitecture::validateConfig(const std::string& file) const
{
    LlamaArchitecture::validateConfig(file);
    const auto& c = config();
    const MoeConfig& m = c.moe;
    if (c.modelType == "deepseek" && !m.enabled())
        return;
    if (m.experts <= 0 || m.expertsPerToken <= 0 || m.expertsPerToken > m.experts)
        throw Error(file, "num_experts_per_tok",
                    "needs 0 < k <= experts, got k = " + std::to_string(m.expertsPerToken) +
                        " of " + std::to_string(m.experts));
    if (m.expertWidth <= 0)
        throw Error(file, "moe_intermediate_size", "must be positive");
    if (m.sharedGate && m.sharedWidth <= 0)
        throw Error(file, "shared_expert_intermediate_size", "must be positive");
}

torch::Tensor MoeArchitecture::feedForward(const BlockWeights& w,
                                           const std::vector<torch::Tensor>& lin,
                                           const torch::Tensor& x, torch::ScalarType dtype,
                                           const BlockHooks& hooks, const BlockCall& call) const
{
    if (!config().isMoeLayer(w.index))
        return LlamaArchitecture::feedForward(w, lin, x, dtype, hooks, call);
    return moeForward(w, lin, x, dtype, hooks, call);
}

torch::Tensor MoeArchitecture::moeForward(const BlockWeights& w,
                                          const std::vector<torch::Tensor>& lin,
                                          const torch::Tensor& x, torch::ScalarType dtype,
                                          const BlockHooks& hooks, const BlockCall& call) const
{
    const BlockLayout& l = *w.layout;
    const MoeConfig& m = config().moe;
    const auto shape = x.sizes().vec();
    const auto flat = x.reshape({-1, x.size(-1)}).to(torch::kFloat); // (N,C)
    const int64_t n = flat.size(0), k = m.expertsPerToken;
    if (hooks.observe) // the router's input: every token, the norm fold's statistics
        (*hooks.observe)(m_keys.router, flat);
    const auto logits = torch::linear(flat, w.at(m_keys.router).to(torch::kFloat)); // (N,E)
    auto [weights, experts] = route(m, logits, config().modelType == "deepseek");
    if (call.route && *call.route)
        (*call.route)(w.index, m_keys.router, logits, experts);

    // Assignments grouped by expert (stable, so each expert sees its tokens in order).
    const auto flatExperts = experts.reshape({-1});
    const auto order = std::get<1>(torch::sort(flatExperts, /*stable=*/true, 0, false));
    const auto tokenOf = torch::floor_divide(order, k);
    const auto weightOf = weights.reshape({-1}).index_select(0, order);
    const auto counts = torch::bincount(flatExperts, {}, m.experts).contiguous();
    const int64_t* count = counts.data_ptr<int64_t>();
    const bool everyToken = call.allExperts && hooks.observe;

    auto out = torch::zeros({n, flat.size(1)}, flat.options());
    int64_t offset = 0;
    for (int64_t e = 0; e < m.experts; ++e) {
        const int64_t ne = count[e];
        const auto idx = tokenOf.narrow(0, offset, ne);
        const auto wgt = weightOf.narrow(0, offset, ne).unsqueeze(1);
        offset += ne;
        if (ne == 0 && !everyToken)
            continue; // an expert no token chose contributes nothing
        const auto& keys = m_keys.experts[static_cast<std::size_t>(e)];
        auto y = swiGluForward(l, keys, lin, everyToken ? flat : flat.index_select(0, idx), dtype,
                               hooks, call.autograd);
        if (everyToken)
            y = y.index_select(0, idx);
        if (call.autograd)
            out = out.index_add(0, idx, y * wgt);
        else
            out.index_add_(0, idx, y.mul_(wgt));
    }
    if (!m_keys.shared.gate.empty()) {
        auto ys = swiGluForward(l, m_keys.shared, lin, flat, dtype, hooks, call.autograd);
        if (!m_keys.sharedGate.empty())
            ys =
                torch::sigmoid(torch::linear(flat, w.at(m_keys.sharedGate).to(torch::kFloat))) * ys;
        out = call.autograd ? out + ys : out.add_(ys);
    }
    return out.view(shape);
}

torch::Tensor MoeArchitecture::moduleForward(const BlockWeights& w, const std::string& module,
                                             const torch::Tensor& x,
                                             const ForwardContext& ctx) const
{
    if (module != "moe")
        return LlamaArchitecture::moduleForward(w, module, x, ctx);
    if (!config().isMoeLayer(w.index))
        throw Error(config().modelType, "block " + std::to_string(w.index),
                    "has no MoE feed-forward");
    torch::NoGradGuard noGrad;
    BlockRuntime rotations; // search inputs are taken before any activation quantizer
    if (w.runtime)
        rotations.inputRotations = w.runtime->inputRotations;
    BlockHooks hooks;
    hooks.runtime = &rotations;
    return moeForward(w, w.computeLinears(torch::kFloat), x.to(torch::kFloat), torch::kFloat, hooks,
                      BlockCall{});
}

} // namespace ptq
