// The GUI shell end to end, offscreen: open a generated checkpoint folder through the model
// panel (loaded off the GUI thread), show errors inline for a missing folder and a corrupt
// safetensors file, switch the interface language, export a plot in three formats, and
// close cleanly.

#include "display_format.h"
#include "io/safetensors.h"
#include "main_window.h"
#include "model/config.h"
#include "model_panel.h"
#include "pareto_plot.h"
#include "plot_csv.h"
#include "plot_export.h"
#include "util/error.h"

#include <QFile>
#include <QImage>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QSvgRenderer>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTranslator>
#include <QtTest>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace {

// A 2-layer LLaMA of toy width: small enough to write in a millisecond, shaped like the real
// thing so the checkpoint reader accepts it.
ptq::ModelConfig toyConfig()
{
    ptq::ModelConfig c;
    c.modelType = "llama";
    c.vocabSize = 64;
    c.hiddenSize = 16;
    c.intermediateSize = 32;
    c.numLayers = 2;
    c.numHeads = 4;
    c.numKvHeads = 2;
    c.headDim = 4;
    c.maxPositionEmbeddings = 128;
    c.torchDtype = "bfloat16";
    return c;
}

// Hugging Face names and shapes (out_features, in_features) of every tensor of config.
std::vector<std::pair<std::string, std::vector<int64_t>>> toyShapes(const ptq::ModelConfig& c)
{
    const int64_t h = c.hiddenSize, q = c.numHeads * c.headDim, kv = c.numKvHeads * c.headDim;
    std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = {
        {"model.embed_tokens.weight", {c.vocabSize, h}},
        {"model.norm.weight", {h}},
        {"lm_head.weight", {c.vocabSize, h}},
    };
    for (int64_t i = 0; i < c.numLayers; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        shapes.push_back({p + "self_attn.q_proj.weight", {q, h}});
        shapes.push_back({p + "self_attn.k_proj.weight", {kv, h}});
        shapes.push_back({p + "self_attn.v_proj.weight", {kv, h}});
        shapes.push_back({p + "self_attn.o_proj.weight", {h, q}});
        shapes.push_back({p + "mlp.gate_proj.weight", {c.intermediateSize, h}});
        shapes.push_back({p + "mlp.up_proj.weight", {c.intermediateSize, h}});
        shapes.push_back({p + "mlp.down_proj.weight", {h, c.intermediateSize}});
        shapes.push_back({p + "input_layernorm.weight", {h}});
        shapes.push_back({p + "post_attention_layernorm.weight", {h}});
    }
    return shapes;
}

void writeText(const QString& path, const QByteArray& bytes)
{
    QFile f(path);
    QVERIFY2(f.open(QIODevice::WriteOnly), qPrintable(path));
    QCOMPARE(f.write(bytes), qint64(bytes.size()));
}

// Writes config.json + model.safetensors (BF16, all zeros); returns the parameter count.
int64_t writeToyCheckpoint(const QString& dir)
{
    const ptq::ModelConfig config = toyConfig();
    writeText(dir + "/config.json", QByteArray::fromStdString(config.toJson()));
    const auto shapes = toyShapes(config);
    int64_t total = 0;
    std::vector<std::vector<uint16_t>> storage;
    std::vector<ptq::TensorToWrite> tensors;
    storage.reserve(shapes.size());
    for (const auto& [name, shape] : shapes) {
        int64_t numel = 1;
        for (int64_t d : shape)
            numel *= d;
        total += numel;
        storage.emplace_back(size_t(numel), uint16_t(0x3f80)); // bf16 1.0
        tensors.push_back({name, ptq::DType::BF16, shape, storage.back().data()});
    }
    ptq::writeSafetensors((dir + "/model.safetensors").toStdString(), tensors);
    return total;
}

} // namespace

class TestMainWindow : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void opensModelFolder();
    void showsMissingFolderInline();
    void showsCorruptSafetensorsInline();
    void switchesLanguage();
    void paretoFrontKeepsNonDominatedPoints();
    void readsPlotCsvAndRejectsBadRows();
    void exportsPlotInThreeFormats();
    void cleanupTestCase();

private:
    QLabel* label(const char* objectName) const;
    void openAndWait(const QString& dir, bool expectSuccess);

    std::unique_ptr<ptq::MainWindow> m_window;
    ptq::ModelPanel* m_panel = nullptr;
    QTemporaryDir m_temp;
};

QLabel* TestMainWindow::label(const char* objectName) const
{
    auto* l = m_panel->findChild<QLabel*>(QString::fromLatin1(objectName));
    if (!l)
        qFatal("no label named %s", objectName);
    return l;
}

