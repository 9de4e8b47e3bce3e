#pragma once
// "Export figure…": a file path (format from its extension: PDF, SVG, PNG), a paper preset
// (single column 3.5 in, double column 7 in, custom width), aspect ratio, PNG resolution and
// font size. OK writes the figure through exportFigure(); a failure is shown in the dialog,
// which stays open so the path can be corrected.

#include "figure_export.h"

#include <QDialog>

class QCustomPlot;
class QComboBox;
class QDialogButtonBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace ptq {

class ExportDialog : public QDialog {
    Q_OBJECT
public:
    explicit ExportDialog(QCustomPlot* plot, QWidget* parent = nullptr);

    QString path() const;
    void setPath(const QString& path);
    FigureOptions options() const;
    void setOptions(const FigureOptions& options);
    QString lastError() const { return m_lastError; }

    // The export OK performs, without a dialog (scripts, tests).
    static bool exportNow(QCustomPlot* plot, const QString& path, const FigureOptions& options,
                          QString* error = nullptr);

public slots:
    void accept() override;
    void browse();

signals:
    void exported(const QString& path);

protected:
    void changeEvent(QEvent* event) override;

private:
    void buildUi();
    void retranslateUi();
    void updateEnabled();
    void applyPreset();

    QCustomPlot* m_plot = nullptr;
    QFormLayout* m_form = nullptr;
    QLineEdit* m_path = nullptr;
    QPushButton* m_browse = nullptr;
    QLabel* m_format = nullptr;
    QComboBox* m_preset = nullptr;
    QDoubleSpinBox* m_width = nullptr;
    QDoubleSpinBox* m_aspect = nullptr;
    QSpinBox* m_dpi = nullptr;
    QDoubleSpinBox* m_font = nullptr;
    QLabel* m_error = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
    QString m_lastError;
};

} // namespace ptq
