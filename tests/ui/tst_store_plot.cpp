// The store-backed Pareto figure against a real SQLite results store: the front it draws is
// exactly core/analysis's front of the same runs, points are grouped by bit width and model,
// and the figure exports to PNG (requested pixel size), SVG (parsed by QSvgRenderer) and PDF.

#include "analysis/pareto.h"
#include "plot_export.h"
#include "store/results_store.h"
#include "store_plot.h"
#include "util/error.h"

#include <QImage>
#include <QSvgRenderer>
#include <QTemporaryDir>
#include <QtTest>

#include <random>

namespace {

// Random finished runs of two models at 2/3/4 bits, seeded.
void fillStore(const std::string& path, int runs)
{
    ptq::ResultsStore store(path);
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> size(1e5, 5e6), ppl(20.0, 400.0);
    for (int m = 0; m < 2; ++m) {
        ptq::ModelRecord model;
        model.fingerprint = std::string(64, char('a' + m));
        model.name = m == 0 ? "small" : "large";
        model.path = "/models/" + model.name;
        model.architecture = "llama";
        model.parameters = m == 0 ? 700000 : 11000000;
        store.upsertModel(model);
    }
    for (int i = 0; i < runs; ++i) {
        ptq::RunSpec spec;
        spec.modelFingerprint = std::string(64, char('a' + i % 2));
        spec.recipeName = i % 3 == 0 ? "rtn" : "gptq";
        spec.recipeJson = "{\"i\":" + std::to_string(i) + "}";
        spec.wbits = 2 + i % 3;
        spec.groupSize = 128;
        const int64_t id = store.addRun(spec);
        store.markRunning(id);
        ptq::RunResults results;
        results.packedBytes = uint64_t(size(rng));
        results.fp16Bytes = 10000000;
        results.bitsPerWeight = spec.wbits + 0.13;
        results.metrics.push_back({"perplexity", std::string(64, 'e'), ppl(rng)});
        store.completeRun(id, results);
    }
}

} // namespace

class TestStorePlot : public QObject {
    Q_OBJECT

private slots:
    void frontIsTheAnalysisFront()
    {
        QTemporaryDir dir;
        const std::string db = dir.filePath("runs.db").toStdString();
        fillStore(db, 40);

        QCustomPlot plot;
        ptq::StorePlotSpec spec;
        spec.dbPath = QString::fromStdString(db);
        QCOMPARE(ptq::fillStorePlot(&plot, spec), 40);

        // The analysis module's front of the same runs, in MB.
        const ptq::ResultsStore store(db, ptq::ResultsStore::Mode::ReadOnly);
        ptq::RunFilter filter;
        filter.status = ptq::RunStatus::Done;
        const auto runs = store.listRuns(filter);
        ptq::ParetoQuery query;
        query.metric = "perplexity";
        const auto set = ptq::paretoPoints(runs, query);
        const auto front = ptq::paretoFront(set.points, ptq::Direction::Minimize);
        QVERIFY(front.size() >= 2);

        QCPGraph* drawn = nullptr;
        int scatterPoints = 0;
        for (int g = 0; g < plot.graphCount(); ++g) {
            if (plot.graph(g)->lineStyle() == QCPGraph::lsStepLeft)
                drawn = plot.graph(g);
            else
                scatterPoints += plot.graph(g)->dataCount();
        }
        QCOMPARE(scatterPoints, 40);
        QVERIFY(drawn);
        QCOMPARE(drawn->dataCount(), int(front.size()));
        for (int i = 0; i < drawn->dataCount(); ++i) {
            const auto& p = set.points[front[size_t(i)]];
            QCOMPARE(drawn->data()->at(i)->key, p.x / 1e6);
            QCOMPARE(drawn->data()->at(i)->value, p.y);
        }
        // Two models x three bit widths: six marker groups plus the front.
        QCOMPARE(plot.graphCount(), 7);
    }

    void exportsAndRejectsBadInput()
    {
        QTemporaryDir dir;
        const std::string db = dir.filePath("runs.db").toStdString();
        fillStore(db, 12);
        ptq::StorePlotSpec spec;
        spec.dbPath = QString::fromStdString(db);
        spec.logY = true;
        QString error;
        QVERIFY2(ptq::renderStorePlot(spec, dir.filePath("f.png"), &error), qPrintable(error));
        QCOMPARE(QImage(dir.filePath("f.png")).size(), QSize(900, 675)); // 6 in x 150 dpi, 3:4
        QVERIFY(ptq::renderStorePlot(spec, dir.filePath("f.svg"), &error));
        QVERIFY(QSvgRenderer(dir.filePath("f.svg")).isValid());
        QVERIFY(ptq::renderStorePlot(spec, dir.filePath("f.pdf"), &error));
        QFile pdf(dir.filePath("f.pdf"));
        QVERIFY(pdf.open(QIODevice::ReadOnly));
        QVERIFY(pdf.read(5) == "%PDF-");
        QVERIFY(!ptq::renderStorePlot(spec, dir.filePath("f.bmp"), &error));
        QVERIFY(error.contains("f.bmp"));

        QCustomPlot plot;
        spec.metric = "perplexty";
        QVERIFY_THROWS_EXCEPTION(ptq::Error, ptq::fillStorePlot(&plot, spec));
        spec.metric = "perplexity";
        spec.dbPath = dir.filePath("missing.db");
        QVERIFY_THROWS_EXCEPTION(ptq::Error,
                                 ptq::renderStorePlot(spec, dir.filePath("g.png"), &error));
    }
};

QTEST_MAIN(TestStorePlot)
#include "tst_store_plot.moc"
