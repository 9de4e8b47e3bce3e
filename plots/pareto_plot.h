#pragma once
// Size × quality scatter with the Pareto front drawn through the non-dominated points.
// The first plot of the workbench; later views (bitwidth colouring, fronts per method)
// extend it.

#include <qcustomplot.h>

#include <QString>
#include <QVector>

namespace ptq {

struct PlotPoint {
    double x = 0.0; // model size, e.g. MB
    double y = 0.0; // quality metric, e.g. perplexity
    QString label;  // shown next to the marker
};

// Indices of the points no other point beats on both axes (smaller x, and smaller y when
// lowerIsBetter, larger y otherwise), sorted by x. Ties keep the first occurrence.
QVector<int> paretoFrontIndices(const QVector<PlotPoint>& points, bool lowerIsBetter);

class ParetoPlot : public QCustomPlot {
    Q_OBJECT
public:
    explicit ParetoPlot(QWidget* parent = nullptr);

    void setPoints(const QVector<PlotPoint>& points);
    const QVector<PlotPoint>& points() const { return m_points; }

    // Perplexity and size: lower is better (the default). Accuracy: higher is better.
    void setLowerIsBetter(bool lowerIsBetter);
    bool lowerIsBetter() const { return m_lowerIsBetter; }

    void setAxisTitles(const QString& xTitle, const QString& yTitle);

private:
    void rebuild();

    QVector<PlotPoint> m_points;
    bool m_lowerIsBetter = true;
    QCPGraph* m_pointsGraph = nullptr;
    QCPGraph* m_frontGraph = nullptr;
};

} // namespace ptq
