#pragma once
// The README's screenshots, reproducibly: every panel of the main window at 1280×800 over a
// copy of a results database, with a few short runs of the smallest bundled model in the
// run queue. `ptq-workbench --screenshots DIR [DB]` calls this; run it under Xvfb
// (xvfb-run) for the platform's real fonts and style.

#include <QString>
#include <QStringList>

namespace ptq {

// Writes DIR/<panel>.png for each panel; returns the files written. Throws nothing: a
// problem is returned in `error` with an empty list.
QStringList takeScreenshots(const QString& outDir, const QString& database, QString* error);

} // namespace ptq
