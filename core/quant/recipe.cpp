#include "quant/recipe.h"

#include "quant/registry.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/json_object.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace ptq {

namespace {

using nlohmann::json;

// Transforms the workbench defines; a built-in recipe naming one that is not in the
// registry of this build gets a clear "not available" instead of an "unknown" message.
const std::set<std::string>& plannedTransforms()
{
    static const std::set<std::string> names = {"quarot", "awq", "smoothquant", "omniquant",
                                                "spinquant"};
    return names;
}

RecipeStep stepFromJson(const json& j, const std::string& source, const std::string& object)
{
    JsonObject r(j, source, object);
    RecipeStep step;
    const json* method = r.find("method");
    if (!method || !method->is_string())
        throw Error(source, object + ".method", "a method name (string) is required");
    step.method = method->get<std::string>();
    if (const json* params = r.find("params")) {
        if (!params->is_object() && !params->is_null())
            throw Error(source, object + ".params", "must be a JSON object");
        step.params = params->is_null() ? json::object() : *params;
    }
    r.finish();
    return step;
}

json stepToJson(const RecipeStep& s)
{
    return {{"method", s.method}, {"params", s.params.is_null() ? json::object() : s.params}};
}

void checkBits(int bits, const std::string& source, const std::string& key)
{
    if (bits < 2 || bits > 8)
        throw Error(source, key, "bits must be in 2..8, got " + std::to_string(bits));
}

void checkClip(double clip, const std::string& source, const std::string& key)
{
    if (!(clip > 0.0 && clip <= 1.0))
        throw Error(source, key, "clip ratio must be in (0, 1], got " + std::to_string(clip));
}

void checkTransform(const std::string& method, const std::string& source)
{
    for (const auto& t : blockTransforms())
        if (t.name == method)
            return;
    if (plannedTransforms().count(method))
        throw Error(source, "transforms",
                    "transform '" + method + "' is not available in this build");
    findBlockTransform(method); // throws, listing the registered transforms
}

} // namespace

void validateRecipeGrid(const QuantGrid& grid, const std::string& source)
{
    checkBits(grid.bits, source, "weight_grid.bits");
    checkClip(grid.clipRatio, source, "weight_grid.clip_ratio");
    if (grid.groupSize < -1 || grid.groupSize == 1)
        throw Error(source, "weight_grid.group_size",
                    "must be -1 (per tensor), 0 (per channel) or at least 2, got " +
                        std::to_string(grid.groupSize));
}

Recipe Recipe::fromJson(const json& j, const std::string& source)
{
    JsonObject r(j, source, "");
    Recipe recipe;
    recipe.name = r.get<std::string>("name", "");
    if (recipe.name.empty())
        throw Error(source, "name", "a recipe needs a non-empty name");
    if (const json* t = r.find("transforms")) {
        if (!t->is_array())
            throw Error(source, "transforms", "must be an array of {method, params}");
        for (std::size_t i = 0; i < t->size(); ++i)
            recipe.transforms.push_back(
                stepFromJson((*t)[i], source, "transforms[" + std::to_string(i) + "]"));
    }
    const json* wq = r.find("weight_quantizer");
    if (!wq)
        throw Error(source, "weight_quantizer", "required ({\"method\": \"rtn\"} at least)");
    recipe.weightQuantizer = stepFromJson(*wq, source, "weight_quantizer");
    if (const json* g = r.find("weight_grid")) {
        JsonObject gr(*g, source, "weight_grid");
        recipe.weightGrid.bits = gr.get<int>("bits", 4);
        recipe.weightGrid.symmetric = gr.get<bool>("symmetric", false);
        recipe.weightGrid.groupSize = gr.get<int64_t>("group_size", 0);
        recipe.weightGrid.clipRatio = gr.get<double>("clip_ratio", 1.0);
        gr.finish();
    }
    if (const json* a = r.find("activations"); a && !a->is_null()) {
        JsonObject ar(*a, source, "activations");
        ActQuantSpec s;
        s.bits = ar.get<int>("bits", 8);
        s.dynamic = ar.get<bool>("dynamic", true);
        s.symmetric = ar.get<bool>("symmetric", false);
        s.clipRatio = ar.get<double>("clip_ratio", 1.0);
        ar.finish();
        recipe.activations = s;
    }
    if (const json* k = r.find("kv"); k && !k->is_null()) {
        JsonObject kr(*k, source, "kv");
        KvQuantSpec s;
        s.bits = kr.get<int>("bits", 8);
        s.groupSize = kr.get<int64_t>("group_size", 0);
        s.symmetric = kr.get<bool>("symmetric", false);
        s.clipRatio = kr.get<double>("clip_ratio", 1.0);
        kr.finish();
        recipe.kv = s;
    }
    recipe.quantizeEmbeddings = r.get<bool>("quantize_embeddings", false);
    recipe.quantizeLmHead = r.get<bool>("quantize_lm_head", false);
    recipe.trueSequential = r.get<bool>("true_sequential", true);
    recipe.expertCalibration = r.string("expert_calibration", "routed");
    recipe.quantizeRouter = r.get<bool>("quantize_router", false);
    r.finish();
    recipe.validate(source);
    return recipe;
}

