#include "model/checkpoint_writer.h"

#include "model/architecture.h"

#include "util/error.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

namespace ptq {

namespace {

// Draws every tensor from one generator in a fixed order, so a seed names one model.
class WeightDrawer {
public:
    explicit WeightDrawer(uint64_t seed) : m_gen(at::detail::createCPUGenerator(seed)) {}

    torch::Tensor normal(const std::vector<int64_t>& shape, double mean, double stddev)
    {
        return torch::randn(shape, m_gen, torch::kFloat).mul_(stddev).add_(mean);
    }
    at::Generator& generator() { return m_gen; }

private:
    at::Generator m_gen;
};

void writeTextAtomically(const std::string& path, const std::string& text)
{
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
        out.flush();
        if (!out)
            throw Error(tmp, "config.json", "cannot write the file");
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::remove(tmp.c_str());
        throw Error(path, "config.json", "cannot replace the file: " + ec.message());
    }
}

torch::ScalarType storageType(DType storage, const std::string& dir)
{
    switch (storage) {
    case DType::F32:
        return torch::kFloat;
    case DType::F16:
        return torch::kHalf;
    case DType::BF16:
        return torch::kBFloat16;
    default:
        throw Error(dir, "storage dtype",
                    std::string("cannot write ") + dtypeName(storage) +
                        " checkpoints (F32, F16 or BF16)");
    }
}

} // namespace

std::map<std::string, torch::Tensor> randomLlamaWeights(const ModelConfig& config, uint64_t seed)
{
    const auto& c = config;
    const int64_t hidden = c.hiddenSize, q = c.numHeads * c.headDim;
    const int64_t kv = c.numKvHeads * c.headDim, inter = c.intermediateSize;
    // Linears and embeddings: std 0.02 as HF's initializer_range. Norms 1 + 0.1 N(0,1) and
    // biases 0.1 N(0,1) rather than exact 1 / 0, so a forward that skipped them would show.
    constexpr double kStd = 0.02, kNormStd = 0.1, kBiasStd = 0.1;
    WeightDrawer draw(seed);
    std::map<std::string, torch::Tensor> w;
    const auto arch = makeArchitecture(c);
    const auto heads = arch->headNames();
    w[heads.embedding] = draw.normal({c.vocabSize, hidden}, 0.0, kStd);
    const bool laidOut = c.moe.enabled() || c.ssm.enabled();
    if (laidOut) { // the blocks as their architecture lays them out
        for (int64_t i = 0; i < c.numLayers; ++i) {
            const std::string p = arch->blockPrefix(i);
            for (const auto& t : arch->layout(i)->tensors) {
                const bool bias = t.checkpoint.size() > 5 &&
                                  t.checkpoint.compare(t.checkpoint.size() - 5, 5, ".bias") == 0;
                // Tensors with an initialisation of their own (Mamba's A_log, D, time-step
                // bias, conv taps) keep its scale, perturbed by 10% so no value is exact.
                if (auto init = arch->initialTensor(i, t, draw.generator()); init.defined())
                    w[p + t.checkpoint] = init * draw.normal(t.shape, 1.0, kNormStd);
                else
                    w[p + t.checkpoint] =
                        t.shape.size() == 1
                            ? draw.normal(t.shape, bias ? 0.0 : 1.0, bias ? kBiasStd : kNormStd)
                            : draw.normal(t.shape, 0.0, kStd);
            }
        }
    }
    for (int64_t i = 0; i < (laidOut ? 0 : c.numLayers); ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        w[p + "input_layernorm.weight"] = draw.normal({hidden}, 1.0, kNormStd);
        w[p + "self_attn.q_proj.weight"] = draw.normal({q, hidden}, 0.0, kStd);
        w[p + "self_attn.k_proj.weight"] = draw.normal({kv, hidden}, 0.0, kStd);
        w[p + "self_attn.v_proj.weight"] = draw.normal({kv, hidden}, 0.0, kStd);
        if (c.attentionBias) {
            w[p + "self_attn.q_proj.bias"] = draw.normal({q}, 0.0, kBiasStd);
            w[p + "self_attn.k_proj.bias"] = draw.normal({kv}, 0.0, kBiasStd);
            w[p + "self_attn.v_proj.bias"] = draw.normal({kv}, 0.0, kBiasStd);
        }
        w[p + "self_attn.o_proj.weight"] = draw.normal({hidden, q}, 0.0, kStd);
        w[p + "post_attention_layernorm.weight"] = draw.normal({hidden}, 1.0, kNormStd);
        w[p + "mlp.gate_proj.weight"] = draw.normal({inter, hidden}, 0.0, kStd);
        w[p + "mlp.up_proj.weight"] = draw.normal({inter, hidden}, 0.0, kStd);
        w[p + "mlp.down_proj.weight"] = draw.normal({hidden, inter}, 0.0, kStd);
    }
    w[heads.finalNorm] = draw.normal({hidden}, 1.0, kNormStd);
    if (!c.tieWordEmbeddings)
        w[heads.lmHead] = draw.normal({c.vocabSize, hidden}, 0.0, kStd);
    return w;
}

void writeLlamaCheckpoint(const std::string& dir, const ModelConfig& config,
                          const std::map<std::string, torch::Tensor>& tensors, DType storage)
{
    const torch::ScalarType type = storageType(storage, dir);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
        throw Error(dir, "checkpoint folder", "cannot create it: " + ec.message());

    // The converted tensors own the bytes that TensorToWrite points at until the write ends.
    std::vector<torch::Tensor> converted;
    std::vector<TensorToWrite> entries;
    converted.reserve(tensors.size());
    for (const auto& [name, tensor] : tensors) {
        if (!tensor.defined())
            throw Error(dir, name, "undefined tensor");
        if (!tensor.is_floating_point())
            throw Error(dir, name, "not a floating-point tensor");
        converted.push_back(tensor.detach().to(torch::kCPU).to(type).contiguous());
        const auto& t = converted.back();
        entries.push_back({name, storage, t.sizes().vec(), t.data_ptr()});
    }
    writeSafetensors(dir + "/model.safetensors", entries, {{"format", "pt"}});
    writeTextAtomically(dir + "/config.json", config.toJson());
}

} // namespace ptq
