#pragma once
// config.json of a Hugging Face checkpoint of one of the architectures in the table
// (model/architectures.h): the LLaMA family, its Mixture-of-Experts relatives and Mamba. Each row
// reads its own keys; this struct holds their union. Torch-free so the UI can show a model's
// shape without loading libtorch.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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

// The Mixture-of-Experts part of a config (mixtral, deepseek, qwen2_moe); experts == 0 for a
// dense model.
struct MoeConfig {
    int64_t experts = 0;              // routed experts per MoE layer
    int64_t expertsPerToken = 0;      // k of the top-k routing
    int64_t expertWidth = 0;          // intermediate size of one routed expert
    int64_t sharedWidth = 0;          // intermediate size of the shared expert MLP; 0 = none
    bool sharedGate = false;          // qwen2_moe: the shared expert is scaled by sigmoid(gate(x))
    bool normalizeTopK = true;        // the k routing weights renormalised to sum to 1
    int64_t firstDenseLayers = 0;     // deepseek first_k_dense_replace
    int64_t layerFreq = 1;            // deepseek moe_layer_freq / qwen2_moe decoder_sparse_step
    std::vector<int64_t> denseLayers; // qwen2_moe mlp_only_layers
    double auxLossCoef = 0.0;         // router_aux_loss_coef (training only)

    bool enabled() const { return experts > 0; }
};

// The state-space part of a Mamba config (transformers' MambaConfig); stateSize == 0 for a
// Transformer. The inner width is ModelConfig::intermediateSize (int(expand * hidden_size)).
struct SsmConfig {
    int64_t stateSize = 0;      // state_size: N, the states per channel
    int64_t convKernel = 4;     // conv_kernel: taps of the causal depthwise convolution
    int64_t timeStepRank = 0;   // time_step_rank ("auto": ceil(hidden_size / 16))
    double expand = 2.0;        // expand: intermediate_size / hidden_size
    bool useBias = false;       // use_bias: biases on in_proj and out_proj
    bool useConvBias = true;    // use_conv_bias
    bool residualInFp32 = true; // residual_in_fp32 (the walk keeps the residual in fp32 always)

    bool enabled() const { return stateSize > 0; }
};

struct ModelConfig {
    std::string modelType; // config.json model_type, a row of the architecture table
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
    MoeConfig moe;
    SsmConfig ssm;
    std::string torchDtype; // as declared in config.json ("float16", "bfloat16", ...)
    std::optional<int64_t> bosTokenId;
    std::optional<int64_t> eosTokenId;

    // Throws ptq::Error naming `file` and the offending key on any missing, mistyped or
    // inconsistent field, and on an unknown model_type.
    static ModelConfig fromJson(const std::string& jsonText, const std::string& file);
    static ModelConfig fromFile(const std::string& path);
    std::string toJson() const; // a config.json that fromJson and transformers both read

    int64_t parameterCount() const; // from the shapes alone, every expert included
    // Parameters that take part in one token's forward: the routed experts counted k of E
    // (the embedding row read is counted whole, as papers do). Equals parameterCount() for a
    // dense model.
    int64_t activeParameterCount() const;
    // Block i's feed-forward is a routed Mixture of Experts (false for every block of a dense
    // model).
    bool isMoeLayer(int64_t block) const;
};

} // namespace ptq
