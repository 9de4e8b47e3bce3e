#pragma once
// The one table of weight quantizers. A method is listed here by hand (no self-registering
// static initialisers), so the table is the complete list and tests loop over it.

#include "quant/method.h"
#include "quant/transform.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ptq {

struct MethodInfo {
    std::string name; // the recipe key, e.g. "gptq"
    std::string
        taxonomyClass; // "baseline" | "compensation" | "rotation" | "salience" | "optimization"
    std::string description;
    // Parses the method's JSON parameters (null or {} = defaults); throws ptq::Error on
    // unknown keys or bad values.
    std::function<std::unique_ptr<WeightQuantizer>(const nlohmann::json& params)> make;
};

const std::vector<MethodInfo>& weightQuantizers();
// Throws ptq::Error listing the known names when `name` is not registered.
const MethodInfo& findWeightQuantizer(const std::string& name);

// The one table of transforms (rotation, smoothing, scaling, learned transformations), the
// steps a recipe lists before its weight quantizer.
struct TransformInfo {
    std::string name;          // the recipe key, e.g. "quarot"
    std::string taxonomyClass; // "rotation" | "salience" | "optimization"
    std::string description;
    // Parses the transform's JSON parameters; throws ptq::Error on unknown keys or bad values.
    std::function<std::unique_ptr<BlockTransform>(const nlohmann::json& params)> make;
};

const std::vector<TransformInfo>& blockTransforms();
const TransformInfo& findBlockTransform(const std::string& name);

} // namespace ptq
