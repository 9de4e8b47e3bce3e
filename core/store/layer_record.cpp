#include "store/layer_record.h"

namespace ptq {

namespace {

int64_t asInt(const LayerCell& c)
{
    if (const auto* i = std::get_if<int64_t>(&c))
        return *i;
    if (const auto* d = std::get_if<double>(&c))
        return static_cast<int64_t>(*d);
    return 0;
}

double asReal(const LayerCell& c)
{
    if (const auto* d = std::get_if<double>(&c))
        return *d;
    if (const auto* i = std::get_if<int64_t>(&c))
        return static_cast<double>(*i);
    return 0.0;
}

std::string asText(const LayerCell& c)
{
    const auto* s = std::get_if<std::string>(&c);
    return s ? *s : std::string();
}

} // namespace

const std::vector<LayerColumn>& layerColumns()
{
    using R = LayerErrorRow;
    using C = LayerCell;
    static const std::vector<LayerColumn> columns = {
        {"block", "INTEGER", [](const R& r) -> C { return r.block; },
         [](R& r, const C& c) { r.block = asInt(c); }},
        {"layer", "TEXT", [](const R& r) -> C { return r.layer; },
         [](R& r, const C& c) { r.layer = asText(c); }},
        {"bits", "INTEGER", [](const R& r) -> C { return int64_t{r.bits}; },
         [](R& r, const C& c) { r.bits = static_cast<int>(asInt(c)); }},
        {"group_size", "INTEGER", [](const R& r) -> C { return r.groupSize; },
         [](R& r, const C& c) { r.groupSize = asInt(c); }},
        {"rel_weight_error", "REAL", [](const R& r) -> C { return r.relWeightError; },
         [](R& r, const C& c) { r.relWeightError = asReal(c); }},
        {"output_error", "REAL", [](const R& r) -> C { return r.outputError; },
         [](R& r, const C& c) { r.outputError = asReal(c); }},
        {"method_loss", "REAL", [](const R& r) -> C { return r.methodLoss; },
         [](R& r, const C& c) { r.methodLoss = asReal(c); }},
        {"max_abs_error", "REAL", [](const R& r) -> C { return r.maxAbsError; },
         [](R& r, const C& c) { r.maxAbsError = asReal(c); }},
        {"bytes", "INTEGER", [](const R& r) -> C { return static_cast<int64_t>(r.bytes); },
         [](R& r, const C& c) { r.bytes = static_cast<uint64_t>(asInt(c)); }},
        {"seconds", "REAL", [](const R& r) -> C { return r.seconds; },
         [](R& r, const C& c) { r.seconds = asReal(c); }},
        {"expert", "INTEGER", [](const R& r) -> C { return r.expert; },
         [](R& r, const C& c) { r.expert = asInt(c); }, 4},
        {"routed_tokens", "INTEGER", [](const R& r) -> C { return r.routedTokens; },
         [](R& r, const C& c) { r.routedTokens = asInt(c); }, 4},
        {"calib_tokens", "INTEGER", [](const R& r) -> C { return r.calibTokens; },
         [](R& r, const C& c) { r.calibTokens = asInt(c); }, 4},
        {"input_absmax", "REAL", [](const R& r) -> C { return r.inputAbsMax; },
         [](R& r, const C& c) { r.inputAbsMax = asReal(c); }, 5},
        {"input_outlier_ratio", "REAL", [](const R& r) -> C { return r.inputOutlierRatio; },
         [](R& r, const C& c) { r.inputOutlierRatio = asReal(c); }, 5},
    };
    return columns;
}

} // namespace ptq
