#include "results_panel.h"

#include "analysis/export.h"
#include "error_label.h"
#include "export_dialog.h"
#include "workbench_context.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

#include <exception>
#include <set>

namespace ptq {

namespace {

// The quality metrics a view can plot, in the order the combo lists them.
const char* const kPlotMetrics[] = {"perplexity",     "kl_mean", "kl_max",  "perplexity_fp",
                                    "top1_agreement", "acc",     "acc_norm"};

QLabel* makeCaption(QWidget* parent, QWidget* buddy)
{
    auto* label = new QLabel(parent);
    label->setBuddy(buddy);
    return label;
}

QString messageOf(const std::exception& e)
{
    return QString::fromStdString(e.what());
}

} // namespace

ResultsPanel::ResultsPanel(WorkbenchContext* context, QWidget* parent)
    : QWidget(parent), m_context(context)
{
    Q_ASSERT(context);
    buildUi();
    connectUi();
    retranslateUi();
    reload();
}

QWidget* ResultsPanel::buildControls()
{
    auto* box = new QWidget(this);
    m_metric = new QComboBox(box);
    m_metric->setObjectName(QStringLiteral("metricCombo"));
    for (const char* metric : kPlotMetrics)
        m_metric->addItem(QString::fromLatin1(metric), QString::fromLatin1(metric));
    m_dataset = new QComboBox(box);
    m_dataset->setObjectName(QStringLiteral("datasetCombo"));
    m_sizeAxis = new QComboBox(box);
    m_sizeAxis->setObjectName(QStringLiteral("sizeAxisCombo"));
    m_sizeAxis->addItem(QString(), int(SizeAxis::Bytes));
    m_sizeAxis->addItem(QString(), int(SizeAxis::BitsPerWeight));
    m_sizeAxis->addItem(QString(), int(SizeAxis::ActiveBytes));
    m_logX = new QCheckBox(box);
    m_logX->setObjectName(QStringLiteral("logXCheck"));
    m_logY = new QCheckBox(box);
    m_logY->setObjectName(QStringLiteral("logYCheck"));
    m_front = new QComboBox(box);
    m_front->setObjectName(QStringLiteral("frontCombo"));
    for (FrontMode mode : {FrontMode::None, FrontMode::Overall, FrontMode::PerStrategy})
        m_front->addItem(QString(), int(mode));
    m_front->setCurrentIndex(1);
    m_modelFilter = new QComboBox(box);
    m_modelFilter->setObjectName(QStringLiteral("modelFilterCombo"));
    m_perModel = new QCheckBox(box);
    m_perModel->setObjectName(QStringLiteral("perModelCheck"));
    m_textFilter = new QLineEdit(box);
    m_textFilter->setObjectName(QStringLiteral("textFilter"));
    m_textFilter->setClearButtonEnabled(true);
    m_statusFilter = new QComboBox(box);
    m_statusFilter->setObjectName(QStringLiteral("statusFilterCombo"));
    m_statusFilter->addItem(QString(), QString());
    for (RunStatus s : {RunStatus::Done, RunStatus::Failed, RunStatus::Running, RunStatus::Queued,
                        RunStatus::Cancelled, RunStatus::Interrupted})
        m_statusFilter->addItem(QString(), QString::fromStdString(runStatusName(s)));
    m_exportFigure = new QPushButton(box);
    m_exportFigure->setObjectName(QStringLiteral("exportFigureButton"));
    m_exportTable = new QPushButton(box);
    m_exportTable->setObjectName(QStringLiteral("exportTableButton"));
    m_exportData = new QPushButton(box);
    m_exportData->setObjectName(QStringLiteral("exportDataButton"));

    m_metricCaption = makeCaption(box, m_metric);
    m_datasetCaption = makeCaption(box, m_dataset);
    m_axisCaption = makeCaption(box, m_sizeAxis);
    m_frontCaption = makeCaption(box, m_front);
    m_modelCaption = makeCaption(box, m_modelFilter);
    m_statusCaption = makeCaption(box, m_statusFilter);

    auto* plotRow = new QHBoxLayout;
    for (QWidget* w : std::initializer_list<QWidget*>{m_metricCaption, m_metric, m_datasetCaption,
                                                      m_dataset, m_axisCaption, m_sizeAxis, m_logX,
                                                      m_logY, m_frontCaption, m_front, m_perModel})
        plotRow->addWidget(w);
    plotRow->addStretch(1);
    auto* filterRow = new QHBoxLayout;
    for (QWidget* w : std::initializer_list<QWidget*>{m_modelCaption, m_modelFilter,
                                                      m_statusCaption, m_statusFilter})
        filterRow->addWidget(w);
    filterRow->addWidget(m_textFilter, 1);
    for (QWidget* w : {m_exportFigure, m_exportTable, m_exportData})
        filterRow->addWidget(w);
    auto* layout = new QVBoxLayout(box);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(plotRow);
    layout->addLayout(filterRow);
    return box;
}

void ResultsPanel::buildUi()
{
    m_errorLabel = makeErrorLabel(this, QStringLiteral("resultsErrorLabel"));
    m_plotMessage = new QLabel(this);
    m_plotMessage->setObjectName(QStringLiteral("plotMessageLabel"));
    m_plotMessage->setWordWrap(true);
    m_plotMessage->hide();

    m_model = new ResultsModel(this);
    m_proxy = new ResultsFilterProxy(this);
    m_proxy->setSourceModel(m_model);
    m_table = new QTableView(this);
    m_table->setObjectName(QStringLiteral("resultsTable"));
    m_table->setModel(m_proxy);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(ResultsModel::Id, Qt::AscendingOrder);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);

