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
#include "util/json_object.h"
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
// A method's JSON parameters read strictly (util/json_object.h): null or {} means defaults,
// an unknown parameter is an error naming the method.
class MethodParams {
public:
    MethodParams(std::string method, const nlohmann::json& params)
        : m_source("parameters of method " + std::move(method)),
          m_params(params.is_null() ? nlohmann::json::object() : params),
          m_reader(m_params, m_source, "", "parameter")
    {}
    MethodParams(const MethodParams&) = delete; // the reader refers to m_params
    MethodParams& operator=(const MethodParams&) = delete;

    bool getBool(const std::string& key, bool fallback) { return m_reader.boolean(key, fallback); }
    double getDouble(const std::string& key, double fallback)
    {
        return m_reader.number(key, fallback);
    }
    int64_t getInt(const std::string& key, int64_t fallback)
    {
        return m_reader.integer(key, fallback);
    }
    void finish() const { m_reader.finish(); }
    const std::string& source() const { return m_source; }

private:
    std::string m_source;
    nlohmann::json m_params;
    JsonObject m_reader;
};

} // namespace ptq
