#pragma once
// Round-to-nearest: every weight goes to its nearest grid point, no calibration data needed.
// The baseline every other method is compared against. Parameters: {"mse": bool} enables
// GPTQ's MSE clip search for the grid.

#include "quant/method.h"

namespace ptq {

struct RtnParams {
    bool mse = false;

    static RtnParams fromJson(const nlohmann::json& params);
};

class RtnQuantizer : public WeightQuantizer {
public:
    explicit RtnQuantizer(RtnParams params = {}) : m_params(params) {}
    // loss: the sum of squared weight errors.
    WeightQuantResult quantize(const LayerInput& layer, const QuantGrid& grid,
                               const ProgressFn& progress) const override;

private:
    RtnParams m_params;
};

} // namespace ptq
