#include "family/llama_train_model.h"

#include "util/error.h"

#include <cmath>
#include <limits>

namespace ptq {

namespace {

constexpr double kInitStd = 0.02; // HF initializer_range

std::string shapeText(at::IntArrayRef shape)
{
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

} // namespace

LlamaTrainModel::LlamaTrainModel(const ModelConfig& config, uint64_t seed) : m_config(config)
{
    validateConfig();
    m_arch = makeArchitecture(m_config);
    initialise(seed);
}

void LlamaTrainModel::validateConfig() const
{
    const auto& c = m_config;
    auto positive = [](int64_t v, const char* key) {
        if (v <= 0)
            throw Error("model config", key, "must be positive, got " + std::to_string(v));
    };
    positive(c.vocabSize, "vocab_size");
    positive(c.hiddenSize, "hidden_size");
    positive(c.intermediateSize, "intermediate_size");
    positive(c.numLayers, "num_hidden_layers");
    positive(c.numHeads, "num_attention_heads");
    positive(c.numKvHeads, "num_key_value_heads");
    positive(c.headDim, "head_dim");
    if (c.numHeads % c.numKvHeads != 0)
        throw Error("model config", "num_key_value_heads",
                    std::to_string(c.numKvHeads) + " does not divide num_attention_heads " +
                        std::to_string(c.numHeads));
    if (c.headDim % 2 != 0)
        throw Error("model config", "head_dim",
                    "RoPE needs an even head dimension, got " + std::to_string(c.headDim));
    const auto& type = c.ropeScaling.type;
    if (!type.empty() && type != "default" && type != "linear" && type != "llama3")
        throw Error("model config", "rope_scaling.rope_type",
                    "unsupported RoPE scaling '" + type + "'");
}

torch::Tensor LlamaTrainModel::add(const std::string& name, torch::Tensor value)
{
    value.set_requires_grad(true);
    m_params.emplace_back(name, value);
    return value;
}

void LlamaTrainModel::initialise(uint64_t seed)
{
    const auto& c = m_config;
    const int64_t hidden = c.hiddenSize, q = c.numHeads * c.headDim;
    const int64_t kv = c.numKvHeads * c.headDim, inter = c.intermediateSize;
    at::Generator gen = at::detail::createCPUGenerator(seed);
    auto normal = [&](std::vector<int64_t> shape, double stddev) {
        return torch::randn(shape, gen, torch::kFloat).mul_(stddev);
    };
    // GPT-2: each block adds two residual branches, so their output projections start
    // 1/sqrt(2L) smaller and the residual stream's variance stays O(1) at init.
    const double residualStd = kInitStd / std::sqrt(2.0 * static_cast<double>(c.numLayers));
    m_embed = add("model.embed_tokens.weight", normal({c.vocabSize, hidden}, kInitStd));
    for (int64_t i = 0; i < c.numLayers; ++i) {
        const std::string p = m_arch->blockPrefix(i);
        BlockWeights l;
        l.index = i;
        l.layout = m_arch->layout();
        // In this order: the random draws follow it.
        auto put = [&](const std::string& key, torch::Tensor value) {
            l.tensors[key] = add(p + l.layout->tensor(key).checkpoint, std::move(value));
        };
        put("input_layernorm", torch::ones({hidden}));
        put("self_attn.q_proj", normal({q, hidden}, kInitStd));
        put("self_attn.k_proj", normal({kv, hidden}, kInitStd));
        put("self_attn.v_proj", normal({kv, hidden}, kInitStd));
        if (c.attentionBias) {
            put("self_attn.q_proj.bias", torch::zeros({q}));
            put("self_attn.k_proj.bias", torch::zeros({kv}));
            put("self_attn.v_proj.bias", torch::zeros({kv}));
        }
        put("self_attn.o_proj", normal({hidden, q}, residualStd));
        put("post_attention_layernorm", torch::ones({hidden}));
        put("mlp.gate_proj", normal({inter, hidden}, kInitStd));
        put("mlp.up_proj", normal({inter, hidden}, kInitStd));
        put("mlp.down_proj", normal({hidden, inter}, residualStd));
        m_blocks.push_back(std::move(l));
    }
    m_finalNorm = add("model.norm.weight", torch::ones({hidden}));
    m_lmHead = c.tieWordEmbeddings ? m_embed
                                   : add("lm_head.weight", normal({c.vocabSize, hidden}, kInitStd));
}

std::vector<torch::Tensor> LlamaTrainModel::parameters() const
{
    std::vector<torch::Tensor> out;
    for (const auto& [name, t] : m_params)
        out.push_back(t);
    return out;
}

int64_t LlamaTrainModel::parameterCount() const
{
    int64_t n = 0;
    for (const auto& [name, t] : m_params)
        n += t.numel();
    return n;
}

std::map<std::string, torch::Tensor> LlamaTrainModel::stateDict() const
{
    std::map<std::string, torch::Tensor> out;
    for (const auto& [name, t] : m_params)
        out[name] = t.detach();
    return out;
}

void LlamaTrainModel::loadStateDict(const std::map<std::string, torch::Tensor>& tensors,
                                    const std::string& file)
{
    torch::NoGradGuard noGrad;
    for (auto& [name, param] : m_params) {
        auto it = tensors.find(name);
        if (it == tensors.end())
            throw Error(file, name, "tensor missing");
        if (it->second.sizes() != param.sizes())
            throw Error(file, name,
                        "shape " + shapeText(it->second.sizes()) + ", expected " +
                            shapeText(param.sizes()));
        param.copy_(it->second);
    }
}

torch::Tensor LlamaTrainModel::forward(const torch::Tensor& ids) const
{
    const auto& c = m_config;
    if (ids.dim() != 2 || !c10::isIntegralType(ids.scalar_type(), false))
        throw Error("model input", "input ids", "expected a (B,T) integer tensor");
    auto idx = ids.to(torch::kLong);
    if (idx.numel() > 0 &&
        (idx.min().item<int64_t>() < 0 || idx.max().item<int64_t>() >= c.vocabSize))
        throw Error("model input", "input ids",
                    "token id outside the vocabulary of " + std::to_string(c.vocabSize));
    const auto ctx = m_arch->context(ids.size(1));
    BlockCall call;
    call.autograd = true;
    auto h = torch::embedding(m_embed, idx); // (B,T,C)
    for (const BlockWeights& l : m_blocks)
        h = m_arch->blockForward(l, h, *ctx, call, torch::kFloat);
    return torch::linear(m_arch->finalNorm(h, m_finalNorm), m_lmHead); // (B,T,V)
}

torch::Tensor LlamaTrainModel::loss(const torch::Tensor& windows) const
{
    if (windows.dim() != 2 || windows.size(1) < 2)
        throw Error("model input", "windows", "expected (B,T+1) token windows with T >= 1");
    const int64_t t = windows.size(1) - 1;
    auto logits = forward(windows.narrow(1, 0, t));
    auto targets = windows.narrow(1, 1, t).to(torch::kLong).reshape({-1});
    return torch::nn::functional::cross_entropy(logits.reshape({-1, m_config.vocabSize}), targets);
}

} // namespace ptq
