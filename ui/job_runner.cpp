#include "job_runner.h"

#include "engine/threads.h"
#include "util/error.h"
#include "workbench_context.h"

#include <QMetaObject>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>

namespace ptq {

namespace {

using Clock = std::chrono::steady_clock;

// Share of the job's time spent quantizing; the rest is evaluation. Only shapes the progress
// bar and the ETA: measured on the bundled models, quantization dominates for every method
// but RTN.
constexpr double kQuantizeShare = 0.7;
// At most ~10 progress signals a second reach the GUI.
constexpr auto kProgressInterval = std::chrono::milliseconds(100);

// Turns the engine's progress calls into JobProgressInfo and decides which ones to forward.
class ProgressTracker {
public:
    ProgressTracker(int blocks, double estimateSeconds)
        : m_start(Clock::now()), m_estimate(estimateSeconds)
    {
        m_info.blocks = blocks;
    }

    // True when this update should reach the GUI: a new stage or block, or enough time since
    // the last one.
    bool update(const Progress& p)
    {
        const QString stage = QString::fromStdString(p.stage);
        const int block = blockOf(p);
        const bool changed = stage != m_info.stage || block != m_info.block;
        m_info.stage = stage;
        m_info.detail = QString::fromStdString(p.detail);
        m_info.block = block;
        m_info.fraction = std::max(m_info.fraction, fractionOf(p));
        const auto now = Clock::now();
        if (!changed && now - m_lastSent < kProgressInterval)
            return false;
        m_lastSent = now;
        m_info.elapsedSeconds = std::chrono::duration<double>(now - m_start).count();
        m_info.etaSeconds = eta();
        return true;
    }

    const JobProgressInfo& info() const { return m_info; }

private:
    // "block 3/32" from the quantize stage; other stages keep the last block.
    int blockOf(const Progress& p) const
    {
        const std::string prefix = "block ";
        if (p.stage != "quantize" || p.detail.compare(0, prefix.size(), prefix) != 0)
            return m_info.block;
        return std::atoi(p.detail.c_str() + prefix.size());
    }

    static double fractionOf(const Progress& p)
    {
        const double within = p.total > 0 ? double(p.done) / double(p.total) : 0.0;
        if (p.stage == "load")
            return 0;
        if (p.stage == "quantize")
            return kQuantizeShare * within;
        return kQuantizeShare + (1 - kQuantizeShare) * within;
    }

    double eta() const
    {
        const double f = m_info.fraction;
        const double t = m_info.elapsedSeconds;
        // Below 2 % the extrapolation is mostly load time; the store's estimate is better.
        if (f >= 0.02)
            return t * (1 - f) / f;
        if (m_estimate > 0)
            return std::max(m_estimate - t, 0.0);
        return -1;
    }

    Clock::time_point m_start;
    Clock::time_point m_lastSent;
    double m_estimate = 0;
    JobProgressInfo m_info;
};

std::vector<int64_t> toStd(const QList<qint64>& ids)
{
    return std::vector<int64_t>(ids.begin(), ids.end());
}

} // namespace

JobRunner::JobRunner(WorkbenchContext* context, QObject* parent)
    : QObject(parent), m_context(context)
{
    qRegisterMetaType<ptq::JobProgressInfo>();
    m_storeThread = std::thread([this] { storeLoop(); });
    m_runThread = std::thread([this] { runLoop(); });
}

JobRunner::~JobRunner()
{
    shutdown();
}

template <class F> void JobRunner::post(F&& f)
{
    // Queued to this object's (the GUI) thread; dropped if the runner is gone by then, which
    // cannot happen while the threads run: shutdown() joins them first.
    QMetaObject::invokeMethod(this, std::forward<F>(f), Qt::QueuedConnection);
}

bool JobRunner::pushStoreTask(StoreTask task)
{
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (m_stopping)
            return false;
        task.generation = m_generation;
        m_storeTasks.push_back(std::move(task));
    }
    m_storeWake.notify_one();
    return true;
}

void JobRunner::enqueue(const std::vector<JobSpec>& jobs)
{
    if (jobs.empty())
        return;
    StoreTask task;
    task.kind = StoreTask::Kind::Prepare;
    task.jobs = jobs;
    task.jobCount = static_cast<int64_t>(jobs.size());
    task.databasePath = m_context ? m_context->databasePath().toStdString() : std::string();
    task.engineThreads = m_context ? m_context->engineThreads() : 0;
    if (task.databasePath.empty())
        emit enqueueFailed(tr("No results database is open."));
    else if (!pushStoreTask(std::move(task)))
        emit enqueueFailed(tr("The job runner is shutting down."));
}

void JobRunner::enqueueStoredRuns(const QList<qint64>& runIds)
{
    if (runIds.isEmpty())
        return;
    StoreTask task;
    task.kind = StoreTask::Kind::Resume;
    task.runIds = toStd(runIds);
    task.jobCount = runIds.size();
    task.databasePath = m_context ? m_context->databasePath().toStdString() : std::string();
    task.engineThreads = m_context ? m_context->engineThreads() : 0;
    if (task.databasePath.empty())
        emit enqueueFailed(tr("No results database is open."));
    else if (!pushStoreTask(std::move(task)))
        emit enqueueFailed(tr("The job runner is shutting down."));
}