    m_pareto = new RunParetoPlot(this);
    m_pareto->setObjectName(QStringLiteral("paretoPlot"));
    m_metricBits = new RunCurvePlot(this);
    m_metricBits->setObjectName(QStringLiteral("metricBitsPlot"));
    m_modelSize = new RunCurvePlot(this);
    m_modelSize->setObjectName(QStringLiteral("modelSizePlot"));
    m_tabs = new QTabWidget(this);
    m_tabs->setObjectName(QStringLiteral("resultsTabs"));
    m_tabs->addTab(m_table, QString());
    m_tabs->addTab(m_pareto, QString());
    m_tabs->addTab(m_metricBits, QString());
    m_tabs->addTab(m_modelSize, QString());

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_errorLabel);
    layout->addWidget(buildControls());
    layout->addWidget(m_plotMessage);
    layout->addWidget(m_tabs, 1);
}

void ResultsPanel::connectUi()
{
    connect(m_context, &WorkbenchContext::storeChanged, this, &ResultsPanel::reload);
    connect(m_context, &WorkbenchContext::databaseChanged, this, &ResultsPanel::reload);
    connect(m_context, &WorkbenchContext::runSelected, this, &ResultsPanel::onRunSelected);
    for (QComboBox* combo : {m_sizeAxis, m_front, m_dataset})
        connect(combo, &QComboBox::currentIndexChanged, this, &ResultsPanel::replot);
    connect(m_metric, &QComboBox::currentIndexChanged, this, [this] {
        refillDatasetCombo();
        replot();
    });
    for (QCheckBox* box : {m_logX, m_logY, m_perModel})
        connect(box, &QCheckBox::toggled, this, &ResultsPanel::replot);
    connect(m_modelFilter, &QComboBox::currentIndexChanged, this, [this] {
        m_proxy->setModelFilter(m_modelFilter->currentData().toString());
        replot();
    });
    connect(m_textFilter, &QLineEdit::textChanged, m_proxy, &ResultsFilterProxy::setTextFilter);
    connect(m_statusFilter, &QComboBox::currentIndexChanged, this, [this] {
        const QString name = m_statusFilter->currentData().toString();
        m_proxy->setStatusFilter(
            name.isEmpty() ? std::nullopt : std::optional(parseRunStatus(name.toStdString())));
    });
    connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &ResultsPanel::onCurrentRowChanged);
    for (RunPlotBase* plot :
         std::initializer_list<RunPlotBase*>{m_pareto, m_metricBits, m_modelSize})
        connect(plot, &RunPlotBase::runClicked, m_context, &WorkbenchContext::selectRun);
    connect(m_tabs, &QTabWidget::currentChanged, this,
            [this] { m_exportFigure->setEnabled(currentPlot() != nullptr); });
    connect(m_exportFigure, &QPushButton::clicked, this, &ResultsPanel::exportFigureWithDialog);
    connect(m_exportTable, &QPushButton::clicked, this, &ResultsPanel::exportTableWithDialog);
    connect(m_exportData, &QPushButton::clicked, this, &ResultsPanel::exportDataWithDialog);
    m_exportFigure->setEnabled(false);
}

