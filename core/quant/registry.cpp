#include "quant/registry.h"

#include "quant/awq.h"
#include "quant/gptq.h"
#include "quant/omniquant.h"
#include "quant/quarot.h"
#include "quant/quip.h"
#include "quant/rtn.h"
#include "quant/smoothquant.h"

namespace ptq {

WeightQuantizer::~WeightQuantizer() = default;

torch::Tensor checkedWeight(const LayerInput& layer, const QuantGrid& grid)
{
    const std::string object = layer.name.empty() ? std::string("weight") : layer.name;
    if (!layer.weight.defined() || layer.weight.dim() != 2 || !layer.weight.is_floating_point())
        throw Error("weight quantizer", object, "expected a 2-D floating-point (out, in) weight");
    if (layer.weight.size(0) == 0 || layer.weight.size(1) == 0)
        throw Error("weight quantizer", object, "the weight is empty");
    validate(grid, layer.weight.size(1));
    auto w = layer.weight.to(torch::kFloat).contiguous().clone();
    if (!allFinite(w))
        throw Error("weight quantizer", object, "the weight contains NaN or Inf");
    return w;
}

const std::vector<MethodInfo>& weightQuantizers()
{
    static const std::vector<MethodInfo> table = {
        {"rtn",
         "baseline",
         "Round-to-nearest on the min-max grid; no calibration data",
         [](const nlohmann::json& p) -> std::unique_ptr<WeightQuantizer> {
             return std::make_unique<RtnQuantizer>(RtnParams::fromJson(p));
         },
         false,
         1.0,
         {}},
        {"gptq",
         "compensation",
         "GPTQ (Frantar et al., 2022): column-wise quantization with Hessian-based error "
         "compensation of the remaining columns",
         [](const nlohmann::json& p) -> std::unique_ptr<WeightQuantizer> {
             return std::make_unique<GptqQuantizer>(GptqParams::fromJson(p));
         },
         true,
         3.0,
         {}},
        {"quip",
         "rotation",
         "QuIP (Chee et al., 2023): incoherence processing (randomized Hadamards on both sides "
         "of W and on H) then GPTQ/LDLQ; codes are stored in the rotated basis",
         [](const nlohmann::json& p) -> std::unique_ptr<WeightQuantizer> {
             return std::make_unique<QuipQuantizer>(QuipParams::fromJson(p));
         },
         true,
         4.0,
         {}},
    };
    return table;
}

const MethodInfo& findWeightQuantizer(const std::string& name)
{
    std::string known;
    for (const auto& m : weightQuantizers()) {
        if (m.name == name)
            return m;
        known += (known.empty() ? "" : ", ") + m.name;
    }
    throw Error("weight quantizer registry", name, "unknown method (known: " + known + ")");
}

namespace {

// AWQ searches its scales and clipping against the recipe's weight grid unless its own
// parameters name another.
nlohmann::json awqParamsFromRecipe(const nlohmann::json& params, const Recipe& recipe)
{
    nlohmann::json p = params;
    if (!p.contains("wbits"))
        p["wbits"] = recipe.weightGrid.bits;
    if (!p.contains("groupSize"))
        p["groupSize"] = recipe.weightGrid.groupSize;
    if (!p.contains("symmetric"))
        p["symmetric"] = recipe.weightGrid.symmetric;
    return p;
}

} // namespace

const std::vector<TransformInfo>& blockTransforms()
{
    // One entry per transform, in taxonomy order.
    static const std::vector<TransformInfo> table = {
        {"quarot",
         "rotation",
         "QuaRot (Ashkboos et al., 2024): randomized Hadamard rotation of the residual stream, "
         "online Hadamard before the MLP down projection and per-head rotations of V/O and of Q/K "
         "after RoPE; "
         "exact in full precision",
         [](const nlohmann::json& p) -> std::unique_ptr<BlockTransform> {
             return std::make_unique<QuarotTransform>(QuarotParams::fromJson(p));
         },
         1.5,
         // The per-head V/O and Q/K rotations apply where the block has attention
         // (ValueOutputFold, KvCacheHook); a Mamba block gets the residual rotation and the
         // online Hadamard before out_proj.
         {ArchFeature::ResidualRotation, ArchFeature::LinearInputHook},
         nullptr},
        {"smoothquant",
         "salience",
         "SmoothQuant (Xiao et al., 2022): per-channel scales max|X|^a / max|W|^(1-a) move "
         "activation outliers into the weights, folded into the RMSNorm gains; exact in full "
         "precision",
         [](const nlohmann::json& p) -> std::unique_ptr<BlockTransform> {
             return std::make_unique<SmoothQuantTransform>(SmoothQuantParams::fromJson(p));
         },
         1.2,
         {ArchFeature::NormFold},
         nullptr},
        {"awq",
         "salience",
         "AWQ (Lin et al., 2023): activation-aware per-channel weight scaling searched on the "
         "module output error after RTN, plus weight clipping search (clipping changes the "
         "weights)",
         [](const nlohmann::json& p) -> std::unique_ptr<BlockTransform> {
             return std::make_unique<AwqTransform>(AwqParams::fromJson(p));
         },
         20.0,
         // Searches every fold point the block has: the norm folds always, v->o and up->down
         // where they exist.
         {ArchFeature::NormFold},
         awqParamsFromRecipe},
        {"omniquant",
         "optimization",
         "OmniQuant (Shao et al., 2023): per block, learnable equivalent transformation "
         "(channel scales norm -> q/k/v, norm -> gate/up, v -> o) and learnable weight "
         "clipping trained with AdamW on the block output MSE; the scales are folded exactly, "
         "the learned clipping changes the weights",
         [](const nlohmann::json& p) -> std::unique_ptr<BlockTransform> {
             return std::make_unique<OmniQuantTransform>(OmniQuantParams::fromJson(p));
         },
         60.0,
         // Learns the scales of every norm fold, and of v->o where the block has one.
         {ArchFeature::NormFold, ArchFeature::AutogradForward},
         nullptr},
    };
    return table;
}

const TransformInfo& findBlockTransform(const std::string& name)
{
    std::string known;
    for (const auto& t : blockTransforms()) {
        if (t.name == name)
            return t;
        known += (known.empty() ? "" : ", ") + t.name;
    }
    throw Error("transform registry", name, "unknown transform (known: " + known + ")");
}

nlohmann::json completedParams(const RecipeStep& step, const Recipe& recipe)
{
    const nlohmann::json p = step.params.is_object() ? step.params : nlohmann::json::object();
    const TransformInfo& t = findBlockTransform(step.method);
    return t.complete ? t.complete(p, recipe) : p;
}

std::vector<std::pair<std::string, ArchFeature>> recipeNeeds(const Recipe& recipe)
{
    std::vector<std::pair<std::string, ArchFeature>> needs;
    for (const auto& step : recipe.transforms)
        for (ArchFeature f : findBlockTransform(step.method).needs)
            needs.emplace_back(step.method, f);
    for (ArchFeature f : findWeightQuantizer(recipe.weightQuantizer.method).needs)
        needs.emplace_back(recipe.weightQuantizer.method, f);
    if (recipe.activations)
        needs.emplace_back("activation quantization", ArchFeature::LinearInputHook);
    if (recipe.kv)
        needs.emplace_back("KV-cache quantization", ArchFeature::KvCacheHook);
    return needs;
}

void checkRecipeFits(const Recipe& recipe, const ArchitectureInfo& arch, const std::string& source)
{
    std::string missing;
    for (const auto& [method, feature] : recipeNeeds(recipe))
        if (!arch.has(feature))
            missing += std::string(missing.empty() ? "" : "; ") + method + " needs the " +
                       archFeatureName(feature) + ", which " + arch.modelType + " lacks";
    if (!missing.empty())
        throw Error(source, "recipe " + recipe.name,
                    "cannot run on architecture " + arch.modelType + ": " + missing);
}

void checkRecipeFits(const Recipe& recipe, const Architecture& arch, const std::string& source)
{
    std::set<int64_t> widths;
    for (const auto& layout : arch.distinctLayouts())
        for (const auto& t : layout->tensors)
            if (t.linear && !t.groupFallback)
                widths.insert(t.shape.at(1));
    for (int64_t in : widths)
        recipe.validate(source, in);
    checkRecipeFits(recipe, arch.info(), source);
}

double recipeRelativeCost(const Recipe& recipe)
{
    double cost = findWeightQuantizer(recipe.weightQuantizer.method).relativeCost;
    for (const auto& step : recipe.transforms)
        cost += findBlockTransform(step.method).relativeCost - 1.0;
    return cost;
}

} // namespace ptq
