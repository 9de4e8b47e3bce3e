#pragma once
// The quantization pipeline: one recipe applied to a model block by block, along the
// quantized trajectory (GPTQ's convention: block i+1 is calibrated on the outputs of the
// already quantized blocks 0..i).
//
// For each block i:
//   w = loadBlock(i); every transform's applyToBlock(w, inputs h)   (full-precision function kept)
//   weights: with trueSequential, one pass per input group of the layout (LLaMA: [q,k,v], [o],
//            [gate,up], [down]); for each pass the block runs on h with an observer that
//            accumulates the group's input Hessians and samples input rows; the group's
//            linears are quantized and replaced in w
//   activations/KV (when the recipe asks): fake quantizers added to w.runtime
//   records:  per-linear weight and output errors, the block's output error against the
//             transformed full-precision block on the same h
//   h = blockForward(w quantized, h)
//
// Memory: one block's weights (plus its full-precision copy) and the calibration hidden
// states, (N,T,C) fp32 twice (inputs and outputs of the block): 128 x 2048 x 4096 x 4 B =
// 4 GiB each for a 7B model. The quantized model keeps every block's packed linears.

#include "model/model.h"
#include "quant/packing.h"
#include "quant/recipe.h"
#include "quant/transform.h"
#include "store/layer_record.h"
#include "util/progress.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ptq {

class Tokenizer;

struct QuantizeConfig {
    Recipe recipe;
    std::string calibTextPath;
    int64_t calibSamples = 128;
    int64_t calibSeqlen = 2048;
    uint64_t seed = 0;
    // Rows of each linear's observed input kept to measure its output error.
    int64_t errorSampleRows = 2048;
};

// One quantized linear's record (store/layer_record.h: the columns every writer follows).
using LayerRecord = LayerErrorRow;

struct BlockRecord {
    int64_t block = 0;
    double outputError = 0; // ||f(h) - f_q(h)||^2 / ||f(h)||^2 on the calibration inputs
    double seconds = 0;
};

// The quantized model: packed linears and the remaining full-precision tensors of every
// block, and the head tensors when a transform rewrote them.
class QuantizedModel {
public:
    struct Block {
        BlockWeights rest; // norms, biases and runtime; linears undefined
        std::vector<std::pair<std::string, QuantizedLinear>> linears;
    };

    QuantizedModel(const Model& base, std::vector<Block> blocks, HeadTensors head);

    int64_t numBlocks() const { return static_cast<int64_t>(m_blocks->size()); }
    const Block& block(int64_t i) const;
    // Block i with its linears dequantized to float32.
    BlockWeights blockWeights(int64_t i) const;
    // The base model reading this model's weights (perplexity, zero-shot, KL work on it).
    Model model() const;

private:
    Model m_base;
    std::shared_ptr<const std::vector<Block>> m_blocks; // shared with model() overlays
    HeadTensors m_head;
};

struct QuantizeResult {
    std::shared_ptr<QuantizedModel> model;
    std::vector<LayerRecord> layers;
    std::vector<BlockRecord> blocks;
    std::vector<TransformRecord> transforms;
    // Real size: packed linears + 2 bytes (fp16) for every unquantized parameter
    // (embeddings, norms, biases, lm_head unless tied).
    uint64_t packedBytes = 0;
    // What one token reads: the packed size with each MoE layer's routed experts counted k of
    // E (experts of one layer have equal shapes, so this is exact per token); packedBytes for
    // a dense model.
    uint64_t activePackedBytes = 0;
    uint64_t fp16Bytes = 0;   // the same model entirely in fp16
    double bitsPerWeight = 0; // over the quantized linears, scales and zeros included
    int64_t calibTokens = 0;
    double seconds = 0;
    std::vector<std::string> warnings;
};

// Calibration windows as GPTQ draws them: `samples` windows of `seqlen` tokens at seeded
// uniform offsets. (N,T) int64.
torch::Tensor calibrationWindows(const std::vector<int32_t>& tokens, int64_t samples,
                                 int64_t seqlen, uint64_t seed, const std::string& source);

// Runs the recipe on model with calibration tokens (config.calibTextPath is ignored).
QuantizeResult quantizeModel(const Model& model, const std::vector<int32_t>& calibTokens,
                             const QuantizeConfig& config, const ProgressFn& progress = {});
// Tokenizes config.calibTextPath with the tokenizer first.
QuantizeResult quantizeModel(const Model& model, const Tokenizer& tokenizer,
                             const QuantizeConfig& config, const ProgressFn& progress = {});

} // namespace ptq