void TestMainWindow::openAndWait(const QString& dir, bool expectSuccess)
{
    QSignalSpy loaded(m_panel, &ptq::ModelPanel::modelLoaded);
    QSignalSpy failed(m_panel, &ptq::ModelPanel::loadFailed);
    m_panel->openFolder(dir);
    QVERIFY(m_panel->isLoading());
    QTRY_VERIFY_WITH_TIMEOUT(loaded.count() + failed.count() == 1, 20000);
    QCOMPARE(loaded.count(), expectSuccess ? 1 : 0);
    QVERIFY(!m_panel->isLoading());
    if (expectSuccess)
        QCOMPARE(loaded.first().first().toString(), dir);
}

void TestMainWindow::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    // Fixed number formatting, so the expected strings below are literal.
    QLocale::setDefault(QLocale(QLocale::English, QLocale::UnitedStates));
    QVERIFY(m_temp.isValid());
    // The window opens the results store named here, not the user's own.
    qputenv("PTQ_STORE", m_temp.filePath("results.db").toUtf8());
    m_window = std::make_unique<ptq::MainWindow>();
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
    m_panel = m_window->modelPanel();
    QVERIFY(m_panel);
}

void TestMainWindow::opensModelFolder()
{
    const QString dir = m_temp.filePath("toy-llama");
    QVERIFY(QDir().mkpath(dir));
    const int64_t parameters = writeToyCheckpoint(dir);
    // 64*16 embed + 16 norm + 64*16 head + 2 layers * (2*256 + 2*128 + 3*512 + 2*16).
    QCOMPARE(parameters, int64_t(6736));

    openAndWait(dir, true);
    QCOMPARE(label("architectureValue")->text(), QString("llama"));
    QCOMPARE(label("parametersValue")->text(), QString("6.74 K (6,736)"));
    QCOMPARE(label("dtypeValue")->text(), QString("BF16"));
    QCOMPARE(label("layersValue")->text(), QString("2"));
    QCOMPARE(label("hiddenSizeValue")->text(), QString("16"));
    QCOMPARE(label("headsValue")->text(), QString("4 / 2"));
    QCOMPARE(label("vocabValue")->text(), QString("64"));
    QCOMPARE(label("shardsValue")->text(), QString("1"));
    QCOMPARE(label("tokenizerValue")->text(), QString("no"));
    const qint64 fileBytes = QFileInfo(dir + "/model.safetensors").size();
    QVERIFY2(label("sizeOnDiskValue")->text().contains(QLocale().toString(fileBytes)),
             qPrintable(label("sizeOnDiskValue")->text()));
    QVERIFY(!label("errorLabel")->isVisible());
}

void TestMainWindow::showsMissingFolderInline()
{
    const QString dir = m_temp.filePath("no-such-model");
    openAndWait(dir, false);
    QLabel* error = label("errorLabel");
    QVERIFY(error->isVisible());
    QVERIFY2(error->text().contains("no-such-model"), qPrintable(error->text()));
    // A failed load clears the previous model's values instead of leaving them up.
    QCOMPARE(label("architectureValue")->text(), QString("—"));
}

void TestMainWindow::showsCorruptSafetensorsInline()
{
    const QString dir = m_temp.filePath("corrupt");
    QVERIFY(QDir().mkpath(dir));
    writeText(dir + "/config.json", QByteArray::fromStdString(toyConfig().toJson()));
    // A header length far beyond the file: the reader must refuse, not map past the end.
    QByteArray junk(8, '\0');
    junk[0] = char(0xff);
    junk[1] = char(0xff);
    junk.append("{\"not\": \"a tensor\"");
    writeText(dir + "/model.safetensors", junk);

    openAndWait(dir, false);
    QLabel* error = label("errorLabel");
    QVERIFY(error->isVisible());
    QVERIFY2(error->text().contains("model.safetensors"), qPrintable(error->text()));
}

void TestMainWindow::switchesLanguage()
{
    auto* button = m_panel->findChild<QPushButton*>("openFolderButton");
    QVERIFY(button);
    auto* tabs = m_window->findChild<QTabWidget*>("panelTabs");
    QVERIFY(tabs);
    QCOMPARE(button->text(), QString("Open folder…"));
    QCOMPARE(label("architectureCaption")->text(), QString("Architecture:"));

    QTranslator japanese;
    QVERIFY(japanese.load(":/i18n/ptq_workbench_ja.qm"));
    QVERIFY(QCoreApplication::installTranslator(&japanese));
    QTRY_COMPARE(button->text(), QString("フォルダを開く…"));
    QCOMPARE(label("architectureCaption")->text(), QString("アーキテクチャ:"));
    QCOMPARE(label("layersCaption")->text(), QString("層数:"));
    QCOMPARE(tabs->tabText(0), QString("モデル"));

    QVERIFY(QCoreApplication::removeTranslator(&japanese));
    QTranslator chinese;
    QVERIFY(chinese.load(":/i18n/ptq_workbench_zh_CN.qm"));
    QVERIFY(QCoreApplication::installTranslator(&chinese));
    QTRY_COMPARE(button->text(), QString("打开文件夹…"));
    QCOMPARE(label("parametersCaption")->text(), QString("参数量："));

    QVERIFY(QCoreApplication::removeTranslator(&chinese));
    QTRY_COMPARE(button->text(), QString("Open folder…"));
    QCOMPARE(tabs->tabText(0), QString("Models"));
}

