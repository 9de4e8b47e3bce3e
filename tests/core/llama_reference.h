#pragma once
// A slow, obvious float64 LLaMA-family forward pass for the tests: plain loops over
// std::vector<double>, no libtorch. It reads the weights back from model.safetensors with its
// own F32/F16/BF16 decoding and takes the ModelConfig the test wrote (not the one parsed back),
// so a bug in the reader, the config parser or the torch forward cannot cancel itself out.
//
// Semantics follow transformers' modeling_llama / modeling_mistral / modeling_qwen2 (and
// modeling_mamba's sequential slow_forward for the Mamba row, refMambaLogits):
// RMSNorm x * rsqrt(mean(x^2) + eps) * w; RoPE in the rotate_half layout with
// inv_freq_i = theta^(-2i/d) (llama3 and linear scaling per modeling_rope_utils.py);
// causal softmax attention with kv head h / (H/KV); optional sliding window
// (i attends j when i - window < j <= i); SwiGLU MLP down(silu(gate(x)) * up(x)).

#include "io/safetensors.h"
#include "model/checkpoint_writer.h"
#include "model/config.h"

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace ptq::testing {

// A fresh folder under the system temp dir, removed with everything in it on destruction.
class TempDir {
public:
    explicit TempDir(const std::string& tag)
    {
        static std::atomic<int> counter{0};
        const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
        m_path = (std::filesystem::temp_directory_path() /
                  ("ptq-" + tag + "-" + std::to_string(stamp) + "-" + std::to_string(counter++)))
                     .string();
        std::filesystem::create_directories(m_path);
    }
    ~TempDir()
    {
        std::error_code ec;
        std::filesystem::remove_all(m_path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return m_path; }
    std::string sub(const std::string& name) const { return m_path + "/" + name; }

private:
    std::string m_path;
};

// IEEE binary16 -> double, by its definition (sign, 5-bit exponent, 10-bit fraction).
inline double halfToDouble(uint16_t h)
{
    const int sign = (h >> 15) & 1;
    const int exponent = (h >> 10) & 0x1f;
    const int fraction = h & 0x3ff;
    double v;
    if (exponent == 0)
        v = std::ldexp(fraction, -24); // subnormal: fraction * 2^-14 / 1024
    else if (exponent == 31)
        v = fraction ? NAN : INFINITY;
    else
        v = std::ldexp(1024 + fraction, exponent - 25);
    return sign ? -v : v;
}

// bfloat16 is the upper half of an IEEE binary32.
inline double bf16ToDouble(uint16_t b)
{
    const uint32_t bits = static_cast<uint32_t>(b) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

using RefWeights = std::map<std::string, std::vector<double>>;

inline RefWeights readWeightsAsDouble(const std::string& safetensorsPath)
{
    SafetensorsFile file(safetensorsPath);
    RefWeights out;
    for (const TensorInfo& t : file.tensors()) {
        const uint8_t* p = file.data(t);
        std::vector<double> v(static_cast<std::size_t>(t.numel()));
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (t.dtype == DType::F32) {
                float f;
                std::memcpy(&f, p + 4 * i, 4);
                v[i] = f;
            } else {
                uint16_t u;
                std::memcpy(&u, p + 2 * i, 2);
                if (t.dtype == DType::F16)
                    v[i] = halfToDouble(u);
                else if (t.dtype == DType::BF16)
                    v[i] = bf16ToDouble(u);
                else
                    throw std::runtime_error("reference: unsupported dtype of " + t.name);
            }
        }
        out[t.name] = std::move(v);
    }
    return out;
}

inline const std::vector<double>& refTensor(const RefWeights& w, const std::string& name)
{
    auto it = w.find(name);
    if (it == w.end())
        throw std::runtime_error("reference: missing tensor " + name);
    return it->second;
}

// y (out) = W (out,in) x (in) + bias (out, optional)
inline std::vector<double> refLinear(const std::vector<double>& weight,
                                     const std::vector<double>* bias, const std::vector<double>& x,
                                     std::size_t out)
{
    const std::size_t in = x.size();
    std::vector<double> y(out, 0.0);
    for (std::size_t o = 0; o < out; ++o) {
        double s = bias ? (*bias)[o] : 0.0;
        for (std::size_t i = 0; i < in; ++i)
            s += weight[o * in + i] * x[i];
        y[o] = s;
    }
    return y;
}

inline std::vector<double> refRmsNorm(const std::vector<double>& x, const std::vector<double>& w,
                                      double eps)
{
    double ss = 0;
    for (double v : x)
        ss += v * v;
    const double scale = 1.0 / std::sqrt(ss / x.size() + eps);
    std::vector<double> y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i)
        y[i] = x[i] * scale * w[i];
    return y;
}

// RoPE inverse frequencies with the config's scaling, element by element.
inline std::vector<double> refInverseFrequencies(const ModelConfig& c)
{
    const int64_t d = c.headDim;
    std::vector<double> inv(d / 2);
    const auto& rs = c.ropeScaling;
    for (int64_t i = 0; i < d / 2; ++i) {
        double f = 1.0 / std::pow(c.ropeTheta, (2.0 * i) / d);
        if (rs.type == "llama3") {
            const double ctx = static_cast<double>(rs.originalMaxPositionEmbeddings);
            const double wavelen = 2 * M_PI / f;
            if (wavelen > ctx / rs.lowFreqFactor) {
                f = f / rs.factor;
            } else if (wavelen >= ctx / rs.highFreqFactor) {
                const double smooth =
                    (ctx / wavelen - rs.lowFreqFactor) / (rs.highFreqFactor - rs.lowFreqFactor);
                f = (1 - smooth) * f / rs.factor + smooth * f;
            }
        }
        inv[i] = f;
    }
    return inv;
}

// Rotates one head vector x (D) at position pos in the rotate_half layout.
inline void refRope(double* x, int64_t d, int64_t pos, const std::vector<double>& inv,
                    const ModelConfig& c)
{
    const double p = c.ropeScaling.type == "linear" ? pos / c.ropeScaling.factor : double(pos);
    for (int64_t j = 0; j < d / 2; ++j) {
        const double a = p * inv[j], cs = std::cos(a), sn = std::sin(a);
        const double x1 = x[j], x2 = x[j + d / 2];
        x[j] = x1 * cs - x2 * sn;
        x[j + d / 2] = x2 * cs + x1 * sn;
    }
}

using Rows = std::vector<std::vector<double>>; // [t][channel]

// Self-attention of one sequence: normed input rows (T,C) -> o_proj output rows (T,C).
inline Rows refAttention(const ModelConfig& c, const RefWeights& w, const std::string& p,
                         const Rows& x)
{
    const int64_t t = x.size(), heads = c.numHeads, kvh = c.numKvHeads, d = c.headDim;
    const auto inv = refInverseFrequencies(c);
    auto bias = [&](const char* n) { return c.attentionBias ? &refTensor(w, p + n) : nullptr; };
    Rows q(t), k(t), v(t);
    for (int64_t i = 0; i < t; ++i) {
        q[i] = refLinear(refTensor(w, p + "self_attn.q_proj.weight"), bias("self_attn.q_proj.bias"),
                         x[i], heads * d);
        k[i] = refLinear(refTensor(w, p + "self_attn.k_proj.weight"), bias("self_attn.k_proj.bias"),
                         x[i], kvh * d);
        v[i] = refLinear(refTensor(w, p + "self_attn.v_proj.weight"), bias("self_attn.v_proj.bias"),
                         x[i], kvh * d);
        for (int64_t h = 0; h < heads; ++h)
            refRope(&q[i][h * d], d, i, inv, c);
        for (int64_t h = 0; h < kvh; ++h)
            refRope(&k[i][h * d], d, i, inv, c);
    }
    Rows out(t);
    for (int64_t i = 0; i < t; ++i) {
        std::vector<double> attn(heads * d, 0.0);
        for (int64_t h = 0; h < heads; ++h) {
            const int64_t g = h / (heads / kvh);
            const int64_t first =
                c.slidingWindow > 0 ? std::max<int64_t>(0, i - c.slidingWindow + 1) : 0;
            std::vector<double> s;
            double mx = -INFINITY;
            for (int64_t j = first; j <= i; ++j) {
                double dot = 0;
                for (int64_t e = 0; e < d; ++e)
                    dot += q[i][h * d + e] * k[j][g * d + e];
                s.push_back(dot / std::sqrt(double(d)));
                mx = std::max(mx, s.back());
            }
            double z = 0;
            for (double& e : s)
                z += (e = std::exp(e - mx));
            for (int64_t j = first; j <= i; ++j)
                for (int64_t e = 0; e < d; ++e)
                    attn[h * d + e] += s[j - first] / z * v[j][g * d + e];
        }
        out[i] =
            refLinear(refTensor(w, p + "self_attn.o_proj.weight"), nullptr, attn, c.hiddenSize);
    }
    return out;
}

inline std::vector<double> refMlp(const ModelConfig& c, const RefWeights& w, const std::string& p,
                                  const std::vector<double>& x)
{
    auto g = refLinear(refTensor(w, p + "mlp.gate_proj.weight"), nullptr, x, c.intermediateSize);
    auto u = refLinear(refTensor(w, p + "mlp.up_proj.weight"), nullptr, x, c.intermediateSize);
    for (std::size_t i = 0; i < g.size(); ++i)
        g[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
    return refLinear(refTensor(w, p + "mlp.down_proj.weight"), nullptr, g, c.hiddenSize);
}

// A SwiGLU MLP down(silu(gate(x)) * up(x)) of width n under the given tensor names.
inline std::vector<double> refSwiGlu(const ModelConfig& c, const RefWeights& w,
                                     const std::string& gate, const std::string& up,
                                     const std::string& down, int64_t n,
                                     const std::vector<double>& x)
{
    auto g = refLinear(refTensor(w, gate + ".weight"), nullptr, x, n);
    auto u = refLinear(refTensor(w, up + ".weight"), nullptr, x, n);
    for (std::size_t i = 0; i < g.size(); ++i)
        g[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
    return refLinear(refTensor(w, down + ".weight"), nullptr, g, c.hiddenSize);
}

// What the reference's routing chose, for comparing decisions: experts per token, and the
// smallest gap between the k-th and (k+1)-th router logit (ties excluded when it is large).
struct RefRouting {
    std::vector<std::vector<int64_t>> experts; // [token] sorted ascending
    double minGap = 1.0;
};

// The MoE feed-forward of one token, written from the Hugging Face modules
// (MixtralSparseMoeBlock, DeepseekMoE, Qwen2MoeSparseMoeBlock): softmax of the router
// logits, top-k, optional renormalisation, weighted sum of the chosen experts, plus the
// shared expert (sigmoid-gated for qwen2_moe).
inline std::vector<double> refMoe(const ModelConfig& c, const RefWeights& w, const std::string& p,
                                  const std::vector<double>& x, RefRouting* routing = nullptr)
{
    const MoeConfig& m = c.moe;
    const bool mixtral = c.modelType == "mixtral";
    const std::string base = p + (mixtral ? "block_sparse_moe." : "mlp.");
    auto logits = refLinear(refTensor(w, base + "gate.weight"), nullptr, x, m.experts);
    double mx = *std::max_element(logits.begin(), logits.end()), z = 0;
    std::vector<double> prob(logits.size());
    for (std::size_t e = 0; e < prob.size(); ++e)
        z += prob[e] = std::exp(logits[e] - mx);
    std::vector<std::pair<double, int64_t>> ranked;
    for (std::size_t e = 0; e < prob.size(); ++e)
        ranked.push_back({prob[e] / z, int64_t(e)});
    std::sort(ranked.begin(), ranked.end(), [](auto& a, auto& b) { return a.first > b.first; });
    double sum = 0;
    std::vector<int64_t> chosen;
    for (int64_t j = 0; j < m.expertsPerToken; ++j)
        sum += ranked[j].first, chosen.push_back(ranked[j].second);
    if (routing) {
        std::sort(chosen.begin(), chosen.end());
        routing->experts.push_back(chosen);
        if (m.expertsPerToken < m.experts)
            routing->minGap =
                std::min(routing->minGap, std::log(ranked[m.expertsPerToken - 1].first /
                                                   ranked[m.expertsPerToken].first));
    }
    std::vector<double> out(c.hiddenSize, 0.0);
    for (int64_t j = 0; j < m.expertsPerToken; ++j) {
        const double weight = m.normalizeTopK ? ranked[j].first / sum : ranked[j].first;
        const std::string e = base + "experts." + std::to_string(ranked[j].second) + ".";
        const auto y = mixtral ? refSwiGlu(c, w, e + "w1", e + "w3", e + "w2", m.expertWidth, x)
                               : refSwiGlu(c, w, e + "gate_proj", e + "up_proj", e + "down_proj",
                                           m.expertWidth, x);
        for (std::size_t i = 0; i < out.size(); ++i)
            out[i] += weight * y[i];
    }
    if (m.sharedWidth > 0) {
        const std::string s =
            base + (c.modelType == "qwen2_moe" ? "shared_expert." : "shared_experts.");
        auto y = refSwiGlu(c, w, s + "gate_proj", s + "up_proj", s + "down_proj", m.sharedWidth, x);
        double gate = 1.0;
        if (m.sharedGate)
            gate =
                1.0 / (1.0 + std::exp(-refLinear(refTensor(w, base + "shared_expert_gate.weight"),
                                                 nullptr, x, 1)[0]));
        for (std::size_t i = 0; i < out.size(); ++i)
            out[i] += gate * y[i];
    }
    return out;
}

// ---- Mamba (transformers' MambaMixer.slow_forward, the sequential recurrence) ----------------

inline double refSilu(double v)
{
    return v / (1.0 + std::exp(-v));
}

// One Mamba block on the rows h (T,C), in place: h_t += out_proj(y_t * silu(z_t)).
inline void refMambaBlock(const ModelConfig& c, const RefWeights& w, const std::string& p, Rows& h)
{
    const int64_t t = int64_t(h.size()), d = c.intermediateSize, n = c.ssm.stateSize;
    const int64_t r = c.ssm.timeStepRank, k = c.ssm.convKernel;
    const std::string m = p + "mixer.";
    auto optional = [&](const std::string& name) -> const std::vector<double>* {
        return w.count(name) ? &refTensor(w, name) : nullptr;
    };
    Rows xs(t), z(t);
    for (int64_t i = 0; i < t; ++i) {
        const auto proj =
            refLinear(refTensor(w, m + "in_proj.weight"), optional(m + "in_proj.bias"),
                      refRmsNorm(h[i], refTensor(w, p + "norm.weight"), c.rmsNormEps), 2 * d);
        xs[i].assign(proj.begin(), proj.begin() + d);
        z[i].assign(proj.begin() + d, proj.end());
    }
    const auto& conv = refTensor(w, m + "conv1d.weight"); // (D,1,K)
    const auto* convBias = optional(m + "conv1d.bias");
    const auto& aLog = refTensor(w, m + "A_log");
    const auto& skip = refTensor(w, m + "D");
    std::vector<double> state(std::size_t(d * n), 0.0);
    for (int64_t i = 0; i < t; ++i) {
        std::vector<double> u(d);
        for (int64_t e = 0; e < d; ++e) { // nn.Conv1d(padding=K-1)[..., :T], depthwise
            double acc = convBias ? (*convBias)[e] : 0.0;
            for (int64_t j = 0; j < k; ++j)
                if (const int64_t src = i - (k - 1) + j; src >= 0)
                    acc += conv[e * k + j] * xs[src][e];
            u[e] = refSilu(acc);
        }
        const auto params = refLinear(refTensor(w, m + "x_proj.weight"), nullptr, u, r + 2 * n);
        const std::vector<double> rank(params.begin(), params.begin() + r);
        auto dt = refLinear(refTensor(w, m + "dt_proj.weight"), &refTensor(w, m + "dt_proj.bias"),
                            rank, d);
        std::vector<double> y(d);
        for (int64_t e = 0; e < d; ++e) {
            const double step = dt[e] > 20.0 ? dt[e] : std::log1p(std::exp(dt[e])); // softplus
            double acc = 0;
            for (int64_t s = 0; s < n; ++s) {
                const double a = -std::exp(aLog[e * n + s]);
                double& hs = state[e * n + s];
                hs = std::exp(step * a) * hs + step * params[r + s] * u[e];
                acc += params[r + n + s] * hs;
            }
            y[e] = (acc + skip[e] * u[e]) * refSilu(z[i][e]);
        }
        const auto out = refLinear(refTensor(w, m + "out_proj.weight"),
                                   optional(m + "out_proj.bias"), y, c.hiddenSize);
        for (int64_t e = 0; e < c.hiddenSize; ++e)
            h[i][e] += out[e];
    }
}

inline Rows refMambaLogits(const ModelConfig& c, const RefWeights& w,
                           const std::vector<int64_t>& ids)
{
    const std::size_t hidden = c.hiddenSize;
    const auto& emb = refTensor(w, "backbone.embeddings.weight");
    Rows h(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i)
        h[i].assign(emb.begin() + ids[i] * hidden, emb.begin() + (ids[i] + 1) * hidden);
    for (int64_t l = 0; l < c.numLayers; ++l)
        refMambaBlock(c, w, "backbone.layers." + std::to_string(l) + ".", h);
    const auto& head =
        refTensor(w, c.tieWordEmbeddings ? "backbone.embeddings.weight" : "lm_head.weight");
    Rows logits(h.size());
    for (std::size_t i = 0; i < h.size(); ++i)
        logits[i] = refLinear(
            head, nullptr, refRmsNorm(h[i], refTensor(w, "backbone.norm_f.weight"), c.rmsNormEps),
            c.vocabSize);
    return logits;
}

// Logits of one sequence: [t][vocab].
inline Rows refSequenceLogits(const ModelConfig& c, const RefWeights& w,
                              const std::vector<int64_t>& ids, RefRouting* routing = nullptr)
{
    if (c.ssm.enabled())
        return refMambaLogits(c, w, ids);
    const std::size_t hidden = c.hiddenSize;
    const auto& emb = refTensor(w, "model.embed_tokens.weight");
    Rows h(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i)
        h[i].assign(emb.begin() + ids[i] * hidden, emb.begin() + (ids[i] + 1) * hidden);
    for (int64_t l = 0; l < c.numLayers; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        Rows x(h.size());
        for (std::size_t i = 0; i < h.size(); ++i)
            x[i] = refRmsNorm(h[i], refTensor(w, p + "input_layernorm.weight"), c.rmsNormEps);
        const Rows a = refAttention(c, w, p, x);
        for (std::size_t i = 0; i < h.size(); ++i) {
            for (std::size_t e = 0; e < hidden; ++e)
                h[i][e] += a[i][e];
            const auto x2 =
                refRmsNorm(h[i], refTensor(w, p + "post_attention_layernorm.weight"), c.rmsNormEps);
            const auto m = c.isMoeLayer(l) ? refMoe(c, w, p, x2, routing) : refMlp(c, w, p, x2);
            for (std::size_t e = 0; e < hidden; ++e)
                h[i][e] += m[e];
        }
    }
    const auto& head =
        refTensor(w, c.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight");
    Rows logits(h.size());
    for (std::size_t i = 0; i < h.size(); ++i)
        logits[i] = refLinear(head, nullptr,
                              refRmsNorm(h[i], refTensor(w, "model.norm.weight"), c.rmsNormEps),
                              c.vocabSize);
    return logits;
}

// Random weights at scales that make every part of the block matter: q/k large enough for
// peaked attention (so RoPE and masking change the result clearly), the other linears
// large enough that attention and MLP outputs are comparable to the residual stream.
inline std::map<std::string, torch::Tensor> testWeights(const ModelConfig& c, uint64_t seed,
                                                        double qkScale = 10.0)
{
    auto w = randomLlamaWeights(c, seed);
    for (auto& [name, t] : w) {
        if (name.find("q_proj.weight") != std::string::npos ||
            name.find("k_proj.weight") != std::string::npos)
            t.mul_(qkScale);
        else if (name.find("dt_proj.weight") != std::string::npos)
            continue; // Mamba's time step keeps its initial range (dt in [1e-3, 0.1])
        else if (name.find("proj.weight") != std::string::npos || name == "lm_head.weight" ||
                 name.find(".w1.weight") != std::string::npos ||
                 name.find(".w2.weight") != std::string::npos ||
                 name.find(".w3.weight") != std::string::npos)
            t.mul_(5.0);
        else if (name.size() > 12 && name.compare(name.size() - 12, 12, ".gate.weight") == 0)
            t.mul_(50.0); // MoE routers: well-separated expert probabilities, no near-ties
    }
    return w;
}

// max |a - b| / max |b|, b the reference.
inline double relativeMaxError(const std::vector<double>& a, const std::vector<double>& b)
{
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, std::abs(a[i] - b[i]));
        scale = std::max(scale, std::abs(b[i]));
    }
    return diff / scale;
}

// A small GQA LLaMA config for tests: 2 layers, hidden 32, 4 heads of 8, 2 kv heads.
inline ModelConfig tinyLlamaConfig(int64_t vocab, int64_t intermediate)
{
    ModelConfig c;
    c.modelType = "llama";
    c.vocabSize = vocab;
    c.hiddenSize = 32;
    c.intermediateSize = intermediate;
    c.numLayers = 2;
    c.numHeads = 4;
    c.numKvHeads = 2;
    c.headDim = 8;
    c.rmsNormEps = 1e-5;
    return c;
}

// n token ids drawn uniformly from [0, vocab) with a seeded generator.
inline std::vector<int32_t> randomTokens(int64_t n, int32_t vocab, uint32_t seed)
{
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int32_t> pick(0, vocab - 1);
    std::vector<int32_t> out(n);
    for (auto& t : out)
        t = pick(rng);
    return out;
}

} // namespace ptq::testing
