#pragma once
// config.json of a Hugging Face LLaMA-family checkpoint (model_type llama, mistral, qwen2).
// Torch-free so the UI can show a model's shape without loading libtorch.

#include <cstdint>
#include <optional>
#include <string>

namespace ptq {

// LLaMA-3.1 style frequency-dependent RoPE scaling ("rope_type": "llama3"), and plain
// linear position interpolation ("linear"). Empty type = no scaling.
struct RopeScaling {
    std::string type;
    double factor = 1.0;
    double lowFreqFactor = 1.0;
    double highFreqFactor = 4.0;
    int64_t originalMaxPositionEmbeddings = 8192;
};

struct ModelConfig {
    std::string modelType; // "llama" | "mistral" | "qwen2"
    int64_t vocabSize = 0;
    int64_t hiddenSize = 0;
    int64_t intermediateSize = 0;
    int64_t numLayers = 0;
    int64_t numHeads = 0;
    int64_t numKvHeads = 0;
    int64_t headDim = 0; // hidden_size / num_attention_heads unless "head_dim" is given
    int64_t maxPositionEmbeddings = 2048;
    double rmsNormEps = 1e-6;
    double ropeTheta = 10000.0;
    RopeScaling ropeScaling;
    bool tieWordEmbeddings = false;
    bool attentionBias = false; // q/k/v biases (always on for qwen2)
    int64_t slidingWindow = 0;  // mistral / qwen2 when enabled; 0 = full causal attention
    std::string torchDtype;     // as declared in config.json ("float16", "bfloat16", ...)
    std::optional<int64_t> bosTokenId;
    std::optional<int64_t> eosTokenId;

    // Throws ptq::Error naming `file` and the offending key on any missing, mistyped or
    // inconsistent field, and on an unknown model_type.
    static ModelConfig fromJson(const std::string& jsonText, const std::string& file);
    static ModelConfig fromFile(const std::string& path);
    std::string toJson() const; // a config.json that fromJson and transformers both read

    int64_t parameterCount() const; // from the shapes alone
};

} // namespace ptq
