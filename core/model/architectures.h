#pragma once
// The table of architectures the engine runs, one row per Hugging Face model_type, listed by
// hand like the method tables (quant/registry.h). A row says what the architecture offers
// to quantization strategies: where a per-channel scale or a rotation can be folded into
// neighbouring weights without changing the function, and where run-time hooks exist. A
// method lists what it needs (MethodInfo::needs, TransformInfo::needs); a recipe that needs
// something an architecture lacks is refused before any run starts, naming the method, the
// architecture and what is missing (checkRecipeFits in quant/registry.h).

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ptq {

class Architecture; // model/architecture.h
class ConfigReader; // model/config_reader.h
struct ModelConfig; // model/config.h

enum class ArchFeature {
    NormFold,         // a norm's gain absorbs a per-channel scale of the linears it feeds
    ValueOutputFold,  // v_proj's output rows and o_proj's input columns, head by head
    UpDownFold,       // up_proj's output rows and down_proj's input columns
    ResidualRotation, // the residual stream can be rotated end to end: RMSNorm without a
                      // mean, embedding and head rotated with it (QuaRot, QuIP's rotation)
    LinearInputHook,  // a run-time hook on every linear's input (online rotations,
                      // activation quantization)
    KvCacheHook,      // a run-time hook on keys (after the position encoding) and values
    AutogradForward,  // a block forward that autograd trains through (OmniQuant)
};

// "norm fold", "v->o fold", ... for messages and listings.
const char* archFeatureName(ArchFeature feature);

struct ArchitectureInfo {
    std::string modelType;   // config.json's model_type
    std::string hfClass;     // the transformers class of the checkpoint
    std::string description; // one line
    std::vector<ArchFeature> features;
    // The architecture's block math and storage for one config.
    std::function<std::unique_ptr<Architecture>(const ModelConfig&)> make;
    // config.json keys beyond the common ones (model_type, vocab_size, hidden_size,
    // num_hidden_layers, tie_word_embeddings, dtype, bos/eos): read into the config, and
    // written back (depth and tie_word_embeddings included, in transformers' key order).
    std::function<void(const ConfigReader&, ModelConfig&)> readConfig;
    std::function<void(const ModelConfig&, nlohmann::ordered_json&)> writeConfig;

    bool has(ArchFeature f) const;
};

const std::vector<ArchitectureInfo>& architectures();
// Throws ptq::Error naming the known model types when `modelType` is not listed.
const ArchitectureInfo& findArchitecture(const std::string& modelType);
// "llama, mistral, qwen2"
std::string knownModelTypes();

} // namespace ptq