void JobRunner::cancel(qint64 runId)
{
    std::lock_guard<std::mutex> lock(m_mutex);
    if (m_runningId == runId) {
        m_cancelRunning = true; // the run thread reports jobFinished
        return;
    }
    const auto it = std::find_if(m_pending.begin(), m_pending.end(),
                                 [&](const PendingJob& p) { return p.job.runId == runId; });
    if (it == m_pending.end())
        return;
    StoreTask task;
    task.kind = StoreTask::Kind::RecordCancelled;
    task.runIds = {runId};
    task.databasePath = it->databasePath;
    m_pending.erase(it);
    m_storeTasks.push_back(std::move(task));
    m_storeWake.notify_one();
}

void JobRunner::cancelAll()
{
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_generation; // batches being prepared now are recorded cancelled when they finish
    m_storeTasks.erase(std::remove_if(m_storeTasks.begin(), m_storeTasks.end(),
                                      [](const StoreTask& t) {
                                          return t.kind != StoreTask::Kind::RecordCancelled;
                                      }),
                       m_storeTasks.end());
    for (const PendingJob& p : m_pending) {
        StoreTask task;
        task.kind = StoreTask::Kind::RecordCancelled;
        task.runIds = {p.job.runId};
        task.databasePath = p.databasePath;
        m_storeTasks.push_back(std::move(task));
    }
    m_pending.clear();
    if (m_runningId != 0)
        m_cancelRunning = true;
    m_storeWake.notify_one();
}

void JobRunner::shutdown()
{
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_stopping = true;
        m_shuttingDown = true; // the running job's next progress call stops it
    }
    m_storeWake.notify_all();
    m_runWake.notify_all();
    if (m_storeThread.joinable())
        m_storeThread.join();
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_storeStopped = true;
    }
    m_runWake.notify_all();
    if (m_runThread.joinable())
        m_runThread.join();
}

bool JobRunner::isBusy() const
{
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_runningId != 0 || !m_pending.empty() || m_preparing > 0 || !m_storeTasks.empty();
}

int JobRunner::pendingCount() const
{
    std::lock_guard<std::mutex> lock(m_mutex);
    int64_t n = static_cast<int64_t>(m_pending.size()) + m_preparing;
    for (const StoreTask& t : m_storeTasks)
        n += t.jobCount;
    return static_cast<int>(n);
}

void JobRunner::postIdleIfDone()
{
    post([this] {
        if (!isBusy())
            emit idle();
    });
}

// ---- store thread ----

void JobRunner::storeLoop()
{
    for (;;) {
        StoreTask task;
        {
            std::unique_lock<std::mutex> lock(m_mutex);
            m_storeWake.wait(lock, [&] { return m_stopping || !m_storeTasks.empty(); });
            if (m_stopping) // only the cheap, promised records still happen
                m_storeTasks.erase(std::remove_if(m_storeTasks.begin(), m_storeTasks.end(),
                                                  [](const StoreTask& t) {
                                                      return t.kind !=
                                                             StoreTask::Kind::RecordCancelled;
                                                  }),
                                   m_storeTasks.end());
            if (m_storeTasks.empty()) {
                if (m_stopping)
                    return;
                continue;
            }
            task = std::move(m_storeTasks.front());
            m_storeTasks.pop_front();
            m_preparing = task.jobCount;
        }
        runStoreTask(task);
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_preparing = 0;
        }
        postIdleIfDone();
    }
}

void JobRunner::runStoreTask(const StoreTask& task)
{
    switch (task.kind) {
    case StoreTask::Kind::Prepare:
        prepareAndQueue(task, task.jobs, {});
        return;
    case StoreTask::Kind::Resume: {
        std::vector<JobSpec> jobs;
        QStringList problems;
        try {
            const ResultsStore store(task.databasePath, ResultsStore::Mode::ReadOnly);
            for (int64_t id : task.runIds) {
                try {
                    jobs.push_back(jobFromRun(store, id));
                } catch (const std::exception& e) {
                    problems << QString::fromStdString(e.what());
                }
            }
        } catch (const std::exception& e) {
            problems << QString::fromStdString(e.what());
        }
        prepareAndQueue(task, jobs, problems);
        return;
    }
    case StoreTask::Kind::RecordCancelled:
        recordEnd(task.databasePath, task.runIds, JobEnd::Cancelled);
        return;
    }
}

void JobRunner::recordEnd(const std::string& databasePath, const std::vector<int64_t>& runIds,
                          JobEnd end)
{
    QString message;
    try {
        ResultsStore store(databasePath);
        for (int64_t id : runIds)
            end == JobEnd::Interrupted ? store.interruptRun(id) : store.cancelRun(id);
    } catch (const std::exception& e) {
        message = QString::fromStdString(e.what());
    }
    post([this, runIds, end, message] {
        for (int64_t id : runIds)
            emit jobFinished(id, static_cast<int>(end), message);
        if (m_context)
            m_context->notifyStoreChanged();
    });
}

