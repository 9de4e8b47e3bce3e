#include "model/config.h"

#include "model/architectures.h"
#include "model/config_reader.h"
#include "util/error.h"
#include "util/file_io.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

namespace ptq {

using Json = nlohmann::json;

ModelConfig ModelConfig::fromJson(const std::string& jsonText, const std::string& file)
{
    Json root;
    try {
        root = Json::parse(jsonText);
    } catch (const Json::exception& e) {
        throw Error(file, "", std::string("invalid JSON: ") + e.what());
    }
    if (!root.is_object())
        throw Error(file, "", "config is not a JSON object");
    const ConfigReader r(root, file);

    ModelConfig c;
    c.modelType = r.string("model_type", "");
    // The original state-spaces/mamba-* releases: mamba_ssm's own config and pickled weights.
    if (c.modelType.empty() && r.has("d_model") && r.has("n_layer"))
        r.fail("model_type",
               "this is an original state-spaces/mamba checkpoint (d_model, n_layer, "
               "pytorch_model.bin), which is not supported; use its transformers release (the "
               "state-spaces/mamba-*-hf folders: model_type mamba, model.safetensors)");
    if (c.modelType.empty())
        r.fail("model_type", "missing required key (supported: " + knownModelTypes() + ")");
    // Relatives whose blocks differ in ways that would run without error and give wrong
    // numbers: refused by name.
    if (c.modelType == "deepseek_v2" || c.modelType == "deepseek_v3")
        r.fail(r.has("kv_lora_rank") ? "kv_lora_rank" : "model_type",
               "DeepSeek-V2/V3 multi-head latent attention and grouped top-k routing are not "
               "supported (supported MoE types: mixtral, deepseek, qwen2_moe)");
    const auto& table = architectures();
    if (std::none_of(table.begin(), table.end(),
                     [&](const ArchitectureInfo& a) { return a.modelType == c.modelType; }))
        r.fail("model_type",
               "unknown architecture '" + c.modelType + "' (supported: " + knownModelTypes() + ")");
    c.vocabSize = r.positive("vocab_size");
    c.hiddenSize = r.positive("hidden_size");
    c.numLayers = r.positive("num_hidden_layers");
    c.tieWordEmbeddings = r.boolean("tie_word_embeddings", false);
    findArchitecture(c.modelType).readConfig(r, c); // the architecture's own keys
    // Recent transformers releases write "dtype" where older ones wrote "torch_dtype".
    c.torchDtype = r.string("torch_dtype", r.string("dtype", ""));
    c.bosTokenId = r.tokenId("bos_token_id");
    c.eosTokenId = r.tokenId("eos_token_id");
    return c;
}

ModelConfig ModelConfig::fromFile(const std::string& path)
{
    return fromJson(readFileBytes(path, "config file"), path);
}

std::string ModelConfig::toJson() const
{
    using OJson = nlohmann::ordered_json;
    const ArchitectureInfo& row = findArchitecture(modelType);
    OJson j;
    j["architectures"] = {row.hfClass};
    j["model_type"] = modelType;
    j["vocab_size"] = vocabSize;
    j["hidden_size"] = hiddenSize;
    row.writeConfig(*this, j); // depth, the architecture's own keys, tie_word_embeddings
    if (!torchDtype.empty())
        j["torch_dtype"] = torchDtype;
    j["bos_token_id"] = bosTokenId ? OJson(*bosTokenId) : OJson(nullptr);
    j["eos_token_id"] = eosTokenId ? OJson(*eosTokenId) : OJson(nullptr);
    return j.dump(2) + "\n";
}

namespace {

// Parameters of one block outside the feed-forward part.
int64_t attentionAndNorms(const ModelConfig& c)
{
    const int64_t qDim = c.numHeads * c.headDim;
    const int64_t kvDim = c.numKvHeads * c.headDim;
    return c.hiddenSize * qDim        // q_proj (qDim, hidden)
           + 2 * c.hiddenSize * kvDim // k_proj, v_proj (kvDim, hidden)
           + qDim * c.hiddenSize      // o_proj (hidden, qDim)
           + (c.attentionBias ? qDim + 2 * kvDim : 0) + 2 * c.hiddenSize;
}

// One feed-forward block's parameters with `routed` of the routed experts counted.
int64_t feedForward(const ModelConfig& c, int64_t block, int64_t routed)
{
    const int64_t h = c.hiddenSize;
    if (!c.isMoeLayer(block))
        return 3 * h * c.intermediateSize; // gate, up (inter, hidden); down
    const MoeConfig& m = c.moe;
    return m.experts * h                    // router (experts, hidden)
           + routed * 3 * h * m.expertWidth // routed experts
           + 3 * h * m.sharedWidth          // shared expert(s)
           + (m.sharedGate ? h : 0);        // shared expert gate (1, hidden)
}

// One Mamba block: norm, in_proj (2D, C), conv1d (D, 1, K), x_proj (R + 2N, D), dt_proj
// (D, R) with bias, A_log (D, N), D (D), out_proj (C, D).
int64_t mambaBlock(const ModelConfig& c)
{
    const SsmConfig& s = c.ssm;
    const int64_t h = c.hiddenSize, d = c.intermediateSize;
    return h + 2 * d * h + (s.useBias ? 2 * d + h : 0) + d * s.convKernel +
           (s.useConvBias ? d : 0) + (s.timeStepRank + 2 * s.stateSize) * d + d * s.timeStepRank +
           d + d * s.stateSize + d + h * d;
}

int64_t countParameters(const ModelConfig& c, bool activeOnly)
{
    const int64_t embeddings = c.vocabSize * c.hiddenSize * (c.tieWordEmbeddings ? 1 : 2);
    int64_t blocks = 0;
    for (int64_t i = 0; i < c.numLayers; ++i)
        blocks += c.ssm.enabled()
                      ? mambaBlock(c)
                      : attentionAndNorms(c) +
                            feedForward(c, i, activeOnly ? c.moe.expertsPerToken : c.moe.experts);
    return embeddings + blocks + c.hiddenSize;
}

} // namespace

bool ModelConfig::isMoeLayer(int64_t block) const
{
    if (!moe.enabled() || block < moe.firstDenseLayers)
        return false;
    for (int64_t d : moe.denseLayers)
        if (d == block)
            return false;
    // deepseek: layer_idx % moe_layer_freq == 0; qwen2_moe: (layer_idx + 1) % step == 0.
    if (modelType == "qwen2_moe")
        return (block + 1) % std::max<int64_t>(moe.layerFreq, 1) == 0;
    return block % std::max<int64_t>(moe.layerFreq, 1) == 0;
}

int64_t ModelConfig::parameterCount() const
{
    return countParameters(*this, false);
}

int64_t ModelConfig::activeParameterCount() const
{
    return countParameters(*this, true);
}

} // namespace ptq
