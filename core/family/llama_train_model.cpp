#include "family/llama_train_model.h"

#include "util/error.h"

#include <algorithm>
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
    if (m_config.numLayers <= 0)
        throw Error("model config", "num_hidden_layers", "must be positive");
    m_arch = makeArchitecture(m_config);
    m_arch->validateConfig("model config");
    initialise(seed);
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
    const int64_t hidden = c.hiddenSize;
    at::Generator gen = at::detail::createCPUGenerator(seed);
    auto normal = [&](std::vector<int64_t> shape, double stddev) {
        return torch::randn(shape, gen, torch::kFloat).mul_(stddev);
    };
    // GPT-2: each block adds two residual branches, so their output projections start
    // 1/sqrt(2L) smaller and the residual stream's variance stays O(1) at init.
    const double residualStd = kInitStd / std::sqrt(2.0 * static_cast<double>(c.numLayers));
    const auto heads = m_arch->headNames();
    m_embed = add(heads.embedding, normal({c.vocabSize, hidden}, kInitStd));
    for (int64_t i = 0; i < c.numLayers; ++i) {
        const std::string p = m_arch->blockPrefix(i);
        BlockWeights l;
        l.index = i;
        l.layout = m_arch->layout(i);
        const auto& writers = l.layout->residualWriters;
        for (const auto& spec : l.layout->tensors) {
            const bool bias =
                spec.key.size() > 5 && spec.key.compare(spec.key.size() - 5, 5, ".bias") == 0;
            const bool writer =
                std::find(writers.begin(), writers.end(), spec.key) != writers.end();
            torch::Tensor value = m_arch->initialTensor(i, spec, gen);
            if (!value.defined() && spec.shape.size() == 1)
                value = bias ? torch::zeros(spec.shape) : torch::ones(spec.shape);
            else if (!value.defined())
                value = normal(spec.shape, writer ? residualStd : kInitStd);
            if (spec.noWeightDecay)
                m_noDecay.push_back(p + spec.checkpoint);
            l.tensors[spec.key] = add(p + spec.checkpoint, std::move(value));
        }
        m_blocks.push_back(std::move(l));
    }
    m_finalNorm = add(heads.finalNorm, torch::ones({hidden}));
    m_lmHead =
        c.tieWordEmbeddings ? m_embed : add(heads.lmHead, normal({c.vocabSize, hidden}, kInitStd));
}

std::vector<torch::Tensor> LlamaTrainModel::parameters() const
{
    std::vector<torch::Tensor> out;
    for (const auto& [name, t] : m_params)
        out.push_back(t);
    return out;
}

bool LlamaTrainModel::weightDecay(const std::string& name) const
{
    for (const auto& [n, t] : m_params)
        if (n == name)
            return t.dim() >= 2 &&
                   std::find(m_noDecay.begin(), m_noDecay.end(), name) == m_noDecay.end();
    return false;
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

torch::Tensor LlamaTrainModel::forward(const torch::Tensor& ids, const RouterObserver* route) const
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
    call.route = route;
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

std::pair<torch::Tensor, torch::Tensor>
LlamaTrainModel::trainingLoss(const torch::Tensor& windows) const
{
    const MoeConfig& m = m_config.moe;
    if (!m.enabled() || m.auxLossCoef <= 0) {
        auto nll = loss(windows);
        return {nll, nll};
    }
    if (windows.dim() != 2 || windows.size(1) < 2)
        throw Error("model input", "windows", "expected (B,T+1) token windows with T >= 1");
    std::vector<torch::Tensor> routerLogits;
    RouterObserver route = [&](int64_t, const std::string&, const torch::Tensor& logits,
                               const torch::Tensor&) { routerLogits.push_back(logits); };
    const int64_t t = windows.size(1) - 1;
    auto logits = forward(windows.narrow(1, 0, t), &route);
    auto targets = windows.narrow(1, 1, t).to(torch::kLong).reshape({-1});
    auto nll =
        torch::nn::functional::cross_entropy(logits.reshape({-1, m_config.vocabSize}), targets);
    auto probs = torch::softmax(torch::cat(routerLogits, 0), -1); // (layers * tokens, E)
    auto chosen = std::get<1>(torch::topk(probs, m.expertsPerToken, -1));
    auto mask = torch::one_hot(chosen, m.experts).to(torch::kFloat); // (L*N, k, E)
    auto tokensPerExpert = mask.mean(0);                             // (k, E)
    auto probPerExpert = probs.mean(0);                              // (E)
    auto balance = (tokensPerExpert * probPerExpert.unsqueeze(0)).sum() * double(m.experts);
    return {nll + m.auxLossCoef * balance, nll};
}

} // namespace ptq
