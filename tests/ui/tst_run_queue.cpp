// The job runner and the run-queue panel against a real SQLite file and the bundled
// 0.7M-parameter Llama: jobs run in order to 'done' with per-block progress, a running job
// is cancelled from its row's button within a second, the GUI thread keeps serving its event
// loop while jobs compute, shutdown leaves the running job 'interrupted' and a new session
// resumes it, and a job whose calibration file vanished fails with the file named while the
// next job still runs.

#include "job_runner.h"
#include "run_queue_panel.h"
#include "store/results_store.h"
#include "workbench_context.h"

#include <QElapsedTimer>
#include <QFile>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QTemporaryDir>
#include <QTimer>
#include <QTreeWidget>
#include <QtTest>

#include <memory>

using namespace ptq;

namespace {

const QString kModelDir = QStringLiteral(PTQ_SOURCE_DIR "/resources/models/ptq-llama-0.7m");
const QString kSampleText = QStringLiteral(PTQ_SOURCE_DIR "/resources/data/sample_text.txt");

// What a runner reported, in arrival order.
struct Recorder {
    QList<qint64> started;
    QMap<qint64, int> ends;
    QMap<qint64, QString> messages;
    QMap<qint64, QElapsedTimer> finishedAt;
    QMap<qint64, QList<JobProgressInfo>> progress;
    QStringList enqueueErrors;
    QList<qint64> queued;

    explicit Recorder(JobRunner* runner)
    {
        QObject::connect(runner, &JobRunner::jobsQueued, runner,
                         [this](const QList<qint64>& ids, const QStringList&) { queued << ids; });
        QObject::connect(runner, &JobRunner::jobStarted, runner,
                         [this](qint64 id) { started << id; });
        QObject::connect(runner, &JobRunner::jobProgress, runner,
                         [this](qint64 id, const JobProgressInfo& info) { progress[id] << info; });
        QObject::connect(runner, &JobRunner::jobFinished, runner,
                         [this](qint64 id, int end, const QString& message) {
                             ends[id] = end;
                             messages[id] = message;
                             finishedAt[id].start();
                         });
        QObject::connect(runner, &JobRunner::enqueueFailed, runner,
                         [this](const QString& m) { enqueueErrors << m; });
    }
};

// Gaps between consecutive firings of a 10 ms timer on the GUI thread.
class LatencyProbe {
public:
    LatencyProbe()
    {
        QObject::connect(&m_timer, &QTimer::timeout, [this] {
            if (m_clock.isValid())
                m_maxGapMs = std::max(m_maxGapMs, m_clock.nsecsElapsed() / 1e6);
            m_clock.start();
        });
        m_timer.setTimerType(Qt::PreciseTimer);
        m_timer.start(10);
    }
    double maxGapMs() const { return m_maxGapMs; }

private:
    QTimer m_timer;
    QElapsedTimer m_clock;
    double m_maxGapMs = 0;
};

} // namespace

