#pragma once
// The application window: a thin shell. It owns the menus, the status bar, the shared
// context (results database, selected run and layer), the job runner and a tab per panel;
// all behaviour lives in the panels, and every signal between them is connected in
// connectPanels().

#include "engine/job.h"

#include <QMainWindow>
#include <vector>

class QAction;
class QActionGroup;
class QLabel;
class QMenu;
class QTabWidget;

namespace ptq {

class ExperimentPanel;
class JobRunner;
class LanguageSwitcher;
class LayerInspector;
class ModelPanel;
class ResultsPanel;
class RunQueuePanel;
class WorkbenchContext;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    // languages may be null: the language menu is then left out (tests, embedding).
    // The results database is the one in the settings (QSettings "database"), else
    // ResultsStore::defaultPath() ($PTQ_STORE, else the per-user data folder).
    explicit MainWindow(LanguageSwitcher* languages = nullptr, QWidget* parent = nullptr);
    ~MainWindow() override;

    WorkbenchContext* context() const { return m_context; }
    JobRunner* jobRunner() const { return m_runner; }
    ModelPanel* modelPanel() const { return m_modelPanel; }
    ExperimentPanel* experimentPanel() const { return m_experimentPanel; }
    RunQueuePanel* runQueuePanel() const { return m_runQueuePanel; }
    ResultsPanel* resultsPanel() const { return m_resultsPanel; }
    LayerInspector* layerInspector() const { return m_layerInspector; }
    QTabWidget* tabs() const { return m_tabs; }
    // Every action whose shortcut the settings dialog can change.
    QList<QAction*> configurableActions() const;

public slots:
    void showAbout();
    void showSettings();
    void openDatabase(const QString& path);
    void chooseDatabase();
    void queueJobs(const std::vector<ptq::JobSpec>& jobs);

protected:
    void changeEvent(QEvent* event) override;
    // A run in progress is stopped and recorded 'interrupted' (resumable from the run queue).
    void closeEvent(QCloseEvent* event) override;

private:
    void createActions();
    void createMenus();
    void connectPanels();
    void retranslateUi();
    void onModelLoaded(const QString& dir);
    void onLanguageChosen(QAction* action);
    void showDatabaseInStatusBar();

    LanguageSwitcher* m_languages = nullptr;
    WorkbenchContext* m_context = nullptr;
    JobRunner* m_runner = nullptr;
    QTabWidget* m_tabs = nullptr;
    ModelPanel* m_modelPanel = nullptr;
    ExperimentPanel* m_experimentPanel = nullptr;
    RunQueuePanel* m_runQueuePanel = nullptr;
    ResultsPanel* m_resultsPanel = nullptr;
    LayerInspector* m_layerInspector = nullptr;
    QLabel* m_databaseLabel = nullptr;

    QMenu* m_fileMenu = nullptr;
    QMenu* m_runMenu = nullptr;
    QMenu* m_languageMenu = nullptr;
    QMenu* m_helpMenu = nullptr;
    QAction* m_openAction = nullptr;
    QAction* m_openDatabaseAction = nullptr;
    QAction* m_settingsAction = nullptr;
    QAction* m_quitAction = nullptr;
    QAction* m_queueAction = nullptr;
    QAction* m_cancelAllAction = nullptr;
    QAction* m_aboutAction = nullptr;
    QAction* m_aboutQtAction = nullptr;
    QActionGroup* m_languageGroup = nullptr;
};

} // namespace ptq
