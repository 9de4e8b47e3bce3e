#pragma once
// The bridge between the GUI and the engine (engine/job.h). Two threads, each owning its own
// ResultsStore connection:
//   - the store thread prepares queued batches (prepareJobs hashes the checkpoint, which
//     takes seconds on a 7B model), rebuilds stored runs to resume them, and records pending
//     jobs the user cancelled, so the queue fills while a job computes;
//   - the run thread runs the prepared jobs one at a time, in the order they were queued.
// Every signal is emitted on the GUI thread. The GUI thread never waits for either thread
// except in shutdown() (and so the destructor), which records the running job 'interrupted'
// (resumable) and joins them.
//
// Progress arrives from the engine after every linear layer; the run thread forwards at most
// ~10 updates a second, plus every change of stage or block.

#include "engine/job.h"
#include "workbench_context.h"

#include <QList>
#include <QMetaType>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QStringList>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace ptq {

struct JobProgressInfo {
    QString stage;  // the engine's stage: load, quantize, perplexity, kl, zero-shot
    QString detail; // the engine's detail, e.g. "block 2/32" or "3.mlp.down_proj"
    int block = 0;  // quantized blocks done (1-based once the first is done)
    int blocks = 0;
    double fraction = 0; // of the whole job, 0..1, never decreasing
    double elapsedSeconds = 0;
    double etaSeconds = -1; // seconds left; -1 while unknown
};

class JobRunner : public QObject {
    Q_OBJECT
public:
    explicit JobRunner(WorkbenchContext* context, QObject* parent = nullptr);
    ~JobRunner() override; // shutdown()

    // Queues jobs (validated and registered on the store thread; jobsQueued or enqueueFailed
    // follows). Jobs already done in the store are reported by jobSkipped and not run.
    void enqueue(const std::vector<JobSpec>& jobs);
    // Rebuilds stored runs (jobFromRun, on the store thread) and queues them; runs that
    // cannot be rebuilt are listed in one enqueueFailed, the others are queued.
    void enqueueStoredRuns(const QList<qint64>& runIds);
    // The running job stops at its next progress call and is recorded 'cancelled'; a pending
    // one is removed and recorded 'cancelled'. jobFinished(Cancelled) follows either way.
    void cancel(qint64 runId);
    void cancelAll();
    // Records the running job 'interrupted' and the pending ones too (both resumable), drops
    // batches not prepared yet and waits for both threads. Idempotent.
    void shutdown();

    bool isBusy() const;      // a job running, pending or being prepared
    int pendingCount() const; // jobs queued or being prepared, not running

signals:
    void jobsQueued(QList<qint64> runIds, QStringList labels);
    void jobSkipped(qint64 runId, QString label); // already done in the store
    void enqueueFailed(QString message);
    void jobStarted(qint64 runId);
    void jobProgress(qint64 runId, ptq::JobProgressInfo info);
    // end: ptq::JobEnd as int; message: the error (Failed) or the headline numbers (Done).
    void jobFinished(qint64 runId, int end, QString message);
    void idle(); // nothing running, pending or being prepared

private:
    struct StoreTask {
        enum class Kind { Prepare, Resume, RecordCancelled } kind = Kind::Prepare;
        std::vector<JobSpec> jobs;   // Prepare
        std::vector<int64_t> runIds; // Resume, RecordCancelled
        int64_t jobCount = 0;        // jobs this task will queue (pendingCount)
        uint64_t generation = 0;     // cancelAll() count when queued
        std::string databasePath;
        int engineThreads = 0;
    };
    struct PendingJob {
        PreparedJob job;
        std::string databasePath;
        int engineThreads = 0;
    };

    void storeLoop();
    void runLoop();
    void runStoreTask(const StoreTask& task);
    void prepareAndQueue(const StoreTask& task, const std::vector<JobSpec>& jobs,
                         QStringList problems);
    void recordEnd(const std::string& databasePath, const std::vector<int64_t>& runIds, JobEnd end);
    void runOne(const PendingJob& pending);
    JobEnd runEngine(const PendingJob& pending, QString& message);
    bool pushStoreTask(StoreTask task);
    void postIdleIfDone();
    template <class F> void post(F&& f);

    QPointer<WorkbenchContext> m_context;

    mutable std::mutex m_mutex;
    std::condition_variable m_storeWake;
    std::condition_variable m_runWake;
    std::deque<StoreTask> m_storeTasks;
    std::deque<PendingJob> m_pending;
    int64_t m_preparing = 0; // jobs of the store task in progress
    int64_t m_runningId = 0;
    uint64_t m_generation = 0;
    bool m_stopping = false;     // shutdown() began: no new work starts
    bool m_storeStopped = false; // the store thread has ended: the run thread may end too
    std::atomic<bool> m_cancelRunning{false};
    std::atomic<bool> m_shuttingDown{false};
    std::thread m_storeThread;
    std::thread m_runThread;
};

} // namespace ptq

Q_DECLARE_METATYPE(ptq::JobProgressInfo)
