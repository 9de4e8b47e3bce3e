#include "model/mamba.h"

#include "model/block_hooks.h"
#include "model/config_reader.h"
#include "model/llama_ops.h"
#include "model/selective_scan.h"
#include "util/error.h"

#include <algorithm>
#include <cmath>

namespace ptq {

namespace {

// The forward runs at most this many tokens (whole windows) at once so the mixer's
// intermediates (tokens x 2D) stay bounded however large the caller's batch is.
constexpr int64_t kTokensPerChunk = 4096;

// Positions of the linears in BlockLayout::linears (and BlockWeights::computeLinears).
enum Linear { InProj, XProj, DtProj, OutProj };

const char* const kNorm = "norm";
const char* const kInProj = "mixer.in_proj";
const char* const kXProj = "mixer.x_proj";
const char* const kDtProj = "mixer.dt_proj";
const char* const kOutProj = "mixer.out_proj";
const char* const kConv = "mixer.conv1d";
const char* const kALog = "mixer.A_log";
const char* const kSkip = "mixer.D";

std::shared_ptr<const BlockLayout> mambaLayout(const ModelConfig& c)
{
    const SsmConfig& s = c.ssm;
    const int64_t h = c.hiddenSize, d = c.intermediateSize, n = s.stateSize, r = s.timeStepRank;
    auto l = std::make_shared<BlockLayout>();
    auto add = [&](const std::string& key, const std::string& checkpoint,
                   std::vector<int64_t> shape, bool linear) {
        l->tensors.push_back({key, checkpoint, std::move(shape), linear});
    };
    // Checkpoint order of MambaBlock's state dict.
    add(kNorm, "norm.weight", {h}, false);
    add(kALog, "mixer.A_log", {d, n}, false);
    l->tensors.back().noWeightDecay = true;
    add(kSkip, "mixer.D", {d}, false);
    add(kConv, "mixer.conv1d.weight", {d, 1, s.convKernel}, false);
    if (s.useConvBias)
        add("mixer.conv1d.bias", "mixer.conv1d.bias", {d}, false);
    add(kInProj, "mixer.in_proj.weight", {2 * d, h}, true);
    if (s.useBias)
        add("mixer.in_proj.bias", "mixer.in_proj.bias", {2 * d}, false);
    add(kXProj, "mixer.x_proj.weight", {r + 2 * n, d}, true);
    add(kDtProj, "mixer.dt_proj.weight", {d, r}, true);
    l->tensors.back().groupFallback = true;
    add("mixer.dt_proj.bias", "mixer.dt_proj.bias", {d}, false);
    add(kOutProj, "mixer.out_proj.weight", {h, d}, true);
    if (s.useBias)
        add("mixer.out_proj.bias", "mixer.out_proj.bias", {h}, false);
    l->linears = {kInProj, kXProj, kDtProj, kOutProj};
    for (const char* linear : {kInProj, kXProj, kDtProj, kOutProj}) {
        InputGroup g;
        g.input = linear;
        g.linears = {linear};
        g.onlineRotation = linear == kOutProj; // QuaRot's online Hadamard, Quamba's rotation
        l->inputGroups.push_back(std::move(g));
    }
    l->folds = {
        {"norm_in", ArchFeature::NormFold, kNorm, "", {kInProj}, {}, kInProj, kInProj, false}};
    l->residualWriters = {kOutProj};
    l->hidden = h;
    return l;
}

// HF nn.Conv1d(groups=D, padding=K-1)[..., :T]: out[t] = bias + sum_k w[k] * x[t - (K-1) + k],
// x (B,T,D) fp32, w (D,1,K). K shifted multiply-adds: exact in the order of the taps and
// differentiable.
torch::Tensor causalConv(const torch::Tensor& x, const torch::Tensor& weight,
                         const torch::Tensor& bias)
{
    const int64_t t = x.size(1), k = weight.size(2);
    auto padded = torch::constant_pad_nd(x, {0, 0, k - 1, 0}); // (B,T+K-1,D)
    auto taps = weight.to(torch::kFloat).select(1, 0);         // (D,K)
    torch::Tensor out = padded.narrow(1, 0, t) * taps.select(1, 0);
    for (int64_t j = 1; j < k; ++j)
        out = out + padded.narrow(1, j, t) * taps.select(1, j);
    if (bias.defined())
        out = out + bias.to(torch::kFloat);
    return out;
}

torch::Tensor withBias(torch::Tensor y, const torch::Tensor& bias)
{
    return bias.defined() ? y + bias.to(torch::kFloat) : y;
}

} // namespace

void readMambaConfig(const ConfigReader& r, ModelConfig& c)
{
    SsmConfig& s = c.ssm;
    s.stateSize = r.positive("state_size", 16);
    s.expand = r.finitePositive("expand", 2.0);
    // transformers sets intermediate_size = int(expand * hidden_size), but a stored
    // intermediate_size (as config.json files have) overrides it when the config is built.
    c.intermediateSize = r.has("intermediate_size")
                             ? r.positive("intermediate_size")
                             : static_cast<int64_t>(s.expand * static_cast<double>(c.hiddenSize));
    if (c.intermediateSize <= 0)
        r.fail("expand", "expand * hidden_size must be at least 1");
    s.convKernel = r.positive("conv_kernel", 4);
    if (const auto* rank = r.find("time_step_rank"); rank && rank->is_string()) {
        if (rank->get<std::string>() != "auto")
            r.fail("time_step_rank", "expected an integer or \"auto\", got " + rank->dump());
        s.timeStepRank = (c.hiddenSize + 15) / 16; // "auto": ceil(hidden_size / 16)
    } else {
        s.timeStepRank = r.positive("time_step_rank", (c.hiddenSize + 15) / 16);
    }
    // mamba_ssm's Mamba block and every released checkpoint: no in/out projection biases.
    s.useBias = r.boolean("use_bias", false);
    s.useConvBias = r.boolean("use_conv_bias", true);
    s.residualInFp32 = r.boolean("residual_in_fp32", true);
    c.rmsNormEps = r.finitePositive("layer_norm_epsilon", 1e-5);
    // PretrainedConfig's default: MambaForCausalLM ties lm_head to the embeddings.
    c.tieWordEmbeddings = r.boolean("tie_word_embeddings", true);
    const std::string act = r.string("hidden_act", "silu");
    if (act != "silu")
        r.fail("hidden_act", "unsupported activation '" + act + "' (supported: silu)");
    c.numHeads = c.numKvHeads = c.headDim = 0; // no attention
}

void writeMambaConfig(const ModelConfig& c, nlohmann::ordered_json& j)
{
    const SsmConfig& s = c.ssm;
    j["state_size"] = s.stateSize;
    j["num_hidden_layers"] = c.numLayers;
    j["layer_norm_epsilon"] = c.rmsNormEps;
    j["expand"] = s.expand;
    j["conv_kernel"] = s.convKernel;
    j["use_bias"] = s.useBias;
    j["use_conv_bias"] = s.useConvBias;
    j["hidden_act"] = "silu";
    j["residual_in_fp32"] = s.residualInFp32;
    j["time_step_rank"] = s.timeStepRank;
    j["intermediate_size"] = c.intermediateSize;
    j["tie_word_embeddings"] = c.tieWordEmbeddings;
}

MambaArchitecture::MambaArchitecture(const ModelConfig& config)
    : Architecture(config), m_layout(mambaLayout(config))
{}

const ArchitectureInfo& MambaArchitecture::info() const
{
    return findArchitecture(config().modelType);
}

std::shared_ptr<const BlockLayout> MambaArchitecture::layout(int64_t block) const
{
    if (block < 0 || (block >= config().numLayers && config().numLayers > 0))
        throw Error(config().modelType, "block " + std::to_string(block),
                    "outside the model's " + std::to_string(config().numLayers) + " blocks");
    return m_layout;
}

std::string MambaArchitecture::blockPrefix(int64_t i) const
{
    return "backbone.layers." + std::to_string(i) + ".";
}

Architecture::HeadNames MambaArchitecture::headNames() const
{
    const std::string embed = "backbone.embeddings.weight";
    return {embed, "backbone.norm_f.weight", config().tieWordEmbeddings ? embed : "lm_head.weight"};
}

void MambaArchitecture::validateConfig(const std::string& file) const
{
    const auto& c = config();
    const SsmConfig& s = c.ssm;
    auto positive = [&](int64_t v, const char* key) {
        if (v <= 0)
            throw Error(file, key, "must be positive, got " + std::to_string(v));
    };
    positive(c.vocabSize, "vocab_size");
    positive(c.hiddenSize, "hidden_size");
    positive(c.intermediateSize, "intermediate_size");
    positive(s.stateSize, "state_size");
    positive(s.convKernel, "conv_kernel");
    positive(s.timeStepRank, "time_step_rank");
    if (c.numLayers < 0)
        throw Error(file, "num_hidden_layers", "must not be negative");
}

std::shared_ptr<const ForwardContext> MambaArchitecture::context(int64_t seqlen) const
{
    return std::make_shared<MambaContext>(seqlen);
}

torch::Tensor MambaArchitecture::mixer(const BlockWeights& w, const std::vector<torch::Tensor>& lin,
                                       const torch::Tensor& x, torch::ScalarType dtype,
                                       const BlockHooks& hooks, bool autograd) const
{
    const auto& l = *w.layout;
    const SsmConfig& s = config().ssm;
    const int64_t d = config().intermediateSize, n = s.stateSize, r = s.timeStepRank;
    auto proj = withBias(
        torch::linear(hooks.input(l.groupOf(kInProj), x, dtype), lin[InProj]).to(torch::kFloat),
        w.get("mixer.in_proj.bias")); // (B,T,2D)
    auto gate = proj.narrow(-1, d, d);
    auto u =
        torch::silu(causalConv(proj.narrow(-1, 0, d), w.at(kConv), w.get("mixer.conv1d.bias")));
    auto params =
        torch::linear(hooks.input(l.groupOf(kXProj), u, dtype), lin[XProj]).to(torch::kFloat);
    auto rank = params.narrow(-1, 0, r);
    auto dt =
        torch::linear(hooks.input(l.groupOf(kDtProj), rank, dtype), lin[DtProj]).to(torch::kFloat);
    dt = torch::softplus(withBias(dt, w.at("mixer.dt_proj.bias")), 1.0, 20.0); // nn.Softplus
    auto a = -torch::exp(w.at(kALog).to(torch::kFloat));                       // (D,N)
    auto y =
        ssm::selectiveScan(u.contiguous(), dt.contiguous(), a, params.narrow(-1, r, n).contiguous(),
                           params.narrow(-1, r + n, n).contiguous());
    if (autograd) {
        y = (y + u * w.at(kSkip).to(torch::kFloat)) * torch::silu(gate);
    } else {
        y.add_(u * w.at(kSkip).to(torch::kFloat)).mul_(torch::silu(gate));
    }
    return withBias(
        torch::linear(hooks.input(l.groupOf(kOutProj), y, dtype), lin[OutProj]).to(torch::kFloat),
        w.get("mixer.out_proj.bias"));
}

torch::Tensor MambaArchitecture::blockForward(const BlockWeights& w, const torch::Tensor& h,
                                              const ForwardContext& ctx, const BlockCall& call,
                                              torch::ScalarType computeDtype) const
{
    const auto& c = config();
    if (h.dim() != 3 || h.size(2) != c.hiddenSize || h.scalar_type() != torch::kFloat)
        throw Error(info().modelType, "block " + std::to_string(w.index),
                    "hidden states must be (B,T," + std::to_string(c.hiddenSize) + ") float32");
    if (!dynamic_cast<const MambaContext*>(&ctx))
        throw Error(info().modelType, "block " + std::to_string(w.index),
                    "the forward context was made by another architecture");
    checkRuntime(w);
    BlockHooks hooks;
    hooks.runtime = w.runtime.get();
    hooks.observe = call.observe && *call.observe ? call.observe : nullptr;
    const double eps = c.rmsNormEps;
    if (call.autograd) {
        std::vector<torch::Tensor> lin;
        for (const auto& [name, t] : w.linears())
            lin.push_back(t->to(torch::kFloat));
        return h + mixer(w, lin, llama::rmsNorm(h, w.at(kNorm), eps), torch::kFloat, hooks, true);
    }
    torch::NoGradGuard noGrad;
    const auto lin = w.computeLinears(computeDtype);
    const int64_t b = h.size(0), t = h.size(1);
    const int64_t windows = std::max<int64_t>(1, kTokensPerChunk / std::max<int64_t>(t, 1));
    auto out = torch::empty_like(h);
    for (int64_t b0 = 0; b0 < b; b0 += windows) {
        const int64_t k = std::min(windows, b - b0);
        auto hc = h.narrow(0, b0, k);
        out.narrow(0, b0, k).copy_(
            hc + mixer(w, lin, llama::rmsNorm(hc, w.at(kNorm), eps), computeDtype, hooks, false));
    }
    return out;
}

torch::Tensor MambaArchitecture::moduleForward(const BlockWeights& w, const std::string& module,
                                               const torch::Tensor& x,
                                               const ForwardContext& ctx) const
{
    torch::NoGradGuard noGrad;
    if (module == "mixer") {
        BlockHooks hooks;
        hooks.runtime = w.runtime.get();
        return mixer(w, w.computeLinears(torch::kFloat), x.to(torch::kFloat), torch::kFloat, hooks,
                     false);
    }
    return Architecture::moduleForward(w, module, x, ctx);
}

torch::Tensor MambaArchitecture::finalNorm(const torch::Tensor& h,
                                           const torch::Tensor& weight) const
{
    return llama::rmsNorm(h, weight, config().rmsNormEps); // MambaRMSNorm = LlamaRMSNorm
}

void MambaArchitecture::checkRuntime(const BlockWeights& w) const
{
    Architecture::checkRuntime(w);
    if (w.runtime && (w.runtime->keyCache || w.runtime->valueCache))
        throw Error("block " + std::to_string(w.index), "KV-cache hook",
                    "Mamba has no attention and so no KV cache");
}

torch::Tensor MambaArchitecture::initialTensor(int64_t, const BlockTensorSpec& spec,
                                               at::Generator& gen) const
{
    const SsmConfig& s = config().ssm;
    const int64_t d = config().intermediateSize;
    auto uniform = [&](std::vector<int64_t> shape, double bound) {
        return torch::rand(shape, gen, torch::kFloat).mul_(2 * bound).sub_(bound);
    };
    if (spec.key == kALog) // S4D-real: A[d, n] = -(n + 1)
        return torch::arange(1, s.stateSize + 1, torch::kFloat)
            .log()
            .expand({d, s.stateSize})
            .clone();
    if (spec.key == kSkip)
        return torch::ones({d});
    if (spec.key == kDtProj)
        return uniform(spec.shape, 1.0 / std::sqrt(static_cast<double>(s.timeStepRank)));
    if (spec.key == kConv)
        return uniform(spec.shape, 1.0 / std::sqrt(static_cast<double>(s.convKernel)));
    if (spec.key == "mixer.dt_proj.bias") {
        // dt = exp(U(log 1e-3, log 0.1)) clamped to >= 1e-4; bias = dt + log(-expm1(-dt)),
        // the inverse of softplus, so softplus(bias) = dt at initialisation.
        const double lo = std::log(1e-3), hi = std::log(0.1);
        auto dt =
            torch::rand({d}, gen, torch::kFloat).mul_(hi - lo).add_(lo).exp_().clamp_min_(1e-4);
        return dt + torch::log(-torch::expm1(-dt));
    }
    return {};
}

} // namespace ptq
