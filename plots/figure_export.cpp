#include "figure_export.h"

#include <qcustomplot.h>

#include <QCoreApplication>

#include <functional>
#include <vector>

namespace ptq {

namespace {

QFont withSize(QFont font, double pt)
{
    font.setPointSizeF(pt);
    return font;
}

// Sets every text element of the plot to paper sizes and remembers how to undo it. Text is
// spread over axes (labels, tick labels), colour scales, legends (the legend and each item),
// title elements and text items; each keeps its family and weight, only the size changes.
class FontOverride {
public:
    FontOverride(QCustomPlot* plot, double tickPt)
    {
        const double labelPt = tickPt + 1.0;
        for (QCPLayoutElement* element : plot->plotLayout()->elements(true)) {
            if (auto* rect = qobject_cast<QCPAxisRect*>(element))
                for (QCPAxis* axis : rect->axes())
                    overrideAxis(axis, tickPt, labelPt);
            if (auto* scale = qobject_cast<QCPColorScale*>(element))
                overrideAxis(scale->axis(), tickPt, labelPt);
            if (auto* legend = qobject_cast<QCPLegend*>(element))
                overrideLegend(legend, tickPt);
            if (auto* title = qobject_cast<QCPTextElement*>(element))
                set(title->font(), labelPt, [title](const QFont& f) { title->setFont(f); });
        }
        for (int i = 0; i < plot->itemCount(); ++i)
            if (auto* text = qobject_cast<QCPItemText*>(plot->item(i)))
                set(text->font(), tickPt - 1.0, [text](const QFont& f) { text->setFont(f); });
    }
    ~FontOverride()
    {
        for (auto it = m_restore.rbegin(); it != m_restore.rend(); ++it)
            (*it)();
    }
    FontOverride(const FontOverride&) = delete;
    FontOverride& operator=(const FontOverride&) = delete;

private:
    void set(const QFont& old, double pt, const std::function<void(const QFont&)>& setter)
    {
        setter(withSize(old, pt));
        m_restore.push_back([old, setter] { setter(old); });
    }
    void overrideAxis(QCPAxis* axis, double tickPt, double labelPt)
    {
        set(axis->labelFont(), labelPt, [axis](const QFont& f) { axis->setLabelFont(f); });
        set(axis->tickLabelFont(), tickPt, [axis](const QFont& f) { axis->setTickLabelFont(f); });
    }
    void overrideLegend(QCPLegend* legend, double pt)
    {
        set(legend->font(), pt, [legend](const QFont& f) { legend->setFont(f); });
        for (int i = 0; i < legend->itemCount(); ++i) {
            QCPAbstractLegendItem* item = legend->item(i);
            set(item->font(), pt, [item](const QFont& f) { item->setFont(f); });
        }
    }

    std::vector<std::function<void()>> m_restore;
};

} // namespace

FigureOptions figurePreset(FigurePreset preset)
{
    FigureOptions o;
    o.preset = preset;
    if (preset == FigurePreset::DoubleColumn) {
        o.widthInches = 7.0;
        o.fontPt = 9.0;
    }
    return o;
}

QString figurePresetName(FigurePreset preset)
{
    switch (preset) {
    case FigurePreset::SingleColumn:
        return QCoreApplication::translate("ptq::FigureExport", "Single column (3.5 in)");
    case FigurePreset::DoubleColumn:
        return QCoreApplication::translate("ptq::FigureExport", "Double column (7 in)");
    case FigurePreset::Custom:
        break;
    }
    return QCoreApplication::translate("ptq::FigureExport", "Custom width");
}

bool exportFigure(QCustomPlot* plot, const QString& path, const FigureOptions& options,
                  QString* error)
{
    const std::optional<PlotFormat> format =
        options.format ? options.format : plotFormatFromPath(path);
    if (!format) {
        if (error)
            *error = QCoreApplication::translate("ptq::FigureExport",
                                                 "Cannot write figure to %1: unknown extension "
                                                 "(use .pdf, .svg or .png)")
                         .arg(path);
        return false;
    }
    if (!plot)
        return exportPlot(plot, path, *format, options.widthInches, options.dpi, options.aspect,
                          error);
    if (!(options.fontPt > 0.0)) {
        if (error)
            *error = QCoreApplication::translate("ptq::FigureExport",
                                                 "Cannot write figure to %1: the font size must "
                                                 "be positive")
                         .arg(path);
        return false;
    }
    // A preset fixes the width; the font size stays the caller's (the dialog offers it).
    const double width = options.preset == FigurePreset::Custom
                             ? options.widthInches
                             : figurePreset(options.preset).widthInches;
    bool ok = false;
    {
        const FontOverride fonts(plot, options.fontPt);
        ok = exportPlot(plot, path, *format, width, options.dpi, options.aspect, error);
    }
    // The paper fonts changed the layout; lay the screen plot out again with its own.
    plot->replot(QCustomPlot::rpQueuedReplot);
    return ok;
}

} // namespace ptq
