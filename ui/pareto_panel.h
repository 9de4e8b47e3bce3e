#pragma once
// The results view: a size × quality plot with its export button. Until runs are stored it
// shows whatever points it is given (the headless demo, tests).

#include "pareto_plot.h"

#include <QWidget>

class QPushButton;
class QLabel;

namespace ptq {

class ParetoPanel : public QWidget {
    Q_OBJECT
public:
    explicit ParetoPanel(QWidget* parent = nullptr);

    ParetoPlot* plot() const { return m_plot; }
    void setPoints(const QVector<PlotPoint>& points);

public slots:
    // Asks for a file name; the extension picks PNG, SVG or PDF.
    void exportWithDialog();

signals:
    void exported(const QString& path);
    void exportFailed(const QString& message);

protected:
    void changeEvent(QEvent* event) override;

private:
    void retranslateUi();

    ParetoPlot* m_plot = nullptr;
    QPushButton* m_exportButton = nullptr;
    QLabel* m_hint = nullptr;
};

} // namespace ptq
