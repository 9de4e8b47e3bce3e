#include "run_queue_panel.h"

#include "error_label.h"
#include "store/results_store.h"
#include "workbench_context.h"

#include <QColor>
#include <QEvent>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <exception>

namespace ptq {

namespace {

constexpr int kBarRange = 1000; // tenths of a percent

// "0:42", "12:05", "1:02:03"; empty for a negative (unknown) duration.
QString formatDuration(double seconds)
{
    if (seconds < 0 || !std::isfinite(seconds))
        return {};
    const qint64 s = qint64(std::llround(seconds));
    const QString mmss = QStringLiteral("%1:%2")
                             .arg((s / 60) % 60, s >= 3600 ? 2 : 1, 10, QLatin1Char('0'))
                             .arg(s % 60, 2, 10, QLatin1Char('0'));
    return s >= 3600 ? QStringLiteral("%1:%2").arg(s / 3600).arg(mmss) : mmss;
}

bool isFinished(RunQueuePanel::RowStatus s)
{
    return s != RunQueuePanel::RowStatus::Queued && s != RunQueuePanel::RowStatus::Running;
}

RunQueuePanel::RowStatus statusOfEnd(int end)
{
    switch (static_cast<JobEnd>(end)) {
    case JobEnd::Done:
        return RunQueuePanel::RowStatus::Done;
    case JobEnd::Failed:
        return RunQueuePanel::RowStatus::Failed;
    case JobEnd::Cancelled:
        return RunQueuePanel::RowStatus::Cancelled;
    case JobEnd::Interrupted:
        return RunQueuePanel::RowStatus::Interrupted;
    }
    return RunQueuePanel::RowStatus::Failed;
}

} // namespace

RunQueuePanel::RunQueuePanel(JobRunner* runner, WorkbenchContext* context, QWidget* parent)
    : QWidget(parent), m_runner(runner), m_context(context)
{
    buildUi();
    connect(runner, &JobRunner::jobsQueued, this, &RunQueuePanel::onJobsQueued);
    connect(runner, &JobRunner::jobSkipped, this, &RunQueuePanel::onJobSkipped);
    connect(runner, &JobRunner::jobStarted, this, &RunQueuePanel::onJobStarted);
    connect(runner, &JobRunner::jobProgress, this, &RunQueuePanel::onJobProgress);
    connect(runner, &JobRunner::jobFinished, this, &RunQueuePanel::onJobFinished);
    connect(runner, &JobRunner::enqueueFailed, this, &RunQueuePanel::showMessage);
    connect(m_cancelAllButton, &QPushButton::clicked, runner, &JobRunner::cancelAll);
    connect(m_resumeButton, &QPushButton::clicked, this, &RunQueuePanel::resumeInterruptedRuns);
    connect(m_table, &QTreeWidget::itemClicked, this, &RunQueuePanel::onItemClicked);
    connect(m_table, &QTreeWidget::currentItemChanged, this, &RunQueuePanel::showDetails);
    connect(&m_clock, &QTimer::timeout, this, [this] {
        for (const auto& [id, row] : m_rows)
            if (row.status == RowStatus::Running)
                refreshTimes(row);
    });
    m_clock.start(1000);
    retranslateUi();
}

void RunQueuePanel::buildUi()
{
    m_table = new QTreeWidget(this);
    m_table->setObjectName(QStringLiteral("jobTable"));
    m_table->setColumnCount(ColumnCount);
    m_table->setRootIsDecorated(false);
    m_table->setUniformRowHeights(true);
    m_table->header()->setStretchLastSection(false);
    m_table->header()->setSectionResizeMode(LabelColumn, QHeaderView::Stretch);
    // "quantizing · block 12/32" must fit; the label column takes what is left.
    m_table->header()->resizeSection(StageColumn, 220);

    m_cancelAllButton = new QPushButton(this);
    m_cancelAllButton->setObjectName(QStringLiteral("cancelAllButton"));
    m_resumeButton = new QPushButton(this);
    m_resumeButton->setObjectName(QStringLiteral("resumeButton"));
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_resumeButton);
    buttons->addStretch(1);
    buttons->addWidget(m_cancelAllButton);

    m_messageLabel = makeErrorLabel(this, QStringLiteral("messageLabel"));
    m_detailsLabel = new QLabel(this);
    m_detailsLabel->setObjectName(QStringLiteral("detailsLabel"));
    m_detailsLabel->setWordWrap(true);
    m_detailsLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(buttons);
    layout->addWidget(m_table, 1);
    layout->addWidget(m_messageLabel);
    layout->addWidget(m_detailsLabel);
}

void RunQueuePanel::retranslateUi()
{
    m_table->setHeaderLabels({tr("Job"), tr("Status"), tr("Stage"), tr("Progress"), tr("Elapsed"),
                              tr("ETA"), QString()});
    m_cancelAllButton->setText(tr("Cancel all"));
    m_cancelAllButton->setToolTip(tr("Stop the running job and remove every queued one"));
    m_resumeButton->setText(tr("Resume interrupted runs"));
    m_resumeButton->setToolTip(
        tr("Queue again every run of the results database that was interrupted or cancelled"));
    for (const auto& [id, row] : m_rows) {
        row.cancel->setText(tr("Cancel"));
        refreshRow(row);
    }
    showDetails();
}

