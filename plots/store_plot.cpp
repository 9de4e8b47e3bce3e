#include "store_plot.h"

#include "analysis/pareto.h"
#include "plot_export.h"
#include "store/results_store.h"

#include <QCoreApplication>

#include <map>
#include <set>

namespace ptq {

namespace {

// Colour-blind-safe palette (Okabe & Ito 2008), one colour per weight bit width.
QColor bitsColour(int bits)
{
    static const std::map<int, QColor> colours = {
        {2, QColor(0xd5, 0x5e, 0x00)}, {3, QColor(0xe6, 0x9f, 0x00)},
        {4, QColor(0x00, 0x72, 0xb2)}, {5, QColor(0x56, 0xb4, 0xe9)},
        {6, QColor(0x00, 0x9e, 0x73)}, {8, QColor(0xcc, 0x79, 0xa7)}};
    const auto it = colours.find(bits);
    return it == colours.end() ? QColor(0x59, 0x59, 0x59) : it->second;
}

QCPScatterStyle::ScatterShape modelShape(int index)
{
    static const QCPScatterStyle::ScatterShape shapes[] = {
        QCPScatterStyle::ssCircle,  QCPScatterStyle::ssSquare, QCPScatterStyle::ssTriangle,
        QCPScatterStyle::ssDiamond, QCPScatterStyle::ssCross,  QCPScatterStyle::ssStar};
    return shapes[index % 6];
}

QString tr(const char* text)
{
    return QCoreApplication::translate("ptq::StorePlot", text);
}

} // namespace

int fillStorePlot(QCustomPlot* plot, const StorePlotSpec& spec)
{
    const ResultsStore store(spec.dbPath.toStdString(), ResultsStore::Mode::ReadOnly);
    RunFilter filter;
    filter.status = RunStatus::Done;
    const std::vector<RunRecord> runs = store.listRuns(filter);
    ParetoQuery query;
    query.metric = spec.metric.toStdString();
    query.dataset = spec.dataset.toStdString();
    query.source = spec.dbPath.toStdString();
    const ParetoPointSet set = paretoPoints(runs, query);
    const Direction direction = metricDirection(query.metric);

    plot->clearGraphs();
    plot->clearItems();
    plot->legend->setVisible(true);
    std::map<std::string, int> modelIndex;
    for (const auto& p : set.points)
        modelIndex.emplace(runs[p.runIndex].modelName, int(modelIndex.size()));
    // One graph per (bits, model): colour = bits, shape = model.
    std::map<std::pair<int, std::string>, QCPGraph*> graphs;
    std::set<int> bitsSeen;
    for (const auto& p : set.points) {
        const RunRecord& r = runs[p.runIndex];
        const auto key = std::make_pair(r.spec.wbits, r.modelName);
        QCPGraph*& g = graphs[key];
        if (!g) {
            g = plot->addGraph();
            g->setLineStyle(QCPGraph::lsNone);
            g->setScatterStyle(
                QCPScatterStyle(modelShape(modelIndex[r.modelName]), bitsColour(r.spec.wbits), 7));
            g->setName(QStringLiteral("W%1 %2")
                           .arg(r.spec.wbits)
                           .arg(QString::fromStdString(r.modelName)));
        }
        g->addData(p.x / 1e6, p.y);
        bitsSeen.insert(r.spec.wbits);
    }
    QCPGraph* front = plot->addGraph();
    front->setName(tr("Pareto front"));
    front->setPen(QPen(QColor(0x22, 0x22, 0x22), 1.2, Qt::DashLine));
    front->setLineStyle(QCPGraph::lsStepLeft);
    for (size_t i : paretoFront(set.points, direction, query.source)) {
        const auto& p = set.points[i];
        const RunRecord& r = runs[p.runIndex];
        front->addData(p.x / 1e6, p.y);
        auto* label = new QCPItemText(plot);
        label->position->setCoords(p.x / 1e6, p.y);
        label->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
        label->setPadding(QMargins(4, 0, 0, 2));
        label->setFont(QFont(plot->font().family(), 7));
        label->setText(QStringLiteral("%1 W%2")
                           .arg(QString::fromStdString(r.spec.recipeName))
                           .arg(r.spec.wbits));
    }
    plot->xAxis->setLabel(tr("Model size (MB, packed)"));
    plot->yAxis->setLabel(QString::fromStdString(query.metric));
    if (spec.logY) {
        plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
        plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    }
    plot->rescaleAxes();
    const QCPRange xr = plot->xAxis->range();
    plot->xAxis->setRange(xr.lower - 0.05 * xr.size(), xr.upper + 0.2 * xr.size());
    if (!spec.logY)
        plot->yAxis->scaleRange(1.1, plot->yAxis->range().center());
    plot->replot();
    return int(set.points.size());
}

bool renderStorePlot(const StorePlotSpec& spec, const QString& outPath, QString* error, int* points)
{
    const std::optional<PlotFormat> format = plotFormatFromPath(outPath);
    if (!format) {
        if (error)
            *error =
                outPath + QStringLiteral(": ") + tr("unknown extension (use .png, .svg or .pdf)");
        return false;
    }
    QCustomPlot plot;
    const int n = fillStorePlot(&plot, spec);
    if (points)
        *points = n;
    return exportPlot(&plot, outPath, *format, 6.0, 150, 0.75, error);
}

} // namespace ptq
