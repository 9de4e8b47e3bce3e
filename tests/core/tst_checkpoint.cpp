// Checkpoint folders: single-file and sharded layouts written at test time, parameter counts
// against the config's shape arithmetic, and one test per kind of broken folder.

#include "model/checkpoint.h"
#include "test_files.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <set>

using namespace ptq;
using ptq::test::expectPtqError;
using ptq::test::TempDir;
using ptq::test::writeFile;

namespace {

ModelConfig tinyConfig(const std::string& type = "llama", bool tied = false)
{
    ModelConfig c;
    c.modelType = type;
    c.vocabSize = 96;
    c.hiddenSize = 32;
    c.intermediateSize = 48;
    c.numLayers = 2;
    c.numHeads = 4;
    c.numKvHeads = 2;
    c.headDim = 8;
    c.tieWordEmbeddings = tied;
    c.attentionBias = type == "qwen2";
    c.torchDtype = "float32";
    return c;
}

struct Spec {
    std::string name;
    std::vector<int64_t> shape;
};

// The Hugging Face tensor names and shapes of a LLaMA-family model, spelled out
// independently of ModelConfig::parameterCount.
std::vector<Spec> expectedTensors(const ModelConfig& c)
{
    const int64_t h = c.hiddenSize, q = c.numHeads * c.headDim, kv = c.numKvHeads * c.headDim;
    std::vector<Spec> out = {{"model.embed_tokens.weight", {c.vocabSize, h}}};
    for (int64_t i = 0; i < c.numLayers; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        out.push_back({p + "self_attn.q_proj.weight", {q, h}});
        out.push_back({p + "self_attn.k_proj.weight", {kv, h}});
        out.push_back({p + "self_attn.v_proj.weight", {kv, h}});
        out.push_back({p + "self_attn.o_proj.weight", {h, q}});
        if (c.attentionBias) {
            out.push_back({p + "self_attn.q_proj.bias", {q}});
            out.push_back({p + "self_attn.k_proj.bias", {kv}});
            out.push_back({p + "self_attn.v_proj.bias", {kv}});
        }
        out.push_back({p + "mlp.gate_proj.weight", {c.intermediateSize, h}});
        out.push_back({p + "mlp.up_proj.weight", {c.intermediateSize, h}});
        out.push_back({p + "mlp.down_proj.weight", {h, c.intermediateSize}});
        out.push_back({p + "input_layernorm.weight", {h}});
        out.push_back({p + "post_attention_layernorm.weight", {h}});
    }
    out.push_back({"model.norm.weight", {h}});
    if (!c.tieWordEmbeddings)
        out.push_back({"lm_head.weight", {c.vocabSize, h}});
    return out;
}

int64_t numelOf(const std::vector<int64_t>& shape)
{
    int64_t n = 1;
    for (int64_t d : shape)
        n *= d;
    return n;
}

// Writes `specs` into one safetensors file with zero-filled data of the given dtype.
void writeShard(const std::string& path, const std::vector<Spec>& specs, DType dtype)
{
    std::vector<std::vector<uint8_t>> buffers;
    std::vector<TensorToWrite> tensors;
    for (const Spec& s : specs)
        buffers.emplace_back(numelOf(s.shape) * dtypeSize(dtype), 0);
    for (std::size_t i = 0; i < specs.size(); ++i)
        tensors.push_back({specs[i].name, dtype, specs[i].shape, buffers[i].data()});
    writeSafetensors(path, tensors, {{"format", "pt"}});
}

void writeConfig(const TempDir& dir, const ModelConfig& c)
{
    writeFile(dir.file("config.json"), c.toJson());
}

// A two-shard folder: the first 5 tensors in BF16, the rest (including both embeddings)
// in F32, with a matching index. Returns the specs per shard.
std::pair<std::vector<Spec>, std::vector<Spec>> writeShardedFolder(const TempDir& dir,
                                                                   const ModelConfig& c)
{
    const std::vector<Spec> all = expectedTensors(c);
    std::vector<Spec> first(all.begin() + 1, all.begin() + 6);
    std::vector<Spec> second(all.begin() + 6, all.end());
    second.push_back(all.front());
    writeConfig(dir, c);
    writeShard(dir.file("model-00001-of-00002.safetensors"), first, DType::BF16);
    writeShard(dir.file("model-00002-of-00002.safetensors"), second, DType::F32);
    nlohmann::json map = nlohmann::json::object();
    for (const Spec& s : first)
        map[s.name] = "model-00001-of-00002.safetensors";
    for (const Spec& s : second)
        map[s.name] = "model-00002-of-00002.safetensors";
    const nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", map}};
    writeFile(dir.file("model.safetensors.index.json"), index.dump(2));
    return {first, second};
}

void expectOpenFails(const std::string& dir, const std::string& file, const std::string& phrase)
{
    expectPtqError([&] { Checkpoint::open(dir); }, file, phrase);
}

} // namespace

