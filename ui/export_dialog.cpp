#include "export_dialog.h"

#include "error_label.h"
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QEvent>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace ptq {

namespace {

QLabel* captionOf(QFormLayout* form, QWidget* field)
{
    return qobject_cast<QLabel*>(form->labelForField(field));
}

} // namespace

ExportDialog::ExportDialog(QCustomPlot* plot, QWidget* parent) : QDialog(parent), m_plot(plot)
{
    setObjectName(QStringLiteral("exportDialog"));
    buildUi();
    setOptions(figurePreset(FigurePreset::SingleColumn));
    connect(m_browse, &QPushButton::clicked, this, &ExportDialog::browse);
    connect(m_path, &QLineEdit::textChanged, this, &ExportDialog::updateEnabled);
    connect(m_preset, &QComboBox::currentIndexChanged, this, &ExportDialog::applyPreset);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &ExportDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &ExportDialog::reject);
    retranslateUi();
    updateEnabled();
}

void ExportDialog::buildUi()
{
    m_path = new QLineEdit(this);
    m_path->setObjectName(QStringLiteral("exportPath"));
    m_browse = new QPushButton(this);
    m_browse->setObjectName(QStringLiteral("exportBrowse"));
    auto* pathRow = new QHBoxLayout;
    pathRow->addWidget(m_path, 1);
    pathRow->addWidget(m_browse);
    auto* pathWidget = new QWidget(this);
    pathWidget->setLayout(pathRow);
    pathRow->setContentsMargins(0, 0, 0, 0);

    m_format = new QLabel(this);
    m_format->setObjectName(QStringLiteral("exportFormat"));
    m_preset = new QComboBox(this);
    m_preset->setObjectName(QStringLiteral("exportPreset"));
    for (FigurePreset p :
         {FigurePreset::SingleColumn, FigurePreset::DoubleColumn, FigurePreset::Custom})
        m_preset->addItem(QString(), int(p));
    m_width = new QDoubleSpinBox(this);
    m_width->setObjectName(QStringLiteral("exportWidth"));
    m_width->setRange(1.0, 40.0);
    m_width->setSingleStep(0.25);
    m_width->setSuffix(QStringLiteral(" in"));
    m_aspect = new QDoubleSpinBox(this);
    m_aspect->setObjectName(QStringLiteral("exportAspect"));
    m_aspect->setRange(0.2, 3.0);
    m_aspect->setSingleStep(0.05);
    m_dpi = new QSpinBox(this);
    m_dpi->setObjectName(QStringLiteral("exportDpi"));
    m_dpi->setRange(50, 1200);
    m_font = new QDoubleSpinBox(this);
    m_font->setObjectName(QStringLiteral("exportFont"));
    m_font->setRange(4.0, 24.0);
    m_font->setSingleStep(0.5);
    m_font->setSuffix(QStringLiteral(" pt"));

    m_form = new QFormLayout;
    for (QWidget* field : std::initializer_list<QWidget*>{pathWidget, m_format, m_preset, m_width,
                                                          m_aspect, m_dpi, m_font})
        m_form->addRow(new QLabel(this), field);

    m_error = makeErrorLabel(this, QStringLiteral("exportError"));
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(m_form);
    layout->addWidget(m_error);
    layout->addWidget(m_buttons);
}

void ExportDialog::retranslateUi()
{
    setWindowTitle(tr("Export figure"));
    m_browse->setText(tr("Browse…"));
    captionOf(m_form, m_path->parentWidget())->setText(tr("File:"));
    captionOf(m_form, m_format)->setText(tr("Format:"));
    captionOf(m_form, m_preset)->setText(tr("Preset:"));
    captionOf(m_form, m_width)->setText(tr("Width:"));
    captionOf(m_form, m_aspect)->setText(tr("Height / width:"));
    captionOf(m_form, m_dpi)->setText(tr("Resolution (PNG, dpi):"));
    captionOf(m_form, m_font)->setText(tr("Font size:"));
    for (int i = 0; i < m_preset->count(); ++i)
        m_preset->setItemText(i, figurePresetName(FigurePreset(m_preset->itemData(i).toInt())));
    updateEnabled();
}

void ExportDialog::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QDialog::changeEvent(event);
}

QString ExportDialog::path() const
{
    return m_path->text().trimmed();
}

void ExportDialog::setPath(const QString& path)
{
    m_path->setText(path);
}

FigureOptions ExportDialog::options() const
{
    FigureOptions o;
    o.preset = FigurePreset(m_preset->currentData().toInt());
    o.widthInches = m_width->value();
    o.aspect = m_aspect->value();
    o.dpi = m_dpi->value();
    o.fontPt = m_font->value();
    return o;
}

void ExportDialog::setOptions(const FigureOptions& o)
{
    m_preset->blockSignals(true);
    m_preset->setCurrentIndex(m_preset->findData(int(o.preset)));
    m_preset->blockSignals(false);
    m_width->setValue(o.preset == FigurePreset::Custom ? o.widthInches
                                                       : figurePreset(o.preset).widthInches);
    m_aspect->setValue(o.aspect);
    m_dpi->setValue(o.dpi);
    m_font->setValue(o.fontPt);
    updateEnabled();
}

void ExportDialog::applyPreset()
{
    const auto preset = FigurePreset(m_preset->currentData().toInt());
    if (preset != FigurePreset::Custom) {
        const FigureOptions o = figurePreset(preset);
        m_width->setValue(o.widthInches);
        m_font->setValue(o.fontPt);
    }
    updateEnabled();
}

void ExportDialog::updateEnabled()
{
    const std::optional<PlotFormat> format = plotFormatFromPath(path());
    m_format->setText(!format                      ? tr("choose a .pdf, .svg or .png file")
                      : *format == PlotFormat::Pdf ? tr("PDF (vector)")
                      : *format == PlotFormat::Svg ? tr("SVG (vector)")
                                                   : tr("PNG (raster)"));
    m_dpi->setEnabled(format == PlotFormat::Png);
    m_width->setEnabled(FigurePreset(m_preset->currentData().toInt()) == FigurePreset::Custom);
}

void ExportDialog::browse()
{
    const QString chosen = QFileDialog::getSaveFileName(
        this, tr("Export figure"), path(), tr("PDF (*.pdf);;SVG (*.svg);;PNG image (*.png)"));
    if (!chosen.isEmpty())
        setPath(chosen);
}

bool ExportDialog::exportNow(QCustomPlot* plot, const QString& path, const FigureOptions& options,
                             QString* error)
{
    return exportFigure(plot, path, options, error);
}

void ExportDialog::accept()
{
    QString error;
    if (path().isEmpty())
        error = tr("Choose a file to write.");
    else if (exportNow(m_plot, path(), options(), &error)) {
        m_lastError.clear();
        m_error->hide();
        emit exported(path());
        QDialog::accept();
        return;
    }
    m_lastError = error;
    m_error->setText(error);
    m_error->show();
}

} // namespace ptq
