// config.json parsing: defaults and architecture rules, round trips through toJson, one test
// per kind of broken config, and parameter counts checked against published model sizes.

#include "model/config.h"
#include "test_files.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace ptq;
using ptq::test::expectPtqError;

namespace {

const char* kFile = "models/tiny/config.json";

// A small LLaMA config; tests patch single keys into it.
nlohmann::json llamaJson()
{
    return {{"model_type", "llama"},     {"vocab_size", 256},
            {"hidden_size", 64},         {"intermediate_size", 172},
            {"num_hidden_layers", 2},    {"num_attention_heads", 8},
            {"num_key_value_heads", 4},  {"max_position_embeddings", 512},
            {"rms_norm_eps", 1e-5},      {"rope_theta", 500000.0},
            {"torch_dtype", "bfloat16"}, {"bos_token_id", 1},
            {"eos_token_id", 2},         {"tie_word_embeddings", false}};
}

ModelConfig parse(const nlohmann::json& j)
{
    return ModelConfig::fromJson(j.dump(), kFile);
}

void expectParseFails(const nlohmann::json& j, const std::string& phrase)
{
    expectPtqError([&] { parse(j); }, kFile, phrase);
}

void expectSameConfig(const ModelConfig& a, const ModelConfig& b)
{
    EXPECT_EQ(a.modelType, b.modelType);
    EXPECT_EQ(a.vocabSize, b.vocabSize);
    EXPECT_EQ(a.hiddenSize, b.hiddenSize);
    EXPECT_EQ(a.intermediateSize, b.intermediateSize);
    EXPECT_EQ(a.numLayers, b.numLayers);
    EXPECT_EQ(a.numHeads, b.numHeads);
    EXPECT_EQ(a.numKvHeads, b.numKvHeads);
    EXPECT_EQ(a.headDim, b.headDim);
    EXPECT_EQ(a.maxPositionEmbeddings, b.maxPositionEmbeddings);
    EXPECT_EQ(a.rmsNormEps, b.rmsNormEps); // exact: JSON numbers round-trip doubles
    EXPECT_EQ(a.ropeTheta, b.ropeTheta);
    EXPECT_EQ(a.ropeScaling.type, b.ropeScaling.type);
    EXPECT_EQ(a.ropeScaling.factor, b.ropeScaling.factor);
    EXPECT_EQ(a.ropeScaling.lowFreqFactor, b.ropeScaling.lowFreqFactor);
    EXPECT_EQ(a.ropeScaling.highFreqFactor, b.ropeScaling.highFreqFactor);
    EXPECT_EQ(a.ropeScaling.originalMaxPositionEmbeddings,
              b.ropeScaling.originalMaxPositionEmbeddings);
    EXPECT_EQ(a.tieWordEmbeddings, b.tieWordEmbeddings);
    EXPECT_EQ(a.attentionBias, b.attentionBias);
    EXPECT_EQ(a.slidingWindow, b.slidingWindow);
    EXPECT_EQ(a.torchDtype, b.torchDtype);
    EXPECT_EQ(a.bosTokenId, b.bosTokenId);
    EXPECT_EQ(a.eosTokenId, b.eosTokenId);
}

void expectRoundTrip(const ModelConfig& c)
{
    const std::string text = c.toJson();
    const ModelConfig back = ModelConfig::fromJson(text, "roundtrip.json");
    expectSameConfig(c, back);
    EXPECT_EQ(back.toJson(), text);
}

} // namespace

TEST(Config, ParsesLlamaAndDerivesDefaults)
{
    nlohmann::json j = llamaJson();
    j.erase("num_key_value_heads");
    j.erase("rope_theta");
    j.erase("tie_word_embeddings");
    const ModelConfig c = parse(j);
    EXPECT_EQ(c.modelType, "llama");
    EXPECT_EQ(c.numKvHeads, 8); // defaults to num_attention_heads
    EXPECT_EQ(c.headDim, 8);    // hidden 64 / 8 heads
    EXPECT_EQ(c.ropeTheta, 10000.0);
    EXPECT_FALSE(c.tieWordEmbeddings);
    EXPECT_FALSE(c.attentionBias);
    EXPECT_EQ(c.slidingWindow, 0);
    EXPECT_TRUE(c.ropeScaling.type.empty());
    EXPECT_EQ(c.rmsNormEps, 1e-5);
    EXPECT_EQ(c.torchDtype, "bfloat16");
    EXPECT_EQ(c.bosTokenId, 1);
    EXPECT_EQ(c.eosTokenId, 2);
}

TEST(Config, TokenIdsMayBeListsOrNull)
{
    nlohmann::json j = llamaJson();
    j["eos_token_id"] = {128001, 128008, 128009};
    j["bos_token_id"] = nullptr;
    const ModelConfig c = parse(j);
    EXPECT_EQ(c.eosTokenId, 128001);
    EXPECT_FALSE(c.bosTokenId.has_value());
}