TEST(Checkpoint, SingleFileFolder)
{
    TempDir dir;
    const ModelConfig c = tinyConfig();
    writeConfig(dir, c);
    const auto specs = expectedTensors(c);
    writeShard(dir.file("model.safetensors"), specs, DType::F32);

    const auto cp = Checkpoint::open(dir.path().string());
    EXPECT_EQ(cp->dir(), dir.path().string());
    EXPECT_EQ(cp->config().hiddenSize, 32);
    std::set<std::string> expectedNames;
    for (const Spec& s : specs)
        expectedNames.insert(s.name);
    const auto names = cp->tensorNames();
    EXPECT_EQ(std::vector<std::string>(expectedNames.begin(), expectedNames.end()), names);
    EXPECT_TRUE(cp->has("model.norm.weight"));
    EXPECT_FALSE(cp->has("model.layers.9.mlp.up_proj.weight"));
    EXPECT_EQ(cp->info("model.layers.1.self_attn.k_proj.weight").shape,
              (std::vector<int64_t>{16, 32}));
    EXPECT_EQ(cp->fileOf("lm_head.weight").path(), dir.file("model.safetensors"));
    EXPECT_EQ(cp->dominantDType(), "F32");
    ASSERT_EQ(cp->shardPaths().size(), 1u);
    EXPECT_EQ(cp->bytesOnDisk(), std::filesystem::file_size(dir.file("model.safetensors")));
    expectPtqError([&] { cp->info("nope.weight"); }, dir.path().string(), "'nope.weight'");
}

// parameterCount() from the config must equal the numel sum of a checkpoint holding exactly
// the tensors an HF model of that config has.
TEST(Checkpoint, ConfigParameterCountMatchesWrittenTensors)
{
    for (const auto& [type, tied] : std::vector<std::pair<std::string, bool>>{
             {"llama", false}, {"llama", true}, {"mistral", false}, {"qwen2", true}}) {
        SCOPED_TRACE(type + (tied ? " tied" : ""));
        TempDir dir;
        const ModelConfig c = tinyConfig(type, tied);
        writeConfig(dir, c);
        writeShard(dir.file("model.safetensors"), expectedTensors(c), DType::F16);
        const auto cp = Checkpoint::open(dir.path().string());
        EXPECT_EQ(cp->parameterCount(), c.parameterCount());
        EXPECT_EQ(cp->config().parameterCount(), c.parameterCount());
    }
}

