#pragma once
// The one table of weight quantizers. A method is listed here by hand (no self-registering
// static initialisers), so the table is the complete list and tests loop over it.

#include "model/architecture.h"
#include "model/architectures.h"
#include "quant/method.h"
#include "quant/recipe.h"
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
    // The engine accumulates the Hessian of each linear's calibration inputs for it.
    bool needsHessian = false;
    // Cost of calibration relative to one forward pass over the calibration tokens, for time
    // estimates before a run of the model is stored (an order of magnitude): GPTQ adds a
    // Hessian and its solve per linear, AWQ searches ~20 scales per layer, OmniQuant trains
    // ~20 epochs forward and backward.
    double relativeCost = 1.0;
    std::vector<ArchFeature> needs; // what the architecture must offer
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
    double relativeCost = 1.0; // as MethodInfo::relativeCost
    // What the architecture must offer; fold points beyond these are used where present.
    std::vector<ArchFeature> needs;
    // The step's parameters with what it takes from the rest of the recipe filled in where
    // the step leaves it out (AWQ searches on the recipe's weight grid). Null: as written.
    std::function<nlohmann::json(const nlohmann::json& params, const Recipe& recipe)> complete;
};

const std::vector<TransformInfo>& blockTransforms();
const TransformInfo& findBlockTransform(const std::string& name);

// A transform step's parameters as the transform is built with (TransformInfo::complete).
nlohmann::json completedParams(const RecipeStep& step, const Recipe& recipe);

// What the recipe needs from an architecture: its methods' needs, plus run-time hooks for
// activation (linear inputs) and KV-cache quantization.
std::vector<std::pair<std::string, ArchFeature>> recipeNeeds(const Recipe& recipe);
// Throws ptq::Error naming `source`, each method of the recipe that needs what `arch` lacks,
// the architecture and the missing feature.
void checkRecipeFits(const Recipe& recipe, const ArchitectureInfo& arch, const std::string& source);
// The same for one model's architecture, and every grid of the recipe checked against the
// input width of every quantizable linear of its blocks.
void checkRecipeFits(const Recipe& recipe, const Architecture& arch, const std::string& source);

// Calibration cost of the recipe relative to one forward pass (the weight quantizer's cost
// plus each transform's cost beyond one forward).
double recipeRelativeCost(const Recipe& recipe);

} // namespace ptq