TEST(Config, NewerDTypeSpellingIsRead)
{
    nlohmann::json j = llamaJson();
    j.erase("torch_dtype");
    j["dtype"] = "float16";
    EXPECT_EQ(parse(j).torchDtype, "float16");
}

TEST(Config, ExplicitHeadDimNeedNotDivideHidden)
{
    nlohmann::json j = llamaJson();
    j["hidden_size"] = 60; // 60 / 8 heads is not whole, head_dim says 16
    j["head_dim"] = 16;
    EXPECT_EQ(parse(j).headDim, 16);
}

TEST(Config, Qwen2AlwaysHasBiasAndWindowOnlyWhenEnabled)
{
    nlohmann::json j = llamaJson();
    j["model_type"] = "qwen2";
    j["sliding_window"] = 4096;
    j["use_sliding_window"] = false;
    ModelConfig c = parse(j);
    EXPECT_TRUE(c.attentionBias);
    EXPECT_EQ(c.slidingWindow, 0);
    j["use_sliding_window"] = true;
    c = parse(j);
    EXPECT_EQ(c.slidingWindow, 4096);
}

TEST(Config, MistralWindowMayBeNull)
{
    nlohmann::json j = llamaJson();
    j["model_type"] = "mistral";
    j["sliding_window"] = nullptr;
    EXPECT_EQ(parse(j).slidingWindow, 0);
    j["sliding_window"] = 4096;
    const ModelConfig c = parse(j);
    EXPECT_EQ(c.slidingWindow, 4096);
    EXPECT_FALSE(c.attentionBias);
}

TEST(Config, RopeScalingSpellings)
{
    nlohmann::json j = llamaJson();
    j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
    ModelConfig c = parse(j);
    EXPECT_EQ(c.ropeScaling.type, "linear");
    EXPECT_EQ(c.ropeScaling.factor, 2.0);
    j["rope_scaling"] = {{"rope_type", "default"}};
    EXPECT_TRUE(parse(j).ropeScaling.type.empty());
    j["rope_scaling"] = nullptr;
    EXPECT_TRUE(parse(j).ropeScaling.type.empty());
}

TEST(Config, RoundTripLlama)
{
    expectRoundTrip(parse(llamaJson()));
}

TEST(Config, RoundTripLlamaTiedWithBias)
{
    nlohmann::json j = llamaJson();
    j["tie_word_embeddings"] = true;
    j["attention_bias"] = true;
    j["eos_token_id"] = nullptr;
    const ModelConfig c = parse(j);
    EXPECT_TRUE(c.tieWordEmbeddings);
    EXPECT_TRUE(c.attentionBias);
    expectRoundTrip(c);
}

TEST(Config, RoundTripMistral)
{
    nlohmann::json j = llamaJson();
    j["model_type"] = "mistral";
    j["sliding_window"] = 4096;
    j["rms_norm_eps"] = 1e-6;
    const ModelConfig c = parse(j);
    expectRoundTrip(c);
    EXPECT_NE(c.toJson().find("MistralForCausalLM"), std::string::npos);
}

TEST(Config, RoundTripQwen2)
{
    nlohmann::json j = llamaJson();
    j["model_type"] = "qwen2";
    j["use_sliding_window"] = true;
    j["sliding_window"] = 32768;
    j["tie_word_embeddings"] = true;
    const ModelConfig c = parse(j);
    expectRoundTrip(c);
    EXPECT_NE(c.toJson().find("Qwen2ForCausalLM"), std::string::npos);
}

TEST(Config, RoundTripLlama31RopeScaling)
{
    // The rope_scaling block of Llama-3.1-8B's config.json.
    nlohmann::json j = llamaJson();
    j["rope_scaling"] = {{"factor", 8.0},
                         {"low_freq_factor", 1.0},
                         {"high_freq_factor", 4.0},
                         {"original_max_position_embeddings", 8192},
                         {"rope_type", "llama3"}};
    const ModelConfig c = parse(j);
    EXPECT_EQ(c.ropeScaling.type, "llama3");
    EXPECT_EQ(c.ropeScaling.factor, 8.0);
    EXPECT_EQ(c.ropeScaling.lowFreqFactor, 1.0);
    EXPECT_EQ(c.ropeScaling.highFreqFactor, 4.0);
    EXPECT_EQ(c.ropeScaling.originalMaxPositionEmbeddings, 8192);
    expectRoundTrip(c);
    EXPECT_NE(c.toJson().find("LlamaForCausalLM"), std::string::npos);
}

TEST(Config, FromFileReadsAndNamesMissingFile)
{
    test::TempDir dir;
    const std::string path = dir.file("config.json");
    test::writeFile(path, llamaJson().dump());
    EXPECT_EQ(ModelConfig::fromFile(path).hiddenSize, 64);
    const std::string missing = dir.file("absent/config.json");
    expectPtqError([&] { ModelConfig::fromFile(missing); }, missing, "cannot open");
    test::writeFile(path, "{\"model_type\": \"llama\",");
    expectPtqError([&] { ModelConfig::fromFile(path); }, path, "invalid JSON");
}

