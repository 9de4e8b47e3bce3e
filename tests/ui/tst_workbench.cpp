// The workbench end to end, offscreen, against a real results database and the bundled
// 0.7M-parameter model: choose the model, strategies and bit widths in the experiment panel,
// queue; progress arrives per block; the runs finish and appear in the results table and the
// Pareto view; the event loop stays responsive while they compute; Cancel stops a run within
// a second and the store records it cancelled; switching language changes the text of every
// panel; closing the window mid-run records the run interrupted.

#include "bundled.h"
#include "engine/threads.h"
#include "experiment_panel.h"
#include "job_runner.h"
#include "layer_inspector.h"
#include "main_window.h"
#include "results_panel.h"
#include "run_queue_panel.h"
#include "settings_dialog.h"
#include "store/results_store.h"
#include "workbench_context.h"

#include <QAbstractButton>
#include <QComboBox>
#include <QElapsedTimer>
#include <QGroupBox>
#include <QHeaderView>
#include <QKeySequenceEdit>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTranslator>
#include <QTreeWidget>
#include <QtTest>

#include <memory>

namespace {

// Every text a user reads in a panel: labels, buttons, group titles, tab titles, column
// headers of tables and trees.
QStringList visibleTexts(QWidget* panel)
{
    QStringList texts;
    for (auto* w : panel->findChildren<QLabel*>())
        texts << w->text();
    for (auto* w : panel->findChildren<QAbstractButton*>())
        texts << w->text();
    for (auto* w : panel->findChildren<QGroupBox*>())
        texts << w->title();
    for (auto* w : panel->findChildren<QTabWidget*>())
        for (int i = 0; i < w->count(); ++i)
            texts << w->tabText(i);
    for (auto* w : panel->findChildren<QHeaderView*>())
        if (w->model())
            for (int i = 0; i < w->count(); ++i)
                texts << w->model()->headerData(i, w->orientation()).toString();
    for (auto* w : panel->findChildren<QTreeWidget*>())
        texts << w->headerItem()->text(0);
    texts.removeAll(QString());
    return texts;
}

// Words, not data: at least one run of three ASCII letters and no path or model name.
bool isEnglishWording(const QString& s)
{
    static const QRegularExpression word(QStringLiteral("[A-Za-z]{3,}"));
    return s.contains(word) && !s.contains(QLatin1Char('/')) && !s.contains(QLatin1String("ptq-"));
}

} // namespace

class TestWorkbench : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void runsFromExperimentToResults();
    void cancelStopsTheRunWithinOneSecond();
    void languageSwitchChangesEveryPanel();
    void settingsPersistAndApply();
    void closingMidRunRecordsInterrupted();

private:
    void chooseSmallExperiment(const QString& strategy, int wbits, int64_t group, int samples,
                               int seqlen);
    ptq::RunStatus storedStatus(qint64 runId) const;

    QTemporaryDir m_temp;
    QString m_db;
    QString m_model;
    QString m_text;
    std::unique_ptr<ptq::MainWindow> m_window;
};

void TestWorkbench::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QVERIFY(m_temp.isValid());
    m_db = m_temp.filePath("results.db");
    qputenv("PTQ_STORE", m_db.toUtf8());
    m_model = QStringLiteral(PTQ_SOURCE_DIR "/resources/models/ptq-llama-0.7m");
    m_text = QStringLiteral(PTQ_SOURCE_DIR "/resources/data/sample_text.txt");
    QVERIFY(QFileInfo::exists(m_model + "/model.safetensors"));
    QVERIFY(ptq::bundledModelDirs().contains(QDir::cleanPath(m_model)));

    m_window = std::make_unique<ptq::MainWindow>();
    m_window->context()->setEngineThreads(1); // leaves the second core to the GUI thread
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
    QCOMPARE(m_window->context()->databasePath(), m_db);
}

