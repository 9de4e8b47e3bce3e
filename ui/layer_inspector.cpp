#include "layer_inspector.h"

#include "error_label.h"
#include "expert_heatmaps.h"
#include "export_dialog.h"
#include "heatmap_plot.h"
#include "workbench_context.h"

#include <QCheckBox>
#include <QComboBox>
#include <QCoreApplication>
#include <QDir>
#include <QEvent>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QLocale>
#include <QPushButton>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>

namespace ptq {

namespace {

constexpr LayerMeasure kMeasures[] = {
    LayerMeasure::RelWeightError, LayerMeasure::OutputError,      LayerMeasure::MethodLoss,
    LayerMeasure::MaxAbsError,    LayerMeasure::Seconds,          LayerMeasure::CalibTokens,
    LayerMeasure::InputAbsMax,    LayerMeasure::InputOutlierRatio};

QString number(double v)
{
    return std::isfinite(v) ? QLocale().toString(v, 'g', 4) : QStringLiteral("—");
}

QString runLabel(const RunRecord& r)
{
    const QString group =
        r.spec.groupSize > 0 ? QStringLiteral(" g%1").arg(r.spec.groupSize) : QString();
    return QStringLiteral("%1 W%2%3 (#%4)")
        .arg(QString::fromStdString(r.spec.recipeName))
        .arg(r.spec.wbits)
        .arg(group)
        .arg(r.id);
}

QColor lineColour(int index)
{
    static const QColor colours[] = {QColor(0x00, 0x72, 0xb2), QColor(0xd5, 0x5e, 0x00),
                                     QColor(0x00, 0x9e, 0x73), QColor(0xcc, 0x79, 0xa7),
                                     QColor(0xe6, 0x9f, 0x00), QColor(0x56, 0xb4, 0xe9),
                                     QColor(0x00, 0x00, 0x00)};
    return colours[index % 7];
}

} // namespace

double layerMeasureValue(const LayerErrorRow& row, LayerMeasure measure)
{
    switch (measure) {
    case LayerMeasure::RelWeightError:
        return row.relWeightError;
    case LayerMeasure::OutputError:
        return row.outputError;
    case LayerMeasure::MethodLoss:
        return row.methodLoss;
    case LayerMeasure::MaxAbsError:
        return row.maxAbsError;
    case LayerMeasure::Seconds:
        return row.seconds;
    case LayerMeasure::CalibTokens:
        return double(row.routedTokens >= 0 ? row.routedTokens : row.calibTokens);
    case LayerMeasure::InputAbsMax:
        return row.inputAbsMax;
    case LayerMeasure::InputOutlierRatio:
        return row.inputOutlierRatio;
    }
    return std::numeric_limits<double>::quiet_NaN();
}

QString layerMeasureName(LayerMeasure measure)
{
    switch (measure) {
    case LayerMeasure::RelWeightError:
        return QCoreApplication::translate("ptq::LayerInspector", "Relative weight error");
    case LayerMeasure::OutputError:
        return QCoreApplication::translate("ptq::LayerInspector", "Output error");
    case LayerMeasure::MethodLoss:
        return QCoreApplication::translate("ptq::LayerInspector", "Method loss");
    case LayerMeasure::MaxAbsError:
        return QCoreApplication::translate("ptq::LayerInspector", "Max. abs. error");
    case LayerMeasure::Seconds:
        return QCoreApplication::translate("ptq::LayerInspector", "Time (s)");
    case LayerMeasure::CalibTokens:
        return QCoreApplication::translate("ptq::LayerInspector", "Calibration tokens");
    case LayerMeasure::InputAbsMax:
        return QCoreApplication::translate("ptq::LayerInspector", "Input max. |x|");
    case LayerMeasure::InputOutlierRatio:
        return QCoreApplication::translate("ptq::LayerInspector", "Input outlier ratio");
    }
    return {};
}

QString layerRowName(const LayerErrorRow& row)
{
    return QStringLiteral("%1.%2").arg(row.block).arg(QString::fromStdString(row.layer));
}

LayerInspector::LayerInspector(WorkbenchContext* context, QWidget* parent)
    : QWidget(parent), m_context(context)
{
    Q_ASSERT(context);
    buildUi();
    connectUi();
    retranslateUi();
    reload();
}

void LayerInspector::buildUi()
{
    m_errorLabel = makeErrorLabel(this, QStringLiteral("layerErrorLabel"));
    m_modelCombo = new QComboBox(this);
    m_modelCombo->setObjectName(QStringLiteral("layerModelCombo"));
    m_measureCombo = new QComboBox(this);
    m_measureCombo->setObjectName(QStringLiteral("measureCombo"));
    for (LayerMeasure m : kMeasures)
        m_measureCombo->addItem(layerMeasureName(m), int(m));
    m_logCheck = new QCheckBox(this);
    m_logCheck->setObjectName(QStringLiteral("heatmapLogCheck"));
    m_exportButton = new QPushButton(this);
    m_exportButton->setObjectName(QStringLiteral("exportLayerFigureButton"));
    m_modelCaption = new QLabel(this);
    m_measureCaption = new QLabel(this);
    auto* controls = new QHBoxLayout;
    for (QWidget* w : std::initializer_list<QWidget*>{m_modelCaption, m_modelCombo,
                                                      m_measureCaption, m_measureCombo, m_logCheck})
        controls->addWidget(w);
    controls->addStretch(1);
    controls->addWidget(m_exportButton);

    m_heatmap = new HeatmapPlot(this);
    m_heatmap->setObjectName(QStringLiteral("layerHeatmap"));
    m_chart = new QCustomPlot(this);
    m_chart->setObjectName(QStringLiteral("layerChart"));
    m_chart->legend->setVisible(true);
    // One entry per run: below the axes in three columns, so the lines keep the full width
    // even in a single-column figure.
    m_chart->axisRect()->insetLayout()->take(m_chart->legend);
    m_chart->plotLayout()->addElement(1, 0, m_chart->legend);
    m_chart->plotLayout()->setRowStretchFactor(1, 0.001);
    m_chart->legend->setFillOrder(QCPLegend::foColumnsFirst);
    m_chart->legend->setWrap(3);
    m_chart->legend->setIconSize(14, 8);
    m_chart->legend->setBorderPen(Qt::NoPen);
    m_tabs = new QTabWidget(this);
    m_tabs->setObjectName(QStringLiteral("layerTabs"));
    m_tabs->addTab(m_heatmap, QString());
    m_tabs->addTab(m_chart, QString());
    auto* expertPage = new QWidget(this);
    m_expertMode = new QComboBox(expertPage);
    m_expertMode->setObjectName(QStringLiteral("expertModeCombo"));
    m_expertMode->addItem(QString(), 0); // layers × experts of the selected run
    m_expertMode->addItem(QString(), 1); // experts × runs
    m_expertNote = new QLabel(expertPage);
    m_expertNote->setObjectName(QStringLiteral("expertNote"));
    m_experts = new HeatmapPlot(expertPage);
    m_experts->setObjectName(QStringLiteral("expertHeatmap"));
    auto* expertLayout = new QVBoxLayout(expertPage);
    expertLayout->setContentsMargins(0, 0, 0, 0);
    auto* expertControls = new QHBoxLayout;
    expertControls->addWidget(m_expertMode);
    expertControls->addWidget(m_expertNote, 1);
    expertLayout->addLayout(expertControls);
    expertLayout->addWidget(m_experts, 1);
    m_tabs->addTab(expertPage, QString());

    m_layerList = new QListWidget(this);
    m_layerList->setObjectName(QStringLiteral("layerList"));
    m_layerTitle = new QLabel(this);
    m_layerTitle->setObjectName(QStringLiteral("layerTitle"));
    m_stats = new QTableWidget(this);
    m_stats->setObjectName(QStringLiteral("layerStatsTable"));
    m_stats->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_stats->verticalHeader()->hide();
    m_summaryLabel = new QLabel(this);
    m_summaryLabel->setObjectName(QStringLiteral("layerSummaryLabel"));
    m_summaryLabel->setWordWrap(true);
    m_summaryLabel->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Minimum);
    m_summaryLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_histogram = new QCustomPlot(this);
    m_histogram->setObjectName(QStringLiteral("layerHistogram"));
    m_histogram->setMinimumHeight(140);

