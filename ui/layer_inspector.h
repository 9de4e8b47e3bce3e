#pragma once
// The layer inspector: where in the model a quantization strategy loses accuracy. A heatmap
// of one per-layer error measure (layers × runs) for the finished runs of one model (or of
// every model), a chart of the same measure along the layers with one line per run, and, for
// the selected layer, every run's numbers and where the layer stands among all layers of the
// selected run (rank, min / median / max, a histogram).
//
// Selecting a layer (heatmap cell, list, or another panel through the context) and selecting
// a run go through the WorkbenchContext.

#include "store/results_store.h"

#include <QStringList>
#include <QWidget>
#include <map>
#include <vector>

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QLabel;
class QListWidget;
class QPushButton;
class QTabWidget;
class QTableWidget;

namespace ptq {

class HeatmapPlot;
class WorkbenchContext;

// CalibTokens: the calibration tokens routed to an MoE expert's linear (its statistics' token
// count for any other linear). InputAbsMax, InputOutlierRatio: the linear's calibration input
// (LayerErrorRow), e.g. a Mamba block's scan input (x_proj) and gated scan output (out_proj).
enum class LayerMeasure {
    RelWeightError,
    OutputError,
    MethodLoss,
    MaxAbsError,
    Seconds,
    CalibTokens,
    InputAbsMax,
    InputOutlierRatio
};
double layerMeasureValue(const LayerErrorRow& row, LayerMeasure measure);
QString layerMeasureName(LayerMeasure measure); // translated, e.g. "Relative weight error"
QString layerRowName(const LayerErrorRow& row); // "3.mlp.down_proj"

class LayerInspector : public QWidget {
    Q_OBJECT
public:
    explicit LayerInspector(WorkbenchContext* context, QWidget* parent = nullptr);

    HeatmapPlot* heatmap() const { return m_heatmap; }
    QCustomPlot* layerChart() const { return m_chart; }
    QCustomPlot* histogram() const { return m_histogram; }
    QListWidget* layerList() const { return m_layerList; }
    QTableWidget* statsTable() const { return m_stats; }
    QComboBox* modelCombo() const { return m_modelCombo; }
    QComboBox* measureCombo() const { return m_measureCombo; }
    // The Experts tab (MoE runs): layers × experts of the selected run, or experts × runs.
    HeatmapPlot* expertHeatmap() const { return m_experts; }
    QComboBox* expertModeCombo() const { return m_expertMode; }
    LayerMeasure measure() const;
    // Rank, min / median / max of the selected layer in the selected run ("" when none).
    QString statsSummary() const;
    QString errorText() const { return m_error; }
    // The runs shown as heatmap columns and chart lines, in order.
    std::vector<int64_t> shownRunIds() const;
    // The run whose layer distribution is summarised (the selected run when shown).
    int64_t statsRunId() const;

public slots:
    void reload();
    void exportFigureWithDialog();

protected:
    void changeEvent(QEvent* event) override;

private:
    void buildUi();
    void connectUi();
    void retranslateUi();
    void refillModelCombo();
    void rebuildViews();
    void fillHeatmap();
    void fillChart();
    void fillExperts();
    void showLayer(const QString& layer);
    void fillStatsTable(const QString& layer);
    void fillDistribution(const QString& layer);
    void onRunSelected(qint64 runId);
    const LayerErrorRow* rowOf(int64_t runId, const QString& layer) const;

    WorkbenchContext* m_context = nullptr;
    std::vector<RunRecord> m_allRuns;                       // Done runs with layer rows
    std::map<int64_t, std::vector<LayerErrorRow>> m_layers; // by run id
    std::vector<RunRecord> m_shown;                         // columns of the heatmap
    QStringList m_layerNames;                               // rows, in model order
    QString m_error;
    QString m_summary;

    QLabel* m_errorLabel = nullptr;
    QLabel* m_modelCaption = nullptr;
    QLabel* m_measureCaption = nullptr;
    QComboBox* m_modelCombo = nullptr;
    QComboBox* m_measureCombo = nullptr;
    QCheckBox* m_logCheck = nullptr;
    QPushButton* m_exportButton = nullptr;
    QTabWidget* m_tabs = nullptr;
    HeatmapPlot* m_heatmap = nullptr;
    HeatmapPlot* m_experts = nullptr;
    QComboBox* m_expertMode = nullptr;
    QLabel* m_expertNote = nullptr;
    QCustomPlot* m_chart = nullptr;
    QListWidget* m_layerList = nullptr;
    QLabel* m_layerTitle = nullptr;
    QTableWidget* m_stats = nullptr;
    QLabel* m_summaryLabel = nullptr;
    QCustomPlot* m_histogram = nullptr;
};

} // namespace ptq
