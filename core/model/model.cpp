#include "model/model.h"

#include "util/error.h"

#include <cstring>
#include <mutex>

namespace ptq {

namespace {

std::string shapeText(const std::vector<int64_t>& shape)
{
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
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

struct Model::HeadState {
    std::mutex mutex;
    torch::Tensor finalNorm;     // (C)
    torch::Tensor lmHead;        // (V,C) fp32
    torch::Tensor lmHeadCompute; // (V,C) in the compute dtype
};

Model::Model(std::shared_ptr<const Checkpoint> checkpoint, ForwardOptions options)
    : m_checkpoint(std::move(checkpoint)), m_options(options), m_head(std::make_shared<HeadState>())
{
    if (!m_checkpoint)
        throw Error("", "checkpoint", "no checkpoint given to the model");
    const std::string file = m_checkpoint->dir() + "/config.json";
    try {
        m_arch = makeArchitecture(config());
    } catch (const Error& e) {
        throw Error(file, "model_type", e.what());
    }
    m_arch->validateConfig(file);
    const auto dt = m_options.computeDtype;
    if (dt != torch::kFloat && dt != torch::kBFloat16)
        throw Error(m_checkpoint->dir(), "compute dtype",
                    std::string("unsupported: ") + c10::toString(dt) +
                        " (float32 or bfloat16 only)");
}

const TensorInfo& Model::checkedInfo(const std::string& name,
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

torch::Tensor Model::loadTensor(const std::string& name, const std::vector<int64_t>& shape) const
{
    const TensorInfo& info = checkedInfo(name, shape);
    torch::ScalarType type = torch::kFloat;
    torchTypeOf(info.dtype, type);
    return tensorFromBytes(m_checkpoint->fileOf(name).data(info), type, shape);
}

torch::Tensor Model::embed(const torch::Tensor& ids) const
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
    const std::string name = m_arch->headNames().embedding;
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

BlockWeights Model::loadBlock(int64_t i) const
{
    if (i < 0 || i >= numBlocks())
        throw Error(m_checkpoint->dir(), "block " + std::to_string(i),
                    "outside [0, " + std::to_string(numBlocks()) + ")");
    if (m_overlay && m_overlay->block)
        return m_overlay->block(i);
    BlockWeights w;
    w.index = i;
    w.layout = m_arch->layout(i);
    const std::string prefix = m_arch->blockPrefix(i);
    for (const auto& spec : w.layout->tensors)
        w.tensors[spec.key] = loadTensor(prefix + spec.checkpoint, spec.shape);
    return w;
}

std::shared_ptr<const ForwardContext> Model::context(int64_t seqlen) const
{
    return m_arch->context(seqlen);
}

torch::Tensor Model::blockForward(const BlockWeights& w, const torch::Tensor& h,
                                  const ForwardContext& ctx, const LinearObserver& observe) const
{
    BlockCall call;
    call.observe = observe ? &observe : nullptr;
    return m_arch->blockForward(w, h, ctx, call, m_options.computeDtype);
}

torch::Tensor Model::blockForward(const BlockWeights& w, const torch::Tensor& h,
                                  const ForwardContext& ctx, const BlockCall& call) const
{
    return m_arch->blockForward(w, h, ctx, call, m_options.computeDtype);
}

torch::Tensor Model::walk(torch::Tensor h, const ForwardContext& ctx, const BlockStep& step,
                          const BlockDone& done, const RouterObserver* route) const
{
    torch::NoGradGuard noGrad;
    BlockCall call;
    call.route = route;
    for (int64_t i = 0; i < numBlocks(); ++i) {
        h = step ? step(i, h) : blockForward(loadBlock(i), h, ctx, call);
        if (done)
            done(i);
    }
    return h;
}

torch::Tensor Model::hidden(const torch::Tensor& ids, const ForwardContext& ctx,
                            const BlockDone& done, const RouterObserver* route) const
{
    return finalNorm(walk(embed(ids), ctx, {}, done, route));
}

torch::Tensor Model::forward(const torch::Tensor& ids) const
{
    torch::NoGradGuard noGrad;
    return lmHead(hidden(ids, *context(ids.size(1))));
}

Model Model::withOverlay(std::shared_ptr<const WeightOverlay> overlay) const
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
    Model copy = *this;
    copy.m_head = std::make_shared<HeadState>();
    copy.m_overlay = std::move(overlay);
    return copy;
}

HeadTensors Model::loadHead() const
{
    const auto& c = config();
    const auto names = m_arch->headNames();
    HeadTensors head;
    head.embedding = loadTensor(names.embedding, {c.vocabSize, c.hiddenSize});
    head.finalNorm = loadTensor(names.finalNorm, {c.hiddenSize});
    head.lmHead = c.tieWordEmbeddings ? head.embedding.clone()
                                      : loadTensor(names.lmHead, {c.vocabSize, c.hiddenSize});
    return head;
}

uint64_t Model::headParameters() const
{
    const auto& c = config();
    return uint64_t(c.vocabSize) * uint64_t(c.hiddenSize) * (c.tieWordEmbeddings ? 1 : 2) +
           uint64_t(c.hiddenSize);
}

const Model::HeadState& Model::head() const
{
    std::lock_guard<std::mutex> lock(m_head->mutex);
    if (!m_head->lmHead.defined()) {
        const auto& c = config();
        const auto names = m_arch->headNames();
        const WeightOverlay* o = m_overlay.get();
        m_head->finalNorm = o && o->finalNorm.defined()
                                ? o->finalNorm.to(torch::kFloat)
                                : loadTensor(names.finalNorm, {c.hiddenSize});
        m_head->lmHead = o && o->lmHead.defined()
                             ? o->lmHead.to(torch::kFloat)
                             : loadTensor(names.lmHead, {c.vocabSize, c.hiddenSize});
        m_head->lmHeadCompute = m_head->lmHead.to(m_options.computeDtype);
    }
    return *m_head;
}

torch::Tensor Model::finalNorm(const torch::Tensor& h) const
{
    torch::NoGradGuard noGrad;
    return m_arch->finalNorm(h, head().finalNorm);
}

torch::Tensor Model::lmHead(const torch::Tensor& h) const
{
    torch::NoGradGuard noGrad;
    const auto& weight = head().lmHeadCompute;
    return torch::linear(h.to(m_options.computeDtype), weight).to(torch::kFloat);
}

} // namespace ptq
