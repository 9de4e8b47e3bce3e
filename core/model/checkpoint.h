#pragma once
// A Hugging Face checkpoint folder: config.json plus model.safetensors or a sharded
// model.safetensors.index.json. All shards are mapped (not read); tensors are materialised
// on demand, one block at a time, by model/. Pickle checkpoints (.bin/.pt/.pth) are refused:
// unpickling runs arbitrary code from the file.
//
// Weight files are found in this order: model.safetensors.index.json (its "weight_map" must
// agree exactly with the shards: a listed tensor absent from its shard and a shard tensor
// missing from the index are both errors), model.safetensors, the only *.safetensors file.
// Tensor names must be unique across shards.

#include "io/safetensors.h"
#include "model/config.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ptq {

class Checkpoint {
public:
    // Throws ptq::Error naming the folder or file and the problem.
    static std::shared_ptr<const Checkpoint> open(const std::string& dir);

    const std::string& dir() const { return m_dir; }
    const ModelConfig& config() const { return m_config; }

    bool has(const std::string& tensorName) const;
    const TensorInfo& info(const std::string& tensorName) const;        // throws when absent
    const SafetensorsFile& fileOf(const std::string& tensorName) const; // throws when absent
    std::vector<std::string> tensorNames() const;                       // sorted
    int64_t parameterCount() const;                                     // sum of numel
    uint64_t bytesOnDisk() const;                                       // sum of shard sizes
    std::string dominantDType() const; // the dtype holding most parameters, e.g. "BF16"
    std::vector<std::string> shardPaths() const;

private:
    Checkpoint() = default;
    // Fills m_index from the shards; `listed` is the index's shard -> tensors (empty when the
    // folder has no index), in the same order as m_shards.
    void buildIndex(const std::map<std::string, std::vector<std::string>>& listed);
    std::string m_dir;
    ModelConfig m_config;
    std::vector<std::unique_ptr<SafetensorsFile>> m_shards;
    std::vector<std::pair<std::string, std::size_t>> m_index; // name -> shard, sorted by name
};

// What the model panel shows about a folder.
struct CheckpointSummary {
    std::string dir;
    std::string architecture; // model_type
    int64_t parameters = 0;
    int64_t layers = 0;
    int64_t hiddenSize = 0;
    int64_t numHeads = 0;
    int64_t numKvHeads = 0;
    int64_t stateSize = 0; // Mamba: states per channel (0: a Transformer)
    int64_t innerSize = 0; // Mamba: the mixer's inner width
    int64_t vocabSize = 0;
    std::string dtype;
    uint64_t bytesOnDisk = 0;
    int shards = 0;
    bool hasTokenizer = false;
};

CheckpointSummary summarizeCheckpoint(const std::string& dir);

} // namespace ptq
