#pragma once
// Size × quality trade-offs over finished runs: Pareto fronts (smaller model, better metric),
// the best run under a size budget, and iso-size comparisons across models of a family
// ("at 2 bits a much larger model can be worse than a smaller one at 4 bits").
//
// Everything here works on plain RunRecord vectors (from ResultsStore::listRuns or built by
// hand), so the GUI and the CLI share it and tests need no database.

#include "store/results_store.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ptq {

// Which way a metric improves. Size (x) is always minimized.
enum class Direction { Minimize, Maximize };

// perplexity, perplexity_fp, kl_mean, kl_max: Minimize; acc, acc_norm, top1_agreement:
// Maximize; the size metrics bits_per_weight, packed_bytes, fp16_bytes: Minimize.
// Throws ptq::Error (listing the known names) for an unknown metric.
Direction metricDirection(const std::string& metric);

// x axis of a front: the real packed size in bytes (scales and zeros included), the bits per
// weight of the quantized linears, or the packed bytes one token reads (a Mixture of Experts
// reads k of its E experts per layer: the active_packed_bytes metric; the whole packed size
// for a dense model). Runs must be listed with their metrics for ActiveBytes.
enum class SizeAxis { Bytes, BitsPerWeight, ActiveBytes };
std::string sizeAxisName(SizeAxis axis); // "bytes", "bpw", "active-bytes"
SizeAxis parseSizeAxis(const std::string& name, const std::string& source = "size axis");

struct ParetoPoint {
    double x = 0;
    double y = 0;
    std::string label;   // names the point in errors and tables, e.g. "run 12 (tiny gptq w4)"
    int64_t runId = 0;   // 0 when the point does not come from a run
    size_t runIndex = 0; // position in the RunRecord vector the point was built from
};

// Indices of the non-dominated points, sorted by x (then by y, best first, then by index).
// Point a dominates b when a is no larger and no worse than b and differs from it in x or y.
// Exact duplicates (equal x and y) do not dominate each other, so all copies of a
// non-dominated point are kept: two runs that tie are both reported. O(n log n).
// Throws ptq::Error naming the point's label when x or y is NaN or infinite; `source`
// names where the points came from (a database file) in that message.
std::vector<size_t> paretoFront(const std::vector<ParetoPoint>& points, Direction yDirection,
                                const std::string& source = "Pareto points");

struct ParetoQuery {
    std::string metric;  // a known metric name
    std::string dataset; // sha256 or a unique prefix; "" = the only dataset carrying the metric
    SizeAxis x = SizeAxis::Bytes;
    std::string source = "runs"; // names the origin (database file) in error messages
};

// The dataset the query's metric is read on, among the Done runs that carry the metric:
// the requested sha256 (or unique prefix), or the only one when none is requested ("" for a
// metric recorded without a dataset). Throws ptq::Error when the requested dataset carries
// no value, when a prefix is ambiguous, or when several datasets exist and none was chosen
// (the message lists them), and when no Done run carries the metric at all.
std::string resolveMetricDataset(const std::vector<RunRecord>& runs, const ParetoQuery& query);

struct ParetoPointSet {
    std::string metric;
    std::string datasetSha256;
    Direction direction = Direction::Minimize;
    SizeAxis x = SizeAxis::Bytes;
    std::vector<ParetoPoint> points;   // one per Done run carrying the metric on the dataset
    std::vector<std::string> warnings; // runs left out for a missing size, and why
};

// Points of the Done runs that carry the metric on the resolved dataset; other runs are
// left out silently (they have no number to plot). A Done run without a recorded size is left
// out with a warning. Throws ptq::Error naming the run for a NaN or infinite value or size.
ParetoPointSet paretoPoints(const std::vector<RunRecord>& runs, const ParetoQuery& query);

enum class ParetoGrouping {
    All,            // one front across every model (a model family)
    PerModel,       // one front per model fingerprint
    PerRecipe,      // one front per recipe name
    PerModelRecipe, // one front per (model, recipe)
};

struct ParetoGroupFront {
    std::string key;   // "" for All; the model fingerprint, the recipe, or "fingerprint/recipe"
    std::string label; // "all models", the model name, the recipe, or "model/recipe"
    std::vector<ParetoPoint> points; // the group's points
    std::vector<size_t> front;       // indices into points, sorted by x
};

struct ParetoResult {
    std::string metric;
    std::string datasetSha256;
    Direction direction = Direction::Minimize;
    SizeAxis x = SizeAxis::Bytes;
    std::vector<ParetoGroupFront> groups; // sorted by key; groups without points are omitted
    std::vector<std::string> warnings;
};

ParetoResult paretoFronts(const std::vector<RunRecord>& runs, const ParetoQuery& query,
                          ParetoGrouping grouping = ParetoGrouping::All);

struct BudgetPick {
    size_t runIndex = 0;
    int64_t runId = 0;
    uint64_t packedBytes = 0;
    double value = 0;
};

// The Done run with the best metric value whose packed size is at most maxBytes; ties go to
// the smaller run, then to the lower id. nullopt when no run fits. query.x is ignored: the
// budget is always real bytes.
std::optional<BudgetPick> bestUnderBudget(const std::vector<RunRecord>& runs,
                                          const ParetoQuery& query, uint64_t maxBytes);

enum class IsoSizeWinner { Larger, Smaller, Tie };

struct IsoSizePair {
    // The model with more parameters, quantized to fewer bits per weight...
    size_t largerRunIndex = 0;
    int64_t largerRunId = 0;
    // ...and the smaller model at more bits, of about the same packed size.
    size_t smallerRunIndex = 0;
    int64_t smallerRunId = 0;
    uint64_t largerBytes = 0, smallerBytes = 0;
    double largerValue = 0, smallerValue = 0;
    double relativeSizeGap = 0; // |larger - smaller| / min(larger, smaller) bytes
    IsoSizeWinner winner = IsoSizeWinner::Tie;
};

// Pairs of Done runs of different models whose packed sizes differ by at most `tolerance`
// relative to the smaller size, where the model with more parameters runs at fewer bits
// per weight (the recorded bits_per_weight, else the recipe's wbits). Each pair reports both values
// and which side wins on the metric (exactly equal values are a tie). Sorted by the smaller run's
// size, then by run ids. Throws ptq::Error for a negative or non-finite tolerance.
std::vector<IsoSizePair> isoSizeComparison(const std::vector<RunRecord>& runs,
                                           const ParetoQuery& query, double tolerance);

std::string isoSizeWinnerName(IsoSizeWinner w); // "larger", "smaller", "tie"

} // namespace ptq
