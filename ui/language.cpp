#include "language.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QLocale>
#include <QSettings>
#include <QTranslator>

namespace ptq {

LanguageSwitcher::LanguageSwitcher(QObject* parent) : QObject(parent) {}

QString LanguageSwitcher::translationPath(const QString& code)
{
    return QStringLiteral(":/i18n/ptq_workbench_%1.qm").arg(code);
}

QStringList LanguageSwitcher::availableLanguages()
{
    QStringList codes{QStringLiteral("en")};
    const QStringList files =
        QDir(QStringLiteral(":/i18n")).entryList({QStringLiteral("ptq_workbench_*.qm")});
    for (const QString& file : files)
        codes.append(QFileInfo(file).completeBaseName().mid(int(qstrlen("ptq_workbench_"))));
    return codes;
}

QString LanguageSwitcher::preferredLanguage()
{
    const QString saved = QSettings().value(QStringLiteral("language")).toString();
    const QStringList available = availableLanguages();
    if (available.contains(saved))
        return saved;
    // QLocale::name() is "ja_JP" or "zh_CN"; try the full name, then the language alone.
    const QString name = QLocale::system().name();
    if (available.contains(name))
        return name;
    const QString lang = name.section(QLatin1Char('_'), 0, 0);
    if (available.contains(lang))
        return lang;
    return QStringLiteral("en");
}

bool LanguageSwitcher::setLanguage(const QString& code)
{
    if (code == m_language)
        return true;
    QTranslator* next = nullptr;
    if (code != QLatin1String("en")) {
        next = new QTranslator(this);
        if (!next->load(translationPath(code))) {
            delete next;
            return false;
        }
    }
    if (m_translator) {
        QCoreApplication::removeTranslator(m_translator);
        delete m_translator;
        m_translator = nullptr;
    }
    if (next) {
        QCoreApplication::installTranslator(next);
        m_translator = next;
    }
    m_language = code;
    emit languageChanged(code);
    return true;
}

} // namespace ptq
