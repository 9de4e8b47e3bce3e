#pragma once
// The expert axis of the layer inspector, for Mixture-of-Experts runs: which experts a
// strategy quantizes worst, and whether that follows how many calibration tokens reached them.
//   expertsOfRun     rows = an MoE layer's linears with the expert index taken out
//                    ("3.block_sparse_moe.experts.w1"), columns = experts, one run
//   expertsAcrossRuns rows = experts, columns = runs, cells = the mean over the expert's
//                    linears in every block
// Cells hold one per-layer measure; a routed-token count is a measure too (RoutedTokens).

#include "heatmap_plot.h"
#include "layer_inspector.h"
#include "store/results_store.h"

#include <map>
#include <vector>

namespace ptq {

// "block_sparse_moe.experts.3.w1" -> "block_sparse_moe.experts.w1" (rows without an expert
// index are returned unchanged).
QString expertRole(const LayerErrorRow& row);

// Empty layers when the run has no expert rows. runId labels every column's click.
HeatmapData expertsOfRun(const std::vector<LayerErrorRow>& rows, LayerMeasure measure,
                         qint64 runId);
HeatmapData expertsAcrossRuns(const std::vector<RunRecord>& runs,
                              const std::map<int64_t, std::vector<LayerErrorRow>>& layers,
                              LayerMeasure measure);

} // namespace ptq
