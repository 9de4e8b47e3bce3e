#include "quant/registry.h"

#include "quant/gptq.h"
#include "quant/rtn.h"

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
        {"rtn", "baseline", "Round-to-nearest on the min-max grid; no calibration data",
         [](const nlohmann::json& p) -> std::unique_ptr<WeightQuantizer> {
             return std::make_unique<RtnQuantizer>(RtnParams::fromJson(p));
         }},
        {"gptq", "compensation",
         "GPTQ (Frantar et al., 2022): column-wise quantization with Hessian-based error "
         "compensation of the remaining columns",
         [](const nlohmann::json& p) -> std::unique_ptr<WeightQuantizer> {
             return std::make_unique<GptqQuantizer>(GptqParams::fromJson(p));
         }},
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

const std::vector<TransformInfo>& blockTransforms()
{
    // One entry per transform, in taxonomy order.
    static const std::vector<TransformInfo> table = {
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

} // namespace ptq
