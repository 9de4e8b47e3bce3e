#pragma once
// The run queue: one row per job of this session (queued, running or finished) with its
// status, stage and block, a progress bar, elapsed time, ETA and a Cancel button; "Cancel
// all"; the selected row's full error or headline numbers under the table; and "Resume
// interrupted runs", which queues every interrupted or cancelled run of the store again.
// Everything shown comes from JobRunner's signals; the panel never touches the engine.

#include "job_runner.h"

#include <QElapsedTimer>
#include <QPointer>
#include <QTimer>
#include <QWidget>

#include <map>

class QLabel;
class QProgressBar;
class QPushButton;
class QTreeWidget;
class QTreeWidgetItem;

namespace ptq {

class WorkbenchContext;

class RunQueuePanel : public QWidget {
    Q_OBJECT
public:
    enum class RowStatus { Queued, Running, Done, Failed, Cancelled, Interrupted };
    enum Column {
        LabelColumn,
        StatusColumn,
        StageColumn,
        ProgressColumn,
        ElapsedColumn,
        EtaColumn,
        CancelColumn,
        ColumnCount
    };

    RunQueuePanel(JobRunner* runner, WorkbenchContext* context, QWidget* parent = nullptr);

    // For tests and the main window: the rows shown, in order, and the state of one.
    QList<qint64> runIds() const;
    RowStatus rowStatus(qint64 runId) const; // Queued for an unknown id
    QString rowError(qint64 runId) const;
    QTreeWidgetItem* rowItem(qint64 runId) const;
    QPushButton* cancelButton(qint64 runId) const;
    QProgressBar* progressBar(qint64 runId) const;

public slots:
    // Reads the store's interrupted and cancelled runs and queues them again.
    void resumeInterruptedRuns();

protected:
    void changeEvent(QEvent* event) override;

private:
    struct Row {
        QTreeWidgetItem* item = nullptr;
        QProgressBar* bar = nullptr;
        QPushButton* cancel = nullptr;
        RowStatus status = RowStatus::Queued;
        QString message;      // the error (Failed) or the headline numbers (Done)
        bool skipped = false; // done before this session
        JobProgressInfo info;
        QElapsedTimer started; // valid while and after running
        double finishedSeconds = -1;
        qint64 infoReceivedMs = 0; // started.elapsed() when info arrived
    };

    void buildUi();
    void retranslateUi();
    Row& ensureRow(qint64 runId, const QString& label);
    void refreshRow(const Row& row);
    void refreshTimes(const Row& row);
    void showDetails();
    void showMessage(const QString& text);
    QString statusText(RowStatus s) const;
    QString stageText(const JobProgressInfo& info) const;

    void onJobsQueued(const QList<qint64>& runIds, const QStringList& labels);
    void onJobSkipped(qint64 runId, const QString& label);
    void onJobStarted(qint64 runId);
    void onJobProgress(qint64 runId, const ptq::JobProgressInfo& info);
    void onJobFinished(qint64 runId, int end, const QString& message);
    void onItemClicked(QTreeWidgetItem* item);

    QPointer<JobRunner> m_runner;
    QPointer<WorkbenchContext> m_context;
    QTreeWidget* m_table = nullptr;
    QPushButton* m_cancelAllButton = nullptr;
    QPushButton* m_resumeButton = nullptr;
    QLabel* m_detailsLabel = nullptr;
    QLabel* m_messageLabel = nullptr;
    QTimer m_clock; // refreshes elapsed/ETA of the running row once a second
    std::map<qint64, Row> m_rows;
};

} // namespace ptq
