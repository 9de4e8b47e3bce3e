#pragma once
// A layers × runs heatmap of one per-layer error measure: one row per quantized linear
// ("3.mlp.down_proj"), one column per run, a colour scale beside it (optionally
// logarithmic: relative errors span decades between 2 and 8 bits). Clicking a cell names
// the layer and the run. Missing cells (a run without that layer) stay blank.

#include <qcustomplot.h>

#include <QString>
#include <QStringList>
#include <optional>
#include <vector>

namespace ptq {

struct HeatmapData {
    QStringList layers;                      // rows, top to bottom
    QStringList runLabels;                   // columns, left to right
    std::vector<qint64> runIds;              // one per column
    std::vector<std::vector<double>> values; // [layer][run]; NaN = not recorded
    QString measure;                         // colour-scale title, e.g. "rel_weight_error"
};

class HeatmapPlot : public QCustomPlot {
    Q_OBJECT
public:
    explicit HeatmapPlot(QWidget* parent = nullptr);

    // Redraws; asserts that values has layers × runLabels cells.
    void setData(const HeatmapData& data);
    const HeatmapData& data() const { return m_data; }
    // Log colour scale; non-positive cells are then drawn blank, as missing ones.
    void setLogScale(bool log);
    bool logScale() const { return m_log; }

    // The value drawn in a cell (NaN when blank), read back from the colour map.
    double cellValue(int layer, int run) const;
    // The widget-pixel centre of a cell (for tests), and the cell under a pixel.
    QPointF cellCenter(int layer, int run) const;
    std::optional<std::pair<int, int>> cellAt(const QPointF& pos) const;

    // Outlines the row of a layer ("" clears); does not emit.
    void setSelectedLayer(const QString& layer);
    QCPColorMap* colorMap() const { return m_map; }
    QCPColorScale* colorScale() const { return m_scale; }

signals:
    void cellClicked(const QString& layer, qint64 runId);

protected:
    void mousePressEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;

private:
    void applyScale();

    HeatmapData m_data;
    QCPColorMap* m_map = nullptr;
    QCPColorScale* m_scale = nullptr;
    QCPItemRect* m_rowOutline = nullptr;
    bool m_log = false;
    QPointF m_pressPos;
};

} // namespace ptq