TEST(Checkpoint, ShardedFolder)
{
    TempDir dir;
    const ModelConfig c = tinyConfig();
    const auto [first, second] = writeShardedFolder(dir, c);
    const auto cp = Checkpoint::open(dir.path().string());
    EXPECT_EQ(cp->tensorNames().size(), first.size() + second.size());
    EXPECT_EQ(cp->parameterCount(), c.parameterCount());
    // Shard 1 holds layer 0's q, k, v, o and gate (1024 + 512 + 512 + 1024 + 1536 = 4608
    // elements) in BF16; the F32 shard holds the rest, both embeddings included: it dominates.
    EXPECT_EQ(cp->dominantDType(), "F32");
    ASSERT_EQ(cp->shardPaths().size(), 2u);
    EXPECT_EQ(cp->fileOf("model.layers.0.self_attn.q_proj.weight").path(),
              dir.file("model-00001-of-00002.safetensors"));
    EXPECT_EQ(cp->info("model.layers.0.self_attn.q_proj.weight").dtype, DType::BF16);
    EXPECT_EQ(cp->fileOf("model.embed_tokens.weight").path(),
              dir.file("model-00002-of-00002.safetensors"));
    EXPECT_EQ(cp->bytesOnDisk(),
              std::filesystem::file_size(dir.file("model-00001-of-00002.safetensors")) +
                  std::filesystem::file_size(dir.file("model-00002-of-00002.safetensors")));

    const CheckpointSummary s = summarizeCheckpoint(dir.path().string());
    EXPECT_EQ(s.architecture, "llama");
    EXPECT_EQ(s.parameters, c.parameterCount());
    EXPECT_EQ(s.layers, 2);
    EXPECT_EQ(s.hiddenSize, 32);
    EXPECT_EQ(s.numHeads, 4);
    EXPECT_EQ(s.numKvHeads, 2);
    EXPECT_EQ(s.vocabSize, 96);
    EXPECT_EQ(s.dtype, "F32");
    EXPECT_EQ(s.shards, 2);
    EXPECT_EQ(s.bytesOnDisk, cp->bytesOnDisk());
    EXPECT_FALSE(s.hasTokenizer);
    writeFile(dir.file("tokenizer.json"), "{}");
    EXPECT_TRUE(summarizeCheckpoint(dir.path().string()).hasTokenizer);
}

TEST(Checkpoint, DominantDTypeCountsParametersNotTensors)
{
    TempDir dir;
    writeConfig(dir, tinyConfig());
    writeShard(dir.file("a.safetensors"), {{"big", {64, 64}}}, DType::BF16);
    // Many small F32 tensors, fewer parameters in total.
    std::vector<Spec> small;
    for (int i = 0; i < 10; ++i)
        small.push_back({"s" + std::to_string(i), {8}});
    writeShard(dir.file("b.safetensors"), small, DType::F32);
    nlohmann::json map = {{"big", "a.safetensors"}};
    for (const Spec& s : small)
        map[s.name] = "b.safetensors";
    writeFile(dir.file("model.safetensors.index.json"), nlohmann::json{{"weight_map", map}}.dump());
    EXPECT_EQ(Checkpoint::open(dir.path().string())->dominantDType(), "BF16");
}

TEST(Checkpoint, OnlySafetensorsFileWithAnotherName)
{
    TempDir dir;
    const ModelConfig c = tinyConfig();
    writeConfig(dir, c);
    writeShard(dir.file("consolidated.safetensors"), expectedTensors(c), DType::BF16);
    const auto cp = Checkpoint::open(dir.path().string());
    EXPECT_EQ(cp->dominantDType(), "BF16");
    EXPECT_EQ(cp->parameterCount(), c.parameterCount());
}

// ---- broken folders: one test per problem ----

TEST(CheckpointBad, MissingFolder)
{
    TempDir dir;
    const std::string missing = dir.file("no-such-model");
    expectOpenFails(missing, missing, "does not exist");
}

TEST(CheckpointBad, PathIsAFile)
{
    TempDir dir;
    writeFile(dir.file("model"), "x");
    expectOpenFails(dir.file("model"), dir.file("model"), "not a folder");
}

TEST(CheckpointBad, MissingConfig)
{
    TempDir dir;
    writeShard(dir.file("model.safetensors"), {{"w", {2}}}, DType::F32);
    expectOpenFails(dir.path().string(), "config.json", "missing");
}

TEST(CheckpointBad, BrokenConfigNamesConfigFile)
{
    TempDir dir;
    writeFile(dir.file("config.json"), R"({"model_type": "gpt2"})");
    expectOpenFails(dir.path().string(), dir.file("config.json"), "unknown architecture 'gpt2'");
}

TEST(CheckpointBad, NoWeights)
{
    TempDir dir;
    writeConfig(dir, tinyConfig());
    writeFile(dir.file("README.md"), "weights elsewhere");
    expectOpenFails(dir.path().string(), dir.path().string(), "no weights");
}

