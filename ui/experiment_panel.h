#pragma once
// The experiment panel: which models, which data, which strategies, which bit widths. The
// selection expands to one run per cell of models × strategies × (W bits × group) × A bits ×
// KV bits; the panel shows the count and an estimate of the time before anything is queued.
//
// Strategies come from the engine's catalogue (engine/job.h), grouped by taxonomy class
// (compensation, rotation, salience, optimization, combinations), each with its one-line
// description. Nothing here computes: queueing hands the jobs to the JobRunner.

#include "engine/job.h"

#include <QStringList>
#include <QWidget>
#include <vector>

class QCheckBox;
class QGroupBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QPushButton;
class QSpinBox;
class QTableWidget;
class QTimer;
class QTreeWidget;
class QTreeWidgetItem;

namespace ptq {

class WorkbenchContext;

class ExperimentPanel : public QWidget {
    Q_OBJECT
public:
    explicit ExperimentPanel(WorkbenchContext* context, QWidget* parent = nullptr);

    // Models the user can pick (bundled, recent, opened); keeps the check state of those
    // already listed. `checked` is checked (e.g. the model just opened).
    void setAvailableModels(const QStringList& dirs, const QString& checked = QString());

    // Selection, for tests and scripting. Unknown names are ignored.
    void setModelChecked(const QString& dir, bool checked);
    void setStrategyChecked(const QString& name, bool checked);
    void setWeightCell(int wbits, int64_t groupSize, bool checked);
    void setActivationBits(const QList<int>& bits); // 16 = not quantized
    void setKvBits(const QList<int>& bits);
    void setCalibration(const QString& path, int samples, int seqlen);
    void setEvaluation(const QStringList& texts, int windows, int seqlen);
    void setTaskFiles(const QStringList& files);

    // The jobs the current selection makes, in models × strategies × bits order.
    std::vector<JobSpec> plannedJobs() const;
    // Every problem that keeps the selection from being queued ("" = none).
    QString selectionProblem() const;
    double estimatedSeconds() const { return m_estimateSeconds; }

    static QList<int> weightBitChoices() { return {2, 3, 4, 5, 6, 8}; }
    static QList<int64_t> groupChoices() { return {0, 32, 64, 128}; } // 0 = per channel

public slots:
    // Emits queueRequested with plannedJobs() when the selection is complete.
    void queueRuns();
    void updateSummary();

signals:
    void queueRequested(const std::vector<ptq::JobSpec>& jobs);

protected:
    void changeEvent(QEvent* event) override;

private:
    QWidget* buildModelsAndData();
    QWidget* buildStrategies();
    QWidget* buildBits();
    void fillStrategies();
    void retranslateUi();
    void scheduleSummary();
    QStringList checkedModels() const;
    QStringList checkedStrategies() const;
    QList<QPair<int, int64_t>> checkedWeightCells() const;
    QList<int> checkedBits(const QList<QCheckBox*>& boxes) const;
    void addFiles(QListWidget* list, const QString& title, const QString& filter);

    WorkbenchContext* m_context = nullptr;
    QGroupBox* m_modelsBox = nullptr;
    QListWidget* m_models = nullptr;
    QGroupBox* m_dataBox = nullptr;
    QLabel* m_calibLabel = nullptr;
    QLineEdit* m_calibPath = nullptr;
    QPushButton* m_calibBrowse = nullptr;
    QLabel* m_calibSamplesLabel = nullptr;
    QSpinBox* m_calibSamples = nullptr;
    QSpinBox* m_calibSeqlen = nullptr;
    QLabel* m_evalLabel = nullptr;
    QListWidget* m_evalTexts = nullptr;
    QPushButton* m_evalAdd = nullptr;
    QPushButton* m_evalRemove = nullptr;
    QLabel* m_evalWindowsLabel = nullptr;
    QSpinBox* m_evalWindows = nullptr;
    QSpinBox* m_evalSeqlen = nullptr;
    QLabel* m_tasksLabel = nullptr;
    QListWidget* m_tasks = nullptr;
    QPushButton* m_tasksAdd = nullptr;
    QPushButton* m_tasksRemove = nullptr;
    QGroupBox* m_strategiesBox = nullptr;
    QTreeWidget* m_strategies = nullptr;
    QGroupBox* m_bitsBox = nullptr;
    QTableWidget* m_weightMatrix = nullptr;
    QLabel* m_abitsLabel = nullptr;
    QList<QCheckBox*> m_abits;
    QLabel* m_kvbitsLabel = nullptr;
    QList<QCheckBox*> m_kvbits;
    QLabel* m_summary = nullptr;
    QPushButton* m_queueButton = nullptr;
    QTimer* m_summaryTimer = nullptr;
    double m_estimateSeconds = 0;
    int m_runCount = 0;
};

} // namespace ptq
