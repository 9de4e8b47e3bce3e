#include "plot_export.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <QImage>
#include <QPageSize>
#include <QPdfWriter>
#include <QSvgGenerator>
#include <cmath>

namespace ptq {

namespace {

// Logical pixels per inch: the density the plot's fonts and pens are designed for.
constexpr double kLogicalDpi = 96.0;

QString exportError(const QString& path, const QString& reason)
{
    return QCoreApplication::translate("ptq::PlotExport", "Cannot write plot to %1: %2")
        .arg(path, reason);
}

bool writePng(QCustomPlot* plot, const QString& path, const PlotExportSize& size, int dpi)
{
    QImage image(size.pixels, QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::white);
    {
        QCPPainter painter(&image);
        painter.setRenderHint(QPainter::Antialiasing);
        // Independent x/y factors make the image exactly the requested pixels even where
        // rounding the logical size would have been off by one.
        painter.scale(double(size.pixels.width()) / size.logical.width(),
                      double(size.pixels.height()) / size.logical.height());
        plot->toPainter(&painter, size.logical.width(), size.logical.height());
    }
    // Set only now: the image's resolution scales point-sized fonts while painting, which
    // would enlarge text beyond the layout QCustomPlot computed. Written to the PNG's pHYs
    // chunk so viewers know the intended print size.
    const int dotsPerMeter = qRound(dpi / 0.0254);
    image.setDotsPerMeterX(dotsPerMeter);
    image.setDotsPerMeterY(dotsPerMeter);
    return image.save(path, "PNG");
}

bool writeSvg(QCustomPlot* plot, const QString& path, const PlotExportSize& size)
{
    QSvgGenerator generator;
    generator.setFileName(path);
    generator.setSize(size.logical);
    generator.setViewBox(QRect(QPoint(0, 0), size.logical));
    generator.setResolution(int(kLogicalDpi)); // makes the SVG's width/height the inches asked
    generator.setTitle(QStringLiteral("PTQ Workbench plot"));
    QCPPainter painter;
    if (!painter.begin(&generator))
        return false;
    painter.setMode(QCPPainter::pmVectorized);
    painter.setMode(QCPPainter::pmNoCaching);
    plot->toPainter(&painter, size.logical.width(), size.logical.height());
    return painter.end();
}

bool writePdf(QCustomPlot* plot, const QString& path, const PlotExportSize& size)
{
    QPdfWriter writer(path);
    writer.setCreator(QStringLiteral("PTQ Workbench"));
    writer.setResolution(int(kLogicalDpi));
    const QSizeF inches(size.logical.width() / kLogicalDpi, size.logical.height() / kLogicalDpi);
    writer.setPageSize(QPageSize(inches, QPageSize::Inch, QString(), QPageSize::ExactMatch));
    writer.setPageMargins(QMarginsF(0, 0, 0, 0));
    QCPPainter painter;
    if (!painter.begin(&writer))
        return false;
    painter.setMode(QCPPainter::pmVectorized);
    painter.setMode(QCPPainter::pmNoCaching);
    plot->toPainter(&painter, size.logical.width(), size.logical.height());
    return painter.end();
}

} // namespace

std::optional<PlotFormat> plotFormatFromPath(const QString& path)
{
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix == QLatin1String("png"))
        return PlotFormat::Png;
    if (suffix == QLatin1String("svg"))
        return PlotFormat::Svg;
    if (suffix == QLatin1String("pdf"))
        return PlotFormat::Pdf;
    return std::nullopt;
}

PlotExportSize plotExportSize(double widthInches, int dpi, double aspect)
{
    PlotExportSize s;
    s.logical =
        QSize(qRound(widthInches * kLogicalDpi), qRound(widthInches * kLogicalDpi * aspect));
    s.pixels = QSize(qRound(widthInches * dpi), qRound(widthInches * dpi * aspect));
    return s;
}

bool exportPlot(QCustomPlot* plot, const QString& path, PlotFormat format, double widthInches,
                int dpi, double aspect, QString* error)
{
    const auto fail = [&](const QString& reason) {
        if (error)
            *error = exportError(path, reason);
        return false;
    };
    if (!plot)
        return fail(QCoreApplication::translate("ptq::PlotExport", "no plot"));
    if (!(widthInches > 0.0) || dpi <= 0 || !(aspect > 0.0) || !std::isfinite(widthInches))
        return fail(QCoreApplication::translate("ptq::PlotExport",
                                                "width, resolution and aspect must be positive"));
    const PlotExportSize size = plotExportSize(widthInches, dpi, aspect);
    if (size.logical.isEmpty() || size.pixels.isEmpty())
        return fail(QCoreApplication::translate("ptq::PlotExport", "the figure is too small"));

    bool ok = false;
    switch (format) {
    case PlotFormat::Png:
        ok = writePng(plot, path, size, dpi);
        break;
    case PlotFormat::Svg:
        ok = writeSvg(plot, path, size);
        break;
    case PlotFormat::Pdf:
        ok = writePdf(plot, path, size);
        break;
    }
    if (!ok)
        return fail(
            QCoreApplication::translate("ptq::PlotExport", "the file could not be written"));
    return true;
}

bool renderDemoPlot(const QVector<PlotPoint>& points, const QString& path, QString* error,
                    const QString& yTitle)
{
    const std::optional<PlotFormat> format = plotFormatFromPath(path);
    if (!format) {
        if (error)
            *error = exportError(
                path, QCoreApplication::translate("ptq::PlotExport",
                                                  "unknown extension (use .png, .svg or .pdf)"));
        return false;
    }
    ParetoPlot plot;
    plot.setAxisTitles(QCoreApplication::translate("ptq::PlotExport", "Size (MB)"),
                       yTitle.isEmpty() ? QCoreApplication::translate("ptq::PlotExport", "Metric")
                                        : yTitle);
    plot.setPoints(points);
    return exportPlot(&plot, path, *format, 6.0, 150, 0.625, error);
}

} // namespace ptq