void ResultsPanel::retranslateUi()
{
    m_metricCaption->setText(tr("Metric:"));
    m_datasetCaption->setText(tr("Dataset:"));
    m_axisCaption->setText(tr("x axis:"));
    m_sizeAxis->setItemText(0, tr("Size (MB)"));
    m_sizeAxis->setItemText(1, tr("Bits per weight"));
    m_sizeAxis->setItemText(2, tr("Active size per token (MB)"));
    m_logX->setText(tr("Log x"));
    m_logY->setText(tr("Log y"));
    m_frontCaption->setText(tr("Front:"));
    m_front->setItemText(0, tr("none"));
    m_front->setItemText(1, tr("overall"));
    m_front->setItemText(2, tr("per strategy"));
    m_perModel->setText(tr("Lines per model"));
    m_perModel->setToolTip(tr("Metric vs bits: one line per strategy and model"));
    m_modelCaption->setText(tr("Model:"));
    m_statusCaption->setText(tr("Status:"));
    m_statusFilter->setItemText(0, tr("any"));
    const char* const statusNames[] = {QT_TR_NOOP("done"),      QT_TR_NOOP("failed"),
                                       QT_TR_NOOP("running"),   QT_TR_NOOP("queued"),
                                       QT_TR_NOOP("cancelled"), QT_TR_NOOP("interrupted")};
    for (int i = 0; i < 6; ++i)
        m_statusFilter->setItemText(i + 1, tr(statusNames[i]));
    m_textFilter->setPlaceholderText(tr("Filter runs (any column)…"));
    m_exportFigure->setText(tr("Export figure…"));
    m_exportTable->setText(tr("Export table…"));
    m_exportData->setText(tr("Export data…"));
    m_exportData->setToolTip(tr("The numbers behind the current view, as CSV"));
    m_tabs->setTabText(TableTab, tr("Table"));
    m_tabs->setTabText(ParetoTab, tr("Pareto"));
    m_tabs->setTabText(MetricBitsTab, tr("Metric vs bits"));
    m_tabs->setTabText(ModelSizeTab, tr("Model size vs bits"));
    if (m_modelFilter->count() > 0)
        m_modelFilter->setItemText(0, tr("all models"));
    m_model->retranslate();
    if (!m_error.isEmpty())
        showError(m_error);
}

void ResultsPanel::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::LanguageChange) {
        retranslateUi();
        replot(); // axis titles and legends are translated text too
    }
    QWidget::changeEvent(event);
}

void ResultsPanel::setStrategyClassifier(StrategyClassifier classifier)
{
    m_pareto->setStrategyClassifier(std::move(classifier));
    replot();
}

void ResultsPanel::showError(const QString& message)
{
    m_error = message;
    m_errorLabel->setText(message);
    m_errorLabel->setVisible(!message.isEmpty());
}

QString ResultsPanel::errorText() const
{
    return m_error;
}

QString ResultsPanel::plotMessage() const
{
    return m_plotMessageText;
}