    auto* side = new QWidget(this);
    auto* sideLayout = new QVBoxLayout(side);
    sideLayout->setContentsMargins(0, 0, 0, 0);
    sideLayout->addWidget(m_layerTitle);
    sideLayout->addWidget(m_stats, 1);
    sideLayout->addWidget(m_summaryLabel);
    sideLayout->addWidget(m_histogram, 1);
    auto* splitter = new QSplitter(this);
    splitter->addWidget(m_layerList);
    splitter->addWidget(m_tabs);
    splitter->addWidget(side);
    splitter->setStretchFactor(1, 3);
    splitter->setStretchFactor(2, 2);
    splitter->setSizes({180, 700, 380});
    side->setMinimumWidth(300);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_errorLabel);
    layout->addLayout(controls);
    layout->addWidget(splitter, 1);
}

void LayerInspector::connectUi()
{
    connect(m_context, &WorkbenchContext::storeChanged, this, &LayerInspector::reload);
    connect(m_context, &WorkbenchContext::databaseChanged, this, &LayerInspector::reload);
    connect(m_context, &WorkbenchContext::runSelected, this, &LayerInspector::onRunSelected);
    connect(m_context, &WorkbenchContext::layerSelected, this, &LayerInspector::showLayer);
    connect(m_modelCombo, &QComboBox::currentIndexChanged, this, &LayerInspector::rebuildViews);
    connect(m_measureCombo, &QComboBox::currentIndexChanged, this, &LayerInspector::rebuildViews);
    connect(m_logCheck, &QCheckBox::toggled, this, &LayerInspector::rebuildViews);
    connect(m_expertMode, &QComboBox::currentIndexChanged, this, &LayerInspector::fillExperts);
    connect(m_experts, &HeatmapPlot::cellClicked, this,
            [this](const QString&, qint64 runId) { m_context->selectRun(runId); });
    connect(m_heatmap, &HeatmapPlot::cellClicked, this, [this](const QString& layer, qint64 runId) {
        m_context->selectRun(runId);
        m_context->selectLayer(layer);
    });
    connect(m_layerList, &QListWidget::currentTextChanged, this, [this](const QString& layer) {
        if (!layer.isEmpty())
            m_context->selectLayer(layer);
    });
    connect(m_exportButton, &QPushButton::clicked, this, &LayerInspector::exportFigureWithDialog);
}

