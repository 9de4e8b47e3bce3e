#include "settings_dialog.h"

#include "engine/threads.h"
#include "language.h"
#include "store/results_store.h"

#include <qcustomplot.h>

#include <QAction>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QEvent>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QKeySequenceEdit>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMessageBox>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QTableWidget>
#include <QThread>
#include <QVBoxLayout>
#include <sqlite3.h>

#ifndef PTQ_VERSION
#define PTQ_VERSION "unknown"
#endif

namespace ptq {

namespace {

const QString kThreads = QStringLiteral("threads");
const QString kDatabase = QStringLiteral("database");
const QString kLanguage = QStringLiteral("language");

QString shortcutKey(const QAction* a)
{
    return QStringLiteral("shortcuts/") + a->objectName();
}

QLabel* captionOf(QFormLayout* form, QWidget* field)
{
    return qobject_cast<QLabel*>(form->labelForField(field));
}

} // namespace

WorkbenchSettings WorkbenchSettings::load()
{
    const QSettings s;
    WorkbenchSettings w;
    w.threads = s.value(kThreads, 0).toInt();
    w.database = s.value(kDatabase).toString();
    w.language = s.value(kLanguage, QStringLiteral("en")).toString();
    return w;
}

void WorkbenchSettings::save() const
{
    QSettings s;
    s.setValue(kThreads, threads);
    s.setValue(kDatabase, database);
    s.setValue(kLanguage, language);
}

QString WorkbenchSettings::effectiveDatabase() const
{
    return database.isEmpty() ? QString::fromStdString(ResultsStore::defaultPath()) : database;
}

void applySavedShortcuts(const QList<QAction*>& actions)
{
    const QSettings s;
    for (QAction* a : actions) {
        if (a->objectName().isEmpty())
            continue;
        if (!a->property("defaultShortcut").isValid())
            a->setProperty("defaultShortcut", a->shortcut());
        const QVariant saved = s.value(shortcutKey(a));
        a->setShortcut(saved.isValid() ? QKeySequence(saved.toString(), QKeySequence::PortableText)
                                       : a->property("defaultShortcut").value<QKeySequence>());
    }
}

QString versionReport()
{
    return QStringLiteral("<table>"
                          "<tr><td>PTQ Workbench</td><td>%1</td></tr>"
                          "<tr><td>Qt</td><td>%2 (built with %3)</td></tr>"
                          "<tr><td>QCustomPlot</td><td>%4</td></tr>"
                          "<tr><td>SQLite</td><td>%5</td></tr>"
                          "<tr><td>libtorch</td><td>%6</td></tr>"
                          "</table>")
        .arg(QStringLiteral(PTQ_VERSION), QString::fromLatin1(qVersion()),
             QStringLiteral(QT_VERSION_STR), QStringLiteral(QCUSTOMPLOT_VERSION_STR),
             QString::fromLatin1(sqlite3_libversion()), QString::fromLatin1(torchVersion()));
}

SettingsDialog::SettingsDialog(const QList<QAction*>& actions, QWidget* parent)
    : QDialog(parent), m_actions(actions)
{
    setObjectName(QStringLiteral("settingsDialog"));
    m_threads = new QSpinBox(this);
    m_threads->setObjectName(QStringLiteral("threadsBox"));
    m_threads->setRange(0, 1024);
    m_database = new QLineEdit(this);
    m_database->setObjectName(QStringLiteral("databaseEdit"));
    m_browse = new QPushButton(this);
    connect(m_browse, &QPushButton::clicked, this, [this] {
        const QString f = QFileDialog::getSaveFileName(
            this, tr("Results database"), m_database->text(), tr("SQLite files (*.db)"), nullptr,
            QFileDialog::DontConfirmOverwrite);
        if (!f.isEmpty())
            m_database->setText(f);
    });
    auto* dbRow = new QHBoxLayout;
    dbRow->addWidget(m_database, 1);
    dbRow->addWidget(m_browse);
    m_language = new QComboBox(this);
    m_language->setObjectName(QStringLiteral("languageBox"));
    for (const QString& code : LanguageSwitcher::availableLanguages())
        m_language->addItem(code == QLatin1String("en") ? QStringLiteral("English")
                                                        : QLocale(code).nativeLanguageName(),
                            code);

    // Captions are set by retranslateUi(); an empty text would make addRow() skip the label.
    m_form = new QFormLayout;
    m_form->addRow(new QLabel(this), m_threads);
    m_databaseCaption = new QLabel(this);
    m_form->addRow(m_databaseCaption, dbRow);
    m_form->addRow(new QLabel(this), m_language);

    m_shortcutsLabel = new QLabel(this);
    m_shortcuts = new QTableWidget(int(actions.size()), 2, this);
    m_shortcuts->setObjectName(QStringLiteral("shortcutTable"));
    m_shortcuts->horizontalHeader()->setStretchLastSection(true);
    m_shortcuts->verticalHeader()->hide();
    for (int i = 0; i < actions.size(); ++i) {
        auto* name = new QTableWidgetItem;
        name->setFlags(Qt::ItemIsEnabled);
        m_shortcuts->setItem(i, 0, name);
        auto* edit = new QKeySequenceEdit(actions[i]->shortcut(), m_shortcuts);
        edit->setObjectName(actions[i]->objectName());
        m_shortcuts->setCellWidget(i, 1, edit);
    }

    m_about = new QPushButton(this);
    m_about->setObjectName(QStringLiteral("aboutButton"));
    connect(m_about, &QPushButton::clicked, this,
            [this] { QMessageBox::about(this, tr("About PTQ Workbench"), versionReport()); });
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    m_buttons->addButton(m_about, QDialogButtonBox::HelpRole);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &SettingsDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &SettingsDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(m_form);
    layout->addWidget(m_shortcutsLabel);
    layout->addWidget(m_shortcuts, 1);
    layout->addWidget(m_buttons);
    setSettings(WorkbenchSettings::load());
    retranslateUi();
    resize(560, 480);
}

WorkbenchSettings SettingsDialog::settings() const
{
    WorkbenchSettings s;
    s.threads = m_threads->value();
    s.database = m_database->text().trimmed();
    s.language = m_language->currentData().toString();
    return s;
}

void SettingsDialog::setSettings(const WorkbenchSettings& s)
{
    m_threads->setValue(s.threads);
    m_database->setText(s.database);
    const int i = m_language->findData(s.language);
    m_language->setCurrentIndex(i < 0 ? 0 : i);
}

void SettingsDialog::accept()
{
    const WorkbenchSettings s = settings();
    s.save();
    QSettings q;
    for (int i = 0; i < m_actions.size(); ++i) {
        auto* edit = qobject_cast<QKeySequenceEdit*>(m_shortcuts->cellWidget(i, 1));
        q.setValue(shortcutKey(m_actions[i]),
                   edit->keySequence().toString(QKeySequence::PortableText));
    }
    applySavedShortcuts(m_actions);
    emit applied(s);
    QDialog::accept();
}

void SettingsDialog::retranslateUi()
{
    setWindowTitle(tr("Settings"));
    captionOf(m_form, m_threads)->setText(tr("Engine threads:"));
    m_threads->setSpecialValueText(
        tr("automatic (one per core: %1)").arg(QThread::idealThreadCount()));
    m_databaseCaption->setText(tr("Results database:"));
    m_database->setPlaceholderText(
        QDir::toNativeSeparators(QString::fromStdString(ResultsStore::defaultPath())));
    m_browse->setText(tr("Browse…"));
    captionOf(m_form, m_language)->setText(tr("Language:"));
    m_shortcutsLabel->setText(tr("Keyboard shortcuts:"));
    m_shortcuts->setHorizontalHeaderLabels({tr("Action"), tr("Shortcut")});
    for (int i = 0; i < m_actions.size(); ++i)
        m_shortcuts->item(i, 0)->setText(m_actions[i]->text().remove(QLatin1Char('&')));
    m_about->setText(tr("About…"));
}

void SettingsDialog::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QDialog::changeEvent(event);
}

} // namespace ptq
