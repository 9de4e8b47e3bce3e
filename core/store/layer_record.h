#pragma once
// The per-layer record of a run, and the one column table that every place writing or
// reading it follows: the store's layer_errors table (insert and select), the CSV, JSON and
// LaTeX exports, and the CLI's JSON. Adding a field is one member plus one row of
// layerColumns() (and a schema migration for the store).

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace ptq {

struct LayerErrorRow {
    int64_t block = 0;
    std::string layer; // the linear within its block: "self_attn.q_proj", ...
    int bits = 0;
    int64_t groupSize = 0;
    double relWeightError = 0; // ||W - Q||_F / ||W||_F
    double outputError = 0;    // ||X W^T - X Q^T||^2 / ||X W^T||^2 on sampled calibration rows
    double methodLoss = 0;     // the weight quantizer's own objective
    double maxAbsError = 0;    // max |W - Q|
    uint64_t bytes = 0;        // packed size including scales, zeros, permutation
    double seconds = 0;
    // Mixture of Experts: the routed expert the linear belongs to (-1: none), the calibration
    // tokens routed to it (-1: not a routed linear) and the tokens its statistics came from
    // (all calibration tokens for a dense linear; the routed ones, or all of them under
    // expert_calibration "all" or the starved-expert fallback, for an expert).
    int64_t expert = -1;
    int64_t routedTokens = -1;
    int64_t calibTokens = 0;
    // The linear's calibration input as the quantizer saw it (after the recipe's transforms
    // and run-time hooks): the largest |x|, and the outlier ratio max_c m_c / median_c m_c of
    // the per-channel maxima m_c (1 for a flat input; tens to hundreds where a few channels
    // carry outliers, as LLM.int8 and SmoothQuant describe). 0 when not measured.
    double inputAbsMax = 0;
    double inputOutlierRatio = 0;
};

using LayerCell = std::variant<int64_t, double, std::string>;

struct LayerColumn {
    const char* name;    // column and key name: "rel_weight_error"
    const char* sqlType; // "INTEGER", "REAL" or "TEXT", as in the store's schema
    LayerCell (*get)(const LayerErrorRow&);
    void (*set)(LayerErrorRow&, const LayerCell&);
    int since = 1; // the store schema version that added the column
};

// block, layer, bits, group_size, rel_weight_error, output_error, method_loss,
// max_abs_error, bytes, seconds, expert, routed_tokens, calib_tokens, input_absmax,
// input_outlier_ratio.
const std::vector<LayerColumn>& layerColumns();

} // namespace ptq
