#include "main_window.h"

#include "language.h"
#include "model_panel.h"
#include "pareto_panel.h"

#include <qcustomplot.h>

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QDir>
#include <QEvent>
#include <QIcon>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>

#ifndef PTQ_VERSION
#define PTQ_VERSION "unknown"
#endif

// The icon lives in a resource file compiled into this static library; nothing else refers
// to it, so the linker would drop it without this explicit registration.
static void initWorkbenchResources()
{
    Q_INIT_RESOURCE(workbench);
}

namespace ptq {

namespace {

// The name each language has in itself, so a user can find theirs in any interface language.
QString nativeLanguageName(const QString& code)
{
    if (code == QLatin1String("en"))
        return QStringLiteral("English");
    const QString name = QLocale(code).nativeLanguageName();
    return name.isEmpty() ? code : name;
}

} // namespace

MainWindow::MainWindow(LanguageSwitcher* languages, QWidget* parent)
    : QMainWindow(parent), m_languages(languages)
{
    initWorkbenchResources();
    setObjectName(QStringLiteral("mainWindow"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/ptq-workbench.svg")));
    m_tabs = new QTabWidget(this);
    m_tabs->setObjectName(QStringLiteral("panelTabs"));
    m_modelPanel = new ModelPanel(m_tabs);
    m_modelPanel->setObjectName(QStringLiteral("modelPanel"));
    m_paretoPanel = new ParetoPanel(m_tabs);
    m_paretoPanel->setObjectName(QStringLiteral("paretoPanel"));
    m_tabs->addTab(m_modelPanel, QString());
    m_tabs->addTab(m_paretoPanel, QString());
    setCentralWidget(m_tabs);

    createActions();
    createMenus();
    connectPanels();
    retranslateUi();
    statusBar()->showMessage(tr("Ready"));
    resize(900, 620);
}

void MainWindow::createActions()
{
    m_openAction = new QAction(this);
    m_openAction->setShortcut(QKeySequence::Open);
    m_quitAction = new QAction(this);
    m_quitAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Q));
    m_quitAction->setMenuRole(QAction::QuitRole);
    m_aboutAction = new QAction(this);
    m_aboutAction->setMenuRole(QAction::AboutRole);
    m_aboutQtAction = new QAction(this);
    m_aboutQtAction->setMenuRole(QAction::AboutQtRole);
}

void MainWindow::createMenus()
{
    m_fileMenu = menuBar()->addMenu(QString());
    m_fileMenu->addAction(m_openAction);
    m_fileMenu->addSeparator();
    m_fileMenu->addAction(m_quitAction);

    if (m_languages) {
        m_languageMenu = menuBar()->addMenu(QString());
        m_languageGroup = new QActionGroup(this);
        for (const QString& code : LanguageSwitcher::availableLanguages()) {
            QAction* action = m_languageMenu->addAction(nativeLanguageName(code));
            action->setData(code);
            action->setCheckable(true);
            action->setChecked(code == m_languages->language());
            m_languageGroup->addAction(action);
        }
    }

    m_helpMenu = menuBar()->addMenu(QString());
    m_helpMenu->addAction(m_aboutAction);
    m_helpMenu->addAction(m_aboutQtAction);
}

void MainWindow::connectPanels()
{
    connect(m_openAction, &QAction::triggered, m_modelPanel, &ModelPanel::chooseFolder);
    connect(m_quitAction, &QAction::triggered, this, &QWidget::close);
    connect(m_aboutAction, &QAction::triggered, this, &MainWindow::showAbout);
    connect(m_aboutQtAction, &QAction::triggered, qApp, &QApplication::aboutQt);
    if (m_languageGroup)
        connect(m_languageGroup, &QActionGroup::triggered, this, &MainWindow::onLanguageChosen);

    connect(m_modelPanel, &ModelPanel::loadStarted, this, [this](const QString& dir) {
        statusBar()->showMessage(tr("Reading %1…").arg(QDir::toNativeSeparators(dir)));
    });
    connect(m_modelPanel, &ModelPanel::modelLoaded, this, &MainWindow::onModelLoaded);
    connect(m_modelPanel, &ModelPanel::loadFailed, this, [this](const QString& message) {
        statusBar()->showMessage(tr("Could not open the model: %1").arg(message));
    });
    connect(m_paretoPanel, &ParetoPanel::exported, this, [this](const QString& path) {
        statusBar()->showMessage(tr("Plot written to %1").arg(QDir::toNativeSeparators(path)));
    });
    connect(m_paretoPanel, &ParetoPanel::exportFailed, this, [this](const QString& message) {
        statusBar()->showMessage(message);
        QMessageBox::warning(this, tr("Export failed"), message);
    });
}

void MainWindow::onModelLoaded(const QString& dir)
{
    statusBar()->showMessage(tr("Opened %1").arg(QDir::toNativeSeparators(dir)));
    setWindowFilePath(dir);
}

void MainWindow::onLanguageChosen(QAction* action)
{
    const QString code = action->data().toString();
    if (m_languages->setLanguage(code))
        QSettings().setValue(QStringLiteral("language"), code);
}

void MainWindow::retranslateUi()
{
    setWindowTitle(tr("PTQ Workbench"));
    m_tabs->setTabText(m_tabs->indexOf(m_modelPanel), tr("Model"));
    m_tabs->setTabText(m_tabs->indexOf(m_paretoPanel), tr("Pareto front"));
    m_fileMenu->setTitle(tr("&File"));
    m_openAction->setText(tr("&Open model folder…"));
    m_quitAction->setText(tr("&Quit"));
    if (m_languageMenu)
        m_languageMenu->setTitle(tr("&Language"));
    m_helpMenu->setTitle(tr("&Help"));
    m_aboutAction->setText(tr("&About PTQ Workbench"));
    m_aboutQtAction->setText(tr("About &Qt"));
}

void MainWindow::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QMainWindow::changeEvent(event);
}

void MainWindow::showAbout()
{
    const QString text =
        tr("<h3>PTQ Workbench %1</h3>"
           "<p>Post-training quantization of large language models: measure size, "
           "perplexity and error per layer, and compare methods on their Pareto front.</p>"
           "<p>Built with Qt %2 (running on %3) and QCustomPlot %4.</p>")
            .arg(QStringLiteral(PTQ_VERSION), QStringLiteral(QT_VERSION_STR),
                 QString::fromLatin1(qVersion()), QStringLiteral(QCUSTOMPLOT_VERSION_STR));
    QMessageBox::about(this, tr("About PTQ Workbench"), text);
}

} // namespace ptq
