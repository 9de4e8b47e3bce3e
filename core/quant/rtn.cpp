#include "quant/rtn.h"

namespace ptq {

RtnParams RtnParams::fromJson(const nlohmann::json& params)
{
    MethodParams reader("rtn", params);
    RtnParams p;
    p.mse = reader.getBool("mse", p.mse);
    reader.finish();
    return p;
}

WeightQuantResult RtnQuantizer::quantize(const LayerInput& layer, const QuantGrid& grid,
                                         const ProgressFn& progress) const
{
    reportProgress(progress, {"rtn", layer.name, 0, 1});
    const auto w = checkedWeight(layer, grid); // (out, in)
    const int64_t out = w.size(0), in = w.size(1);
    MseSearch mse;
    mse.enabled = m_params.mse;
    const QuantParams params = findWeightParams(w, grid, mse);
    const auto scale = expandToColumns(params.scale, out, in);
    const auto zero = expandToColumns(params.zero, out, in);

    WeightQuantResult r;
    r.q = makeQuantizedLinear(quantCodes(w, scale, zero, grid.bits), params, grid, {});
    r.dequantized = fakeQuantize(w, scale, zero, grid.bits);
    r.loss = (r.dequantized - w).to(torch::kDouble).pow(2).sum().item<double>();
    reportProgress(progress, {"rtn", layer.name, 1, 1});
    return r;
}

} // namespace ptq
