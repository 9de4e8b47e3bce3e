// The layer inspector against a real SQLite results store: the heatmap has one row per layer
// and one column per finished run of the model, with the store's values for the chosen
// measure; clicking a cell selects the layer and the run in the context; a selected layer
// shows every run's numbers and its rank among the run's layers; the heatmap exports; a
// missing database is named in the inline error.

#include "export_dialog.h"
#include "heatmap_plot.h"
#include "layer_inspector.h"
#include "store/results_store.h"
#include "workbench_context.h"

#include <QCheckBox>
#include <QComboBox>
#include <QImage>
#include <QLabel>
#include <QListWidget>
#include <QSvgRenderer>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <map>

namespace {

const char* const kRecipes[] = {"rtn", "gptq", "awq", "quarot-gptq"};
const char* const kLayers[] = {"self_attn.q_proj", "mlp.down_proj"};

// The error a fake run records for a layer: grows with the block, shrinks with the bits.
ptq::LayerErrorRow fakeRow(int model, int recipe, int bits, int block, int layer)
{
    ptq::LayerErrorRow row;
    row.block = block;
    row.layer = kLayers[layer];
    row.bits = bits;
    row.groupSize = 128;
    row.relWeightError =
        0.01 * (5 - bits) * (block + 1) * (1 + layer) / (recipe + 1.0) + 0.001 * model;
    row.outputError = 2.0 * row.relWeightError + 0.0001 * block;
    row.methodLoss = recipe == 0 ? 0.0 : 0.5 * row.outputError;
    row.maxAbsError = 0.1 * (5 - bits) + 0.01 * layer;
    row.bytes = uint64_t(1000 * bits);
    row.seconds = 0.05 * (recipe + 1) + 0.001 * block;
    return row;
}

// Two models x four recipes x W2/W3/W4, each with 3 blocks x 2 layers of errors.
void fillStore(const std::string& path)
{
    ptq::ResultsStore store(path);
    for (int m = 0; m < 2; ++m) {
        ptq::ModelRecord model;
        model.fingerprint = std::string(64, char('a' + m));
        model.name = m == 0 ? "tiny" : "small";
        model.path = "/models/" + model.name;
        model.parameters = m == 0 ? 700000 : 11000000;
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
                res.packedBytes = 1000;
                res.metrics.push_back({"perplexity", std::string(64, 'e'), 10.0 + r});
                for (int block = 0; block < 3; ++block)
                    for (int layer = 0; layer < 2; ++layer)
                        res.layers.push_back(fakeRow(m, r, bits, block, layer));
                store.completeRun(id, res);
            }
}

} // namespace

class TestLayerInspector : public QObject {
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

    void heatmapHoldsTheStoredValues()
    {
        ptq::WorkbenchContext context;
        context.setDatabasePath(QString::fromStdString(m_db));
        ptq::LayerInspector inspector(&context);
        QVERIFY(inspector.errorText().isEmpty());
        QCOMPARE(inspector.modelCombo()->currentText(), QStringLiteral("tiny"));
        const ptq::HeatmapData& data = inspector.heatmap()->data();
        QCOMPARE(data.layers,
                 QStringList({"0.self_attn.q_proj", "0.mlp.down_proj", "1.self_attn.q_proj",
                              "1.mlp.down_proj", "2.self_attn.q_proj", "2.mlp.down_proj"}));
        QCOMPARE(data.runLabels.size(), 12);
        QCOMPARE(inspector.shownRunIds().size(), size_t(12));
        QCOMPARE(inspector.heatmap()->colorMap()->data()->keySize(), 12);
        QCOMPARE(inspector.heatmap()->colorMap()->data()->valueSize(), 6);

        // The store round-trips doubles exactly (SQLite REAL is a 64-bit double), and so does
        // the colour map: compare exactly.
        const ptq::ResultsStore store(m_db, ptq::ResultsStore::Mode::ReadOnly);
        const int64_t run = inspector.shownRunIds()[4];
        const auto rows = store.layerErrors(run);
        const auto find = [&](const QString& name) {
            return *std::find_if(rows.begin(), rows.end(), [&](const ptq::LayerErrorRow& r) {
                return ptq::layerRowName(r) == name;
            });
        };
        QCOMPARE(inspector.heatmap()->cellValue(3, 4), find("1.mlp.down_proj").relWeightError);
        QCOMPARE(inspector.heatmap()->cellValue(0, 4), find("0.self_attn.q_proj").relWeightError);
        inspector.measureCombo()->setCurrentIndex(
            inspector.measureCombo()->findData(int(ptq::LayerMeasure::OutputError)));
        QCOMPARE(inspector.heatmap()->cellValue(5, 4), find("2.mlp.down_proj").outputError);
        QCOMPARE(inspector.heatmap()->data().measure, QStringLiteral("Output error"));
        // One chart line per run across the layers.
        QCOMPARE(inspector.layerChart()->graphCount(), 12);
        QCOMPARE(inspector.layerChart()->graph(4)->dataCount(), 6);

        inspector.modelCombo()->setCurrentIndex(0); // every model
        QCOMPARE(inspector.shownRunIds().size(), size_t(24));
    }

