#include "main_window.h"

#include "experiment_panel.h"
#include "job_runner.h"
#include "language.h"
#include "layer_inspector.h"
#include "model_panel.h"
#include "results_panel.h"
#include "run_queue_panel.h"
#include "settings_dialog.h"
#include "workbench_context.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QEvent>
#include <QFileDialog>
#include <QIcon>
#include <QLabel>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>

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

QAction* namedAction(QObject* parent, const char* name, const QKeySequence& keys = {})
{
    auto* a = new QAction(parent);
    a->setObjectName(QLatin1String(name));
    a->setShortcut(keys);
    return a;
}

} // namespace

MainWindow::MainWindow(LanguageSwitcher* languages, QWidget* parent)
    : QMainWindow(parent), m_languages(languages)
{
    initWorkbenchResources();
    setObjectName(QStringLiteral("mainWindow"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/ptq-workbench.svg")));

    const WorkbenchSettings settings = WorkbenchSettings::load();
    m_context = new WorkbenchContext(this);
    m_context->setEngineThreads(settings.threads);
    m_context->setDatabasePath(settings.effectiveDatabase());
    m_runner = new JobRunner(m_context, this);

    m_tabs = new QTabWidget(this);
    m_tabs->setObjectName(QStringLiteral("panelTabs"));
    m_modelPanel = new ModelPanel(m_tabs);
    m_modelPanel->setObjectName(QStringLiteral("modelPanel"));
    m_experimentPanel = new ExperimentPanel(m_context, m_tabs);
    m_experimentPanel->setObjectName(QStringLiteral("experimentPanel"));
    m_runQueuePanel = new RunQueuePanel(m_runner, m_context, m_tabs);
    m_runQueuePanel->setObjectName(QStringLiteral("runQueuePanel"));
    m_resultsPanel = new ResultsPanel(m_context, m_tabs);
    m_resultsPanel->setObjectName(QStringLiteral("resultsPanel"));
    m_resultsPanel->setStrategyClassifier([](const QString& recipe) {
        for (const StrategyInfo& s : strategyCatalog())
            if (QString::fromStdString(s.name) == recipe)
                return QString::fromStdString(s.taxonomyClass);
        return QStringLiteral("other");
    });
    m_layerInspector = new LayerInspector(m_context, m_tabs);
    m_layerInspector->setObjectName(QStringLiteral("layerInspector"));
    for (QWidget* panel : std::initializer_list<QWidget*>{
             m_modelPanel, m_experimentPanel, m_runQueuePanel, m_resultsPanel, m_layerInspector})
        m_tabs->addTab(panel, QString());
    setCentralWidget(m_tabs);
    m_experimentPanel->setAvailableModels(m_modelPanel->knownModels());

    m_databaseLabel = new QLabel(this);
    m_databaseLabel->setObjectName(QStringLiteral("databaseLabel"));
    statusBar()->addPermanentWidget(m_databaseLabel);

    createActions();
    createMenus();
    connectPanels();
    applySavedShortcuts(configurableActions());
    retranslateUi();
    statusBar()->showMessage(tr("Ready"));
    resize(1280, 800);
}

MainWindow::~MainWindow()
{
    // Before the panels go: the worker reports to them until it has stopped.
    m_runner->shutdown();
}

void MainWindow::createActions()
{
    m_openAction = namedAction(this, "openModelAction", QKeySequence::Open);
    m_openDatabaseAction =
        namedAction(this, "openDatabaseAction", QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    m_settingsAction = namedAction(this, "settingsAction", QKeySequence::Preferences);
    m_settingsAction->setMenuRole(QAction::PreferencesRole);
    m_quitAction = namedAction(this, "quitAction", QKeySequence(Qt::CTRL | Qt::Key_Q));
    m_quitAction->setMenuRole(QAction::QuitRole);
    m_queueAction = namedAction(this, "queueRunsAction", QKeySequence(Qt::CTRL | Qt::Key_R));
    m_cancelAllAction =
        namedAction(this, "cancelAllAction", QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));
    m_aboutAction = namedAction(this, "aboutAction");
    m_aboutAction->setMenuRole(QAction::AboutRole);
    m_aboutQtAction = namedAction(this, "aboutQtAction");
    m_aboutQtAction->setMenuRole(QAction::AboutQtRole);
}

QList<QAction*> MainWindow::configurableActions() const
{
    return {m_openAction,  m_openDatabaseAction, m_settingsAction,
            m_queueAction, m_cancelAllAction,    m_quitAction};
}

void MainWindow::createMenus()
{
    m_fileMenu = menuBar()->addMenu(QString());
    m_fileMenu->addAction(m_openAction);
    m_fileMenu->addAction(m_openDatabaseAction);
    m_fileMenu->addSeparator();
    m_fileMenu->addAction(m_settingsAction);
    m_fileMenu->addSeparator();
    m_fileMenu->addAction(m_quitAction);

    m_runMenu = menuBar()->addMenu(QString());
    m_runMenu->addAction(m_queueAction);
    m_runMenu->addAction(m_cancelAllAction);

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
    connect(m_openDatabaseAction, &QAction::triggered, this, &MainWindow::chooseDatabase);
    connect(m_settingsAction, &QAction::triggered, this, &MainWindow::showSettings);
    connect(m_quitAction, &QAction::triggered, this, &QWidget::close);
    connect(m_queueAction, &QAction::triggered, m_experimentPanel, &ExperimentPanel::queueRuns);
    connect(m_cancelAllAction, &QAction::triggered, m_runner, &JobRunner::cancelAll);
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

    connect(m_experimentPanel, &ExperimentPanel::queueRequested, this, &MainWindow::queueJobs);
    connect(m_runner, &JobRunner::enqueueFailed, this, [this](const QString& message) {
        statusBar()->showMessage(tr("Nothing was queued"));
        QMessageBox::warning(this, tr("Runs not queued"), message);
    });
    connect(m_runner, &JobRunner::jobFinished, this,
            [this](qint64 runId, int end, const QString& message) {
                if (end == int(JobEnd::Failed))
                    statusBar()->showMessage(tr("Run %1 failed: %2").arg(runId).arg(message));
                else if (end == int(JobEnd::Done))
                    statusBar()->showMessage(tr("Run %1 finished").arg(runId));
            });
    connect(m_context, &WorkbenchContext::databaseChanged, this,
            &MainWindow::showDatabaseInStatusBar);
}

void MainWindow::queueJobs(const std::vector<JobSpec>& jobs)
{
    m_runner->enqueue(jobs);
    m_tabs->setCurrentWidget(m_runQueuePanel);
    statusBar()->showMessage(
        tr("Queueing %1…")
            .arg(jobs.size() == 1 ? tr("1 run") : tr("%1 runs").arg(qulonglong(jobs.size()))));
}

void MainWindow::onModelLoaded(const QString& dir)
{
    statusBar()->showMessage(tr("Opened %1").arg(QDir::toNativeSeparators(dir)));
    setWindowFilePath(dir);
    m_experimentPanel->setAvailableModels(m_modelPanel->knownModels(), dir);
}

void MainWindow::openDatabase(const QString& path)
{
    m_context->setDatabasePath(path);
    m_context->notifyStoreChanged();
}

void MainWindow::chooseDatabase()
{
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Open results database"), m_context->databasePath(),
        tr("SQLite files (*.db);;All files (*)"), nullptr, QFileDialog::DontConfirmOverwrite);
    if (!path.isEmpty())
        openDatabase(path);
}

void MainWindow::showSettings()
{
    SettingsDialog dialog(configurableActions(), this);
    connect(&dialog, &SettingsDialog::applied, this, [this](const WorkbenchSettings& s) {
        m_context->setEngineThreads(s.threads);
        openDatabase(s.effectiveDatabase());
        if (m_languages && m_languages->setLanguage(s.language) && m_languageGroup)
            for (QAction* a : m_languageGroup->actions())
                a->setChecked(a->data().toString() == s.language);
    });
    dialog.exec();
}

void MainWindow::onLanguageChosen(QAction* action)
{
    const QString code = action->data().toString();
    if (m_languages->setLanguage(code))
        QSettings().setValue(QStringLiteral("language"), code);
}

void MainWindow::showDatabaseInStatusBar()
{
    m_databaseLabel->setText(
        tr("Database: %1").arg(QDir::toNativeSeparators(m_context->databasePath())));
}

void MainWindow::retranslateUi()
{
    setWindowTitle(tr("PTQ Workbench"));
    m_tabs->setTabText(m_tabs->indexOf(m_modelPanel), tr("Models"));
    m_tabs->setTabText(m_tabs->indexOf(m_experimentPanel), tr("Experiment"));
    m_tabs->setTabText(m_tabs->indexOf(m_runQueuePanel), tr("Run queue"));
    m_tabs->setTabText(m_tabs->indexOf(m_resultsPanel), tr("Results"));
    m_tabs->setTabText(m_tabs->indexOf(m_layerInspector), tr("Layer inspector"));
    m_fileMenu->setTitle(tr("&File"));
    m_openAction->setText(tr("&Open model folder…"));
    m_openDatabaseAction->setText(tr("Open results &database…"));
    m_settingsAction->setText(tr("&Settings…"));
    m_quitAction->setText(tr("&Quit"));
    m_runMenu->setTitle(tr("&Run"));
    m_queueAction->setText(tr("&Queue runs"));
    m_cancelAllAction->setText(tr("&Cancel all runs"));
    if (m_languageMenu)
        m_languageMenu->setTitle(tr("&Language"));
    m_helpMenu->setTitle(tr("&Help"));
    m_aboutAction->setText(tr("&About PTQ Workbench"));
    m_aboutQtAction->setText(tr("About &Qt"));
    showDatabaseInStatusBar();
}

void MainWindow::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QMainWindow::changeEvent(event);
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    if (m_runner->isBusy())
        statusBar()->showMessage(tr("Stopping the current run; it can be resumed later…"));
    m_runner->shutdown();
    QMainWindow::closeEvent(event);
}

void MainWindow::showAbout()
{
    const QString text =
        tr("<h3>PTQ Workbench %1</h3>"
           "<p>Post-training quantization of large language models: measure size, "
           "perplexity and error per layer, and compare methods on their Pareto front.</p>")
            .arg(QStringLiteral(PTQ_VERSION)) +
        versionReport();
    QMessageBox::about(this, tr("About PTQ Workbench"), text);
}

} // namespace ptq
