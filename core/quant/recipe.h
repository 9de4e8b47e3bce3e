#pragma once
// A quantization strategy as a value: an ordered list of transforms (rotation, smoothing,
// scaling, learned transformations), one weight quantizer on one grid, and optional
// activation and KV-cache fake quantization. GPTQ+QuaRot, AWQ+GPTQ and the others are
// recipes, not code paths.
//
// JSON form (every key optional except name and weight_quantizer; unknown keys are errors):
//   {"name": "quarot-gptq",
//    "transforms": [{"method": "quarot", "params": {}}],
//    "weight_quantizer": {"method": "gptq", "params": {"actOrder": true}},
//    "weight_grid": {"bits": 4, "symmetric": false, "group_size": 128, "clip_ratio": 1.0},
//    "activations": {"bits": 4, "dynamic": true, "symmetric": false, "clip_ratio": 0.9},
//    "kv": {"bits": 4, "group_size": 0, "symmetric": false, "clip_ratio": 1.0},
//    "quantize_embeddings": false, "quantize_lm_head": false, "true_sequential": true,
//    "expert_calibration": "routed", "quantize_router": false}
// toJson() writes every key in sorted order, so equal recipes give equal strings; the two
// Mixture-of-Experts keys only when they differ from their defaults, so the fingerprints of
// runs stored before they existed stay the same.

#include "quant/grid.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace ptq {

struct RecipeStep {
    std::string method;
    nlohmann::json params = nlohmann::json::object();
};

// Fake quantization of every linear's input.
struct ActQuantSpec {
    int bits = 8;
    // true: per token, scale from each row's range at run time; false: one static scale per
    // linear input from the calibration maximum.
    bool dynamic = true;
    bool symmetric = false;
    double clipRatio = 1.0; // QuaRot uses 0.9 for A4
};

// Fake quantization of the keys (after RoPE and any head rotation) and values.
struct KvQuantSpec {
    int bits = 8;
    int64_t groupSize = 0; // 0 = one group per head (head_dim values); else must divide it
    bool symmetric = false;
    double clipRatio = 1.0;
};

struct Recipe {
    std::string name;
    std::vector<RecipeStep> transforms;
    RecipeStep weightQuantizer{"rtn", nlohmann::json::object()};
    QuantGrid weightGrid;
    std::optional<ActQuantSpec> activations;
    std::optional<KvQuantSpec> kv;
    bool quantizeEmbeddings = false;
    bool quantizeLmHead = false;
    bool trueSequential = true;
    // Mixture of Experts. "routed": an expert's Hessian and statistics come from the tokens
    // routed to it (the default, as the reference implementations do); "all": every expert
    // also sees every calibration token for its statistics (its output is still combined
    // from the routed tokens only). Either way an expert routed fewer tokens than its input
    // width takes all-token statistics, with a warning in the run record.
    std::string expertCalibration = "routed";
    // Quantize the MoE routers with the weight quantizer too (default: full precision).
    bool quantizeRouter = false;

    // Parses and validates (validate() below); `source` names the file or "recipe".
    static Recipe fromJson(const nlohmann::json& j, const std::string& source = "recipe");
    nlohmann::json toJson() const;
    std::string canonical() const { return toJson().dump(); }

    // Built-in strategies: W4 asymmetric per-channel unless changed by the caller.
    static const std::vector<std::string>& builtinNames();
    // Throws ptq::Error for an unknown name, listing the known ones, and for a recipe whose
    // transform is not registered in this build ("transform 'awq' is not available ...").
    static Recipe builtin(const std::string& name);
    // A path ending in ".json" is read as a recipe file; anything else is a built-in name.
    static Recipe fromNameOrFile(const std::string& arg);

    // Checks methods against the registries (building each with its params, so bad params
    // fail here), the bit widths and ratios. With inFeatures > 0 also checks that the weight
    // group divides it. Throws ptq::Error naming `source` and the offending key.
    void validate(const std::string& source = "recipe", int64_t inFeatures = 0) const;
};

// Validates a grid's bits/group/clip ratio the way Recipe::validate does, for one linear.
void validateRecipeGrid(const QuantGrid& grid, const std::string& source);

} // namespace ptq
