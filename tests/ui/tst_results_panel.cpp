// The results panel against a real SQLite results store of fake finished runs: the table
// holds every run, sorts numerically and filters; the Pareto view draws exactly
// core/analysis's fronts (overall and per strategy); selecting a row or clicking a marker
// selects the run in the context and in every other view; log axes, figure/table/data
// exports; a missing or corrupt database is named in the inline error.

#include "analysis/pareto.h"
#include "export_dialog.h"
#include "results_panel.h"
#include "store/results_store.h"
#include "workbench_context.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QImage>
#include <QLabel>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QSvgRenderer>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QToolTip>
#include <QtTest>

#include <cmath>

namespace {

const char* const kRecipes[] = {"rtn", "gptq", "awq", "quarot-gptq"};
const double kRecipeFactor[] = {1.3, 1.0, 1.05, 0.95};
const std::string kWiki(64, 'e');
const std::string kTask(64, 'f');

// Two models x four recipes x W2/W3/W4, all done, plus one failed and one queued run.
// Perplexities span 7.6 .. 190, so a lexical sort ("100" < "9") would be visibly wrong.
void fillStore(const std::string& path)
{
    ptq::ResultsStore store(path);
    const int64_t params[] = {700000, 11000000};
    for (int m = 0; m < 2; ++m) {
        ptq::ModelRecord model;
        model.fingerprint = std::string(64, char('a' + m));
        model.name = m == 0 ? "tiny" : "small";
        model.path = "/models/" + model.name;
        model.architecture = "llama";
        model.parameters = params[m];
        store.upsertModel(model);
    }
    for (int m = 0; m < 2; ++m)
        for (int r = 0; r < 4; ++r)
            for (int bits = 2; bits <= 4; ++bits) {
                ptq::RunSpec spec;
                spec.modelFingerprint = std::string(64, char('a' + m));
                spec.recipeName = kRecipes[r];
                spec.recipeJson = "{\"r\":" + std::to_string(r) + "}";
                spec.wbits = bits;
                spec.groupSize = 128;
                const int64_t id = store.addRun(spec);
                store.markRunning(id);
                ptq::RunResults res;
                const double bitsFactor = bits == 2 ? 12.0 : bits == 3 ? 1.6 : 1.1;
                const double ppl = (m == 0 ? 12.0 : 8.0) * bitsFactor * kRecipeFactor[r];
                res.packedBytes = uint64_t(params[m] * (bits + 0.25 * (r % 2)) / 8.0);
                res.fp16Bytes = uint64_t(params[m] * 2);
                res.bitsPerWeight = bits + 0.25 * (r % 2);
                res.quantizeSeconds = 1.0 + r;
                res.evalSeconds = 2.0;
                res.metrics.push_back({"perplexity", kWiki, ppl});
                res.metrics.push_back({"kl_mean", kWiki, 0.01 * ppl});
                res.metrics.push_back({"acc", kTask, 0.9 - 0.002 * ppl});
                store.completeRun(id, res);
            }
    ptq::RunSpec failed;
    failed.modelFingerprint = std::string(64, 'a');
    failed.recipeName = "omniquant";
    failed.recipeJson = "{\"failed\":1}";
    failed.wbits = 2;
    const int64_t f = store.addRun(failed);
    store.markRunning(f);
    store.failRun(f, "diverged");
    failed.recipeJson = "{\"queued\":1}";
    store.addRun(failed);
}

std::vector<ptq::RunRecord> doneRuns(const std::string& db)
{
    const ptq::ResultsStore store(db, ptq::ResultsStore::Mode::ReadOnly);
    ptq::RunFilter filter;
    filter.status = ptq::RunStatus::Done;
    return store.listRuns(filter);
}

std::vector<int64_t> frontIds(const ptq::ParetoGroupFront& g)
{
    std::vector<int64_t> ids;
    for (size_t i : g.front)
        ids.push_back(g.points[i].runId);
    return ids;
}

} // namespace