void RunQueuePanel::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWidget::changeEvent(event);
}

QString RunQueuePanel::statusText(RowStatus s) const
{
    switch (s) {
    case RowStatus::Queued:
        return tr("queued");
    case RowStatus::Running:
        return tr("running");
    case RowStatus::Done:
        return tr("done");
    case RowStatus::Failed:
        return tr("failed");
    case RowStatus::Cancelled:
        return tr("cancelled");
    case RowStatus::Interrupted:
        return tr("interrupted");
    }
    return {};
}

QString RunQueuePanel::stageText(const JobProgressInfo& info) const
{
    QString stage;
    if (info.stage == QLatin1String("load"))
        stage = tr("loading");
    else if (info.stage == QLatin1String("quantize"))
        stage = tr("quantizing");
    else if (info.stage == QLatin1String("perplexity"))
        stage = tr("perplexity");
    else if (info.stage == QLatin1String("kl"))
        stage = tr("perplexity and KL");
    else if (info.stage == QLatin1String("zero-shot"))
        stage = tr("zero-shot tasks");
    else
        stage = info.stage;
    if (info.blocks > 0 && info.block > 0)
        stage += QStringLiteral(" · ") + tr("block %1/%2").arg(info.block).arg(info.blocks);
    return stage;
}

RunQueuePanel::Row& RunQueuePanel::ensureRow(qint64 runId, const QString& label)
{
    auto it = m_rows.find(runId);
    if (it != m_rows.end()) {
        it->second.item->setText(LabelColumn, label); // queued again (resumed)
        return it->second;
    }
    Row row;
    row.item = new QTreeWidgetItem(m_table);
    row.item->setText(LabelColumn, label);
    row.item->setData(LabelColumn, Qt::UserRole, runId);
    row.bar = new QProgressBar(m_table);
    row.bar->setObjectName(QStringLiteral("jobProgressBar"));
    row.bar->setRange(0, kBarRange);
    row.bar->setProperty("runId", runId);
    m_table->setItemWidget(row.item, ProgressColumn, row.bar);
    row.cancel = new QPushButton(tr("Cancel"), m_table);
    row.cancel->setObjectName(QStringLiteral("cancelButton"));
    row.cancel->setProperty("runId", runId);
    connect(row.cancel, &QPushButton::clicked, this, [this, runId] {
        if (m_runner)
            m_runner->cancel(runId);
    });
    m_table->setItemWidget(row.item, CancelColumn, row.cancel);
    return m_rows.emplace(runId, row).first->second;
}

void RunQueuePanel::refreshRow(const Row& row)
{
    QString status = statusText(row.status);
    if (row.skipped)
        status = tr("done (already in the database)");
    row.item->setText(StatusColumn, status);
    row.item->setText(StageColumn,
                      row.status == RowStatus::Running ? stageText(row.info) : QString());
    const QString tip = row.message.isEmpty() ? status : status + QLatin1Char('\n') + row.message;
    row.item->setToolTip(LabelColumn, tip);
    row.item->setToolTip(StatusColumn, tip);
    if (row.status == RowStatus::Failed)
        row.item->setForeground(StatusColumn, QColor(0xb0, 0x00, 0x20));
    else
        row.item->setData(StatusColumn, Qt::ForegroundRole, QVariant());
    row.bar->setValue(row.status == RowStatus::Done
                          ? kBarRange
                          : int(std::lround(row.info.fraction * kBarRange)));
    row.cancel->setEnabled(!isFinished(row.status));
    refreshTimes(row);
}

void RunQueuePanel::refreshTimes(const Row& row)
{
    double elapsed = -1, eta = -1;
    if (row.status == RowStatus::Running && row.started.isValid()) {
        const qint64 now = row.started.elapsed();
        elapsed = now / 1000.0;
        if (row.info.etaSeconds >= 0)
            eta = std::max(0.0, row.info.etaSeconds - (now - row.infoReceivedMs) / 1000.0);
    } else if (row.finishedSeconds >= 0) {
        elapsed = row.finishedSeconds;
    }
    row.item->setText(ElapsedColumn, formatDuration(elapsed));
    row.item->setText(EtaColumn, row.status == RowStatus::Running && eta < 0 ? tr("unknown")
                                                                             : formatDuration(eta));
}

void RunQueuePanel::onJobsQueued(const QList<qint64>& runIds, const QStringList& labels)
{
    for (int i = 0; i < runIds.size(); ++i) {
        Row& row = ensureRow(runIds[i], labels.value(i));
        row.status = RowStatus::Queued;
        row.message.clear();
        row.skipped = false;
        row.info = {};
        row.finishedSeconds = -1;
        refreshRow(row);
    }
    m_messageLabel->hide();
    showDetails();
}

