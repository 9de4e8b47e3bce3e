#pragma once
// The results panel: every run of the results store as a sortable, filterable table, and
// three views of the finished ones (Pareto front of size × metric, metric versus weight bits
// per strategy, metric versus bits per model of a family). The store is re-read, read-only,
// whenever the context says it changed; a missing or unreadable file is named in an inline
// message. Selecting a run anywhere (row, marker, another panel) selects it everywhere
// through the WorkbenchContext.

#include "results_model.h"
#include "run_plots.h"

#include <QWidget>
#include <vector>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTabWidget;
class QTableView;

namespace ptq {

class WorkbenchContext;

class ResultsPanel : public QWidget {
    Q_OBJECT
public:
    enum Tab { TableTab, ParetoTab, MetricBitsTab, ModelSizeTab };

    explicit ResultsPanel(WorkbenchContext* context, QWidget* parent = nullptr);

    // Maps recipe names to taxonomy classes for the Pareto markers (the main window passes
    // one built from strategyCatalog()); without it every recipe is "other".
    void setStrategyClassifier(StrategyClassifier classifier);

    QTableView* tableView() const { return m_table; }
    ResultsModel* resultsModel() const { return m_model; }
    ResultsFilterProxy* proxyModel() const { return m_proxy; }
    QTabWidget* tabs() const { return m_tabs; }
    RunParetoPlot* paretoPlot() const { return m_pareto; }
    RunCurvePlot* metricBitsPlot() const { return m_metricBits; }
    RunCurvePlot* modelSizePlot() const { return m_modelSize; }
    // The plot of the current tab; nullptr on the table tab.
    RunPlotBase* currentPlot() const;
    // The inline error about the database ("" when it was read).
    QString errorText() const;
    // The message about the plots (no run carries the metric, ambiguous dataset); "" if none.
    QString plotMessage() const;
    // The run ids of each front the Pareto view draws, in drawing order.
    std::vector<std::vector<int64_t>> paretoFrontRunIds() const;

    // Writes the filtered table in the order shown: .csv, .tex (LaTeX) or .json by extension.
    bool exportTableTo(const QString& path, QString* error = nullptr);
    // Writes the markers of the current plot (the table on the table tab) as CSV.
    bool exportPlotDataTo(const QString& path, QString* error = nullptr);

public slots:
    void reload();
    void exportFigureWithDialog();
    void exportTableWithDialog();
    void exportDataWithDialog();

protected:
    void changeEvent(QEvent* event) override;

private:
    void buildUi();
    QWidget* buildControls();
    void connectUi();
    void retranslateUi();
    void refillModelCombo();
    void refillDatasetCombo();
    void replot();
    void onRunSelected(qint64 runId);
    void onCurrentRowChanged();
    void showError(const QString& message);
    std::vector<RunRecord> plotRuns() const;

    WorkbenchContext* m_context = nullptr;
    std::vector<RunRecord> m_runs;
    std::vector<DatasetRecord> m_datasets;
    QString m_error;
    QString m_plotMessageText;
    bool m_syncing = false;

    QLabel* m_errorLabel = nullptr;
    QLabel* m_plotMessage = nullptr;
    QLabel* m_metricCaption = nullptr;
    QLabel* m_datasetCaption = nullptr;
    QLabel* m_axisCaption = nullptr;
    QLabel* m_frontCaption = nullptr;
    QLabel* m_modelCaption = nullptr;
    QLabel* m_statusCaption = nullptr;
    QComboBox* m_metric = nullptr;
    QComboBox* m_dataset = nullptr;
    QComboBox* m_sizeAxis = nullptr;
    QCheckBox* m_logX = nullptr;
    QCheckBox* m_logY = nullptr;
    QComboBox* m_front = nullptr;
    QComboBox* m_modelFilter = nullptr;
    QCheckBox* m_perModel = nullptr;
    QLineEdit* m_textFilter = nullptr;
    QComboBox* m_statusFilter = nullptr;
    QPushButton* m_exportFigure = nullptr;
    QPushButton* m_exportTable = nullptr;
    QPushButton* m_exportData = nullptr;
    QTabWidget* m_tabs = nullptr;
    QTableView* m_table = nullptr;
    ResultsModel* m_model = nullptr;
    ResultsFilterProxy* m_proxy = nullptr;
    RunParetoPlot* m_pareto = nullptr;
    RunCurvePlot* m_metricBits = nullptr;
    RunCurvePlot* m_modelSize = nullptr;
};

} // namespace ptq