// Published totals: LLaMA-2-7B has 6,738,415,616 parameters, Qwen2-0.5B 494,032,768
// (tied embeddings, q/k/v biases, GQA with 2 KV heads).
TEST(Config, ParameterCountMatchesPublishedModels)
{
    const ModelConfig llama = parse({{"model_type", "llama"},
                                     {"vocab_size", 32000},
                                     {"hidden_size", 4096},
                                     {"intermediate_size", 11008},
                                     {"num_hidden_layers", 32},
                                     {"num_attention_heads", 32}});
    EXPECT_EQ(llama.parameterCount(), 6738415616LL);
    const ModelConfig qwen = parse({{"model_type", "qwen2"},
                                    {"vocab_size", 151936},
                                    {"hidden_size", 896},
                                    {"intermediate_size", 4864},
                                    {"num_hidden_layers", 24},
                                    {"num_attention_heads", 14},
                                    {"num_key_value_heads", 2},
                                    {"tie_word_embeddings", true}});
    EXPECT_EQ(qwen.parameterCount(), 494032768LL);
}

// ---- broken configs: one test per problem ----

TEST(ConfigBad, InvalidJson)
{
    expectPtqError([] { ModelConfig::fromJson("{\"model_type\": llama}", kFile); }, kFile,
                   "invalid JSON");
}

TEST(ConfigBad, NotAnObject)
{
    expectPtqError([] { ModelConfig::fromJson("[1]", kFile); }, kFile, "not a JSON object");
}

TEST(ConfigBad, MissingKey)
{
    nlohmann::json j = llamaJson();
    j.erase("hidden_size");
    expectParseFails(j, "'hidden_size': missing required key");
}

TEST(ConfigBad, WrongTypeNamesKey)
{
    nlohmann::json j = llamaJson();
    j["num_hidden_layers"] = "2";
    expectParseFails(j, "'num_hidden_layers': expected an integer");
}

TEST(ConfigBad, FloatWhereIntegerExpected)
{
    nlohmann::json j = llamaJson();
    j["vocab_size"] = 256.5;
    expectParseFails(j, "'vocab_size': expected an integer");
}

TEST(ConfigBad, WrongBooleanType)
{
    nlohmann::json j = llamaJson();
    j["tie_word_embeddings"] = 1;
    expectParseFails(j, "'tie_word_embeddings': expected a boolean");
}

TEST(ConfigBad, UnknownModelType)
{
    nlohmann::json j = llamaJson();
    j["model_type"] = "gpt2";
    expectParseFails(j, "unknown architecture 'gpt2' (supported: llama, mistral, qwen2, mixtral, "
                        "deepseek, qwen2_moe, mamba)");
}

TEST(ConfigBad, MissingModelType)
{
    nlohmann::json j = llamaJson();
    j.erase("model_type");
    expectParseFails(j, "'model_type': missing required key");
}

TEST(ConfigBad, NonPositiveSize)
{
    nlohmann::json j = llamaJson();
    j["intermediate_size"] = 0;
    expectParseFails(j, "'intermediate_size': must be positive");
}

TEST(ConfigBad, HeadsDoNotDivideHidden)
{
    nlohmann::json j = llamaJson();
    j["num_attention_heads"] = 6;
    j["num_key_value_heads"] = 6;
    expectParseFails(j, "not divisible by num_attention_heads 6");
}

TEST(ConfigBad, KvHeadsDoNotDivideHeads)
{
    nlohmann::json j = llamaJson();
    j["num_key_value_heads"] = 3;
    expectParseFails(j, "not divisible by num_key_value_heads 3");
}

TEST(ConfigBad, NonPositiveEpsilon)
{
    nlohmann::json j = llamaJson();
    j["rms_norm_eps"] = -1e-5;
    expectParseFails(j, "'rms_norm_eps': must be a finite positive number");
}

TEST(ConfigBad, UnknownRopeScalingType)
{
    nlohmann::json j = llamaJson();
    j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
    expectParseFails(j, "unsupported rope_scaling type 'yarn'");
}

TEST(ConfigBad, Llama3RopeScalingMissingField)
{
    nlohmann::json j = llamaJson();
    j["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", 8.0},
                         {"high_freq_factor", 4.0},
                         {"original_max_position_embeddings", 8192}};
    expectParseFails(j, "'rope_scaling.low_freq_factor': missing required key");
}

TEST(ConfigBad, UnsupportedActivation)
{
    nlohmann::json j = llamaJson();
    j["hidden_act"] = "gelu";
    expectParseFails(j, "unsupported activation 'gelu'");
}

TEST(ConfigBad, MistypedTokenIdList)
{
    nlohmann::json j = llamaJson();
    j["eos_token_id"] = {2, "x"};
    expectParseFails(j, "'eos_token_id'");
}
