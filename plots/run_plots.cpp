#include "run_plots.h"

#include <QCoreApplication>
#include <QLocale>
#include <QMouseEvent>
#include <QToolTip>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>

namespace ptq {

namespace {

QString number(double v)
{
    return QLocale().toString(v, 'g', 4);
}

// Line colours when colour does not encode bits: the Okabe–Ito palette in its usual order.
QColor seriesColour(int index)
{
    static const QColor colours[] = {QColor(0x00, 0x72, 0xb2), QColor(0xd5, 0x5e, 0x00),
                                     QColor(0x00, 0x9e, 0x73), QColor(0xcc, 0x79, 0xa7),
                                     QColor(0xe6, 0x9f, 0x00), QColor(0x56, 0xb4, 0xe9),
                                     QColor(0xf0, 0xe4, 0x42), QColor(0x00, 0x00, 0x00)};
    return colours[index % 8];
}

QString groupText(int64_t group)
{
    if (group == 0)
        return QCoreApplication::translate("ptq::RunPlots", "per channel");
    if (group < 0)
        return QCoreApplication::translate("ptq::RunPlots", "per tensor");
    return QStringLiteral("g%1").arg(group);
}

QString sizeText(const RunRecord& r)
{
    return QCoreApplication::translate("ptq::RunPlots", "size: %1 MB packed, %2 bits/weight")
        .arg(number(double(r.packedBytes) / 1e6), number(r.bitsPerWeight));
}

QString tooltipFor(const RunRecord& r, const std::string& metric, double value)
{
    return QCoreApplication::translate("ptq::RunPlots", "run %1\n%2\n%3: %4\n%5")
        .arg(r.id)
        .arg(runConfigText(r), QString::fromStdString(metric), number(value), sizeText(r));
}

} // namespace

QColor runBitsColour(int bits)
{
    static const std::map<int, QColor> colours = {
        {2, QColor(0xd5, 0x5e, 0x00)}, {3, QColor(0xe6, 0x9f, 0x00)},
        {4, QColor(0x00, 0x72, 0xb2)}, {5, QColor(0x56, 0xb4, 0xe9)},
        {6, QColor(0x00, 0x9e, 0x73)}, {8, QColor(0xcc, 0x79, 0xa7)}};
    const auto it = colours.find(bits);
    return it == colours.end() ? QColor(0x59, 0x59, 0x59) : it->second;
}

QCPScatterStyle::ScatterShape taxonomyShape(const QString& taxonomyClass)
{
    static const std::map<QString, QCPScatterStyle::ScatterShape> shapes = {
        {QStringLiteral("baseline"), QCPScatterStyle::ssCircle},
        {QStringLiteral("compensation"), QCPScatterStyle::ssSquare},
        {QStringLiteral("rotation"), QCPScatterStyle::ssDiamond},
        {QStringLiteral("salience"), QCPScatterStyle::ssTriangle},
        {QStringLiteral("optimization"), QCPScatterStyle::ssTriangleInverted},
        {QStringLiteral("combination"), QCPScatterStyle::ssStar}};
    const auto it = shapes.find(taxonomyClass);
    return it == shapes.end() ? QCPScatterStyle::ssCross : it->second;
}

QString runConfigText(const RunRecord& r)
{
    return QStringLiteral("%1 · %2 · W%3 A%4 KV%5 · %6")
        .arg(QString::fromStdString(r.modelName), QString::fromStdString(r.spec.recipeName))
        .arg(r.spec.wbits)
        .arg(r.spec.abits)
        .arg(r.spec.kvbits)
        .arg(groupText(r.spec.groupSize));
}

std::optional<double> runMetricValue(const RunRecord& run, const std::string& metric,
                                     const std::string& dataset)
{
    // Without a dataset the smallest sha wins, so every view picks the same one.
    const MetricValue* best = nullptr;
    for (const MetricValue& m : run.metrics) {
        if (m.name != metric || (!dataset.empty() && m.datasetSha256 != dataset))
            continue;
        if (!best || m.datasetSha256 < best->datasetSha256)
            best = &m;
    }
    if (!best)
        return std::nullopt;
    return best->value;
}

// ---------------------------------------------------------------------------------------------

RunPlotBase::RunPlotBase(QWidget* parent) : QCustomPlot(parent)
{
    setMouseTracking(true);
    setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    legend->setVisible(true);
    resetPlot();
}

void RunPlotBase::resetPlot()
{
    clearGraphs();
    clearItems();
    m_markers.clear();
    m_ring = addGraph();
    m_ring->setLineStyle(QCPGraph::lsNone);
    m_ring->setScatterStyle(
        QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(Qt::black, 2.0), Qt::NoBrush, 16));
    m_ring->setName(QString()); // not a data series ("Graph 1" otherwise)
    m_ring->removeFromLegend();
    m_ring->setSelectable(QCP::stNone);
}

