#pragma once
// The size-vs-metric table the headless plot reads: a header row naming the columns
// label,size_mb,metric (any order, extra columns ignored), then one point per row.
// Fields may be double-quoted ("a, b" and "" for a quote), as spreadsheets write them.

#include "pareto_plot.h"

#include <QString>
#include <QStringList>
#include <QVector>

namespace ptq {

// Throws ptq::Error naming the file, the line (or column) and the problem: a missing
// column, a non-numeric or non-finite number, a negative size, an unterminated quote,
// or no data rows at all.
QVector<PlotPoint> readPlotCsv(const QString& path);

// One CSV line split into fields; returns false on an unterminated quote.
bool splitCsvLine(const QString& line, QStringList& fields);

} // namespace ptq
