#pragma once
// Paper figures from any QCustomPlot: the width of a single (3.5 in) or double (7 in)
// column, with font sizes that match a paper's body text at that width, applied only while
// the figure is written and restored afterwards, so the on-screen plot keeps its fonts.

#include "plot_export.h"

#include <QString>
#include <optional>

class QCustomPlot;

namespace ptq {

enum class FigurePreset { SingleColumn, DoubleColumn, Custom };

struct FigureOptions {
    FigurePreset preset = FigurePreset::SingleColumn;
    double widthInches = 3.5;         // used as is for Custom; presets set their own
    double aspect = 0.75;             // height / width
    int dpi = 300;                    // PNG only
    double fontPt = 8.0;              // tick labels and legend; axis labels get +1 pt
    std::optional<PlotFormat> format; // nullopt = from the file extension
};

// The preset's options: single column 3.5 in with 8 pt text, double column 7 in with 9 pt
// text, both 300 dpi and aspect 0.75. Custom returns the single-column values.
FigureOptions figurePreset(FigurePreset preset);
QString figurePresetName(FigurePreset preset); // translated, for menus

// Writes the plot at the options' physical size and fonts. Returns false with a message
// naming the path (unknown extension, bad size, unwritable file) in `error`.
bool exportFigure(QCustomPlot* plot, const QString& path, const FigureOptions& options,
                  QString* error = nullptr);

} // namespace ptq
