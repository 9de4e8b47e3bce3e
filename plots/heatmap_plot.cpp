#include "heatmap_plot.h"

#include <QMouseEvent>

#include <cmath>
#include <limits>

namespace ptq {

namespace {

// Viridis (perceptually uniform, colour-blind safe, prints in grey): 5 of its stops.
QCPColorGradient viridis()
{
    QCPColorGradient g;
    g.clearColorStops();
    g.setColorStopAt(0.0, QColor(0x44, 0x01, 0x54));
    g.setColorStopAt(0.25, QColor(0x3b, 0x52, 0x8b));
    g.setColorStopAt(0.5, QColor(0x21, 0x91, 0x8c));
    g.setColorStopAt(0.75, QColor(0x5e, 0xc9, 0x62));
    g.setColorStopAt(1.0, QColor(0xfd, 0xe7, 0x25));
    g.setNanHandling(QCPColorGradient::nhTransparent);
    return g;
}

QSharedPointer<QCPAxisTickerText> textTicker(const QStringList& labels)
{
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    for (int i = 0; i < labels.size(); ++i)
        ticker->addTick(i, labels[i]);
    return ticker;
}

} // namespace

HeatmapPlot::HeatmapPlot(QWidget* parent) : QCustomPlot(parent)
{
    m_map = new QCPColorMap(xAxis, yAxis);
    m_map->setInterpolate(false);
    m_map->setTightBoundary(false);
    m_scale = new QCPColorScale(this);
    plotLayout()->addElement(0, 1, m_scale);
    m_scale->setType(QCPAxis::atRight);
    m_map->setColorScale(m_scale);
    m_map->setGradient(viridis());
    // Colour scale and plot share their vertical margins, so the bar lines up with the rows.
    auto* group = new QCPMarginGroup(this);
    axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    m_scale->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    xAxis->setTickLabelRotation(60);
    xAxis->setSubTicks(false);
    yAxis->setSubTicks(false);
    yAxis->setRangeReversed(true); // first layer at the top, as in the model
    xAxis->grid()->setVisible(false);
    yAxis->grid()->setVisible(false);
    m_rowOutline = new QCPItemRect(this);
    m_rowOutline->setPen(QPen(Qt::red, 2.0));
    m_rowOutline->setBrush(Qt::NoBrush);
    m_rowOutline->setVisible(false);
}

void HeatmapPlot::setData(const HeatmapData& data)
{
    Q_ASSERT(int(data.values.size()) == data.layers.size());
    m_data = data;
    const int rows = std::max(1, int(data.layers.size()));
    const int cols = std::max(1, int(data.runLabels.size()));
    m_map->data()->setSize(cols, rows);
    m_map->data()->setRange(QCPRange(0, cols - 1), QCPRange(0, rows - 1));
    xAxis->setTicker(textTicker(data.runLabels));
    yAxis->setTicker(textTicker(data.layers));
    // Many layers: smaller row labels so each stays readable instead of overlapping.
    QFont tickFont = font();
    tickFont.setPointSizeF(data.layers.size() > 40 ? 6.0 : 8.0);
    yAxis->setTickLabelFont(tickFont);
    xAxis->setRange(-0.5, cols - 0.5);
    yAxis->setRange(-0.5, rows - 0.5);
    m_scale->axis()->setLabel(data.measure);
    setSelectedLayer(QString());
    applyScale();
}

void HeatmapPlot::setLogScale(bool log)
{
    m_log = log;
    applyScale();
}

void HeatmapPlot::applyScale()
{
    m_map->setDataScaleType(m_log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (m_log)
        m_scale->axis()->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    else
        m_scale->axis()->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    // A log scale cannot place non-positive values: they are blanked like missing ones
    // (the gradient's NaN handling only sees NaN in the data, not a NaN logarithm).
    const double nan = std::numeric_limits<double>::quiet_NaN();
    m_map->data()->fill(nan);
    for (int l = 0; l < m_data.layers.size(); ++l) {
        Q_ASSERT(int(m_data.values[size_t(l)].size()) == m_data.runLabels.size());
        for (int r = 0; r < m_data.runLabels.size(); ++r) {
            const double v = m_data.values[size_t(l)][size_t(r)];
            m_map->data()->setCell(r, l, m_log && !(v > 0) ? nan : v);
        }
    }
    // The range from the finite (and, on a log scale, positive) cells only.
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const auto& row : m_data.values)
        for (double v : row)
            if (std::isfinite(v) && (!m_log || v > 0)) {
                lo = std::min(lo, v);
                hi = std::max(hi, v);
            }
    if (!std::isfinite(lo))
        m_map->setDataRange(QCPRange(m_log ? 1e-3 : 0.0, 1.0));
    else if (lo == hi)
        m_map->setDataRange(m_log ? QCPRange(lo / 2, hi * 2) : QCPRange(lo - 0.5, hi + 0.5));
    else
        m_map->setDataRange(QCPRange(lo, hi));
    replot();
}

double HeatmapPlot::cellValue(int layer, int run) const
{
    if (layer < 0 || run < 0 || layer >= m_data.layers.size() || run >= m_data.runLabels.size())
        return std::numeric_limits<double>::quiet_NaN();
    return m_map->data()->cell(run, layer);
}

QPointF HeatmapPlot::cellCenter(int layer, int run) const
{
    return QPointF(xAxis->coordToPixel(run), yAxis->coordToPixel(layer));
}

std::optional<std::pair<int, int>> HeatmapPlot::cellAt(const QPointF& pos) const
{
    if (!axisRect()->rect().contains(pos.toPoint()))
        return std::nullopt;
    const int run = int(std::lround(xAxis->pixelToCoord(pos.x())));
    const int layer = int(std::lround(yAxis->pixelToCoord(pos.y())));
    if (layer < 0 || run < 0 || layer >= m_data.layers.size() || run >= m_data.runLabels.size())
        return std::nullopt;
    return std::make_pair(layer, run);
}

void HeatmapPlot::setSelectedLayer(const QString& layer)
{
    const int row = m_data.layers.indexOf(layer);
    m_rowOutline->setVisible(row >= 0);
    if (row >= 0) {
        m_rowOutline->topLeft->setCoords(-0.5, row - 0.5);
        m_rowOutline->bottomRight->setCoords(m_data.runLabels.size() - 0.5, row + 0.5);
    }
    replot(QCustomPlot::rpQueuedReplot);
}

void HeatmapPlot::mousePressEvent(QMouseEvent* event)
{
    m_pressPos = event->position();
    QCustomPlot::mousePressEvent(event);
}

void HeatmapPlot::mouseReleaseEvent(QMouseEvent* event)
{
    QCustomPlot::mouseReleaseEvent(event);
    if (event->button() != Qt::LeftButton ||
        (event->position() - m_pressPos).manhattanLength() > 4.0)
        return;
    const auto cell = cellAt(event->position());
    if (!cell)
        return;
    setSelectedLayer(m_data.layers[cell->first]);
    emit cellClicked(m_data.layers[cell->first], m_data.runIds[size_t(cell->second)]);
}

} // namespace ptq
