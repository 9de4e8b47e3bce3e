#pragma once
// What a resumable training run keeps on disk (outDir/train_state/) and the token-stream
// cache, for trainer.cpp. Internal to core/train.
//   state.json         {"format": "ptq-train-state", "version": 1, "step", "tokens_seen",
//                       "rng" (std::mt19937_64 as operator<< writes it), "data_hash",
//                       "config", "adam_steps": {param: step}}
//   state.safetensors  "param/<name>", "exp_avg/<name>", "exp_avg_sq/<name>", all F32
// The folder is written under train_state.tmp and renamed into place, so a crash leaves the
// previous state (or, between the two renames, train_state.old, which loading falls back to).

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ptq::train {

struct TrainState {
    int64_t step = 0;
    int64_t tokensSeen = 0;
    std::string rng;
    std::string dataHash;
    nlohmann::json config;
    std::map<std::string, torch::Tensor> params;
    std::map<std::string, torch::Tensor> expAvg;
    std::map<std::string, torch::Tensor> expAvgSq;
    std::map<std::string, int64_t> adamSteps;
};

std::string trainStateDir(const std::string& outDir);
bool hasTrainState(const std::string& outDir);
void saveTrainState(const std::string& outDir, const TrainState& state);
// Throws ptq::Error naming the file (state.json or state.safetensors) and the problem.
TrainState loadTrainState(const std::string& outDir);

// Copies tokenizer.json (required) and tokenizer_config.json (when present) into outDir.
void copyTokenizerFiles(const std::string& tokenizerDir, const std::string& outDir);

// The int32 token cache: "PTQTOK01", u64 key, u64 count, count int32 little-endian.
// readTokenCache returns false when the file is absent, of another key, or malformed.
bool readTokenCache(const std::string& path, uint64_t key, std::vector<int32_t>& tokens);
void writeTokenCache(const std::string& path, uint64_t key, const std::vector<int32_t>& tokens);

} // namespace ptq::train