TEST(CheckpointBad, PickleOnlyFolderIsRefused)
{
    TempDir dir;
    writeConfig(dir, tinyConfig());
    writeFile(dir.file("pytorch_model.bin"), "not really a pickle");
    expectOpenFails(dir.path().string(), "pytorch_model.bin", "arbitrary code");
    expectOpenFails(dir.path().string(), dir.path().string(), "safetensors");
}

TEST(CheckpointBad, PickleIndexAndPtFilesAreRefused)
{
    TempDir dir;
    writeConfig(dir, tinyConfig());
    writeFile(dir.file("consolidated.00.pth"), "x");
    expectOpenFails(dir.path().string(), "consolidated.00.pth", "pickle checkpoints are refused");
    writeFile(dir.file("pytorch_model.bin.index.json"), "{}");
    expectOpenFails(dir.path().string(), "pytorch_model.bin.index.json", "arbitrary code");
}

TEST(CheckpointBad, SeveralFilesWithoutIndex)
{
    TempDir dir;
    writeConfig(dir, tinyConfig());
    writeShard(dir.file("a.safetensors"), {{"w", {2}}}, DType::F32);
    writeShard(dir.file("b.safetensors"), {{"v", {2}}}, DType::F32);
    expectOpenFails(dir.path().string(), dir.path().string(), "several .safetensors files");
}

TEST(CheckpointBad, IndexPointsAtMissingShard)
{
    TempDir dir;
    writeShardedFolder(dir, tinyConfig());
    std::filesystem::remove(dir.file("model-00002-of-00002.safetensors"));
    expectOpenFails(dir.path().string(), "model-00002-of-00002.safetensors",
                    "shard file is missing");
}

TEST(CheckpointBad, IndexNamesTensorAbsentFromShard)
{
    TempDir dir;
    const ModelConfig c = tinyConfig();
    const auto [first, second] = writeShardedFolder(dir, c);
    // Rewrite shard 1 without its last tensor; the index still lists it there.
    const std::vector<Spec> fewer(first.begin(), first.end() - 1);
    writeShard(dir.file("model-00001-of-00002.safetensors"), fewer, DType::BF16);
    expectOpenFails(dir.path().string(), "model-00001-of-00002.safetensors",
                    "'" + first.back().name + "': listed in the index for this shard but absent");
}

TEST(CheckpointBad, ShardTensorMissingFromIndex)
{
    TempDir dir;
    const auto [first, second] = writeShardedFolder(dir, tinyConfig());
    std::vector<Spec> more = first;
    more.push_back({"extra.weight", {4}});
    writeShard(dir.file("model-00001-of-00002.safetensors"), more, DType::BF16);
    expectOpenFails(dir.path().string(), "model-00001-of-00002.safetensors",
                    "'extra.weight': present in the shard but not listed in the index");
}

TEST(CheckpointBad, TensorInTwoShards)
{
    TempDir dir;
    const auto [first, second] = writeShardedFolder(dir, tinyConfig());
    std::vector<Spec> more = second;
    more.push_back(first.front());
    writeShard(dir.file("model-00002-of-00002.safetensors"), more, DType::F32);
    expectOpenFails(dir.path().string(), "model-00002-of-00002.safetensors",
                    "unique across shards");
}

TEST(CheckpointBad, IndexShardOutsideFolder)
{
    TempDir dir;
    writeConfig(dir, tinyConfig());
    const nlohmann::json index = {{"weight_map", {{"w", "../elsewhere.safetensors"}}}};
    writeFile(dir.file("model.safetensors.index.json"), index.dump());
    expectOpenFails(dir.path().string(), "model.safetensors.index.json", "not a plain file name");
}

TEST(CheckpointBad, IndexWithoutWeightMap)
{
    TempDir dir;
    writeConfig(dir, tinyConfig());
    writeFile(dir.file("model.safetensors.index.json"), R"({"metadata": {}})");
    expectOpenFails(dir.path().string(), "model.safetensors.index.json", "weight_map");
}

TEST(CheckpointBad, CorruptShardNamesShard)
{
    TempDir dir;
    writeConfig(dir, tinyConfig());
    writeFile(dir.file("model.safetensors"), "short");
    expectOpenFails(dir.path().string(), dir.file("model.safetensors"), "shorter than");
}
