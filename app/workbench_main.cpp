// ptq-workbench: the GUI. Thin: settings, language, command line, then the main window.
//
//   ptq-workbench [MODEL_DIR]                 opens the window, optionally with a model
//   ptq-workbench --headless-plot CSV OUT [Y_TITLE]
//                                            writes a size-vs-metric plot and exits
//   ptq-workbench --headless-plot FILE.db OUT [METRIC]
//                                            the same from a results store: colour = bits,
//                                            marker = model, the analysis module's front
//   ptq-workbench --screenshots DIR [FILE.db] writes each panel at 1280×800 to DIR/*.png
//                                            (over a copy of FILE.db; run under xvfb-run)
//
// The headless mode needs no display: it selects the offscreen platform itself unless
// QT_QPA_PLATFORM says otherwise.

#include "language.h"
#include "main_window.h"
#include "model_panel.h"
#include "plot_csv.h"
#include "plot_export.h"
#include "screenshots.h"
#include "store_plot.h"
#include "util/error.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QIcon>
#include <QStandardPaths>
#include <cstring>
#include <iostream>

namespace {

bool wantsHeadlessPlot(int argc, char** argv)
{
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--headless-plot") == 0)
            return true;
    return false;
}

int runHeadlessPlot(const QStringList& args)
{
    // args: program --headless-plot CSV OUT [Y_TITLE]
    if (args.size() < 4 || args.size() > 5 || args[1] != QLatin1String("--headless-plot")) {
        std::cerr << qPrintable(QCoreApplication::translate(
                         "main",
                         "usage: ptq-workbench --headless-plot CSV|FILE.db OUT(.png|.svg|.pdf) "
                         "[Y_TITLE|METRIC]"))
                  << "\n";
        return 2;
    }
    try {
        if (args[2].endsWith(QLatin1String(".db"))) {
            ptq::StorePlotSpec spec;
            spec.dbPath = args[2];
            if (args.size() == 5)
                spec.metric = args[4];
            // Perplexity and KL span orders of magnitude between 2 and 8 bits.
            spec.logY = spec.metric.startsWith(QLatin1String("perplexity")) ||
                        spec.metric.startsWith(QLatin1String("kl"));
            QString error;
            int points = 0;
            if (!ptq::renderStorePlot(spec, args[3], &error, &points)) {
                std::cerr << "ptq-workbench: " << qPrintable(error) << "\n";
                return 1;
            }
            std::cout << qPrintable(QCoreApplication::translate("main", "wrote %1 (%n point(s))",
                                                                nullptr, points)
                                        .arg(QDir::toNativeSeparators(args[3])))
                      << "\n";
            return 0;
        }
        const QVector<ptq::PlotPoint> points = ptq::readPlotCsv(args[2]);
        QString error;
        const QString yTitle = args.size() == 5 ? args[4] : QString();
        if (!ptq::renderDemoPlot(points, args[3], &error, yTitle)) {
            std::cerr << "ptq-workbench: " << qPrintable(error) << "\n";
            return 1;
        }
        std::cout << qPrintable(QCoreApplication::translate("main", "wrote %1 (%n point(s))",
                                                            nullptr, int(points.size()))
                                    .arg(QDir::toNativeSeparators(args[3])))
                  << "\n";
        return 0;
    } catch (const ptq::Error& e) {
        std::cerr << "ptq-workbench: " << e.what() << "\n";
        return 1;
    }
}

} // namespace

int main(int argc, char** argv)
{
    if (wantsHeadlessPlot(argc, argv) && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");

    // Screenshots show the defaults, not this user's settings, language or recent folders.
    if (argc >= 3 && std::strcmp(argv[1], "--screenshots") == 0)
        QStandardPaths::setTestModeEnabled(true);
    QApplication app(argc, argv);
    QCoreApplication::setOrganizationName(QStringLiteral("PTQ Workbench"));
    QCoreApplication::setApplicationName(QStringLiteral("ptq-workbench"));
    QCoreApplication::setApplicationVersion(QStringLiteral(PTQ_VERSION));

    ptq::LanguageSwitcher languages;
    languages.setLanguage(ptq::LanguageSwitcher::preferredLanguage());

    if (wantsHeadlessPlot(argc, argv))
        return runHeadlessPlot(QCoreApplication::arguments());

    const QStringList args = QCoreApplication::arguments();
    if (args.size() >= 3 && args[1] == QLatin1String("--screenshots")) {
        QString error;
        const QStringList files = ptq::takeScreenshots(args[2], args.value(3), &error);
        for (const QString& f : files)
            std::cout << qPrintable(f) << "\n";
        if (files.isEmpty())
            std::cerr << "ptq-workbench: " << qPrintable(error) << "\n";
        return files.isEmpty() ? 1 : 0;
    }

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QCoreApplication::translate("main", "Analysis workbench for post-training quantization"));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(
        QStringLiteral("model"),
        QCoreApplication::translate("main", "A checkpoint folder to open."),
        QStringLiteral("[model]"));
    parser.process(app);

    ptq::MainWindow window(&languages);
    window.show();
    const QStringList positional = parser.positionalArguments();
    if (!positional.isEmpty())
        window.modelPanel()->openFolder(positional.first());
    return QApplication::exec();
}