std::vector<int64_t> RunPlotBase::plottedRunIds() const
{
    std::vector<int64_t> ids;
    for (const Marker& m : m_markers)
        ids.push_back(m.runId);
    return ids;
}

std::optional<QPointF> RunPlotBase::pixelOfRun(int64_t runId) const
{
    for (const Marker& m : m_markers)
        if (m.runId == runId)
            return QPointF(xAxis->coordToPixel(m.x), yAxis->coordToPixel(m.y));
    return std::nullopt;
}

int64_t RunPlotBase::runAt(const QPointF& pos, double radius) const
{
    int64_t best = 0;
    double bestDistance = radius * radius;
    for (const Marker& m : m_markers) {
        const double dx = xAxis->coordToPixel(m.x) - pos.x();
        const double dy = yAxis->coordToPixel(m.y) - pos.y();
        const double d = dx * dx + dy * dy;
        if (d <= bestDistance) {
            bestDistance = d;
            best = m.runId;
        }
    }
    return best;
}

QString RunPlotBase::tooltipOfRun(int64_t runId) const
{
    for (const Marker& m : m_markers)
        if (m.runId == runId)
            return m.tooltip;
    return {};
}

void RunPlotBase::setSelectedRun(int64_t runId)
{
    m_selectedRun = runId;
    m_ring->data()->clear();
    for (const Marker& m : m_markers)
        if (m.runId == runId) {
            m_ring->addData(m.x, m.y);
            break;
        }
    replot(QCustomPlot::rpQueuedReplot);
}

ExportTable RunPlotBase::dataTable() const
{
    ExportTable table;
    table.columns = {"run_id", "series", m_xName.toStdString(), m_yName.toStdString(),
                     "configuration"};
    for (const Marker& m : m_markers)
        table.rows.push_back(
            {ExportCell(int64_t(m.runId)), ExportCell(m.series.toStdString()), ExportCell(m.x),
             ExportCell(m.y),
             ExportCell(m.tooltip.section(QLatin1Char('\n'), 1, 1).toStdString())});
    return table;
}

