#pragma once
// Tables of runs and per-layer errors, written as CSV (RFC 4180 quoting), JSON (an array of
// objects whose keys follow the column order) or LaTeX (a booktabs tabular). One table model
// feeds all three formats, so the columns and values always agree between them.

#include "store/results_store.h"

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace ptq {

enum class ExportFormat { Csv, Json, Latex };
std::string exportFormatName(ExportFormat f); // "csv", "json", "latex"
// Throws ptq::Error for an unknown name.
ExportFormat parseExportFormat(const std::string& name, const std::string& source = "format");
std::string exportFormatExtension(ExportFormat f); // ".csv", ".json", ".tex"

// An empty cell (std::monostate) means "not recorded": CSV writes nothing, JSON null,
// LaTeX "--".
using ExportCell = std::variant<std::monostate, int64_t, double, std::string>;

struct ExportTable {
    std::vector<std::string> columns;
    std::vector<std::vector<ExportCell>> rows; // each row has columns.size() cells
};

// One row per run, in the given order. Columns: id, model, parameters, recipe, wbits, group,
// abits, kvbits, bits_per_weight, size_mb (packed bytes / 1e6), status, then one column per
// metric present in any run, in knownMetricNames() order. When the runs' metrics use more
// than one dataset, every metric recorded on a dataset is named metric@<first 8 hex digits
// of the dataset sha256>, one column per (metric, dataset), datasets in sha order.
// bits_per_weight, packed_bytes and fp16_bytes stored as metrics are not repeated: the run's
// own columns carry them. A run without a recorded size has empty size cells.
ExportTable runsTable(const std::vector<RunRecord>& runs);

// One row per layer, the columns of layerColumns() (store/layer_record.h); the
// Mixture-of-Experts columns (expert, routed_tokens, calib_tokens) appear only when some row
// belongs to an expert.
ExportTable layerErrorsTable(const std::vector<LayerErrorRow>& layers);

// Numbers in CSV and JSON use the shortest text that reads back to the same double.
std::string toCsv(const ExportTable& table);
std::string toJson(const ExportTable& table);
// Doubles are rounded to `significantDigits` (1..17); very small or very large magnitudes
// are written as $m\times10^{e}$. Integers are written in full.
std::string toLatex(const ExportTable& table, int significantDigits = 4);
std::string formatTable(const ExportTable& table, ExportFormat format);

// Helpers, exposed for tests and for other writers.
std::string csvField(const std::string& s);    // quoted when it holds , " CR or LF
std::string latexEscape(const std::string& s); // & % $ # _ { } ~ ^ \ and line breaks
std::string formatSignificant(double v, int significantDigits); // plain text, no LaTeX

// Writes `contents` to a temporary file beside `path`, flushes it to disk and renames it
// over `path`, so a reader never sees a half-written file. Throws ptq::Error naming the path.
void writeFileAtomically(const std::string& path, const std::string& contents);

} // namespace ptq
