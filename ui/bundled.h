#pragma once
// Where the bundled model family and sample data live: $PTQ_RESOURCE_DIR, else
// <app>/../share/ptq-workbench (an installed tree), else the source tree's resources/ (a
// build tree). Each candidate is used only if it exists.

#include <QString>
#include <QStringList>

namespace ptq {

// The resources folder, or "" when none is found.
QString bundledResourceDir();
// Every checkpoint folder under <resources>/models, smallest first (by name).
QStringList bundledModelDirs();
// <resources>/<relative> when that file exists, else "".
QString bundledFile(const QString& relative);

} // namespace ptq