void LayerInspector::retranslateUi()
{
    m_modelCaption->setText(tr("Model:"));
    m_measureCaption->setText(tr("Error measure:"));
    m_logCheck->setText(tr("Log colour scale"));
    m_exportButton->setText(tr("Export figure…"));
    m_tabs->setTabText(0, tr("Heatmap"));
    m_tabs->setTabText(1, tr("Along the layers"));
    m_tabs->setTabText(2, tr("Experts"));
    m_expertMode->setItemText(0, tr("Layers × experts of the selected run"));
    m_expertMode->setItemText(1, tr("Experts across runs (mean over layers)"));
    for (int i = 0; i < m_measureCombo->count(); ++i)
        m_measureCombo->setItemText(
            i, layerMeasureName(LayerMeasure(m_measureCombo->itemData(i).toInt())));
    if (m_modelCombo->count() > 0)
        m_modelCombo->setItemText(0, tr("all models"));
    if (!m_error.isEmpty())
        reload(); // the message is composed from translated text
    else
        rebuildViews();
}

void LayerInspector::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWidget::changeEvent(event);
}

LayerMeasure LayerInspector::measure() const
{
    return LayerMeasure(m_measureCombo->currentData().toInt());
}

QString LayerInspector::statsSummary() const
{
    return m_summary;
}

std::vector<int64_t> LayerInspector::shownRunIds() const
{
    std::vector<int64_t> ids;
    for (const RunRecord& r : m_shown)
        ids.push_back(r.id);
    return ids;
}

int64_t LayerInspector::statsRunId() const
{
    for (const RunRecord& r : m_shown)
        if (r.id == m_context->selectedRun())
            return r.id;
    return m_shown.empty() ? 0 : m_shown.front().id;
}