void ResultsPanel::reload()
{
    m_runs.clear();
    m_datasets.clear();
    QString error;
    const QString path = m_context->databasePath();
    if (!path.isEmpty()) {
        // Read-only and closed again at once: a sweep writing the file is never blocked.
        try {
            const ResultsStore store(path.toStdString(), ResultsStore::Mode::ReadOnly);
            m_runs = store.listRuns();
            m_datasets = store.datasets();
        } catch (const std::exception& e) {
            m_runs.clear();
            error = tr("Cannot read the results database %1: %2")
                        .arg(QDir::toNativeSeparators(path), messageOf(e));
        }
    }
    showError(error);
    m_model->setRuns(m_runs);
    refillModelCombo();
    refillDatasetCombo();
    replot();
    onRunSelected(m_context->selectedRun());
}

void ResultsPanel::refillModelCombo()
{
    const QString current = m_modelFilter->currentData().toString();
    std::set<QString> names;
    for (const RunRecord& r : m_runs)
        names.insert(QString::fromStdString(r.modelName));
    const QSignalBlocker blocker(m_modelFilter);
    m_modelFilter->clear();
    m_modelFilter->addItem(tr("all models"), QString());
    for (const QString& name : names)
        m_modelFilter->addItem(name, name);
    const int index = m_modelFilter->findData(current);
    m_modelFilter->setCurrentIndex(index < 0 ? 0 : index);
    m_proxy->setModelFilter(m_modelFilter->currentData().toString());
}

void ResultsPanel::refillDatasetCombo()
{
    // The datasets carrying the metric; the first (smallest sha256) is the default, the same
    // one the table shows.
    const QString current = m_dataset->currentData().toString();
    const std::string metric = m_metric->currentData().toString().toStdString();
    std::set<std::string> shas;
    for (const RunRecord& r : m_runs)
        if (r.status == RunStatus::Done)
            for (const MetricValue& m : r.metrics)
                if (m.name == metric)
                    shas.insert(m.datasetSha256);
    const QSignalBlocker blocker(m_dataset);
    m_dataset->clear();
    for (const std::string& sha : shas) {
        QString name = QString::fromStdString(sha.substr(0, 8));
        for (const DatasetRecord& d : m_datasets)
            if (d.sha256 == sha && !d.path.empty())
                name = QStringLiteral("%1 (%2)").arg(
                    QFileInfo(QString::fromStdString(d.path)).fileName(), name);
        m_dataset->addItem(sha.empty() ? tr("(none)") : name, QString::fromStdString(sha));
    }
    const int index = m_dataset->findData(current);
    m_dataset->setCurrentIndex(index < 0 ? 0 : index);
    m_dataset->setEnabled(m_dataset->count() > 1);
}

std::vector<RunRecord> ResultsPanel::plotRuns() const
{
    const QString model = m_modelFilter->currentData().toString();
    std::vector<RunRecord> runs;
    for (const RunRecord& r : m_runs)
        if (r.status == RunStatus::Done &&
            (model.isEmpty() || QString::fromStdString(r.modelName) == model))
            runs.push_back(r);
    return runs;
}

void ResultsPanel::replot()
{
    const std::vector<RunRecord> runs = plotRuns();
    const std::string metric = m_metric->currentData().toString().toStdString();
    const std::string dataset = m_dataset->currentData().toString().toStdString();
    const std::string source = m_context->databasePath().toStdString();
    QStringList problems;
    const auto attempt = [&](const auto& fill) {
        try {
            fill();
        } catch (const std::exception& e) {
            if (!problems.contains(messageOf(e)))
                problems << messageOf(e);
        }
    };
    for (RunPlotBase* plot :
         std::initializer_list<RunPlotBase*>{m_pareto, m_metricBits, m_modelSize})
        plot->setLogAxes(m_logX->isChecked(), m_logY->isChecked());

    RunParetoSpec pareto;
    pareto.metric = metric;
    pareto.dataset = dataset;
    pareto.x = SizeAxis(m_sizeAxis->currentData().toInt());
    pareto.front = FrontMode(m_front->currentData().toInt());
    pareto.source = source;
    attempt([&] { m_pareto->setRuns(runs, pareto); });
    RunCurveSpec curves;
    curves.metric = metric;
    curves.dataset = dataset;
    curves.source = source;
    curves.grouping =
        m_perModel->isChecked() ? CurveGrouping::StrategyModel : CurveGrouping::Strategy;
    attempt([&] { m_metricBits->setRuns(runs, curves); });
    curves.grouping = CurveGrouping::Model;
    attempt([&] { m_modelSize->setRuns(runs, curves); });
    for (const std::string& w : m_pareto->warnings())
        problems << QString::fromStdString(w);

    m_plotMessageText = runs.empty() || !m_error.isEmpty() ? QString() : problems.join('\n');
    m_plotMessage->setText(m_plotMessageText);
    m_plotMessage->setVisible(!m_plotMessageText.isEmpty());
    for (RunPlotBase* plot :
         std::initializer_list<RunPlotBase*>{m_pareto, m_metricBits, m_modelSize})
        plot->setSelectedRun(m_context->selectedRun());
}