class TestResultsPanel : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::string m_db;

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());

        m_db = m_dir.filePath("runs.db").toStdString();
        fillStore(m_db);
    }

    void tableShowsSortsAndFilters()
    {
        ptq::WorkbenchContext context;
        context.setDatabasePath(QString::fromStdString(m_db));
        ptq::ResultsPanel panel(&context);
        QVERIFY(panel.errorText().isEmpty());
        QCOMPARE(panel.proxyModel()->rowCount(), 26);

        panel.tableView()->sortByColumn(ptq::ResultsModel::Perplexity, Qt::AscendingOrder);
        auto* proxy = panel.proxyModel();
        double previous = -1;
        int numeric = 0;
        for (int row = 0; row < proxy->rowCount(); ++row) {
            const QVariant v =
                proxy->index(row, ptq::ResultsModel::Perplexity).data(ptq::ResultsModel::SortRole);
            if (!v.isValid()) {
                QVERIFY2(row >= 24, "runs without perplexity sort last");
                continue;
            }
            QVERIFY(v.toDouble() >= previous);
            previous = v.toDouble();
            ++numeric;
        }
        QCOMPARE(numeric, 24);
        // 7.6 (small, quarot-gptq W4) first and 187.2 (tiny, rtn W2) last: a lexical sort of
        // the display text would put "187.2" before "7.6".
        QCOMPARE(proxy->index(0, ptq::ResultsModel::Recipe).data().toString(),
                 QStringLiteral("quarot-gptq"));
        QCOMPARE(proxy->index(23, ptq::ResultsModel::Perplexity).data().toString(),
                 QLocale().toString(12.0 * 12.0 * 1.3, 'f', 1));

        auto* filter = panel.findChild<QLineEdit*>("textFilter");
        QVERIFY(filter);
        filter->setText("quarot");
        QCOMPARE(proxy->rowCount(), 6);
        for (int row = 0; row < proxy->rowCount(); ++row)
            QCOMPARE(proxy->index(row, ptq::ResultsModel::Recipe).data().toString(),
                     QStringLiteral("quarot-gptq"));
        filter->clear();
        auto* status = panel.findChild<QComboBox*>("statusFilterCombo");
        status->setCurrentIndex(status->findData("failed"));
        QCOMPARE(proxy->rowCount(), 1);
        QCOMPARE(proxy->index(0, ptq::ResultsModel::Recipe).data().toString(),
                 QStringLiteral("omniquant"));
        status->setCurrentIndex(0);
        auto* model = panel.findChild<QComboBox*>("modelFilterCombo");
        model->setCurrentIndex(model->findData("small"));
        QCOMPARE(proxy->rowCount(), 12);
        QCOMPARE(int(panel.paretoPlot()->plottedRunIds().size()), 12);
    }

    void paretoFrontIsTheAnalysisFront()
    {
        ptq::WorkbenchContext context;
        context.setDatabasePath(QString::fromStdString(m_db));
        ptq::ResultsPanel panel(&context);
        const auto runs = doneRuns(m_db);
        ptq::ParetoQuery query;
        query.metric = "perplexity";

        auto* front = panel.findChild<QComboBox*>("frontCombo");
        auto* axis = panel.findChild<QComboBox*>("sizeAxisCombo");
        for (ptq::SizeAxis x : {ptq::SizeAxis::Bytes, ptq::SizeAxis::BitsPerWeight}) {
            axis->setCurrentIndex(axis->findData(int(x)));
            query.x = x;
            front->setCurrentIndex(front->findData(int(ptq::FrontMode::Overall)));
            const auto all = ptq::paretoFronts(runs, query, ptq::ParetoGrouping::All);
            QCOMPARE(panel.paretoFrontRunIds().size(), size_t(1));
            QCOMPARE(panel.paretoFrontRunIds()[0], frontIds(all.groups[0]));
            QVERIFY(all.groups[0].front.size() >= 2);

            front->setCurrentIndex(front->findData(int(ptq::FrontMode::PerStrategy)));
            const auto per = ptq::paretoFronts(runs, query, ptq::ParetoGrouping::PerRecipe);
            QCOMPARE(per.groups.size(), size_t(4));
            QCOMPARE(panel.paretoFrontRunIds().size(), per.groups.size());
            for (size_t g = 0; g < per.groups.size(); ++g)
                QCOMPARE(panel.paretoFrontRunIds()[g], frontIds(per.groups[g]));
        }
        front->setCurrentIndex(front->findData(int(ptq::FrontMode::None)));
        QVERIFY(panel.paretoFrontRunIds().empty());
        QCOMPARE(int(panel.paretoPlot()->plottedRunIds().size()), 24);

        // Accuracy is maximised: the front must follow that direction too.
        auto* metric = panel.findChild<QComboBox*>("metricCombo");
        metric->setCurrentIndex(metric->findData("acc"));
        front->setCurrentIndex(front->findData(int(ptq::FrontMode::Overall)));
        query.metric = "acc";
        query.x = ptq::SizeAxis::BitsPerWeight;
        QCOMPARE(panel.paretoFrontRunIds()[0], frontIds(ptq::paretoFronts(runs, query).groups[0]));
        QVERIFY(panel.plotMessage().isEmpty());
    }

    void markersFollowTheTaxonomy()
    {
        ptq::WorkbenchContext context;
        context.setDatabasePath(QString::fromStdString(m_db));
        ptq::ResultsPanel panel(&context);
        const QMap<QString, QString> classes{{"rtn", "baseline"},
                                             {"gptq", "compensation"},
                                             {"awq", "salience"},
                                             {"quarot-gptq", "rotation"}};
        panel.setStrategyClassifier([classes](const QString& r) { return classes.value(r); });
        QCustomPlot* plot = panel.paretoPlot();
        QMap<QString, QCPScatterStyle::ScatterShape> shapes;
        for (int g = 0; g < plot->graphCount(); ++g)
            if (plot->graph(g)->lineStyle() == QCPGraph::lsNone &&
                !plot->graph(g)->name().isEmpty())
                shapes[plot->graph(g)->name()] = plot->graph(g)->scatterStyle().shape();
        QCOMPARE(shapes.size(), 12); // 3 bit widths x 4 classes
        QCOMPARE(shapes.value(QString::fromUtf8("W2 · rotation")), QCPScatterStyle::ssDiamond);
        QCOMPARE(shapes.value(QString::fromUtf8("W4 · baseline")), QCPScatterStyle::ssCircle);
        // Colour encodes the bit width (Okabe–Ito): W2 and W4 differ.
        QVERIFY(ptq::runBitsColour(2) != ptq::runBitsColour(4));
    }

    void reloadsWhenTheStoreChanges()
    {
        const QString copy = m_dir.filePath("copy.db");
        QVERIFY(QFile::copy(QString::fromStdString(m_db), copy));
        ptq::WorkbenchContext context;
        context.setDatabasePath(copy);
        ptq::ResultsPanel panel(&context);
        QCOMPARE(panel.proxyModel()->rowCount(), 26);
        {
            ptq::ResultsStore store(copy.toStdString());
            ptq::RunSpec spec;
            spec.modelFingerprint = std::string(64, 'a');
            spec.recipeName = "gptq";
            spec.recipeJson = "{\"new\":1}";
            spec.wbits = 8;
            store.addRun(spec);
        }
        QCOMPARE(panel.proxyModel()->rowCount(), 26); // not before the context says so
        context.notifyStoreChanged();
        QCOMPARE(panel.proxyModel()->rowCount(), 27);
    }

    void curvesGroupByStrategyAndModel()
    {
        ptq::WorkbenchContext context;
        context.setDatabasePath(QString::fromStdString(m_db));
        ptq::ResultsPanel panel(&context);
        QCOMPARE(panel.metricBitsPlot()->lineLabels(),
                 QStringList({"awq", "gptq", "quarot-gptq", "rtn"}));
        panel.findChild<QCheckBox*>("perModelCheck")->setChecked(true);
        QCOMPARE(panel.metricBitsPlot()->lineLabels().size(), 8);
        // Smallest model first, whatever the names sort as.
        const QStringList models = panel.modelSizePlot()->lineLabels();
        QCOMPARE(models.size(), 2);
        QVERIFY(models[0].startsWith("tiny"));
        QVERIFY(models[1].startsWith("small"));
        QCOMPARE(int(panel.modelSizePlot()->plottedRunIds().size()), 24);
    }

    void selectionIsShared()
    {
        ptq::WorkbenchContext context;
        context.setDatabasePath(QString::fromStdString(m_db));
        ptq::ResultsPanel panel(&context);
        panel.resize(1200, 800);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));

        // Row -> context -> plots.
        QTableView* view = panel.tableView();
        view->setCurrentIndex(panel.proxyModel()->index(5, 0));
        const qint64 rowRun = panel.proxyModel()->runIdAt(5);
        QCOMPARE(context.selectedRun(), rowRun);
        QCOMPARE(panel.paretoPlot()->selectedRun(), rowRun);
        QCOMPARE(panel.metricBitsPlot()->selectedRun(), rowRun);

        // Marker click -> context -> table row.
        panel.tabs()->setCurrentIndex(ptq::ResultsPanel::ParetoTab);
        ptq::RunParetoPlot* plot = panel.paretoPlot();
        plot->replot();
        qint64 target = 0;
        QPointF where;
        const std::vector<std::vector<int64_t>> fronts = panel.paretoFrontRunIds();
        for (int64_t id : fronts[0])
            if (id != rowRun && plot->runAt(*plot->pixelOfRun(id)) == id) {
                target = id;
                where = *plot->pixelOfRun(id);
                break;
            }
        QVERIFY(target);
        // The tooltip names the whole configuration and the plotted numbers.
        const QString tip = plot->tooltipOfRun(target);
        QVERIFY2(QRegularExpression("(tiny|small) · [a-z-]+ · W[234] A16 KV16 · g128")
                     .match(tip)
                     .hasMatch(),
                 qPrintable(tip));
        QVERIFY(tip.contains("perplexity") && tip.contains("MB"));
        QTest::mouseMove(plot, where.toPoint());
        QTRY_VERIFY(QToolTip::isVisible());
        QCOMPARE(QToolTip::text(), tip);
        QTest::mouseClick(plot, Qt::LeftButton, {}, where.toPoint());
        QCOMPARE(context.selectedRun(), target);
        QCOMPARE(plot->selectedRun(), target);
        const QModelIndex current = view->selectionModel()->currentIndex();
        QVERIFY(current.isValid());
        QCOMPARE(panel.proxyModel()->runIdAt(current.row()), target);
        QCOMPARE(view->selectionModel()->selectedRows().size(), 1);

        // Another panel selecting through the context.
        context.selectRun(rowRun);
        QCOMPARE(panel.proxyModel()->runIdAt(view->selectionModel()->currentIndex().row()), rowRun);
        QCOMPARE(plot->selectedRun(), rowRun);
    }

    void logAxesToggle()
    {
        ptq::WorkbenchContext context;
        context.setDatabasePath(QString::fromStdString(m_db));
        ptq::ResultsPanel panel(&context);
        auto* logX = panel.findChild<QCheckBox*>("logXCheck");
        auto* logY = panel.findChild<QCheckBox*>("logYCheck");
        QCOMPARE(panel.paretoPlot()->yAxis->scaleType(), QCPAxis::stLinear);
        logY->setChecked(true);
        QCOMPARE(panel.paretoPlot()->yAxis->scaleType(), QCPAxis::stLogarithmic);
        QCOMPARE(panel.paretoPlot()->xAxis->scaleType(), QCPAxis::stLinear);
        QCOMPARE(panel.modelSizePlot()->yAxis->scaleType(), QCPAxis::stLogarithmic);
        logX->setChecked(true);
        QCOMPARE(panel.paretoPlot()->xAxis->scaleType(), QCPAxis::stLogarithmic);
        QVERIFY(panel.paretoPlot()->yAxis->range().lower > 0);
        logX->setChecked(false);
        logY->setChecked(false);
        QCOMPARE(panel.paretoPlot()->xAxis->scaleType(), QCPAxis::stLinear);
        QCOMPARE(panel.paretoPlot()->yAxis->scaleType(), QCPAxis::stLinear);
        // The integer-bits ticker of the curves survives a log round trip.
        QVERIFY(panel.metricBitsPlot()->xAxis->ticker().dynamicCast<QCPAxisTickerFixed>());
    }

    void exportsFigureTableAndData()
    {
        ptq::WorkbenchContext context;
        context.setDatabasePath(QString::fromStdString(m_db));
        ptq::ResultsPanel panel(&context);
        QCustomPlot* plot = panel.paretoPlot();
        const QFont tickFont = plot->xAxis->tickLabelFont();
        const QFont legendFont = plot->legend->font();

        ptq::FigureOptions single = ptq::figurePreset(ptq::FigurePreset::SingleColumn);
        QCOMPARE(single.dpi, 300);
        QString error;
        const QString png = m_dir.filePath("pareto.png");
        QVERIFY2(ptq::ExportDialog::exportNow(plot, png, single, &error), qPrintable(error));
        const QImage image(png);
        QCOMPARE(image.width(), 1050);                    // 3.5 in x 300 dpi
        QCOMPARE(image.height(), 788);                    // x 0.75 aspect, rounded
        QCOMPARE(plot->xAxis->tickLabelFont(), tickFont); // restored after the export
        QCOMPARE(plot->legend->font(), legendFont);

        const QString svg = m_dir.filePath("pareto.svg");
        QVERIFY2(ptq::ExportDialog::exportNow(
                     plot, svg, ptq::figurePreset(ptq::FigurePreset::DoubleColumn), &error),
                 qPrintable(error));
        QVERIFY(QSvgRenderer(svg).isValid());

        // The dialog reports a bad extension inline, naming the file, and stays open.
        ptq::ExportDialog dialog(plot);
        dialog.setPath(m_dir.filePath("figure.bmp"));
        dialog.accept();
        QVERIFY(dialog.lastError().contains("figure.bmp"));
        QVERIFY(dialog.result() != QDialog::Accepted);
        QVERIFY(dialog.findChild<QLabel*>("exportError")->isVisibleTo(&dialog));
        // Corrected, the same dialog writes the figure with its preset and closes.
        auto* preset = dialog.findChild<QComboBox*>("exportPreset");
        preset->setCurrentIndex(preset->findData(int(ptq::FigurePreset::DoubleColumn)));
        QCOMPARE(dialog.options().fontPt, 9.0);
        dialog.setPath(m_dir.filePath("figure.png"));
        dialog.accept();
        QCOMPARE(dialog.result(), int(QDialog::Accepted));
        QCOMPARE(QImage(m_dir.filePath("figure.png")).width(), 2100); // 7 in x 300 dpi

        // Table export follows the filter.
        panel.findChild<QLineEdit*>("textFilter")->setText("awq");
        const QString csv = m_dir.filePath("table.csv");
        QVERIFY2(panel.exportTableTo(csv, &error), qPrintable(error));
        QFile csvFile(csv);
        QVERIFY(csvFile.open(QIODevice::ReadOnly));
        QCOMPARE(csvFile.readAll().trimmed().split('\n').size(), 1 + 6);
        const QString tex = m_dir.filePath("table.tex");
        QVERIFY2(panel.exportTableTo(tex, &error), qPrintable(error));
        QFile texFile(tex);
        QVERIFY(texFile.open(QIODevice::ReadOnly));
        QVERIFY(texFile.readAll().contains("\\toprule"));
        QVERIFY(!panel.exportTableTo(m_dir.filePath("table.xls"), &error));
        QVERIFY(error.contains("table.xls"));

        // The data behind the Pareto view: one row per marker.
        panel.tabs()->setCurrentIndex(ptq::ResultsPanel::ParetoTab);
        const QString data = m_dir.filePath("pareto.csv");
        QVERIFY2(panel.exportPlotDataTo(data, &error), qPrintable(error));
        QFile dataFile(data);
        QVERIFY(dataFile.open(QIODevice::ReadOnly));
        const QList<QByteArray> lines = dataFile.readAll().trimmed().split('\n');
        QCOMPARE(lines.size(), 1 + 24);
        QVERIFY(lines[0].startsWith("run_id,series,"));
    }

    void pdfRendersWithPdftoppm()
    {
        ptq::WorkbenchContext context;
        context.setDatabasePath(QString::fromStdString(m_db));
        ptq::ResultsPanel panel(&context);
        QString error;
        const QString pdf = m_dir.filePath("pareto.pdf");
        QVERIFY2(ptq::ExportDialog::exportNow(panel.paretoPlot(), pdf,
                                              ptq::figurePreset(ptq::FigurePreset::SingleColumn),
                                              &error),
                 qPrintable(error));
        const QString pdftoppm = QStandardPaths::findExecutable("pdftoppm");
        if (pdftoppm.isEmpty())
            QSKIP("pdftoppm (poppler-utils) is not installed");
        QProcess render;
        render.start(pdftoppm, {"-png", "-r", "50", pdf, m_dir.filePath("rendered")});
        QVERIFY(render.waitForFinished(30000));
        QCOMPARE(render.exitCode(), 0);
        const QImage page(m_dir.filePath("rendered-1.png"));
        QVERIFY(!page.isNull());
        // 3.5 in at 50 dpi; pdftoppm rounds the page size up to whole pixels.
        QVERIFY2(std::abs(page.width() - 175) <= 1, qPrintable(QString::number(page.width())));
    }

    void missingOrCorruptDatabaseIsNamed()
    {
        ptq::WorkbenchContext context;
        context.setDatabasePath(m_dir.filePath("missing.db"));
        ptq::ResultsPanel panel(&context);
        QVERIFY(panel.errorText().contains("missing.db"));
        QVERIFY(panel.findChild<QLabel*>("resultsErrorLabel")->isVisibleTo(&panel));
        QCOMPARE(panel.proxyModel()->rowCount(), 0);

        const QString corrupt = m_dir.filePath("corrupt.db");
        QFile file(corrupt);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(QByteArray(4096, 'x'));
        file.close();
        context.setDatabasePath(corrupt);
        QVERIFY(panel.errorText().contains("corrupt.db"));
        QCOMPARE(panel.proxyModel()->rowCount(), 0);

        context.setDatabasePath(QString::fromStdString(m_db));
        QVERIFY(panel.errorText().isEmpty());
        QVERIFY(!panel.findChild<QLabel*>("resultsErrorLabel")->isVisibleTo(&panel));
        QCOMPARE(panel.proxyModel()->rowCount(), 26);
    }
};

QTEST_MAIN(TestResultsPanel)
#include "tst_results_panel.moc"
