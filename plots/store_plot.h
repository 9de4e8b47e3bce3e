#pragma once
// A paper-style size-versus-quality figure straight from a results store: one marker colour
// per weight bit width, one marker shape per model, and the Pareto front of all finished runs
// (computed by core/analysis, so the drawn front is exactly the analysis module's front)
// drawn as a step line with its points labelled. Used by `ptq-workbench --headless-plot
// FILE.db` and by the quick-start demo.

#include <qcustomplot.h>

#include <QString>

namespace ptq {

struct StorePlotSpec {
    QString dbPath;
    QString metric = QStringLiteral("perplexity");
    QString dataset;   // sha256 or prefix; empty = the only dataset carrying the metric
    bool logY = false; // perplexity at 2 bits spans orders of magnitude
};

// Fills `plot` (cleared first) from the store. Throws ptq::Error naming the database for an
// unreadable file, an unknown metric or an ambiguous dataset; returns the number of points.
int fillStorePlot(QCustomPlot* plot, const StorePlotSpec& spec);

// Renders the figure to .png/.svg/.pdf (6 in wide at 150 dpi for PNG). Returns false and
// sets `error` when the figure cannot be written; throws ptq::Error for store problems.
bool renderStorePlot(const StorePlotSpec& spec, const QString& outPath, QString* error,
                     int* points = nullptr);

} // namespace ptq