void TestWorkbench::chooseSmallExperiment(const QString& strategy, int wbits, int64_t group,
                                          int samples, int seqlen)
{
    ptq::ExperimentPanel* experiment = m_window->experimentPanel();
    experiment->setModelChecked(m_model, true);
    for (const ptq::StrategyInfo& s : ptq::strategyCatalog())
        experiment->setStrategyChecked(QString::fromStdString(s.name),
                                       QString::fromStdString(s.name) == strategy);
    for (int b : ptq::ExperimentPanel::weightBitChoices())
        for (int64_t g : ptq::ExperimentPanel::groupChoices())
            experiment->setWeightCell(b, g, b == wbits && g == group);
    experiment->setActivationBits({16});
    experiment->setKvBits({16});
    experiment->setCalibration(m_text, samples, seqlen);
    experiment->setEvaluation({m_text}, 4, 128);
    experiment->setTaskFiles({});
}

ptq::RunStatus TestWorkbench::storedStatus(qint64 runId) const
{
    ptq::ResultsStore store(m_db.toStdString(), ptq::ResultsStore::Mode::ReadOnly);
    const auto run = store.run(runId);
    if (!run)
        qFatal("run %lld is not in the store", runId);
    return run->status;
}

void TestWorkbench::runsFromExperimentToResults()
{
    ptq::ExperimentPanel* experiment = m_window->experimentPanel();
    chooseSmallExperiment(QStringLiteral("rtn"), 4, 128, 32, 256);
    experiment->setStrategyChecked(QStringLiteral("gptq"), true);
    experiment->setWeightCell(3, 128, true);
    experiment->updateSummary();
    QCOMPARE(int(experiment->plannedJobs().size()), 4); // 1 model × 2 strategies × 2 bit widths
    auto* summary = experiment->findChild<QLabel*>("runSummaryLabel");
    QVERIFY2(summary->text().startsWith("4 runs "), qPrintable(summary->text()));

    ptq::JobRunner* runner = m_window->jobRunner();
    QSignalSpy queued(runner, &ptq::JobRunner::jobsQueued);
    QSignalSpy progress(runner, &ptq::JobRunner::jobProgress);
    QSignalSpy finished(runner, &ptq::JobRunner::jobFinished);

    // The event loop must keep up while the runs compute: a 10 ms timer never waits 50 ms.
    QElapsedTimer clock;
    qint64 last = -1, worstGapMs = 0;
    QTimer ticker;
    ticker.setInterval(10);
    connect(&ticker, &QTimer::timeout, this, [&] {
        const qint64 now = clock.elapsed();
        if (last >= 0)
            worstGapMs = std::max(worstGapMs, now - last);
        last = now;
    });

    auto* queueButton = experiment->findChild<QPushButton*>("queueRunsButton");
    QVERIFY(queueButton->isEnabled());
    clock.start();
    ticker.start();
    QTest::mouseClick(queueButton, Qt::LeftButton);
    QCOMPARE(m_window->tabs()->currentWidget(), m_window->runQueuePanel());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 4, 240000);
    ticker.stop();
    qInfo("worst event-loop gap while 4 runs computed: %lld ms", worstGapMs);
    QVERIFY2(worstGapMs < 50, qPrintable(QString::number(worstGapMs)));

    QCOMPARE(queued.count(), 1);
    const QList<qint64> ids = queued.first().at(0).value<QList<qint64>>();
    QCOMPARE(ids.size(), 4);
    for (const auto& f : finished)
        QCOMPARE(f.at(1).toInt(), int(ptq::JobEnd::Done));
    // Progress names the blocks of the 2-block model.
    bool sawBlock2 = false;
    for (const auto& p : progress) {
        const auto info = p.at(1).value<ptq::JobProgressInfo>();
        sawBlock2 = sawBlock2 || (info.blocks == 2 && info.block == 2);
    }
    QVERIFY(sawBlock2);
    for (qint64 id : ids) {
        QCOMPARE(storedStatus(id), ptq::RunStatus::Done);
        QCOMPARE(m_window->runQueuePanel()->rowStatus(id), ptq::RunQueuePanel::RowStatus::Done);
        QCOMPARE(m_window->runQueuePanel()->progressBar(id)->value(),
                 m_window->runQueuePanel()->progressBar(id)->maximum());
    }

    // The results panel re-read the store: four rows, four points, a front among them.
    ptq::ResultsPanel* results = m_window->resultsPanel();
    QTRY_COMPARE(results->tableView()->model()->rowCount(), 4);
    const auto fronts = results->paretoFrontRunIds();
    QCOMPARE(int(fronts.size()), 1);
    QVERIFY(!fronts.front().empty());
    for (int64_t id : fronts.front())
        QVERIFY(ids.contains(id));

    // Selecting a run in the table selects it for every view, the layer inspector included.
    m_window->context()->selectRun(ids.last());
    QTRY_VERIFY(!m_window->layerInspector()->shownRunIds().empty());
}

