#pragma once
// A transform rewrites a model before its weights are quantized while keeping its
// full-precision function (rotation: QuaRot, QuIP; smoothing and scaling: SmoothQuant, AWQ;
// learned equivalent transformation: OmniQuant). Transforms are steps of a recipe and run in
// the block walk of the quantization pipeline, one block in memory at a time.

#include "model/model.h"
#include "quant/grid.h"
#include "quant/recipe.h"
#include "util/progress.h"

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ptq {

// What a transform may use for block i: the model (its architecture, layout and forward),
// the walk's forward context, and the block's calibration inputs along the quantized
// trajectory.
struct BlockContext {
    const Model* model = nullptr;
    const ForwardContext* forward = nullptr;
    torch::Tensor inputs; // (N,T,C) fp32 inputs of block i
    uint64_t seed = 0;    // per-run seed, for random rotations
    // The recipe's weight grid and activation quantization (null: activations stay in full
    // precision), for transforms that optimise against the quantizers (OmniQuant). The
    // pipeline fills both; a transform that needs the grid reports its absence.
    const QuantGrid* weightGrid = nullptr;
    const ActQuantSpec* activations = nullptr;
};

// Per-transform record for the run's report (e.g. AWQ's chosen alpha per group of linears).
struct TransformRecord {
    std::string transform;
    int64_t block = -1;
    std::map<std::string, double> values;
    std::vector<std::string> warnings;
};

class BlockTransform {
public:
    virtual ~BlockTransform() = default;
    virtual std::string name() const = 0;
    // Once, before block 0. Default: nothing.
    virtual void prepareHead(HeadTensors& head, const Model& model, uint64_t seed)
    {
        (void)head, (void)model, (void)seed;
    }
    // Rewrites block w (and may set w.runtime) so that, in full precision, the block computes
    // the same function of its (possibly transformed) input as before.
    virtual void applyToBlock(BlockWeights& w, const BlockContext& ctx, TransformRecord& record,
                              const ProgressFn& progress) = 0;
};

} // namespace ptq