    void selectingALayerShowsItsStatistics()
    {
        ptq::WorkbenchContext context;
        context.setDatabasePath(QString::fromStdString(m_db));
        ptq::LayerInspector inspector(&context);
        inspector.resize(1400, 800);
        inspector.show();
        QVERIFY(QTest::qWaitForWindowExposed(&inspector));
        ptq::HeatmapPlot* heatmap = inspector.heatmap();
        heatmap->replot();

        // Click the cell of layer 2 ("1.self_attn.q_proj") in column 7.
        const QPointF centre = heatmap->cellCenter(2, 7);
        QCOMPARE(heatmap->cellAt(centre), std::make_optional(std::make_pair(2, 7)));
        QTest::mouseClick(heatmap, Qt::LeftButton, {}, centre.toPoint());
        const int64_t run = inspector.shownRunIds()[7];
        QCOMPARE(context.selectedLayer(), QStringLiteral("1.self_attn.q_proj"));
        QCOMPARE(context.selectedRun(), run);
        QCOMPARE(inspector.layerList()->currentItem()->text(),
                 QStringLiteral("1.self_attn.q_proj"));

        // Every run of the model has the layer: one row each, with all measures.
        QTableWidget* stats = inspector.statsTable();
        QCOMPARE(stats->rowCount(), 12);
        const ptq::ResultsStore store(m_db, ptq::ResultsStore::Mode::ReadOnly);
        const auto rows = store.layerErrors(run);
        std::vector<double> rel;
        double own = 0;
        for (const auto& r : rows) {
            rel.push_back(r.relWeightError);
            if (ptq::layerRowName(r) == "1.self_attn.q_proj")
                own = r.relWeightError;
        }
        QCOMPARE(stats->item(7, 0)->data(Qt::UserRole).toLongLong(), run);
        QCOMPARE(stats->item(7, 1)->data(Qt::UserRole).toDouble(), own);
        const int rank =
            1 + int(std::count_if(rel.begin(), rel.end(), [own](double v) { return v > own; }));
        QCOMPARE(inspector.statsRunId(), run);
        QVERIFY2(inspector.statsSummary().contains(QStringLiteral("rank %1 of 6").arg(rank)),
                 qPrintable(inspector.statsSummary()));
        QVERIFY(inspector.histogram()->plottableCount() == 1);

        // Another panel selecting a layer through the context.
        context.selectLayer(QStringLiteral("2.mlp.down_proj"));
        QCOMPARE(inspector.layerList()->currentItem()->text(), QStringLiteral("2.mlp.down_proj"));
        QVERIFY(inspector.statsSummary().contains(QStringLiteral("rank 1 of 6")));

        // Selecting a run of the other model switches the heatmap to that model.
        const ptq::RunFilter all;
        int64_t other = 0;
        for (const auto& r : store.listRuns(all))
            if (r.modelName == "small")
                other = r.id;
        context.selectRun(other);
        QCOMPARE(inspector.modelCombo()->currentText(), QStringLiteral("small"));
        QCOMPARE(inspector.statsRunId(), other);
    }

    void heatmapExportsAndLogScale()
    {
        ptq::WorkbenchContext context;
        context.setDatabasePath(QString::fromStdString(m_db));
        ptq::LayerInspector inspector(&context);
        inspector.findChild<QCheckBox*>("heatmapLogCheck")->setChecked(true);
        QVERIFY(inspector.heatmap()->logScale());
        QCOMPARE(inspector.heatmap()->colorMap()->dataScaleType(), QCPAxis::stLogarithmic);
        // method_loss is 0 for rtn: blank on a log scale rather than a bogus colour.
        inspector.measureCombo()->setCurrentIndex(
            inspector.measureCombo()->findData(int(ptq::LayerMeasure::MethodLoss)));
        QVERIFY(std::isnan(inspector.heatmap()->cellValue(0, 0)));
        QString error;
        const QString svg = m_dir.filePath("heatmap.svg");
        QVERIFY2(ptq::ExportDialog::exportNow(inspector.heatmap(), svg,
                                              ptq::figurePreset(ptq::FigurePreset::DoubleColumn),
                                              &error),
                 qPrintable(error));
        QVERIFY(QSvgRenderer(svg).isValid());
        const QString heatmapPng = m_dir.filePath("heatmap.png");
        QVERIFY2(ptq::ExportDialog::exportNow(inspector.heatmap(), heatmapPng,
                                              ptq::figurePreset(ptq::FigurePreset::DoubleColumn),
                                              &error),
                 qPrintable(error));
        QCOMPARE(QImage(heatmapPng).size(), QSize(2100, 1575)); // 7 in x 300 dpi, 3:4
        const QString png = m_dir.filePath("chart.png");
        QVERIFY2(ptq::ExportDialog::exportNow(inspector.layerChart(), png,
                                              ptq::figurePreset(ptq::FigurePreset::SingleColumn),
                                              &error),
                 qPrintable(error));
        QCOMPARE(QImage(png).width(), 1050);
    }

