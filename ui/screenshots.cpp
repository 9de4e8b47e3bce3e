#include "screenshots.h"

#include "bundled.h"
#include "experiment_panel.h"
#include "job_runner.h"
#include "layer_inspector.h"
#include "main_window.h"
#include "model_panel.h"
#include "results_panel.h"
#include "store/results_store.h"
#include "workbench_context.h"

#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QPixmap>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QThread>
#include <exception>

namespace ptq {

namespace {

// Lets queued signals, timers and repaints run for `ms` milliseconds.
void settle(int ms)
{
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < ms) {
        QApplication::processEvents(QEventLoop::AllEvents, 20);
        QThread::msleep(5);
    }
}

bool waitFor(const std::function<bool()>& done, int timeoutMs)
{
    QElapsedTimer t;
    t.start();
    while (!done()) {
        if (t.elapsed() > timeoutMs)
            return false;
        settle(50);
    }
    return true;
}

// The most recent finished run with layer rows: the one the views show selected.
qint64 lastDoneRun(const QString& database)
{
    const ResultsStore store(database.toStdString(), ResultsStore::Mode::ReadOnly);
    RunFilter filter;
    filter.status = RunStatus::Done;
    filter.withMetrics = false;
    const auto runs = store.listRuns(filter);
    for (auto it = runs.rbegin(); it != runs.rend(); ++it)
        if (!store.layerErrors(it->id).empty())
            return it->id;
    return 0;
}

} // namespace

QStringList takeScreenshots(const QString& outDir, const QString& database, QString* error)
{
    QTemporaryDir work;
    const QString copy = work.filePath(QStringLiteral("results.db"));
    if (!database.isEmpty() && !QFile::copy(database, copy)) {
        *error = QStringLiteral("cannot copy %1").arg(database);
        return {};
    }
    const QStringList models = bundledModelDirs();
    const QString text = bundledFile(QStringLiteral("data/sample_text.txt"));
    if (models.isEmpty() || text.isEmpty() || !QDir().mkpath(outDir)) {
        *error =
            QStringLiteral("no bundled model or sample text, or %1 cannot be created").arg(outDir);
        return {};
    }

    MainWindow window;
    window.openDatabase(copy);
    window.resize(1280, 800);
    window.show();
    window.modelPanel()->openFolder(models.back());
    settle(1500);

    QStringList written;
    auto grab = [&](const QString& name) {
        settle(400);
        const QString path = outDir + QLatin1Char('/') + name + QStringLiteral(".png");
        if (window.grab().save(path))
            written << path;
    };
    QTabWidget* tabs = window.tabs();
    tabs->setCurrentWidget(window.modelPanel());
    grab(QStringLiteral("models"));

    // The smallest model only, so that the whole batch finishes in seconds.
    ExperimentPanel* experiment = window.experimentPanel();
    for (const QString& m : models)
        experiment->setModelChecked(m, m == models.front());
    for (const char* s : {"rtn", "gptq", "awq", "quarot-gptq"})
        experiment->setStrategyChecked(QLatin1String(s), true);
    for (int b : {2, 3, 4})
        experiment->setWeightCell(b, 128, true);
    experiment->setCalibration(text, 16, 128);
    experiment->setEvaluation({text}, 8, 128);
    experiment->updateSummary();
    tabs->setCurrentWidget(experiment);
    grab(QStringLiteral("experiment"));

    JobRunner* runner = window.jobRunner();
    int finished = 0;
    QObject::connect(runner, &JobRunner::jobFinished, &window, [&] { ++finished; });
    experiment->queueRuns();
    waitFor([&] { return finished >= 5; }, 600000);
    grab(QStringLiteral("run-queue"));
    waitFor([&] { return !runner->isBusy(); }, 600000);

    window.context()->notifyStoreChanged();
    window.context()->selectRun(lastDoneRun(copy));
    ResultsPanel* results = window.resultsPanel();
    tabs->setCurrentWidget(results);
    results->tabs()->setCurrentIndex(ResultsPanel::TableTab);
    grab(QStringLiteral("results-table"));
    results->tabs()->setCurrentIndex(ResultsPanel::ParetoTab);
    grab(QStringLiteral("results-pareto"));
    results->tabs()->setCurrentIndex(ResultsPanel::ModelSizeTab);
    grab(QStringLiteral("results-family"));

    window.context()->selectLayer(QStringLiteral("1.self_attn.o_proj"));
    tabs->setCurrentWidget(window.layerInspector());
    grab(QStringLiteral("layer-inspector"));
    window.close();
    return written;
}

} // namespace ptq