void TestWorkbench::cancelStopsTheRunWithinOneSecond()
{
    // GPTQ at W2 on more calibration data: long enough to be cancelled mid-way.
    chooseSmallExperiment(QStringLiteral("gptq"), 2, 64, 64, 256);
    ptq::JobRunner* runner = m_window->jobRunner();
    QSignalSpy queued(runner, &ptq::JobRunner::jobsQueued);
    QSignalSpy progress(runner, &ptq::JobRunner::jobProgress);
    QSignalSpy finished(runner, &ptq::JobRunner::jobFinished);
    m_window->experimentPanel()->queueRuns();
    QTRY_COMPARE_WITH_TIMEOUT(queued.count(), 1, 30000);
    const qint64 id = queued.first().at(0).value<QList<qint64>>().first();
    QTRY_VERIFY_WITH_TIMEOUT(progress.count() > 0, 30000);
    QVERIFY(finished.isEmpty());

    QPushButton* cancel = m_window->runQueuePanel()->cancelButton(id);
    QVERIFY(cancel && cancel->isEnabled());
    QElapsedTimer sinceClick;
    sinceClick.start();
    QTest::mouseClick(cancel, Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 5000);
    const qint64 ms = sinceClick.elapsed();
    qInfo("cancel took effect after %lld ms", ms);
    QVERIFY2(ms < 1000, qPrintable(QString::number(ms)));
    QCOMPARE(finished.first().at(1).toInt(), int(ptq::JobEnd::Cancelled));
    QCOMPARE(storedStatus(id), ptq::RunStatus::Cancelled);
    QCOMPARE(m_window->runQueuePanel()->rowStatus(id), ptq::RunQueuePanel::RowStatus::Cancelled);
}

void TestWorkbench::languageSwitchChangesEveryPanel()
{
    QTabWidget* tabs = m_window->tabs();
    QList<QStringList> english;
    QStringList englishTabs;
    for (int i = 0; i < tabs->count(); ++i) {
        english << visibleTexts(tabs->widget(i));
        englishTabs << tabs->tabText(i);
    }
    const QString englishTitle = m_window->windowTitle();

    for (const char* code : {"ja", "zh_CN"}) {
        QTranslator translator;
        QVERIFY(translator.load(QStringLiteral(":/i18n/ptq_workbench_%1.qm").arg(code)));
        QVERIFY(QCoreApplication::installTranslator(&translator));
        QCoreApplication::processEvents();
        for (int i = 0; i < tabs->count(); ++i) {
            const QStringList now = visibleTexts(tabs->widget(i));
            QStringList untranslated;
            int wording = 0;
            for (const QString& s : english[i]) {
                if (!isEnglishWording(s))
                    continue;
                ++wording;
                if (now.contains(s))
                    untranslated << s;
            }
            const QString where = QStringLiteral("%1 panel %2: still English: %3")
                                      .arg(code, tabs->tabText(i), untranslated.join(" | "));
            QVERIFY2(wording >= 3, qPrintable(where));
            QVERIFY2(untranslated.isEmpty(), qPrintable(where));
            QVERIFY2(tabs->tabText(i) != englishTabs[i], qPrintable(where));
        }
        QVERIFY(m_window->windowTitle() != englishTitle);
        QVERIFY(QCoreApplication::removeTranslator(&translator));
        QCoreApplication::processEvents();
    }
    for (int i = 0; i < tabs->count(); ++i)
        QCOMPARE(visibleTexts(tabs->widget(i)).size(), english[i].size());
    QCOMPARE(m_window->windowTitle(), englishTitle);
}

