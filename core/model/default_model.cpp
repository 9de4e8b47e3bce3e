#include "model/default_model.h"

#include "model/checkpoint_writer.h"
#include "model/config.h"
#include "text/tokenizer_writer.h"
#include "util/error.h"

#include <cmath>
#include <fstream>
#include <iterator>

namespace ptq {

namespace {

// Byte b has token id kByteBase + b in the tokenizer written by writeSentencePieceTokenizer.
constexpr int64_t kByteBase = 3;
constexpr int64_t kVocab = kByteBase + 256;

std::string readAll(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error(path, "", "cannot open the training text");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.size() < 2)
        throw Error(path, "", "the training text is empty");
    return text;
}

ModelConfig defaultConfig()
{
    ModelConfig c;
    c.modelType = "llama";
    c.vocabSize = kVocab;
    c.hiddenSize = 264; // >= vocab so every token owns a residual dimension; 4 heads of 66
    c.intermediateSize = 128;
    c.numLayers = 1;
    c.numHeads = 4;
    c.numKvHeads = 4;
    c.headDim = 66;
    c.maxPositionEmbeddings = 4096;
    c.rmsNormEps = 1e-6;
    c.ropeTheta = 10000.0;
    c.bosTokenId = 1;
    c.eosTokenId = 2;
    c.torchDtype = "float32";
    return c;
}

// (V,V) bigram log-probabilities, row = current token, column = next token.
torch::Tensor bigramLogProbs(const std::string& text)
{
    torch::Tensor counts = torch::ones({kVocab, kVocab}, torch::kDouble); // add-one smoothing
    auto acc = counts.accessor<double, 2>();
    acc[1][kByteBase + static_cast<unsigned char>(text[0])] += 1; // BOS starts the text
    for (std::size_t i = 0; i + 1 < text.size(); ++i)
        acc[kByteBase + static_cast<unsigned char>(text[i])]
           [kByteBase + static_cast<unsigned char>(text[i + 1])] += 1;
    return (counts / counts.sum(1, true)).log();
}

} // namespace

void writeDefaultModel(const std::string& dir, const DefaultModelSpec& spec)
{
    const std::string text = readAll(spec.trainTextPath);
    const ModelConfig config = defaultConfig();
    std::map<std::string, torch::Tensor> w = randomLlamaWeights(config, spec.seed);
    const int64_t C = config.hiddenSize;
    torch::NoGradGuard noGrad;

    torch::Tensor embed = torch::zeros({kVocab, C});
    embed.narrow(1, 0, kVocab).copy_(torch::eye(kVocab));
    w["model.embed_tokens.weight"] = embed;
    // lm_head (V,C): column v holds log P(. | v) / sqrt(C).
    torch::Tensor head = torch::zeros({kVocab, C});
    head.narrow(1, 0, kVocab).copy_(bigramLogProbs(text).t().to(torch::kFloat) / std::sqrt(double(C)));
    w["lm_head.weight"] = head;
    w["model.norm.weight"] = torch::ones({C});

    torch::Generator gen = at::detail::createCPUGenerator(spec.seed);
    const std::string p = "model.layers.0.";
    for (const char* name : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                             "mlp.gate_proj", "mlp.up_proj"})
        w[p + name + ".weight"] = torch::randn(w[p + name + ".weight"].sizes(), gen) *
                                  spec.blockWeightStd;
    for (const char* name : {"self_attn.o_proj", "mlp.down_proj"})
        w[p + name + ".weight"] = torch::randn(w[p + name + ".weight"].sizes(), gen) *
                                  (spec.blockWeightStd / 10);
    w[p + "input_layernorm.weight"] = torch::ones({C});
    w[p + "post_attention_layernorm.weight"] = torch::ones({C});

    writeLlamaCheckpoint(dir, config, w, spec.storage);
    writeSentencePieceTokenizer(dir, TokenizerSpec{});
}

} // namespace ptq
