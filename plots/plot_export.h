#pragma once
// Export of any QCustomPlot to PNG, SVG or PDF at a physical size. Every format lays the
// plot out at the same logical size (96 logical pixels per inch), so fonts and margins keep
// their proportions whether the figure goes to a slide (PNG) or a paper (PDF/SVG).

#include "pareto_plot.h"

#include <QSize>
#include <QString>
#include <optional>

class QCustomPlot;

namespace ptq {

enum class PlotFormat { Png, Svg, Pdf };

// From the file extension (case-insensitive): .png, .svg, .pdf.
std::optional<PlotFormat> plotFormatFromPath(const QString& path);

struct PlotExportSize {
    QSize logical; // the size the plot lays itself out at (96 per inch)
    QSize pixels;  // PNG only: the image size written
};

// height = width * aspect. pixels.width() = round(widthInches * dpi).
PlotExportSize plotExportSize(double widthInches, int dpi, double aspect);

// Writes the plot; on failure returns false and, if error is set, a message naming the path.
bool exportPlot(QCustomPlot* plot, const QString& path, PlotFormat format, double widthInches,
                int dpi, double aspect = 0.625, QString* error = nullptr);

// The headless demo: a ParetoPlot of the points, format from the extension, 6 in at 150 dpi.
// yTitle names the metric axis ("Metric" when empty).
bool renderDemoPlot(const QVector<PlotPoint>& points, const QString& path, QString* error = nullptr,
                    const QString& yTitle = QString());

} // namespace ptq