void TestMainWindow::paretoFrontKeepsNonDominatedPoints()
{
    // (size, perplexity): b is beaten by a (smaller and better), d ties c in size but is worse.
    const QVector<ptq::PlotPoint> points = {
        {4.0, 6.0, "a"}, {5.0, 7.0, "b"}, {8.0, 5.5, "c"}, {8.0, 5.9, "d"}, {2.0, 9.0, "e"}};
    QCOMPARE(ptq::paretoFrontIndices(points, true), (QVector<int>{4, 0, 2}));
    // Accuracy-like metric: higher is better; only growth in y along x survives.
    QCOMPARE(ptq::paretoFrontIndices(points, false), (QVector<int>{4}));
}

void TestMainWindow::readsPlotCsvAndRejectsBadRows()
{
    const QString good = m_temp.filePath("good.csv");
    writeText(good, "label,size_mb,metric\n\"RTN, 4-bit\",3.5,6.25\nfp16,13.0,5.68\n");
    const QVector<ptq::PlotPoint> points = ptq::readPlotCsv(good);
    QCOMPARE(points.size(), 2);
    QCOMPARE(points[0].label, QString("RTN, 4-bit"));
    QCOMPARE(points[0].x, 3.5);
    QCOMPARE(points[1].y, 5.68);

    const QString bad = m_temp.filePath("bad.csv");
    writeText(bad, "label,size_mb,metric\nfp16,13.0,5.68\nq4,abc,6.1\n");
    try {
        ptq::readPlotCsv(bad);
        QFAIL("a non-numeric size was accepted");
    } catch (const ptq::Error& e) {
        const QString what = QString::fromStdString(e.what());
        QVERIFY2(what.contains("bad.csv") && what.contains("line 3") && what.contains("size_mb"),
                 qPrintable(what));
    }
}

void TestMainWindow::exportsPlotInThreeFormats()
{
    auto owned = std::make_unique<ptq::ParetoPlot>();
    ptq::ParetoPlot* plot = owned.get();
    plot->setPoints({{3.5, 6.25, "RTN w4"}, {3.6, 5.95, "GPTQ w4"}, {13.0, 5.68, "fp16"}});

    // 4 in at 150 dpi, aspect 0.625: 600 x 375 pixels exactly.
    const QString png = m_temp.filePath("front.png");
    QString error;
    QVERIFY2(ptq::exportPlot(plot, png, ptq::PlotFormat::Png, 4.0, 150, 0.625, &error),
             qPrintable(error));
    const QImage image(png);
    QCOMPARE(image.size(), QSize(600, 375));
    // The plot drew something: axes, ticks, markers and labels cover well over 1% of it.
    qint64 inked = 0;
    for (int y = 0; y < image.height(); ++y)
        for (int x = 0; x < image.width(); ++x)
            inked += image.pixel(x, y) != qRgb(255, 255, 255) ? 1 : 0;
    QVERIFY2(inked > image.width() * image.height() / 100, qPrintable(QString::number(inked)));

    const QString svg = m_temp.filePath("front.svg");
    QVERIFY2(ptq::exportPlot(plot, svg, ptq::PlotFormat::Svg, 4.0, 150, 0.625, &error),
             qPrintable(error));
    QSvgRenderer renderer(svg);
    QVERIFY(renderer.isValid());
    // Laid out at 4 in x 96 logical px per inch, and declared 4 in (101.6 mm) wide.
    QCOMPARE(renderer.viewBox(), QRect(0, 0, 384, 240));
    QFile svgFile(svg);
    QVERIFY(svgFile.open(QIODevice::ReadOnly));
    QVERIFY(svgFile.readAll().contains("width=\"101.6mm\""));

    const QString pdf = m_temp.filePath("front.pdf");
    QVERIFY2(ptq::exportPlot(plot, pdf, ptq::PlotFormat::Pdf, 4.0, 150, 0.625, &error),
             qPrintable(error));
    QFile pdfFile(pdf);
    QVERIFY(pdfFile.open(QIODevice::ReadOnly));
    QCOMPARE(pdfFile.read(4), QByteArray("%PDF"));

    QVERIFY(!ptq::exportPlot(plot, m_temp.filePath("missing-dir/x.png"), ptq::PlotFormat::Png, 4.0,
                             150, 0.625, &error));
    QVERIFY2(error.contains("x.png"), qPrintable(error));
    QVERIFY(!ptq::renderDemoPlot({{1.0, 2.0, "a"}}, m_temp.filePath("x.bmp"), &error));
}

void TestMainWindow::cleanupTestCase()
{
    QVERIFY(m_window->close());
    QVERIFY(!m_window->isVisible());
    m_window.reset(); // the panel waits for any load still running
}

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
