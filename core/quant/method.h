#pragma once
// The interface every weight quantizer implements (RTN, GPTQ, ...): one layer's weight and,
// where the method needs it, the Hessian of its calibration inputs go in; the stored form,
// the dequantized weight, the method's own loss and typed warnings come out.
//
// Each method is configured by a JSON object of its own parameters. It reads them with
// MethodParams, which rejects unknown keys and values of the wrong type, so a typo in a
// recipe fails loudly instead of silently running the defaults.

#include "quant/grid.h"
#include "quant/hessian.h"
#include "quant/packing.h"
#include "util/error.h"
#include "util/progress.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <set>
#include <string>
#include <vector>

namespace ptq {

struct LayerInput {
    std::string name;                            // e.g. "model.layers.0.self_attn.q_proj"
    torch::Tensor weight;                        // (out, in)
    const HessianAccumulator* hessian = nullptr; // calibration statistics of the layer input
};

struct WeightQuantResult {
    QuantizedLinear q;
    torch::Tensor dequantized; // float32 (out, in), equal to q.dequantize() bit for bit
    double loss = 0.0;         // the method's own objective (GPTQ: sum err^2/d^2/2)
    std::vector<std::string> warnings;
};

class WeightQuantizer {
public:
    virtual ~WeightQuantizer();
    virtual WeightQuantResult quantize(const LayerInput& layer, const QuantGrid& grid,
                                       const ProgressFn& progress) const = 0;
};

// The layer's weight as a float32 (out, in) copy the method may modify, after validating the
// grid against it. Throws ptq::Error naming the layer when the weight is not a 2-D floating
// tensor or holds NaN/Inf.
torch::Tensor checkedWeight(const LayerInput& layer, const QuantGrid& grid);

// Reads one method's JSON parameters. Every get*() marks its key as known; finish() throws
// ptq::Error naming any key that no get*() asked for.
class MethodParams {
public:
    MethodParams(std::string method, const nlohmann::json& params) : m_method(std::move(method))
    {
        if (params.is_null())
            return;
        if (!params.is_object())
            throw Error(source(), "params", "parameters must be a JSON object");
        m_params = params;
    }

    bool getBool(const std::string& key, bool fallback)
    {
        const auto* v = find(key);
        if (!v)
            return fallback;
        if (!v->is_boolean())
            throw Error(source(), key, "expected true or false, got " + v->dump());
        return v->get<bool>();
    }

    double getDouble(const std::string& key, double fallback)
    {
        const auto* v = find(key);
        if (!v)
            return fallback;
        if (!v->is_number())
            throw Error(source(), key, "expected a number, got " + v->dump());
        return v->get<double>();
    }

    int64_t getInt(const std::string& key, int64_t fallback)
    {
        const auto* v = find(key);
        if (!v)
            return fallback;
        if (!v->is_number_integer())
            throw Error(source(), key, "expected an integer, got " + v->dump());
        return v->get<int64_t>();
    }

    void finish() const
    {
        for (const auto& item : m_params.items()) {
            if (m_known.count(item.key()))
                continue;
            std::string known;
            for (const auto& k : m_known)
                known += (known.empty() ? "" : ", ") + k;
            throw Error(source(), item.key(),
                        "unknown parameter (known: " + (known.empty() ? "none" : known) + ")");
        }
    }

    std::string source() const { return "parameters of method " + m_method; }

private:
    const nlohmann::json* find(const std::string& key)
    {
        m_known.insert(key);
        const auto it = m_params.find(key);
        return it == m_params.end() ? nullptr : &*it;
    }

    std::string m_method;
    nlohmann::json m_params = nlohmann::json::object();
    std::set<std::string> m_known;
};

} // namespace ptq