void LayerInspector::reload()
{
    m_allRuns.clear();
    m_layers.clear();
    m_error.clear();
    const QString path = m_context->databasePath();
    if (!path.isEmpty()) {
        try {
            const ResultsStore store(path.toStdString(), ResultsStore::Mode::ReadOnly);
            RunFilter filter;
            filter.status = RunStatus::Done;
            filter.withMetrics = false;
            for (RunRecord& r : store.listRuns(filter)) {
                std::vector<LayerErrorRow> rows = store.layerErrors(r.id);
                if (rows.empty())
                    continue;
                m_layers[r.id] = std::move(rows);
                m_allRuns.push_back(std::move(r));
            }
        } catch (const std::exception& e) {
            m_allRuns.clear();
            m_layers.clear();
            m_error = tr("Cannot read the results database %1: %2")
                          .arg(QDir::toNativeSeparators(path), QString::fromStdString(e.what()));
        }
    }
    m_errorLabel->setText(m_error);
    m_errorLabel->setVisible(!m_error.isEmpty());
    refillModelCombo();
    rebuildViews();
}

void LayerInspector::refillModelCombo()
{
    // Keep the user's choice across reloads, "all models" included; a combo that listed no
    // model yet (first load, unreadable file) holds no choice.
    const bool hadChoice = m_modelCombo->count() > 1;
    const QString current = m_modelCombo->currentData().toString();
    const QSignalBlocker blocker(m_modelCombo);
    m_modelCombo->clear();
    m_modelCombo->addItem(tr("all models"), QString());
    for (const RunRecord& r : m_allRuns) {
        const QString fp = QString::fromStdString(r.spec.modelFingerprint);
        if (m_modelCombo->findData(fp) < 0)
            m_modelCombo->addItem(QString::fromStdString(r.modelName), fp);
    }
    // Default: the selected run's model, else the first model (layer names agree within one).
    int index = hadChoice ? m_modelCombo->findData(current) : -1;
    for (const RunRecord& r : m_allRuns)
        if (index < 0 && r.id == m_context->selectedRun())
            index = m_modelCombo->findData(QString::fromStdString(r.spec.modelFingerprint));
    if (index < 0)
        index = m_modelCombo->count() > 1 ? 1 : 0;
    m_modelCombo->setCurrentIndex(index);
}

