#pragma once
// The interface language: one QTranslator from the resources (":/i18n/ptq_workbench_<code>.qm")
// installed on the application, replaced on a switch. Installing it makes Qt send
// QEvent::LanguageChange to every widget, which the panels answer with retranslateUi().

#include <QObject>
#include <QString>
#include <QStringList>

class QTranslator;

namespace ptq {

class LanguageSwitcher : public QObject {
    Q_OBJECT
public:
    explicit LanguageSwitcher(QObject* parent = nullptr);

    // "en" plus every language with a bundled translation, e.g. "ja", "zh_CN".
    static QStringList availableLanguages();
    // The resource path of a language's compiled translation.
    static QString translationPath(const QString& code);
    // The saved choice (QSettings "language"), else the system locale when a translation
    // for it exists, else "en".
    static QString preferredLanguage();

    // Installs the translation for code ("en" removes it). Returns false, leaving the
    // current language in place, when no translation for code is bundled.
    bool setLanguage(const QString& code);
    QString language() const { return m_language; }

signals:
    void languageChanged(const QString& code);

private:
    QTranslator* m_translator = nullptr;
    QString m_language = QStringLiteral("en");
};

} // namespace ptq