void TestWorkbench::settingsPersistAndApply()
{
    const QList<QAction*> actions = m_window->configurableActions();
    QAction* queue = nullptr;
    for (QAction* a : actions)
        if (a->objectName() == QLatin1String("queueRunsAction"))
            queue = a;
    QVERIFY(queue);
    QCOMPARE(queue->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_R));

    const QString other = m_temp.filePath("other.db");
    {
        ptq::SettingsDialog dialog(actions);
        QCOMPARE(dialog.shortcutTable()->rowCount(), int(actions.size()));
        dialog.threadsBox()->setValue(3);
        dialog.databaseEdit()->setText(other);
        auto* edit = dialog.shortcutTable()->findChild<QKeySequenceEdit*>("queueRunsAction");
        QVERIFY(edit);
        edit->setKeySequence(QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_R));
        QSignalSpy applied(&dialog, &ptq::SettingsDialog::applied);
        dialog.accept();
        QCOMPARE(applied.count(), 1);
    }
    // Saved, applied to the action, and shown again by a new dialog.
    const ptq::WorkbenchSettings saved = ptq::WorkbenchSettings::load();
    QCOMPARE(saved.threads, 3);
    QCOMPARE(saved.effectiveDatabase(), other);
    QCOMPARE(queue->shortcut(), QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_R));
    ptq::SettingsDialog again(actions);
    QCOMPARE(again.threadsBox()->value(), 3);
    QCOMPARE(again.databaseEdit()->text(), other);

    // An emptied database setting falls back to the engine default ($PTQ_STORE here).
    QSettings().remove(QStringLiteral("database"));
    QCOMPARE(ptq::WorkbenchSettings::load().effectiveDatabase(), m_db);
    QSettings().remove(QStringLiteral("shortcuts/queueRunsAction"));
    ptq::applySavedShortcuts(actions);
    QCOMPARE(queue->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_R));

    // The about box names the versions of what the engine was built with.
    const QString about = ptq::versionReport();
    QVERIFY2(about.contains(QString::fromLatin1(ptq::torchVersion())), qPrintable(about));
    QVERIFY2(about.contains("SQLite") && about.contains(QString::fromLatin1(qVersion())),
             qPrintable(about));
}

void TestWorkbench::closingMidRunRecordsInterrupted()
{
    chooseSmallExperiment(QStringLiteral("gptq"), 3, 64, 64, 256);
    ptq::JobRunner* runner = m_window->jobRunner();
    QSignalSpy queued(runner, &ptq::JobRunner::jobsQueued);
    QSignalSpy progress(runner, &ptq::JobRunner::jobProgress);
    m_window->experimentPanel()->queueRuns();
    QTRY_COMPARE_WITH_TIMEOUT(queued.count(), 1, 30000);
    const qint64 id = queued.first().at(0).value<QList<qint64>>().first();
    QTRY_VERIFY_WITH_TIMEOUT(progress.count() > 0, 30000);

    QVERIFY(m_window->close());
    m_window.reset();
    QCOMPARE(storedStatus(id), ptq::RunStatus::Interrupted);
}

QTEST_MAIN(TestWorkbench)
#include "tst_workbench.moc"
