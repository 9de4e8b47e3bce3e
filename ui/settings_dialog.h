#pragma once
// Settings, kept in QSettings: engine thread count, the default results database, the
// interface language and keyboard shortcuts. Accepting writes them and emits applied();
// the main window applies them (threads to the job runner, database to the context,
// shortcuts to its actions, language through the LanguageSwitcher).

#include <QDialog>
#include <QKeySequence>
#include <QList>
#include <QString>

class QAction;
class QComboBox;
class QDialogButtonBox;
class QFormLayout;
class QKeySequenceEdit;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace ptq {

struct WorkbenchSettings {
    int threads = 0;  // 0 = one per core
    QString database; // "" = the engine's default (ResultsStore::defaultPath)
    QString language = QStringLiteral("en");

    static WorkbenchSettings load();
    void save() const;
    // The database actually used: `database`, else ResultsStore::defaultPath().
    QString effectiveDatabase() const;
};

// Shortcuts: every action with an objectName is configurable; QSettings "shortcuts/<name>".
// An empty saved value means "no shortcut"; no saved value keeps the action's default.
void applySavedShortcuts(const QList<QAction*>& actions);

// "PTQ Workbench 0.3.0 · Qt 6.x · QCustomPlot 2.1.x · SQLite 3.x · libtorch 2.x" as HTML
// rows for the about box.
QString versionReport();

class SettingsDialog : public QDialog {
    Q_OBJECT
public:
    SettingsDialog(const QList<QAction*>& actions, QWidget* parent = nullptr);

    WorkbenchSettings settings() const;
    void setSettings(const WorkbenchSettings& s);

    QSpinBox* threadsBox() const { return m_threads; }
    QLineEdit* databaseEdit() const { return m_database; }
    QComboBox* languageBox() const { return m_language; }
    QTableWidget* shortcutTable() const { return m_shortcuts; }

public slots:
    void accept() override; // saves settings and shortcuts, then emits applied()

signals:
    void applied(const ptq::WorkbenchSettings& settings);

protected:
    void changeEvent(QEvent* event) override;

private:
    void retranslateUi();

    QList<QAction*> m_actions;
    QFormLayout* m_form = nullptr;
    QSpinBox* m_threads = nullptr;
    QLabel* m_databaseCaption = nullptr;
    QLineEdit* m_database = nullptr;
    QPushButton* m_browse = nullptr;
    QComboBox* m_language = nullptr;
    QTableWidget* m_shortcuts = nullptr;
    QLabel* m_shortcutsLabel = nullptr;
    QPushButton* m_about = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
};

} // namespace ptq