void RunPlotBase::setLogAxes(bool logX, bool logY)
{
    QCPAxis* axes[] = {xAxis, yAxis};
    const bool wanted[] = {logX, logY};
    for (int i = 0; i < 2; ++i) {
        QCPAxis* axis = axes[i];
        if (wanted[i] == (axis->scaleType() == QCPAxis::stLogarithmic))
            continue;
        axis->setScaleType(wanted[i] ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
        // The linear ticker is kept: a subclass may have chosen one (integer bits).
        if (wanted[i]) {
            m_linearTickers[i] = axis->ticker();
            axis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
        } else {
            axis->setTicker(m_linearTickers[i] ? m_linearTickers[i]
                                               : QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
        }
    }
    finishAxes(m_xName, m_yName);
}

void RunPlotBase::finishAxes(const QString& xLabel, const QString& yLabel)
{
    m_xName = xLabel;
    m_yName = yLabel;
    xAxis->setLabel(xLabel);
    yAxis->setLabel(yLabel);
    if (m_markers.empty()) {
        replot();
        return;
    }
    rescaleAxes();
    // Room around the outermost markers: multiplicative on log axes (no zero to cross).
    for (QCPAxis* axis : {xAxis, yAxis}) {
        const QCPRange r = axis->range();
        if (axis->scaleType() == QCPAxis::stLogarithmic)
            axis->setRange(r.lower / 1.25, r.upper * 1.25);
        else if (r.size() > 0)
            axis->setRange(r.lower - 0.08 * r.size(), r.upper + 0.08 * r.size());
        else
            axis->setRange(r.lower - 1.0, r.upper + 1.0);
    }
    replot();
}

void RunPlotBase::mousePressEvent(QMouseEvent* event)
{
    m_pressPos = event->position();
    QCustomPlot::mousePressEvent(event);
}

void RunPlotBase::mouseMoveEvent(QMouseEvent* event)
{
    QCustomPlot::mouseMoveEvent(event);
    if (event->buttons() != Qt::NoButton)
        return;
    const int64_t id = runAt(event->position());
    if (id)
        QToolTip::showText(event->globalPosition().toPoint(), tooltipOfRun(id), this);
    else
        QToolTip::hideText();
}

void RunPlotBase::mouseReleaseEvent(QMouseEvent* event)
{
    QCustomPlot::mouseReleaseEvent(event);
    // A click, not the end of a drag.
    if (event->button() != Qt::LeftButton ||
        (event->position() - m_pressPos).manhattanLength() > 4.0)
        return;
    const int64_t id = runAt(event->position());
    if (!id)
        return;
    setSelectedRun(id);
    emit runClicked(id);
}

// ---------------------------------------------------------------------------------------------

RunParetoPlot::RunParetoPlot(QWidget* parent) : RunPlotBase(parent) {}

void RunParetoPlot::setStrategyClassifier(StrategyClassifier classifier)
{
    m_classifier = std::move(classifier);
}

QString RunParetoPlot::classOf(const std::string& recipe) const
{
    const QString cls = m_classifier ? m_classifier(QString::fromStdString(recipe)) : QString();
    return cls.isEmpty() ? QStringLiteral("other") : cls;
}

int RunParetoPlot::setRuns(const std::vector<RunRecord>& runs, const RunParetoSpec& spec)
{
    resetPlot();
    m_fronts.clear();
    m_warnings.clear();
    const QString xLabel = spec.x == SizeAxis::Bytes ? tr("Model size (MB, packed)")
                           : spec.x == SizeAxis::ActiveBytes
                               ? tr("Active size per token (MB, packed)")
                               : tr("Bits per weight");
    ParetoQuery query;
    query.metric = spec.metric;
    query.dataset = spec.dataset;
    query.x = spec.x;
    query.source = spec.source;
    ParetoPointSet set;
    try {
        set = paretoPoints(runs, query);
    } catch (...) {
        finishAxes(xLabel, QString::fromStdString(spec.metric));
        throw;
    }
    m_warnings = set.warnings;
    const double scale = spec.x == SizeAxis::BitsPerWeight ? 1.0 : 1e-6;
    // One graph per (bits, class): colour = bits, shape = taxonomy class.
    std::map<std::pair<int, QString>, QCPGraph*> graphs;
    for (const ParetoPoint& p : set.points) {
        const RunRecord& r = runs[p.runIndex];
        const QString cls = classOf(r.spec.recipeName);
        QCPGraph*& g = graphs[{r.spec.wbits, cls}];
        if (!g) {
            g = addGraph();
            g->setLineStyle(QCPGraph::lsNone);
            g->setScatterStyle(QCPScatterStyle(taxonomyShape(cls), runBitsColour(r.spec.wbits),
                                               runBitsColour(r.spec.wbits), 7));
            g->setName(QStringLiteral("W%1 · %2").arg(r.spec.wbits).arg(cls));
        }
        g->addData(p.x * scale, p.y);
        addMarker({r.id, p.x * scale, p.y, QString::fromStdString(r.spec.recipeName),
                   tooltipFor(r, spec.metric, p.y)});
    }
    drawFronts(runs, spec);
    finishAxes(xLabel, QString::fromStdString(spec.metric));
    return int(set.points.size());
}

void RunParetoPlot::drawFronts(const std::vector<RunRecord>& runs, const RunParetoSpec& spec)
{
    if (spec.front == FrontMode::None)
        return;
    ParetoQuery query;
    query.metric = spec.metric;
    query.dataset = spec.dataset;
    query.x = spec.x;
    query.source = spec.source;
    const ParetoResult result = paretoFronts(
        runs, query,
        spec.front == FrontMode::Overall ? ParetoGrouping::All : ParetoGrouping::PerRecipe);
    static const Qt::PenStyle styles[] = {Qt::DashLine, Qt::DotLine, Qt::DashDotLine,
                                          Qt::DashDotDotLine, Qt::SolidLine};
    const double scale = spec.x == SizeAxis::BitsPerWeight ? 1.0 : 1e-6;
    int index = 0;
    for (const ParetoGroupFront& group : result.groups) {
        DrawnFront drawn;
        drawn.label =
            spec.front == FrontMode::Overall ? tr("all runs") : QString::fromStdString(group.label);
        QCPGraph* line = addGraph();
        line->setLineStyle(QCPGraph::lsStepLeft);
        line->setPen(QPen(QColor(0x22, 0x22, 0x22), 1.2, styles[index++ % 5]));
        line->setName(spec.front == FrontMode::Overall ? tr("Pareto front")
                                                       : tr("front: %1").arg(drawn.label));
        for (size_t i : group.front) {
            const ParetoPoint& p = group.points[i];
            line->addData(p.x * scale, p.y);
            drawn.runIds.push_back(p.runId);
        }
        m_fronts.push_back(std::move(drawn));
    }
}

// ---------------------------------------------------------------------------------------------

RunCurvePlot::RunCurvePlot(QWidget* parent) : RunPlotBase(parent)
{
    QSharedPointer<QCPAxisTickerFixed> ticker(new QCPAxisTickerFixed);
    ticker->setTickStep(1.0);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    xAxis->setTicker(ticker);
    xAxis->setSubTicks(false); // bit widths are whole numbers
}

namespace {

struct CurveGroup {
    QString label;
    int64_t parameters = 0;
    std::vector<size_t> runs; // indices into the run vector
};

std::map<std::string, CurveGroup> curveGroups(const std::vector<RunRecord>& runs,
                                              const std::vector<size_t>& carrying,
                                              CurveGrouping grouping)
{
    std::map<std::string, CurveGroup> groups;
    for (size_t i : carrying) {
        const RunRecord& r = runs[i];
        std::string key;
        QString label;
        switch (grouping) {
        case CurveGrouping::Strategy:
            key = r.spec.recipeName;
            label = QString::fromStdString(r.spec.recipeName);
            break;
        case CurveGrouping::StrategyModel:
            key = r.spec.recipeName + "/" + r.modelName;
            label = QStringLiteral("%1 · %2").arg(QString::fromStdString(r.spec.recipeName),
                                                  QString::fromStdString(r.modelName));
            break;
        case CurveGrouping::Model: {
            // Sorted by size: the legend reads from the smallest model to the largest.
            char prefix[32];
            std::snprintf(prefix, sizeof prefix, "%020lld/",
                          static_cast<long long>(r.modelParameters));
            key = prefix + r.modelName;
            label = QStringLiteral("%1 (%2 M)")
                        .arg(QString::fromStdString(r.modelName))
                        .arg(QLocale().toString(double(r.modelParameters) / 1e6, 'f', 2));
            break;
        }
        }
        CurveGroup& g = groups[key];
        g.label = label;
        g.parameters = r.modelParameters;
        g.runs.push_back(i);
    }
    return groups;
}

} // namespace

int RunCurvePlot::setRuns(const std::vector<RunRecord>& runs, const RunCurveSpec& spec)
{
    resetPlot();
    m_lineLabels.clear();
    ParetoQuery query;
    query.metric = spec.metric;
    query.dataset = spec.dataset;
    query.source = spec.source;
    std::string dataset;
    Direction direction = Direction::Minimize;
    try {
        direction = metricDirection(spec.metric);
        dataset = resolveMetricDataset(runs, query);
    } catch (...) {
        finishAxes(tr("Weight bits"), QString::fromStdString(spec.metric));
        throw;
    }
    std::vector<size_t> carrying;
    std::vector<double> values(runs.size(), 0.0);
    for (size_t i = 0; i < runs.size(); ++i) {
        if (runs[i].status != RunStatus::Done)
            continue;
        const std::optional<double> v = runMetricValue(runs[i], spec.metric, dataset);
        if (v && std::isfinite(*v)) {
            carrying.push_back(i);
            values[i] = *v;
        }
    }
    const auto better = [&](double a, double b) {
        return direction == Direction::Minimize ? a < b : a > b;
    };
    int index = 0;
    for (const auto& [key, group] : curveGroups(runs, carrying, spec.grouping)) {
        const QColor colour = seriesColour(index++);
        QCPGraph* points = addGraph();
        points->setLineStyle(QCPGraph::lsNone);
        points->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, colour, 5));
        points->removeFromLegend();
        std::map<int, size_t> bestAtBits;
        for (size_t i : group.runs) {
            const RunRecord& r = runs[i];
            points->addData(r.spec.wbits, values[i]);
            addMarker({r.id, double(r.spec.wbits), values[i], group.label,
                       tooltipFor(r, spec.metric, values[i])});
            const auto it = bestAtBits.find(r.spec.wbits);
            if (it == bestAtBits.end() || better(values[i], values[it->second]))
                bestAtBits[r.spec.wbits] = i;
        }
        QCPGraph* line = addGraph();
        line->setPen(QPen(colour, 1.5));
        line->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, colour, 6));
        line->setName(group.label);
        for (const auto& [bits, i] : bestAtBits)
            line->addData(bits, values[i]);
        m_lineLabels << group.label;
    }
    finishAxes(tr("Weight bits"), QString::fromStdString(spec.metric));
    return int(carrying.size());
}

} // namespace ptq
