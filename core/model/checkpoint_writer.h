#pragma once
// Writes LLaMA-family checkpoint folders in the standard Hugging Face layout
// (config.json + model.safetensors), so that every tool that reads real checkpoints reads
// ours. Used by tests (random reference models), the default model and, later, training.

#include "io/safetensors.h"
#include "model/config.h"

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>

namespace ptq {

// Hugging Face tensor names -> tensors with the shapes config implies, drawn from a seeded
// normal distribution (std 0.02 for linears and embeddings, norms near 1).
std::map<std::string, torch::Tensor> randomLlamaWeights(const ModelConfig& config, uint64_t seed);

// Writes config.json and model.safetensors (tensors converted to `storage`: F32, F16 or
// BF16) into dir, creating it. Existing files with those names are replaced atomically.
void writeLlamaCheckpoint(const std::string& dir, const ModelConfig& config,
                          const std::map<std::string, torch::Tensor>& tensors,
                          DType storage = DType::F32);

} // namespace ptq
