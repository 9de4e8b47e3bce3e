#pragma once
// The application window: a thin shell. It owns the menus, the status bar and a tab per
// panel; all behaviour lives in the panels, and every signal between them is connected in
// connectPanels().

#include <QMainWindow>

class QAction;
class QActionGroup;
class QMenu;
class QTabWidget;

namespace ptq {

class LanguageSwitcher;
class ModelPanel;
class ParetoPanel;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    // languages may be null: the language menu is then left out (tests, embedding).
    explicit MainWindow(LanguageSwitcher* languages = nullptr, QWidget* parent = nullptr);

    ModelPanel* modelPanel() const { return m_modelPanel; }
    ParetoPanel* paretoPanel() const { return m_paretoPanel; }

public slots:
    void showAbout();

protected:
    void changeEvent(QEvent* event) override;

private:
    void createActions();
    void createMenus();
    void connectPanels();
    void retranslateUi();
    void onModelLoaded(const QString& dir);
    void onLanguageChosen(QAction* action);

    LanguageSwitcher* m_languages = nullptr;
    QTabWidget* m_tabs = nullptr;
    ModelPanel* m_modelPanel = nullptr;
    ParetoPanel* m_paretoPanel = nullptr;

    QMenu* m_fileMenu = nullptr;
    QMenu* m_languageMenu = nullptr;
    QMenu* m_helpMenu = nullptr;
    QAction* m_openAction = nullptr;
    QAction* m_quitAction = nullptr;
    QAction* m_aboutAction = nullptr;
    QAction* m_aboutQtAction = nullptr;
    QActionGroup* m_languageGroup = nullptr;
};

} // namespace ptq