void LayerInspector::rebuildViews()
{
    const std::string model = m_modelCombo->currentData().toString().toStdString();
    m_shown.clear();
    for (const RunRecord& r : m_allRuns)
        if (model.empty() || r.spec.modelFingerprint == model)
            m_shown.push_back(r);
    // Rows in model order: by block, then the order a run recorded its layers in.
    std::vector<std::pair<int64_t, QString>> order;
    QStringList seen;
    for (const RunRecord& r : m_shown)
        for (const LayerErrorRow& row : m_layers[r.id]) {
            const QString name = layerRowName(row);
            if (!seen.contains(name)) {
                seen << name;
                order.emplace_back(row.block, name);
            }
        }
    std::stable_sort(order.begin(), order.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    m_layerNames.clear();
    for (const auto& entry : order)
        m_layerNames << entry.second;
    {
        const QSignalBlocker blocker(m_layerList);
        m_layerList->clear();
        m_layerList->addItems(m_layerNames);
    }
    fillHeatmap();
    fillChart();
    fillExperts();
    showLayer(m_context->selectedLayer());
}

const LayerErrorRow* LayerInspector::rowOf(int64_t runId, const QString& layer) const
{
    const auto it = m_layers.find(runId);
    if (it == m_layers.end())
        return nullptr;
    for (const LayerErrorRow& row : it->second)
        if (layerRowName(row) == layer)
            return &row;
    return nullptr;
}

void LayerInspector::fillHeatmap()
{
    HeatmapData data;
    data.layers = m_layerNames;
    data.measure = layerMeasureName(measure());
    for (const RunRecord& r : m_shown) {
        data.runLabels << runLabel(r);
        data.runIds.push_back(r.id);
    }
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (const QString& layer : m_layerNames) {
        std::vector<double> row;
        for (const RunRecord& r : m_shown) {
            const LayerErrorRow* e = rowOf(r.id, layer);
            row.push_back(e ? layerMeasureValue(*e, measure()) : nan);
        }
        data.values.push_back(std::move(row));
    }
    m_heatmap->setLogScale(m_logCheck->isChecked());
    m_heatmap->setData(data);
}

void LayerInspector::fillChart()
{
    m_chart->clearGraphs();
    m_chart->clearItems();
    int index = 0;
    for (const RunRecord& r : m_shown) {
        QCPGraph* g = m_chart->addGraph();
        // Short: three legend columns must fit a 3.5 in figure.
        g->setName(QStringLiteral("%1 W%2 #%3")
                       .arg(QString::fromStdString(r.spec.recipeName))
                       .arg(r.spec.wbits)
                       .arg(r.id));
        g->setPen(QPen(lineColour(index++), 1.3));
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 4));
        for (int i = 0; i < m_layerNames.size(); ++i)
            if (const LayerErrorRow* e = rowOf(r.id, m_layerNames[i]))
                g->addData(i, layerMeasureValue(*e, measure()));
    }
    // Name every layer when they fit; otherwise about 20 evenly spaced ones.
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    const int step = m_layerNames.size() > 30 ? std::max(1, int(m_layerNames.size() / 20)) : 1;
    for (int i = 0; i < m_layerNames.size(); i += step)
        ticker->addTick(i, m_layerNames[i]);
    m_chart->xAxis->setTicker(ticker);
    // Vertical: a slanted label at the last tick would run past the figure's right edge,
    // where QCustomPlot drops it.
    m_chart->xAxis->setTickLabelRotation(90);
    m_chart->xAxis->setLabel(tr("Layer"));
    m_chart->yAxis->setLabel(layerMeasureName(measure()));
    const bool log = m_logCheck->isChecked();
    m_chart->yAxis->setScaleType(log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    m_chart->yAxis->setTicker(log ? QSharedPointer<QCPAxisTicker>(new QCPAxisTickerLog)
                                  : QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    m_chart->rescaleAxes();
    m_chart->xAxis->setRange(-0.5, std::max(0.5, m_layerNames.size() - 0.5));
    m_chart->replot();
}

void LayerInspector::showLayer(const QString& layer)
{
    const bool known = m_layerNames.contains(layer);
    m_heatmap->setSelectedLayer(known ? layer : QString());
    {
        const QSignalBlocker blocker(m_layerList);
        m_layerList->setCurrentRow(known ? int(m_layerNames.indexOf(layer)) : -1);
    }
    m_layerTitle->setText(known ? tr("Layer %1").arg(layer) : tr("Select a layer"));
    // A line at the layer along the chart.
    for (int i = m_chart->itemCount() - 1; i >= 0; --i)
        m_chart->removeItem(i);
    if (known) {
        auto* line = new QCPItemStraightLine(m_chart);
        const double x = m_layerNames.indexOf(layer);
        line->point1->setCoords(x, 0);
        line->point2->setCoords(x, 1);
        line->setPen(QPen(Qt::red, 1.0, Qt::DashLine));
    }
    m_chart->replot(QCustomPlot::rpQueuedReplot);
    fillStatsTable(known ? layer : QString());
    fillDistribution(known ? layer : QString());
}

void LayerInspector::fillStatsTable(const QString& layer)
{
    m_stats->clear();
    QStringList headers{tr("Run")};
    for (LayerMeasure m : kMeasures)
        headers << layerMeasureName(m);
    headers << tr("bytes");
    m_stats->setColumnCount(int(headers.size()));
    m_stats->setHorizontalHeaderLabels(headers);
    m_stats->setRowCount(0);
    if (layer.isEmpty())
        return;
    for (const RunRecord& r : m_shown) {
        const LayerErrorRow* e = rowOf(r.id, layer);
        if (!e)
            continue;
        const int row = m_stats->rowCount();
        m_stats->insertRow(row);
        auto* name = new QTableWidgetItem(runLabel(r));
        name->setData(Qt::UserRole, qlonglong(r.id));
        m_stats->setItem(row, 0, name);
        int column = 1;
        for (LayerMeasure m : kMeasures) {
            const double v = layerMeasureValue(*e, m);
            auto* item = new QTableWidgetItem(number(v));
            item->setData(Qt::UserRole, v);
            m_stats->setItem(row, column++, item);
        }
        m_stats->setItem(row, column,
                         new QTableWidgetItem(QLocale().toString(qulonglong(e->bytes))));
        // The run the distribution below describes stands out.
        if (r.id == statsRunId())
            for (int c = 0; c < m_stats->columnCount(); ++c) {
                QFont bold = m_stats->item(row, c)->font();
                bold.setBold(true);
                m_stats->item(row, c)->setFont(bold);
            }
    }
    m_stats->resizeColumnsToContents();
}

void LayerInspector::fillDistribution(const QString& layer)
{
    m_summary.clear();
    m_histogram->clearPlottables();
    m_histogram->clearItems();
    const int64_t runId = statsRunId();
    const auto it = m_layers.find(runId);
    const LayerErrorRow* own = layer.isEmpty() ? nullptr : rowOf(runId, layer);
    if (it == m_layers.end() || !own) {
        m_summaryLabel->setText(QString());
        m_histogram->replot();
        return;
    }
    std::vector<double> values;
    for (const LayerErrorRow& row : it->second)
        values.push_back(layerMeasureValue(row, measure()));
    std::sort(values.begin(), values.end());
    const double value = layerMeasureValue(*own, measure());
    // Rank 1 = the largest value: the layer that loses most (or takes longest).
    const auto larger =
        std::count_if(values.begin(), values.end(), [value](double v) { return v > value; });
    const size_t n = values.size();
    const double median = n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
    m_summary = tr("Run #%1, %2 = %3: rank %4 of %5 layers (1 = largest); min %6, median %7, "
                   "max %8; output error %9, %10 s")
                    .arg(runId)
                    .arg(layerMeasureName(measure()), number(value))
                    .arg(larger + 1)
                    .arg(n)
                    .arg(number(values.front()), number(median), number(values.back()),
                         number(own->outputError), number(own->seconds));
    m_summaryLabel->setText(m_summary);

    // 12 equal bins from min to max; a red line marks this layer.
    const int bins = 12;
    const double lo = values.front(), hi = values.back();
    const double width = hi > lo ? (hi - lo) / bins : 1.0;
    QVector<double> keys(bins), counts(bins, 0.0);
    for (int b = 0; b < bins; ++b)
        keys[b] = lo + (b + 0.5) * width;
    for (double v : values)
        counts[std::min(bins - 1, int((v - lo) / width))] += 1.0;
    auto* bars = new QCPBars(m_histogram->xAxis, m_histogram->yAxis);
    bars->setWidth(width);
    bars->setData(keys, counts, true);
    bars->setBrush(QColor(0x56, 0xb4, 0xe9));
    auto* marker = new QCPItemStraightLine(m_histogram);
    marker->point1->setCoords(value, 0);
    marker->point2->setCoords(value, 1);
    marker->setPen(QPen(Qt::red, 1.5));
    m_histogram->xAxis->setLabel(layerMeasureName(measure()));
    m_histogram->yAxis->setLabel(tr("layers"));
    QSharedPointer<QCPAxisTickerFixed> wholeLayers(new QCPAxisTickerFixed);
    wholeLayers->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    m_histogram->yAxis->setTicker(wholeLayers);
    m_histogram->rescaleAxes();
    m_histogram->xAxis->setRange(lo - width, hi + width);
    m_histogram->replot();
}

void LayerInspector::onRunSelected(qint64 runId)
{
    // Follow the selected run's model unless every model is shown.
    for (const RunRecord& r : m_allRuns)
        if (r.id == runId && !m_modelCombo->currentData().toString().isEmpty()) {
            const int index =
                m_modelCombo->findData(QString::fromStdString(r.spec.modelFingerprint));
            if (index >= 0 && index != m_modelCombo->currentIndex()) {
                m_modelCombo->setCurrentIndex(index); // rebuilds the views
                return;
            }
        }
    fillDistribution(m_context->selectedLayer());
    fillExperts();
}

void LayerInspector::fillExperts()
{
    HeatmapData data;
    if (m_expertMode->currentData().toInt() == 1) {
        data = expertsAcrossRuns(m_shown, m_layers, measure());
    } else {
        // The selected run when shown, else the first shown run with experts.
        for (const RunRecord& r : m_shown) {
            HeatmapData d = expertsOfRun(m_layers[r.id], measure(), r.id);
            if (d.layers.isEmpty())
                continue;
            if (data.layers.isEmpty() || r.id == m_context->selectedRun())
                data = std::move(d);
        }
    }
    m_expertNote->setText(
        data.layers.isEmpty() ? tr("No Mixture-of-Experts run among the runs shown.") : QString());
    m_experts->setLogScale(m_logCheck->isChecked());
    m_experts->setData(data);
}

void LayerInspector::exportFigureWithDialog()
{
    auto* plot = qobject_cast<QCustomPlot*>(m_tabs->currentWidget());
    if (!plot)
        return;
    ExportDialog dialog(plot, this);
    dialog.exec();
}

} // namespace ptq