void RunQueuePanel::onJobSkipped(qint64 runId, const QString& label)
{
    Row& row = ensureRow(runId, label);
    row.status = RowStatus::Done;
    row.skipped = true;
    refreshRow(row);
}

void RunQueuePanel::onJobStarted(qint64 runId)
{
    const auto it = m_rows.find(runId);
    if (it == m_rows.end())
        return;
    it->second.status = RowStatus::Running;
    it->second.started.start();
    refreshRow(it->second);
}

void RunQueuePanel::onJobProgress(qint64 runId, const ptq::JobProgressInfo& info)
{
    const auto it = m_rows.find(runId);
    if (it == m_rows.end())
        return;
    it->second.info = info;
    it->second.infoReceivedMs = it->second.started.isValid() ? it->second.started.elapsed() : 0;
    refreshRow(it->second);
}

void RunQueuePanel::onJobFinished(qint64 runId, int end, const QString& message)
{
    const auto it = m_rows.find(runId);
    if (it == m_rows.end())
        return;
    Row& row = it->second;
    row.status = statusOfEnd(end);
    row.message = message;
    if (row.started.isValid())
        row.finishedSeconds = row.started.elapsed() / 1000.0;
    refreshRow(row);
    if (m_table->currentItem() == row.item)
        showDetails();
}

void RunQueuePanel::onItemClicked(QTreeWidgetItem* item)
{
    const qint64 id = item->data(LabelColumn, Qt::UserRole).toLongLong();
    const auto it = m_rows.find(id);
    if (it != m_rows.end() && isFinished(it->second.status) && m_context)
        m_context->selectRun(id);
}

void RunQueuePanel::showDetails()
{
    const QTreeWidgetItem* item = m_table->currentItem();
    const auto it =
        item ? m_rows.find(item->data(LabelColumn, Qt::UserRole).toLongLong()) : m_rows.end();
    if (it == m_rows.end()) {
        m_detailsLabel->setText(m_rows.empty() ? tr("No jobs in this session yet.")
                                               : tr("Select a job to see its result or error."));
        return;
    }
    const Row& row = it->second;
    QString text = row.item->text(LabelColumn) + QLatin1String(": ") + statusText(row.status);
    if (!row.message.isEmpty())
        text += QLatin1Char('\n') + row.message;
    m_detailsLabel->setText(text);
}

void RunQueuePanel::showMessage(const QString& text)
{
    m_messageLabel->setText(text);
    m_messageLabel->setVisible(!text.isEmpty());
}

void RunQueuePanel::resumeInterruptedRuns()
{
    if (!m_runner || !m_context)
        return;
    QList<qint64> ids;
    try {
        // A short read on the GUI thread's own connection, as every view does; rebuilding the
        // jobs (hashing their files) happens on the runner's thread.
        const ResultsStore store(m_context->databasePath().toStdString(),
                                 ResultsStore::Mode::ReadOnly);
        for (RunStatus s : {RunStatus::Interrupted, RunStatus::Cancelled}) {
            RunFilter filter;
            filter.status = s;
            filter.withMetrics = false;
            for (const RunRecord& r : store.listRuns(filter))
                ids << r.id;
        }
    } catch (const std::exception& e) {
        showMessage(QString::fromStdString(e.what()));
        return;
    }
    if (ids.isEmpty()) {
        showMessage(tr("There are no interrupted or cancelled runs to resume."));
        return;
    }
    std::sort(ids.begin(), ids.end());
    m_runner->enqueueStoredRuns(ids);
}

QList<qint64> RunQueuePanel::runIds() const
{
    QList<qint64> ids;
    for (int i = 0; i < m_table->topLevelItemCount(); ++i)
        ids << m_table->topLevelItem(i)->data(LabelColumn, Qt::UserRole).toLongLong();
    return ids;
}

RunQueuePanel::RowStatus RunQueuePanel::rowStatus(qint64 runId) const
{
    const auto it = m_rows.find(runId);
    return it == m_rows.end() ? RowStatus::Queued : it->second.status;
}

QString RunQueuePanel::rowError(qint64 runId) const
{
    const auto it = m_rows.find(runId);
    return it == m_rows.end() || it->second.status != RowStatus::Failed ? QString()
                                                                        : it->second.message;
}

QTreeWidgetItem* RunQueuePanel::rowItem(qint64 runId) const
{
    const auto it = m_rows.find(runId);
    return it == m_rows.end() ? nullptr : it->second.item;
}

QPushButton* RunQueuePanel::cancelButton(qint64 runId) const
{
    const auto it = m_rows.find(runId);
    return it == m_rows.end() ? nullptr : it->second.cancel;
}

QProgressBar* RunQueuePanel::progressBar(qint64 runId) const
{
    const auto it = m_rows.find(runId);
    return it == m_rows.end() ? nullptr : it->second.bar;
}

} // namespace ptq