class TestRunQueue : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::unique_ptr<WorkbenchContext> m_context;
    double m_maxGapMs = 0;

    QString file(const QString& name) const { return m_dir.filePath(name); }

    // A distinct text per name: the store keys datasets by content.
    void writeText(const QString& name)
    {
        QFile in(kSampleText);
        QVERIFY(in.open(QIODevice::ReadOnly));
        QFile out(file(name));
        QVERIFY(out.open(QIODevice::WriteOnly));
        out.write(in.readAll() + "\n" + name.toUtf8() + "\n");
    }

    // ~0.1 s of work: 4 x 64 calibration tokens, 2 windows of 64.
    JobSpec smallJob(const QString& recipe, uint64_t seed) const
    {
        JobSpec j;
        j.modelDir = kModelDir.toStdString();
        j.recipe = recipe.toStdString();
        j.groupSize = 32;
        j.calibPath = file(QStringLiteral("calib.txt")).toStdString();
        j.calibSamples = 4;
        j.calibSeqlen = 64;
        j.evalTexts = {file(QStringLiteral("eval.txt")).toStdString()};
        j.evalSeqlen = 64;
        j.evalWindows = 2;
        j.seed = seed;
        return j;
    }

    // Slow enough to be caught running (seconds): GPTQ on 96 x 128 calibration tokens.
    JobSpec slowJob(uint64_t seed) const
    {
        JobSpec j = smallJob(QStringLiteral("gptq"), seed);
        j.calibSamples = 96;
        j.calibSeqlen = 128;
        return j;
    }

    RunStatus storedStatus(qint64 runId) const
    {
        const ResultsStore store(m_context->databasePath().toStdString(),
                                 ResultsStore::Mode::ReadOnly);
        const auto r = store.run(runId);
        return r ? r->status : RunStatus::Queued;
    }

    void noteLatency(const LatencyProbe& probe)
    {
        m_maxGapMs = std::max(m_maxGapMs, probe.maxGapMs());
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        writeText(QStringLiteral("calib.txt"));
        writeText(QStringLiteral("eval.txt"));
        m_context = std::make_unique<WorkbenchContext>();
        m_context->setDatabasePath(file(QStringLiteral("results.db")));
        // One engine thread: the cancel and latency bounds below must not depend on how many
        // cores the machine lends to OpenBLAS's spinning worker threads.
        m_context->setEngineThreads(1);
    }

    void cleanupTestCase()
    {
        qInfo("largest gap between 10 ms timer firings while jobs ran: %.1f ms", m_maxGapMs);
        // A frame at 20 fps; the engine threads share 2 cores with the GUI thread here.
        QVERIFY2(m_maxGapMs < 50, qPrintable(QString::number(m_maxGapMs)));
    }

    void jobsRunInOrderToDone()
    {
        JobRunner runner(m_context.get());
        RunQueuePanel panel(&runner, m_context.get());
        Recorder rec(&runner);
        QSignalSpy idle(&runner, &JobRunner::idle);
        QSignalSpy storeChanged(m_context.get(), &WorkbenchContext::storeChanged);
        LatencyProbe probe;

        runner.enqueue({smallJob(QStringLiteral("rtn"), 0), smallJob(QStringLiteral("gptq"), 0)});
        QCOMPARE(runner.pendingCount(), 2);
        QVERIFY(runner.isBusy());
        QTRY_COMPARE_WITH_TIMEOUT(rec.ends.size(), 2, 30000);
        noteLatency(probe);
        QTRY_VERIFY(idle.count() > 0);
        QVERIFY(!runner.isBusy());
        QCOMPARE(rec.queued.size(), 2);
        QCOMPARE(rec.started, rec.queued); // FIFO
        QVERIFY(storeChanged.count() >= 2);
        for (qint64 id : rec.queued) {
            QCOMPARE(rec.ends[id], int(JobEnd::Done));
            QVERIFY2(rec.messages[id].contains(QStringLiteral("ppl")),
                     qPrintable(rec.messages[id]));
            QCOMPARE(storedStatus(id), RunStatus::Done);
            // Every block of the 2-block model reported, in order, with a fraction that
            // never goes back.
            QList<int> blocks;
            double last = 0;
            for (const JobProgressInfo& p : rec.progress[id]) {
                if (p.block > 0 && (blocks.isEmpty() || blocks.last() != p.block))
                    blocks << p.block;
                QCOMPARE(p.blocks, 2);
                QVERIFY(p.fraction >= last && p.fraction <= 1.0);
                last = p.fraction;
            }
            QCOMPARE(blocks, QList<int>({1, 2}));
            QVERIFY(last > 0.5);
            QCOMPARE(panel.rowStatus(id), RunQueuePanel::RowStatus::Done);
            QCOMPARE(panel.progressBar(id)->value(), panel.progressBar(id)->maximum());
            QVERIFY(!panel.cancelButton(id)->isEnabled());
        }
        QCOMPARE(panel.runIds(), rec.queued);
        const ResultsStore store(m_context->databasePath().toStdString(),
                                 ResultsStore::Mode::ReadOnly);
        QVERIFY(!store.run(rec.queued[0]).value().metrics.empty());

        // Clicking a finished row selects its run everywhere.
        panel.findChild<QTreeWidget*>(QStringLiteral("jobTable"))
            ->itemClicked(panel.rowItem(rec.queued[1]), 0);
        QCOMPARE(m_context->selectedRun(), rec.queued[1]);

        // The same job again is already done: reported skipped, not run.
        QSignalSpy skipped(&runner, &JobRunner::jobSkipped);
        runner.enqueue({smallJob(QStringLiteral("rtn"), 0)});
        QTRY_COMPARE(skipped.count(), 1);
        QCOMPARE(skipped.at(0).at(0).toLongLong(), rec.queued[0]);
        QCOMPARE(rec.started.size(), 2);
    }

    void cancelFromTheRowAndAFailingJobDoesNotStopTheQueue()
    {
        writeText(QStringLiteral("calib-vanishing.txt"));
        JobRunner runner(m_context.get());
        RunQueuePanel panel(&runner, m_context.get());
        Recorder rec(&runner);
        LatencyProbe probe;

        runner.enqueue({slowJob(1)});
        JobSpec vanishing = smallJob(QStringLiteral("rtn"), 2);
        vanishing.calibPath = file(QStringLiteral("calib-vanishing.txt")).toStdString();
        runner.enqueue({vanishing, smallJob(QStringLiteral("rtn"), 3)});
        runner.enqueue({smallJob(QStringLiteral("rtn"), 9)});
        QTRY_COMPARE_WITH_TIMEOUT(rec.queued.size(), 4, 20000);
        const qint64 slow = rec.queued[0], failing = rec.queued[1], last = rec.queued[2];
        QVERIFY(QFile::remove(file(QStringLiteral("calib-vanishing.txt"))));

        // A pending job cancelled from its row: recorded at once, never started.
        const qint64 pending = rec.queued[3];
        panel.cancelButton(pending)->click();
        QTRY_VERIFY_WITH_TIMEOUT(rec.ends.contains(pending), 1000);
        QCOMPARE(rec.ends[pending], int(JobEnd::Cancelled));
        QCOMPARE(storedStatus(pending), RunStatus::Cancelled);

        QTRY_VERIFY_WITH_TIMEOUT(!rec.progress[slow].isEmpty(), 20000);
        QVERIFY(!rec.ends.contains(slow));
        QPushButton* cancel = panel.cancelButton(slow);
        QVERIFY(cancel && cancel->isEnabled());
        QCOMPARE(cancel->objectName(), QStringLiteral("cancelButton"));
        QElapsedTimer clicked;
        clicked.start();
        QTest::mouseClick(cancel, Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(rec.ends.contains(slow), 1000);
        const qint64 cancelMs = clicked.elapsed();
        qInfo("cancel took %lld ms from the click to jobFinished", cancelMs);
        QVERIFY(cancelMs < 1000);
        QCOMPARE(rec.ends[slow], int(JobEnd::Cancelled));
        QCOMPARE(storedStatus(slow), RunStatus::Cancelled);
        QCOMPARE(panel.rowStatus(slow), RunQueuePanel::RowStatus::Cancelled);

        QTRY_COMPARE_WITH_TIMEOUT(rec.ends.size(), 4, 30000);
        noteLatency(probe);
        QVERIFY(!rec.started.contains(pending));
        QCOMPARE(rec.ends[failing], int(JobEnd::Failed));
        QVERIFY2(rec.messages[failing].contains(QStringLiteral("calib-vanishing.txt")),
                 qPrintable(rec.messages[failing]));
        QCOMPARE(storedStatus(failing), RunStatus::Failed);
        QCOMPARE(rec.ends[last], int(JobEnd::Done));
        QCOMPARE(storedStatus(last), RunStatus::Done);

        // The panel shows the error: in the row's tooltip and, selected, under the table.
        QCOMPARE(panel.rowStatus(failing), RunQueuePanel::RowStatus::Failed);
        QVERIFY(panel.rowItem(failing)
                    ->toolTip(RunQueuePanel::StatusColumn)
                    .contains(QStringLiteral("calib-vanishing.txt")));
        panel.findChild<QTreeWidget*>(QStringLiteral("jobTable"))
            ->setCurrentItem(panel.rowItem(failing));
        QVERIFY(panel.findChild<QLabel*>(QStringLiteral("detailsLabel"))
                    ->text()
                    .contains(QStringLiteral("calib-vanishing.txt")));
    }

    void shutdownInterruptsAndANewSessionResumes()
    {
        qint64 id = 0;
        {
            JobRunner runner(m_context.get());
            Recorder rec(&runner);
            runner.enqueue({slowJob(4)});
            QTRY_VERIFY_WITH_TIMEOUT(
                !rec.queued.isEmpty() && !rec.progress[rec.queued[0]].isEmpty(), 20000);
            id = rec.queued[0];
            QElapsedTimer t;
            t.start();
            runner.shutdown();
            qInfo("shutdown took %lld ms", t.elapsed());
        }
        QCOMPARE(storedStatus(id), RunStatus::Interrupted);

        JobRunner runner(m_context.get());
        RunQueuePanel panel(&runner, m_context.get());
        Recorder rec(&runner);
        // The store also holds the run cancelled by the previous test: both are resumed.
        LatencyProbe probe;
        panel.findChild<QPushButton*>(QStringLiteral("resumeButton"))->click();
        QTRY_VERIFY_WITH_TIMEOUT(rec.ends.contains(id), 60000);
        noteLatency(probe);
        QCOMPARE(rec.ends[id], int(JobEnd::Done));
        QCOMPARE(storedStatus(id), RunStatus::Done);
        QCOMPARE(panel.rowStatus(id), RunQueuePanel::RowStatus::Done);
        QVERIFY(rec.enqueueErrors.isEmpty());
        runner.cancelAll(); // the other resumed run is not needed here
        QTRY_VERIFY_WITH_TIMEOUT(!runner.isBusy(), 10000);
    }

    void resumeReportsRunsThatCannotBeRebuilt()
    {
        // The failed job's calibration file is gone; as a cancelled run it cannot be resumed.
        JobRunner runner(m_context.get());
        RunQueuePanel panel(&runner, m_context.get());
        Recorder rec(&runner);
        const ResultsStore store(m_context->databasePath().toStdString(),
                                 ResultsStore::Mode::ReadOnly);
        RunFilter failed;
        failed.status = RunStatus::Failed;
        const auto runs = store.listRuns(failed);
        QCOMPARE(runs.size(), size_t(1));
        runner.enqueueStoredRuns({runs[0].id});
        QTRY_COMPARE(rec.enqueueErrors.size(), 1);
        QVERIFY2(rec.enqueueErrors[0].contains(QStringLiteral("calib-vanishing.txt")),
                 qPrintable(rec.enqueueErrors[0]));
        QVERIFY(rec.queued.isEmpty());
        QVERIFY(!runner.isBusy());
        // Shown by the panel too.
        const auto* message = panel.findChild<QLabel*>(QStringLiteral("messageLabel"));
        QVERIFY(message->text().contains(QStringLiteral("calib-vanishing.txt")));
    }
};

QTEST_MAIN(TestRunQueue)
#include "tst_run_queue.moc"