RunPlotBase* ResultsPanel::currentPlot() const
{
    return qobject_cast<RunPlotBase*>(m_tabs->currentWidget());
}

std::vector<std::vector<int64_t>> ResultsPanel::paretoFrontRunIds() const
{
    std::vector<std::vector<int64_t>> ids;
    for (const DrawnFront& front : m_pareto->fronts())
        ids.push_back(front.runIds);
    return ids;
}

void ResultsPanel::onCurrentRowChanged()
{
    if (m_syncing)
        return;
    const QModelIndex current = m_table->selectionModel()->currentIndex();
    if (current.isValid())
        m_context->selectRun(m_proxy->runIdAt(current.row()));
}

void ResultsPanel::onRunSelected(qint64 runId)
{
    m_syncing = true;
    const int sourceRow = m_model->rowOfRun(runId);
    const QModelIndex index =
        sourceRow < 0 ? QModelIndex() : m_proxy->mapFromSource(m_model->index(sourceRow, 0));
    if (index.isValid()) {
        m_table->selectRow(index.row());
        m_table->selectionModel()->setCurrentIndex(index, QItemSelectionModel::Current |
                                                              QItemSelectionModel::Rows);
        m_table->scrollTo(index);
    } else {
        m_table->clearSelection();
    }
    m_syncing = false;
    for (RunPlotBase* plot :
         std::initializer_list<RunPlotBase*>{m_pareto, m_metricBits, m_modelSize})
        plot->setSelectedRun(runId);
}

bool ResultsPanel::exportTableTo(const QString& path, QString* error)
{
    const QString suffix = QFileInfo(path).suffix().toLower();
    try {
        const ExportFormat format =
            suffix == QLatin1String("tex")
                ? ExportFormat::Latex
                : parseExportFormat(suffix.toStdString(), path.toStdString());
        writeFileAtomically(path.toStdString(),
                            formatTable(runsTable(m_proxy->visibleRuns()), format));
        return true;
    } catch (const std::exception& e) {
        if (error)
            *error = messageOf(e);
        return false;
    }
}

bool ResultsPanel::exportPlotDataTo(const QString& path, QString* error)
{
    RunPlotBase* plot = currentPlot();
    try {
        const ExportTable table = plot ? plot->dataTable() : runsTable(m_proxy->visibleRuns());
        writeFileAtomically(path.toStdString(), toCsv(table));
        return true;
    } catch (const std::exception& e) {
        if (error)
            *error = messageOf(e);
        return false;
    }
}

void ResultsPanel::exportFigureWithDialog()
{
    RunPlotBase* plot = currentPlot();
    if (!plot)
        return;
    ExportDialog dialog(plot, this);
    dialog.exec();
}

void ResultsPanel::exportTableWithDialog()
{
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export table"), QString(), tr("CSV (*.csv);;LaTeX table (*.tex);;JSON (*.json)"));
    if (path.isEmpty())
        return;
    QString error;
    showError(exportTableTo(path, &error) ? m_error : error);
}

void ResultsPanel::exportDataWithDialog()
{
    const QString path =
        QFileDialog::getSaveFileName(this, tr("Export plot data"), QString(), tr("CSV (*.csv)"));
    if (path.isEmpty())
        return;
    QString error;
    showError(exportPlotDataTo(path, &error) ? m_error : error);
}

} // namespace ptq