json Recipe::toJson() const
{
    // nlohmann::json objects are std::map-backed: keys come out sorted.
    json j;
    j["name"] = name;
    j["transforms"] = json::array();
    for (const auto& t : transforms)
        j["transforms"].push_back(stepToJson(t));
    j["weight_quantizer"] = stepToJson(weightQuantizer);
    j["weight_grid"] = {{"bits", weightGrid.bits},
                        {"symmetric", weightGrid.symmetric},
                        {"group_size", weightGrid.groupSize},
                        {"clip_ratio", weightGrid.clipRatio}};
    j["activations"] = activations ? json{{"bits", activations->bits},
                                          {"dynamic", activations->dynamic},
                                          {"symmetric", activations->symmetric},
                                          {"clip_ratio", activations->clipRatio}}
                                   : json(nullptr);
    j["kv"] = kv ? json{{"bits", kv->bits},
                        {"group_size", kv->groupSize},
                        {"symmetric", kv->symmetric},
                        {"clip_ratio", kv->clipRatio}}
                 : json(nullptr);
    j["quantize_embeddings"] = quantizeEmbeddings;
    j["quantize_lm_head"] = quantizeLmHead;
    j["true_sequential"] = trueSequential;
    if (expertCalibration != "routed")
        j["expert_calibration"] = expertCalibration;
    if (quantizeRouter)
        j["quantize_router"] = true;
    return j;
}

void Recipe::validate(const std::string& source, int64_t inFeatures) const
{
    for (const auto& t : transforms) {
        checkTransform(t.method, source);
        findBlockTransform(t.method).make(t.params); // rejects bad params
    }
    findWeightQuantizer(weightQuantizer.method).make(weightQuantizer.params);
    validateRecipeGrid(weightGrid, source);
    if (inFeatures > 0 && weightGrid.groupSize > 0 && inFeatures % weightGrid.groupSize != 0)
        throw Error(source, "weight_grid.group_size",
                    "group size " + std::to_string(weightGrid.groupSize) +
                        " does not divide a layer's input features " + std::to_string(inFeatures));
    if (expertCalibration != "routed" && expertCalibration != "all")
        throw Error(source, "expert_calibration",
                    "expected \"routed\" or \"all\", got \"" + expertCalibration + "\"");
    if (activations) {
        checkBits(activations->bits, source, "activations.bits");
        checkClip(activations->clipRatio, source, "activations.clip_ratio");
    }
    if (kv) {
        checkBits(kv->bits, source, "kv.bits");
        checkClip(kv->clipRatio, source, "kv.clip_ratio");
        if (kv->groupSize < 0 || kv->groupSize == 1)
            throw Error(source, "kv.group_size",
                        "must be 0 (one group per head) or at least 2, got " +
                            std::to_string(kv->groupSize));
    }
    if (quantizeEmbeddings || quantizeLmHead)
        throw Error(
            source, quantizeEmbeddings ? "quantize_embeddings" : "quantize_lm_head",
            "quantizing the embedding or the output head is not supported yet; the PTQ baselines "
            "keep them in full precision");
}

const std::vector<std::string>& Recipe::builtinNames()
{
    static const std::vector<std::string> names = {
        "rtn",        "gptq",        "awq",      "smoothquant",
        "quarot-rtn", "quarot-gptq", "awq-gptq", "smoothquant-gptq",
        "quip",       "omniquant"};
    return names;
}

Recipe Recipe::builtin(const std::string& name)
{
    // name -> (transform or "", weight quantizer)
    static const std::map<std::string, std::pair<std::string, std::string>> table = {
        {"rtn", {"", "rtn"}},
        {"gptq", {"", "gptq"}},
        {"awq", {"awq", "rtn"}},
        {"smoothquant", {"smoothquant", "rtn"}},
        {"quarot-rtn", {"quarot", "rtn"}},
        {"quarot-gptq", {"quarot", "gptq"}},
        {"awq-gptq", {"awq", "gptq"}},
        {"smoothquant-gptq", {"smoothquant", "gptq"}},
        // Incoherence processing + LDLQ (= GPTQ's update rule) in one weight quantizer: the
        // two-sided rotation of every linear cannot be folded into a block transform.
        {"quip", {"", "quip"}},
        // LET folded into the weights and LWC's learned clipping left as clamped weights, on
        // which RTN finds the scales LWC trained with (quant/omniquant.h).
        {"omniquant", {"omniquant", "rtn"}},
    };
    const auto it = table.find(name);
    if (it == table.end()) {
        std::string known;
        for (const auto& n : builtinNames())
            known += (known.empty() ? "" : ", ") + n;
        throw Error("built-in recipes", name,
                    "unknown recipe (known: " + known + "; or a path to a .json recipe file)");
    }
    Recipe r;
    r.name = name;
    if (!it->second.first.empty())
        r.transforms.push_back({it->second.first, json::object()});
    r.weightQuantizer = {it->second.second, json::object()};
    if (name.rfind("smoothquant", 0) == 0) {
        // SmoothQuant's setting: W8A8, per-channel weights and per-token activations.
        r.weightGrid.bits = 8;
        r.weightGrid.symmetric = true;
        r.activations = ActQuantSpec{8, true, true, 1.0};
    }
    r.validate("built-in recipe " + name);
    return r;
}

Recipe Recipe::fromNameOrFile(const std::string& arg)
{
    const std::string ext = ".json";
    if (arg.size() < ext.size() || arg.compare(arg.size() - ext.size(), ext.size(), ext) != 0)
        return builtin(arg);
    return fromJson(readJsonFile(arg, "recipe file"), arg);
}

} // namespace ptq
