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
    if (c.modelType.empty())
        r.fail("model_type", "missing required key (supported: " + knownModelTypes() + ")");
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

int64_t ModelConfig::parameterCount() const
{
    const int64_t qDim = numHeads * headDim;
    const int64_t kvDim = numKvHeads * headDim;
    const int64_t attention = hiddenSize * qDim        // q_proj (qDim, hidden)
                              + 2 * hiddenSize * kvDim // k_proj, v_proj (kvDim, hidden)
                              + qDim * hiddenSize      // o_proj (hidden, qDim)
                              + (attentionBias ? qDim + 2 * kvDim : 0);
    const int64_t mlp = 3 * hiddenSize * intermediateSize; // gate, up (inter, hidden); down
    const int64_t norms = 2 * hiddenSize;
    const int64_t embeddings = vocabSize * hiddenSize * (tieWordEmbeddings ? 1 : 2);
    return embeddings + numLayers * (attention + mlp + norms) + hiddenSize;
}

} // namespace ptq
