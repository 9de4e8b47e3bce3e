#include "family/default_model.h"

#include "model/checkpoint_writer.h"
#include "model/config.h"
#include "text/tokenizer.h"
#include "text/tokenizer_writer.h"
#include "util/error.h"
#include "util/file_io.h"

#include <cmath>
#include <fstream>
#include <iterator>

namespace ptq {

namespace {

// Every token owns one dimension of the residual stream, so the hidden size must cover the
// vocabulary of the byte tokenizer (3 specials, 256 bytes, "▁"); 264 = 4 heads of 66.
constexpr int64_t kHidden = 264;

std::string readAll(const std::string& path)
{
    std::string text = readFileBytes(path, "training text");
    if (text.size() < 2)
        throw Error(path, "", "the training text is empty");
    return text;
}

ModelConfig defaultConfig(int64_t vocab)
{
    if (vocab > kHidden)
        throw Error("tokenizer.json", "vocabulary",
                    "the default model needs a vocabulary of at most " + std::to_string(kHidden) +
                        " tokens");
    ModelConfig c;
    c.modelType = "llama";
    c.vocabSize = vocab;
    c.hiddenSize = kHidden;
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

// (V,V) bigram log-probabilities over the token stream of `text` (BOS first), add-one
// smoothed; row = current token, column = next token.
torch::Tensor bigramLogProbs(const std::vector<int32_t>& ids, int64_t vocab)
{
    torch::Tensor counts = torch::ones({vocab, vocab}, torch::kDouble);
    auto acc = counts.accessor<double, 2>();
    for (std::size_t i = 0; i + 1 < ids.size(); ++i)
        acc[ids[i]][ids[i + 1]] += 1;
    return (counts / counts.sum(1, true)).log();
}

} // namespace

void writeDefaultModel(const std::string& dir, const DefaultModelSpec& spec)
{
    const std::string text = readAll(spec.trainTextPath);
    writeSentencePieceTokenizer(dir, TokenizerSpec{});
    const Tokenizer tokenizer = Tokenizer::fromDir(dir);
    const int64_t V = tokenizer.vocabSize();
    const ModelConfig config = defaultConfig(V);
    std::map<std::string, torch::Tensor> w = randomLlamaWeights(config, spec.seed);
    const int64_t C = config.hiddenSize;
    torch::NoGradGuard noGrad;

    torch::Tensor embed = torch::zeros({V, C});
    embed.narrow(1, 0, V).copy_(torch::eye(V));
    w["model.embed_tokens.weight"] = embed;
    // lm_head (V,C): column v holds log P(. | v) / sqrt(C).
    torch::Tensor head = torch::zeros({V, C});
    head.narrow(1, 0, V).copy_(bigramLogProbs(tokenizer.encode(text), V).t().to(torch::kFloat) /
                               std::sqrt(double(C)));
    w["lm_head.weight"] = head;
    w["model.norm.weight"] = torch::ones({C});

    torch::Generator gen = at::detail::createCPUGenerator(spec.seed);
    const std::string p = "model.layers.0.";
    for (const char* name : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                             "mlp.gate_proj", "mlp.up_proj"})
        w[p + name + ".weight"] =
            torch::randn(w[p + name + ".weight"].sizes(), gen) * spec.blockWeightStd;
    for (const char* name : {"self_attn.o_proj", "mlp.down_proj"})
        w[p + name + ".weight"] =
            torch::randn(w[p + name + ".weight"].sizes(), gen) * (spec.blockWeightStd / 10);
    w[p + "input_layernorm.weight"] = torch::ones({C});
    w[p + "post_attention_layernorm.weight"] = torch::ones({C});

    writeLlamaCheckpoint(dir, config, w, spec.storage);
}

} // namespace ptq
