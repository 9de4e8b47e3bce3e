#include "pareto_plot.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace ptq {

QVector<int> paretoFrontIndices(const QVector<PlotPoint>& points, bool lowerIsBetter)
{
    // Sort by x, then by "better y first" so that among equal sizes only the best survives;
    // a sweep keeps every point whose y beats all points of smaller size.
    QVector<int> order(points.size());
    std::iota(order.begin(), order.end(), 0);
    const auto better = [lowerIsBetter](double a, double b) {
        return lowerIsBetter ? a < b : a > b;
    };
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        if (points[a].x != points[b].x)
            return points[a].x < points[b].x;
        return better(points[a].y, points[b].y);
    });
    QVector<int> front;
    for (int i : order) {
        if (front.isEmpty() || better(points[i].y, points[front.last()].y))
            front.append(i);
    }
    return front;
}

ParetoPlot::ParetoPlot(QWidget* parent) : QCustomPlot(parent)
{
    setAntialiasedElements(QCP::aeAll);
    m_frontGraph = addGraph();
    m_frontGraph->setPen(QPen(QColor(0xd9, 0x5f, 0x02), 1.5));
    m_frontGraph->setLineStyle(QCPGraph::lsStepLeft);

    m_pointsGraph = addGraph();
    m_pointsGraph->setLineStyle(QCPGraph::lsNone);
    m_pointsGraph->setScatterStyle(
        QCPScatterStyle(QCPScatterStyle::ssCircle, QColor(0x1b, 0x9e, 0x77), 7));
}

void ParetoPlot::setPoints(const QVector<PlotPoint>& points)
{
    m_points = points;
    rebuild();
}

void ParetoPlot::setLowerIsBetter(bool lowerIsBetter)
{
    m_lowerIsBetter = lowerIsBetter;
    rebuild();
}

void ParetoPlot::setAxisTitles(const QString& xTitle, const QString& yTitle)
{
    xAxis->setLabel(xTitle);
    yAxis->setLabel(yTitle);
    replot(rpQueuedReplot);
}

void ParetoPlot::rebuild()
{
    clearItems();
    QVector<double> xs, ys;
    for (const PlotPoint& p : m_points) {
        xs.append(p.x);
        ys.append(p.y);
        auto* text = new QCPItemText(this);
        text->position->setCoords(p.x, p.y);
        text->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
        text->setPadding(QMargins(4, 0, 0, 2));
        text->setText(p.label);
    }
    // setData(keys, values, alreadySorted=false) would reorder the scatter by x, which is
    // fine for markers; the front is built in x order already.
    m_pointsGraph->setData(xs, ys);

    QVector<double> fx, fy;
    for (int i : paretoFrontIndices(m_points, m_lowerIsBetter)) {
        fx.append(m_points[i].x);
        fy.append(m_points[i].y);
    }
    m_frontGraph->setData(fx, fy, true);

    rescaleAxes();
    // Leave room for the markers at the edges and for the labels, drawn right of each point.
    const QCPRange xr = xAxis->range();
    const double span = xr.size() > 0 ? xr.size() : std::max(1.0, std::abs(xr.lower));
    xAxis->setRange(xr.lower - 0.08 * span, xr.upper + 0.35 * span);
    yAxis->scaleRange(1.15, yAxis->range().center());
    replot(rpQueuedReplot);
}

} // namespace ptq
