#pragma once
// The inline error every panel shows instead of a dialog: a hidden, word-wrapped, selectable
// (so a file name can be copied) label in the one error colour of the workbench.

#include <QString>

class QLabel;
class QWidget;

namespace ptq {

QLabel* makeErrorLabel(QWidget* parent, const QString& objectName);

} // namespace ptq
