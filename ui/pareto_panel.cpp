#include "pareto_panel.h"

#include "plot_export.h"

#include <QEvent>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

namespace ptq {

ParetoPanel::ParetoPanel(QWidget* parent) : QWidget(parent)
{
    m_plot = new ParetoPlot(this);
    m_plot->setObjectName(QStringLiteral("paretoPlot"));
    m_plot->setMinimumSize(320, 200);
    m_exportButton = new QPushButton(this);
    m_exportButton->setObjectName(QStringLiteral("exportPlotButton"));
    m_hint = new QLabel(this);
    m_hint->setObjectName(QStringLiteral("paretoHint"));
    m_hint->setWordWrap(true);

    auto* bottom = new QHBoxLayout;
    bottom->addWidget(m_hint, 1);
    bottom->addWidget(m_exportButton);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_plot, 1);
    layout->addLayout(bottom);

    connect(m_exportButton, &QPushButton::clicked, this, &ParetoPanel::exportWithDialog);
    retranslateUi();
}

void ParetoPanel::setPoints(const QVector<PlotPoint>& points)
{
    m_plot->setPoints(points);
}

void ParetoPanel::retranslateUi()
{
    m_plot->setAxisTitles(tr("Size (MB)"), tr("Metric (lower is better)"));
    m_exportButton->setText(tr("Export…"));
    m_hint->setText(tr("Each point is one quantized model; the line joins the Pareto front."));
}

void ParetoPanel::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWidget::changeEvent(event);
}

void ParetoPanel::exportWithDialog()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Export plot"), QString(),
                                                      tr("Images (*.png *.svg *.pdf)"));
    if (path.isEmpty())
        return;
    const std::optional<PlotFormat> format = plotFormatFromPath(path);
    if (!format) {
        emit exportFailed(tr("Unknown file type for %1: use .png, .svg or .pdf.").arg(path));
        return;
    }
    // 6.5 in: a full text width in most paper templates; 300 dpi for print.
    QString error;
    if (exportPlot(m_plot, path, *format, 6.5, 300, 0.625, &error))
        emit exported(path);
    else
        emit exportFailed(error);
}

} // namespace ptq