    // An MoE run: the Experts tab shows its layers × experts with the stored values and the
    // routed-token counts, and the experts of every MoE run side by side (mean over layers);
    // dense runs give no experts.
    void expertsTabShowsLayersByExperts()
    {
        const std::string db = m_dir.filePath("moe.db").toStdString();
        std::map<int64_t, std::vector<ptq::LayerErrorRow>> stored;
        {
            ptq::ResultsStore store(db);
            ptq::ModelRecord model;
            model.fingerprint = std::string(64, 'm');
            model.name = "moe";
            model.parameters = 2000000;
            model.activeParameters = 800000;
            store.upsertModel(model);
            for (int bits : {2, 4}) {
                ptq::RunSpec spec;
                spec.modelFingerprint = model.fingerprint;
                spec.recipeName = "gptq";
                spec.recipeJson = "{\"b\":" + std::to_string(bits) + "}";
                spec.wbits = bits;
                const int64_t id = store.addRun(spec);
                store.markRunning(id);
                ptq::RunResults res;
                for (int block = 0; block < 2; ++block)
                    for (int e = 0; e < 3; ++e)
                        for (const char* name : {"w1", "w2"}) {
                            ptq::LayerErrorRow row;
                            row.block = block;
                            row.layer =
                                "block_sparse_moe.experts." + std::to_string(e) + "." + name;
                            row.bits = bits;
                            row.expert = e;
                            row.routedTokens = 100 * (e + 1) + block;
                            row.calibTokens = row.routedTokens;
                            row.relWeightError = 0.01 * (e + 1) * (5 - bits) + 0.001 * block;
                            res.layers.push_back(row);
                        }
                stored[id] = res.layers;
                store.completeRun(id, res);
            }
            QCOMPARE(store.models().front().activeParameters, int64_t(800000));
        }
        ptq::WorkbenchContext context;
        context.setDatabasePath(QString::fromStdString(db));
        ptq::LayerInspector inspector(&context);
        const int64_t first = inspector.shownRunIds().front();
        context.selectRun(first);
        const ptq::HeatmapData& d = inspector.expertHeatmap()->data();
        QCOMPARE(d.layers,
                 QStringList({"0.block_sparse_moe.experts.w1", "0.block_sparse_moe.experts.w2",
                              "1.block_sparse_moe.experts.w1", "1.block_sparse_moe.experts.w2"}));
        QCOMPARE(d.runLabels.size(), 3);
        for (const auto& row : stored[first])
            QCOMPARE(inspector.expertHeatmap()->cellValue(
                         int(row.block * 2 + (row.layer.back() == '2')), int(row.expert)),
                     row.relWeightError);
        inspector.measureCombo()->setCurrentIndex(
            inspector.measureCombo()->findData(int(ptq::LayerMeasure::CalibTokens)));
        QCOMPARE(inspector.expertHeatmap()->cellValue(2, 1), 201.0);

        inspector.expertModeCombo()->setCurrentIndex(1); // experts across runs
        inspector.measureCombo()->setCurrentIndex(
            inspector.measureCombo()->findData(int(ptq::LayerMeasure::RelWeightError)));
        const ptq::HeatmapData& across = inspector.expertHeatmap()->data();
        QCOMPARE(across.layers.size(), 3);
        QCOMPARE(across.runLabels.size(), 2);
        for (int run = 0; run < 2; ++run) {
            const int64_t id = inspector.shownRunIds()[std::size_t(run)];
            for (int e = 0; e < 3; ++e) {
                double sum = 0;
                int n = 0;
                for (const auto& row : stored[id])
                    if (row.expert == e)
                        sum += row.relWeightError, ++n;
                QCOMPARE(inspector.expertHeatmap()->cellValue(e, run), sum / n);
            }
        }

        // The dense store has no expert rows.
        context.setDatabasePath(QString::fromStdString(m_db));
        QVERIFY(inspector.expertHeatmap()->data().layers.isEmpty());
    }

    void missingDatabaseIsNamed()
    {
        ptq::WorkbenchContext context;
        context.setDatabasePath(m_dir.filePath("nowhere.db"));
        ptq::LayerInspector inspector(&context);
        QVERIFY(inspector.errorText().contains("nowhere.db"));
        QVERIFY(inspector.findChild<QLabel*>("layerErrorLabel")->isVisibleTo(&inspector));
        QVERIFY(inspector.shownRunIds().empty());
        context.setDatabasePath(QString::fromStdString(m_db));
        QVERIFY(inspector.errorText().isEmpty());
        QCOMPARE(inspector.shownRunIds().size(), size_t(12));
    }
};

QTEST_MAIN(TestLayerInspector)
#include "tst_layer_inspector.moc"
