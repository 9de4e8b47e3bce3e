#include "bundled.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <algorithm>

#ifndef PTQ_RESOURCE_DIR
#define PTQ_RESOURCE_DIR ""
#endif

namespace ptq {

QString bundledResourceDir()
{
    QStringList candidates;
    const QString env = qEnvironmentVariable("PTQ_RESOURCE_DIR");
    if (!env.isEmpty())
        candidates << env;
    if (QCoreApplication::instance())
        candidates << QCoreApplication::applicationDirPath() +
                          QStringLiteral("/../share/ptq-workbench");
    candidates << QStringLiteral(PTQ_RESOURCE_DIR);
    for (const QString& c : candidates)
        if (!c.isEmpty() && QFileInfo(c + QStringLiteral("/models")).isDir())
            return QDir::cleanPath(c);
    return {};
}

QStringList bundledModelDirs()
{
    const QString root = bundledResourceDir();
    if (root.isEmpty())
        return {};
    QStringList dirs;
    const QDir models(root + QStringLiteral("/models"));
    // Names carry the size ("ptq-llama-0.7m", "-3.9m", "-11m"): order by the number in them.
    QFileInfoList entries = models.entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot);
    std::sort(entries.begin(), entries.end(), [](const QFileInfo& a, const QFileInfo& b) {
        const double sa = a.fileName().section(QLatin1Char('-'), -1).chopped(1).toDouble();
        const double sb = b.fileName().section(QLatin1Char('-'), -1).chopped(1).toDouble();
        return sa != sb ? sa < sb : a.fileName() < b.fileName();
    });
    for (const QFileInfo& e : entries)
        if (QFileInfo::exists(e.filePath() + QStringLiteral("/config.json")))
            dirs << e.filePath();
    return dirs;
}

QString bundledFile(const QString& relative)
{
    const QString root = bundledResourceDir();
    if (root.isEmpty())
        return {};
    const QString path = root + QLatin1Char('/') + relative;
    return QFileInfo::exists(path) ? path : QString();
}

} // namespace ptq