void JobRunner::prepareAndQueue(const StoreTask& task, const std::vector<JobSpec>& jobs,
                                QStringList problems)
{
    std::vector<PreparedJob> prepared;
    if (!jobs.empty()) {
        try {
            ResultsStore store(task.databasePath);
            prepared = prepareJobs(store, jobs);
        } catch (const std::exception& e) {
            problems << QString::fromStdString(e.what());
        }
    }
    std::vector<PreparedJob> toQueue;
    QList<qint64> queuedIds;
    QStringList queuedLabels;
    std::vector<int64_t> dropped; // registered, then cancelled or shut down meanwhile
    JobEnd droppedEnd = JobEnd::Cancelled;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        for (const PreparedJob& p : prepared) {
            const QString label = QString::fromStdString(p.label);
            const bool known =
                p.runId == m_runningId ||
                std::any_of(m_pending.begin(), m_pending.end(),
                            [&](const PendingJob& q) { return q.job.runId == p.runId; }) ||
                queuedIds.contains(p.runId);
            if (p.storedStatus == RunStatus::Done) {
                post([this, id = p.runId, label] { emit jobSkipped(id, label); });
            } else if (known) {
                problems << tr("%1 is already in the queue.").arg(label);
            } else if (p.storedStatus == RunStatus::Running) {
                problems << tr("%1 is running in another process.").arg(label);
            } else {
                toQueue.push_back(p);
                queuedIds << p.runId;
                queuedLabels << label;
            }
        }
        if (!queuedIds.isEmpty())
            // Posted before the run thread can see the jobs, so the GUI hears jobsQueued
            // before their jobStarted.
            post([this, queuedIds, queuedLabels] { emit jobsQueued(queuedIds, queuedLabels); });
        if (m_stopping || task.generation != m_generation) {
            dropped = toStd(queuedIds);
            droppedEnd = m_stopping ? JobEnd::Interrupted : JobEnd::Cancelled;
        } else {
            for (const PreparedJob& p : toQueue)
                m_pending.push_back({p, task.databasePath, task.engineThreads});
        }
    }
    m_runWake.notify_one();
    if (!dropped.empty())
        recordEnd(task.databasePath, dropped, droppedEnd);
    if (!problems.isEmpty())
        post([this, problems] { emit enqueueFailed(problems.join(QLatin1Char('\n'))); });
    if (m_context && !prepared.empty())
        post([this] { m_context->notifyStoreChanged(); });
}

// ---- run thread ----

void JobRunner::runLoop()
{
    for (;;) {
        PendingJob next;
        {
            std::unique_lock<std::mutex> lock(m_mutex);
            m_runWake.wait(lock,
                           [&] { return m_storeStopped || (!m_stopping && !m_pending.empty()); });
            if (m_stopping)
                break;
            next = std::move(m_pending.front());
            m_pending.pop_front();
            m_runningId = next.job.runId;
            m_cancelRunning = false;
        }
        runOne(next);
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_runningId = 0;
        }
        postIdleIfDone();
    }
    // Shutting down: jobs accepted but not started stay resumable.
    std::deque<PendingJob> left;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        left.swap(m_pending);
    }
    for (const PendingJob& p : left)
        recordEnd(p.databasePath, {p.job.runId}, JobEnd::Interrupted);
}

void JobRunner::runOne(const PendingJob& pending)
{
    const int64_t id = pending.job.runId;
    post([this, id] { emit jobStarted(id); });
    QString message;
    const JobEnd end = runEngine(pending, message);
    post([this, id, end, message] {
        emit jobFinished(id, static_cast<int>(end), message);
        if (m_context)
            m_context->notifyStoreChanged();
    });
}

JobEnd JobRunner::runEngine(const PendingJob& pending, QString& message)
{
    const int64_t id = pending.job.runId;
    try {
        ResultsStore store(pending.databasePath);
        setEngineThreads(pending.engineThreads);
        ProgressTracker tracker(static_cast<int>(pending.job.blocks),
                                estimateJobSeconds(store, pending.job.spec));
        const ProgressFn progress = [&](const Progress& p) {
            if (m_cancelRunning || m_shuttingDown)
                return false;
            if (tracker.update(p))
                post([this, id, info = tracker.info()] { emit jobProgress(id, info); });
            return true;
        };
        const JobOutcome outcome =
            executeJob(store, pending.job, progress, [this] { return m_shuttingDown.load(); });
        message =
            QString::fromStdString(outcome.end == JobEnd::Failed ? outcome.error : outcome.summary);
        return outcome.end;
    } catch (const std::exception& e) {
        // The store could not be opened or written: the run keeps its last recorded state.
        message = QString::fromStdString(e.what());
        return JobEnd::Failed;
    }
}

} // namespace ptq
