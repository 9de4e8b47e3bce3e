#include "experiment_panel.h"

#include "bundled.h"
#include "display_format.h"
#include "store/results_store.h"
#include "workbench_context.h"

#include <QCheckBox>
#include <QDir>
#include <QEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QTimer>
#include <QTreeWidget>
#include <QVBoxLayout>
#include <exception>
#include <map>
#include <memory>

namespace ptq {

namespace {

// Taxonomy classes in the order the benchmark paper presents them.
const char* const kClassOrder[] = {"baseline", "compensation", "rotation",
                                   "salience", "optimization", "combination"};

QString className(const QString& key)
{
    if (key == QLatin1String("baseline"))
        return ExperimentPanel::tr("Baseline");
    if (key == QLatin1String("compensation"))
        return ExperimentPanel::tr("Compensation");
    if (key == QLatin1String("rotation"))
        return ExperimentPanel::tr("Rotation");
    if (key == QLatin1String("salience"))
        return ExperimentPanel::tr("Salience");
    if (key == QLatin1String("optimization"))
        return ExperimentPanel::tr("Optimization");
    if (key == QLatin1String("combination"))
        return ExperimentPanel::tr("Combinations");
    return key;
}

QString groupName(int64_t g)
{
    return g == 0 ? ExperimentPanel::tr("per channel") : ExperimentPanel::tr("g%1").arg(g);
}

QSpinBox* spinBox(QWidget* parent, const char* name, int lo, int hi, int value)
{
    auto* box = new QSpinBox(parent);
    box->setObjectName(QLatin1String(name));
    box->setRange(lo, hi);
    box->setValue(value);
    return box;
}

QStringList listItems(const QListWidget* list)
{
    QStringList items;
    for (int i = 0; i < list->count(); ++i)
        items << list->item(i)->data(Qt::UserRole).toString();
    return items;
}

void setListItems(QListWidget* list, const QStringList& paths)
{
    list->clear();
    for (const QString& p : paths) {
        auto* item = new QListWidgetItem(QFileInfo(p).fileName(), list);
        item->setData(Qt::UserRole, p);
        item->setToolTip(QDir::toNativeSeparators(p));
    }
}

} // namespace

ExperimentPanel::ExperimentPanel(WorkbenchContext* context, QWidget* parent)
    : QWidget(parent), m_context(context)
{
    m_summaryTimer = new QTimer(this);
    m_summaryTimer->setSingleShot(true);
    m_summaryTimer->setInterval(120); // coalesce a burst of checkbox clicks into one estimate
    connect(m_summaryTimer, &QTimer::timeout, this, &ExperimentPanel::updateSummary);

    auto* splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(buildModelsAndData());
    splitter->addWidget(buildStrategies());
    splitter->addWidget(buildBits());
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 4);
    splitter->setStretchFactor(2, 3);

    m_summary = new QLabel(this);
    m_summary->setObjectName(QStringLiteral("runSummaryLabel"));
    m_summary->setWordWrap(true);
    m_queueButton = new QPushButton(this);
    m_queueButton->setObjectName(QStringLiteral("queueRunsButton"));
    connect(m_queueButton, &QPushButton::clicked, this, &ExperimentPanel::queueRuns);
    auto* bottom = new QHBoxLayout;
    bottom->addWidget(m_summary, 1);
    bottom->addWidget(m_queueButton);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(splitter, 1);
    layout->addLayout(bottom);

    fillStrategies();
    const QString sample = bundledFile(QStringLiteral("data/sample_text.txt"));
    if (!sample.isEmpty()) {
        setCalibration(sample, 32, 256);
        setEvaluation({sample}, 16, 256);
    }
    if (m_context)
        connect(m_context, &WorkbenchContext::databaseChanged, this,
                &ExperimentPanel::scheduleSummary);
    retranslateUi();
    updateSummary();
}

QWidget* ExperimentPanel::buildModelsAndData()
{
    auto* column = new QWidget(this);
    m_modelsBox = new QGroupBox(column);
    m_models = new QListWidget(m_modelsBox);
    m_models->setObjectName(QStringLiteral("experimentModels"));
    connect(m_models, &QListWidget::itemChanged, this, &ExperimentPanel::scheduleSummary);
    (new QVBoxLayout(m_modelsBox))->addWidget(m_models);

    m_dataBox = new QGroupBox(column);
    auto* grid = new QGridLayout(m_dataBox);
    m_calibLabel = new QLabel(m_dataBox);
    m_calibPath = new QLineEdit(m_dataBox);
    m_calibPath->setObjectName(QStringLiteral("calibPath"));
    m_calibBrowse = new QPushButton(m_dataBox);
    connect(m_calibBrowse, &QPushButton::clicked, this, [this] {
        const QString f =
            QFileDialog::getOpenFileName(this, tr("Calibration text"), m_calibPath->text());
        if (!f.isEmpty())
            m_calibPath->setText(f);
    });
    connect(m_calibPath, &QLineEdit::textChanged, this, &ExperimentPanel::scheduleSummary);
    m_calibSamplesLabel = new QLabel(m_dataBox);
    m_calibSamples = spinBox(m_dataBox, "calibSamples", 1, 4096, 128);
    m_calibSeqlen = spinBox(m_dataBox, "calibSeqlen", 16, 32768, 2048);
    m_evalLabel = new QLabel(m_dataBox);
    m_evalTexts = new QListWidget(m_dataBox);
    m_evalTexts->setObjectName(QStringLiteral("evalTexts"));
    m_evalTexts->setMaximumHeight(70);
    m_evalAdd = new QPushButton(m_dataBox);
    m_evalRemove = new QPushButton(m_dataBox);
    m_evalWindowsLabel = new QLabel(m_dataBox);
    m_evalWindows = spinBox(m_dataBox, "evalWindows", 0, 1000000, 0);
    m_evalSeqlen = spinBox(m_dataBox, "evalSeqlen", 16, 32768, 2048);
    m_tasksLabel = new QLabel(m_dataBox);
    m_tasks = new QListWidget(m_dataBox);
    m_tasks->setObjectName(QStringLiteral("taskFiles"));
    m_tasks->setMaximumHeight(60);
    m_tasksAdd = new QPushButton(m_dataBox);
    m_tasksRemove = new QPushButton(m_dataBox);
    connect(m_evalAdd, &QPushButton::clicked, this, [this] {
        addFiles(m_evalTexts, tr("Evaluation texts"), tr("Text files (*.txt);;All files (*)"));
    });
    connect(m_tasksAdd, &QPushButton::clicked, this, [this] {
        addFiles(m_tasks, tr("Zero-shot task files"), tr("JSON Lines (*.jsonl);;All files (*)"));
    });
    connect(m_evalRemove, &QPushButton::clicked, this, [this] {
        qDeleteAll(m_evalTexts->selectedItems());
        scheduleSummary();
    });
    connect(m_tasksRemove, &QPushButton::clicked, this, [this] {
        qDeleteAll(m_tasks->selectedItems());
        scheduleSummary();
    });
    for (QSpinBox* s : {m_calibSamples, m_calibSeqlen, m_evalWindows, m_evalSeqlen})
        connect(s, &QSpinBox::valueChanged, this, &ExperimentPanel::scheduleSummary);

    grid->addWidget(m_calibLabel, 0, 0);
    grid->addWidget(m_calibPath, 0, 1, 1, 2);
    grid->addWidget(m_calibBrowse, 0, 3);
    grid->addWidget(m_calibSamplesLabel, 1, 0);
    grid->addWidget(m_calibSamples, 1, 1);
    grid->addWidget(m_calibSeqlen, 1, 2);
    grid->addWidget(m_evalLabel, 2, 0);
    grid->addWidget(m_evalTexts, 2, 1, 1, 2);
    auto* evalButtons = new QVBoxLayout;
    evalButtons->addWidget(m_evalAdd);
    evalButtons->addWidget(m_evalRemove);
    grid->addLayout(evalButtons, 2, 3);
    grid->addWidget(m_evalWindowsLabel, 3, 0);
    grid->addWidget(m_evalWindows, 3, 1);
    grid->addWidget(m_evalSeqlen, 3, 2);
    grid->addWidget(m_tasksLabel, 4, 0);
    grid->addWidget(m_tasks, 4, 1, 1, 2);
    auto* taskButtons = new QVBoxLayout;
    taskButtons->addWidget(m_tasksAdd);
    taskButtons->addWidget(m_tasksRemove);
    grid->addLayout(taskButtons, 4, 3);

    auto* layout = new QVBoxLayout(column);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_modelsBox, 1);
    layout->addWidget(m_dataBox);
    return column;
}

QWidget* ExperimentPanel::buildStrategies()
{
    m_strategiesBox = new QGroupBox(this);
    m_strategies = new QTreeWidget(m_strategiesBox);
    m_strategies->setObjectName(QStringLiteral("strategyTree"));
    m_strategies->setColumnCount(2);
    m_strategies->header()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    m_strategies->setWordWrap(true);
    connect(m_strategies, &QTreeWidget::itemChanged, this, &ExperimentPanel::scheduleSummary);
    (new QVBoxLayout(m_strategiesBox))->addWidget(m_strategies);
    return m_strategiesBox;
}

QWidget* ExperimentPanel::buildBits()
{
    m_bitsBox = new QGroupBox(this);
    const QList<int> bits = weightBitChoices();
    const QList<int64_t> groups = groupChoices();
    m_weightMatrix = new QTableWidget(int(bits.size()), int(groups.size()), m_bitsBox);
    m_weightMatrix->setObjectName(QStringLiteral("weightBitsMatrix"));
    for (int r = 0; r < bits.size(); ++r)
        for (int c = 0; c < groups.size(); ++c) {
            auto* item = new QTableWidgetItem;
            item->setFlags(Qt::ItemIsUserCheckable | Qt::ItemIsEnabled);
            item->setCheckState(bits[r] == 4 && groups[c] == 128 ? Qt::Checked : Qt::Unchecked);
            m_weightMatrix->setItem(r, c, item);
        }
    // "per channel" (and its translations) must stay readable; the group columns share the rest.
    m_weightMatrix->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_weightMatrix->horizontalHeader()->setStretchLastSection(true);
    connect(m_weightMatrix, &QTableWidget::itemChanged, this, &ExperimentPanel::scheduleSummary);

    m_abitsLabel = new QLabel(m_bitsBox);
    m_kvbitsLabel = new QLabel(m_bitsBox);
    auto* aRow = new QHBoxLayout;
    auto* kvRow = new QHBoxLayout;
    for (int b : {16, 8, 6, 4}) {
        auto* box = new QCheckBox(m_bitsBox);
        box->setObjectName(QStringLiteral("abits%1").arg(b));
        box->setProperty("bits", b);
        box->setChecked(b == 16);
        connect(box, &QCheckBox::toggled, this, &ExperimentPanel::scheduleSummary);
        m_abits << box;
        aRow->addWidget(box);
    }
    for (int b : {16, 8, 4}) {
        auto* box = new QCheckBox(m_bitsBox);
        box->setObjectName(QStringLiteral("kvbits%1").arg(b));
        box->setProperty("bits", b);
        box->setChecked(b == 16);
        connect(box, &QCheckBox::toggled, this, &ExperimentPanel::scheduleSummary);
        m_kvbits << box;
        kvRow->addWidget(box);
    }
    auto* layout = new QVBoxLayout(m_bitsBox);
    layout->addWidget(m_weightMatrix, 1);
    layout->addWidget(m_abitsLabel);
    layout->addLayout(aRow);
    layout->addWidget(m_kvbitsLabel);
    layout->addLayout(kvRow);
    return m_bitsBox;
}

void ExperimentPanel::fillStrategies()
{
    const QSignalBlocker block(m_strategies);
    std::map<std::string, QTreeWidgetItem*> groups;
    for (const char* key : kClassOrder) {
        auto* top = new QTreeWidgetItem(m_strategies);
        top->setData(0, Qt::UserRole, QString::fromLatin1(key));
        top->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable | Qt::ItemIsAutoTristate);
        top->setCheckState(0, Qt::Unchecked);
        groups[key] = top;
    }
    for (const StrategyInfo& s : strategyCatalog()) {
        auto it = groups.find(s.taxonomyClass);
        QTreeWidgetItem* parent = it != groups.end() ? it->second : groups["combination"];
        auto* item = new QTreeWidgetItem(parent);
        item->setText(0, QString::fromStdString(s.name));
        item->setData(0, Qt::UserRole + 1, QString::fromStdString(s.name));
        item->setText(1, QString::fromStdString(s.description));
        item->setToolTip(1, QString::fromStdString(s.description));
        item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable);
        item->setCheckState(0, s.name == "rtn" || s.name == "gptq" ? Qt::Checked : Qt::Unchecked);
    }
    for (auto& [key, top] : groups)
        if (top->childCount() == 0)
            delete top;
    m_strategies->expandAll();
}

void ExperimentPanel::setAvailableModels(const QStringList& dirs, const QString& checked)
{
    const QSignalBlocker block(m_models);
    QStringList known = listItems(m_models);
    for (const QString& d : dirs) {
        if (known.contains(d))
            continue;
        auto* item = new QListWidgetItem(QFileInfo(d).fileName(), m_models);
        item->setData(Qt::UserRole, d);
        item->setToolTip(QDir::toNativeSeparators(d));
        item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable | Qt::ItemIsSelectable);
        item->setCheckState(Qt::Unchecked);
        known << d;
    }
    if (!checked.isEmpty())
        for (int i = 0; i < m_models->count(); ++i)
            if (m_models->item(i)->data(Qt::UserRole).toString() == checked)
                m_models->item(i)->setCheckState(Qt::Checked);
    scheduleSummary();
}

void ExperimentPanel::setModelChecked(const QString& dir, bool checked)
{
    for (int i = 0; i < m_models->count(); ++i)
        if (m_models->item(i)->data(Qt::UserRole).toString() == dir)
            m_models->item(i)->setCheckState(checked ? Qt::Checked : Qt::Unchecked);
}

void ExperimentPanel::setStrategyChecked(const QString& name, bool checked)
{
    for (QTreeWidgetItemIterator it(m_strategies); *it; ++it)
        if ((*it)->data(0, Qt::UserRole + 1).toString() == name)
            (*it)->setCheckState(0, checked ? Qt::Checked : Qt::Unchecked);
}

void ExperimentPanel::setWeightCell(int wbits, int64_t groupSize, bool checked)
{
    const int r = int(weightBitChoices().indexOf(wbits));
    const int c = int(groupChoices().indexOf(groupSize));
    if (r >= 0 && c >= 0)
        m_weightMatrix->item(r, c)->setCheckState(checked ? Qt::Checked : Qt::Unchecked);
}

void ExperimentPanel::setActivationBits(const QList<int>& bits)
{
    for (QCheckBox* box : m_abits)
        box->setChecked(bits.contains(box->property("bits").toInt()));
}

void ExperimentPanel::setKvBits(const QList<int>& bits)
{
    for (QCheckBox* box : m_kvbits)
        box->setChecked(bits.contains(box->property("bits").toInt()));
}

void ExperimentPanel::setCalibration(const QString& path, int samples, int seqlen)
{
    m_calibPath->setText(path);
    m_calibSamples->setValue(samples);
    m_calibSeqlen->setValue(seqlen);
}

void ExperimentPanel::setEvaluation(const QStringList& texts, int windows, int seqlen)
{
    setListItems(m_evalTexts, texts);
    m_evalWindows->setValue(windows);
    m_evalSeqlen->setValue(seqlen);
    scheduleSummary();
}

void ExperimentPanel::setTaskFiles(const QStringList& files)
{
    setListItems(m_tasks, files);
    scheduleSummary();
}

void ExperimentPanel::addFiles(QListWidget* list, const QString& title, const QString& filter)
{
    const QStringList files = QFileDialog::getOpenFileNames(this, title, QString(), filter);
    QStringList all = listItems(list);
    for (const QString& f : files)
        if (!all.contains(f))
            all << f;
    setListItems(list, all);
    scheduleSummary();
}

QStringList ExperimentPanel::checkedModels() const
{
    QStringList dirs;
    for (int i = 0; i < m_models->count(); ++i)
        if (m_models->item(i)->checkState() == Qt::Checked)
            dirs << m_models->item(i)->data(Qt::UserRole).toString();
    return dirs;
}

QStringList ExperimentPanel::checkedStrategies() const
{
    QStringList names;
    for (QTreeWidgetItemIterator it(m_strategies); *it; ++it) {
        const QString name = (*it)->data(0, Qt::UserRole + 1).toString();
        if (!name.isEmpty() && (*it)->checkState(0) == Qt::Checked)
            names << name;
    }
    return names;
}

QList<QPair<int, int64_t>> ExperimentPanel::checkedWeightCells() const
{
    QList<QPair<int, int64_t>> cells;
    const QList<int> bits = weightBitChoices();
    const QList<int64_t> groups = groupChoices();
    for (int r = 0; r < bits.size(); ++r)
        for (int c = 0; c < groups.size(); ++c)
            if (m_weightMatrix->item(r, c)->checkState() == Qt::Checked)
                cells.append({bits[r], groups[c]});
    return cells;
}

QList<int> ExperimentPanel::checkedBits(const QList<QCheckBox*>& boxes) const
{
    QList<int> bits;
    for (QCheckBox* box : boxes)
        if (box->isChecked())
            bits << box->property("bits").toInt();
    return bits;
}

std::vector<JobSpec> ExperimentPanel::plannedJobs() const
{
    JobSpec base;
    base.calibPath = m_calibPath->text().trimmed().toStdString();
    base.calibSamples = m_calibSamples->value();
    base.calibSeqlen = m_calibSeqlen->value();
    for (const QString& t : listItems(m_evalTexts))
        base.evalTexts.push_back(t.toStdString());
    base.evalWindows = m_evalWindows->value();
    base.evalSeqlen = m_evalSeqlen->value();
    for (const QString& t : listItems(m_tasks))
        base.taskFiles.push_back(t.toStdString());

    std::vector<JobSpec> jobs;
    for (const QString& model : checkedModels())
        for (const QString& strategy : checkedStrategies())
            for (const auto& [wbits, group] : checkedWeightCells())
                for (int abits : checkedBits(m_abits))
                    for (int kvbits : checkedBits(m_kvbits)) {
                        JobSpec j = base;
                        j.modelDir = model.toStdString();
                        j.recipe = strategy.toStdString();
                        j.wbits = wbits;
                        j.groupSize = group;
                        j.abits = abits;
                        j.kvbits = kvbits;
                        jobs.push_back(std::move(j));
                    }
    return jobs;
}

QString ExperimentPanel::selectionProblem() const
{
    QStringList problems;
    if (checkedModels().isEmpty())
        problems << tr("choose at least one model");
    if (checkedStrategies().isEmpty())
        problems << tr("choose at least one strategy");
    if (checkedWeightCells().isEmpty())
        problems << tr("choose at least one weight bit width and group size");
    if (checkedBits(m_abits).isEmpty() || checkedBits(m_kvbits).isEmpty())
        problems << tr("choose activation and KV-cache bits (16 = not quantized)");
    const QString calib = m_calibPath->text().trimmed();
    if (calib.isEmpty())
        problems << tr("choose a calibration text");
    else if (!QFileInfo(calib).isFile())
        problems
            << tr("the calibration text %1 does not exist").arg(QDir::toNativeSeparators(calib));
    if (m_evalTexts->count() == 0 && m_tasks->count() == 0)
        problems << tr("choose an evaluation text or a zero-shot task file");
    return problems.join(QStringLiteral("; "));
}

void ExperimentPanel::scheduleSummary()
{
    m_summaryTimer->start();
}

void ExperimentPanel::updateSummary()
{
    const std::vector<JobSpec> jobs = plannedJobs();
    m_runCount = int(jobs.size());
    m_estimateSeconds = 0;
    // Reading the store's history is a few indexed queries; no checkpoint tensors are read.
    std::unique_ptr<ResultsStore> store;
    const QString db = m_context ? m_context->databasePath() : QString();
    try {
        // A store that does not exist yet is created: it is where the runs will go anyway,
        // and the cost model needs a store to ask (it finds no history in an empty one).
        if (!db.isEmpty())
            store = std::make_unique<ResultsStore>(db.toStdString(),
                                                   QFileInfo::exists(db)
                                                       ? ResultsStore::Mode::ReadOnly
                                                       : ResultsStore::Mode::ReadWrite,
                                                   200);
    } catch (const std::exception&) {
        store.reset(); // an unreadable store only loses the history-based estimate
    }
    for (const JobSpec& j : jobs)
        m_estimateSeconds += store ? estimateJobSeconds(*store, j) : 0.0;
    const QString problem = selectionProblem();
    QString text = m_runCount == 1 ? tr("1 run") : tr("%1 runs").arg(m_runCount);
    if (m_runCount > 0 && m_estimateSeconds > 0)
        text +=
            QStringLiteral(" · ") + tr("estimated time %1").arg(formatDuration(m_estimateSeconds));
    if (!problem.isEmpty())
        text += QStringLiteral(" · ") + problem;
    m_summary->setText(text);
    m_queueButton->setEnabled(problem.isEmpty() && m_runCount > 0);
}

void ExperimentPanel::queueRuns()
{
    updateSummary();
    if (!selectionProblem().isEmpty() || m_runCount == 0)
        return;
    emit queueRequested(plannedJobs());
}

void ExperimentPanel::retranslateUi()
{
    m_modelsBox->setTitle(tr("Models"));
    m_dataBox->setTitle(tr("Data"));
    m_calibLabel->setText(tr("Calibration:"));
    m_calibBrowse->setText(tr("Browse…"));
    m_calibSamplesLabel->setText(tr("Samples × tokens:"));
    m_evalLabel->setText(tr("Evaluation texts:"));
    m_evalAdd->setText(tr("Add…"));
    m_evalRemove->setText(tr("Remove"));
    m_evalWindowsLabel->setText(tr("Windows (0 = all) × tokens:"));
    m_tasksLabel->setText(tr("Zero-shot tasks:"));
    m_tasksAdd->setText(tr("Add…"));
    m_tasksRemove->setText(tr("Remove"));
    m_strategiesBox->setTitle(tr("Strategies"));
    m_strategies->setHeaderLabels({tr("Strategy"), tr("Description")});
    for (int i = 0; i < m_strategies->topLevelItemCount(); ++i) {
        QTreeWidgetItem* top = m_strategies->topLevelItem(i);
        top->setText(0, className(top->data(0, Qt::UserRole).toString()));
    }
    m_bitsBox->setTitle(tr("Bit widths"));
    QStringList rows, cols;
    for (int b : weightBitChoices())
        rows << tr("W%1").arg(b);
    for (int64_t g : groupChoices())
        cols << groupName(g);
    m_weightMatrix->setVerticalHeaderLabels(rows);
    m_weightMatrix->setHorizontalHeaderLabels(cols);
    m_abitsLabel->setText(tr("Activation bits:"));
    m_kvbitsLabel->setText(tr("KV-cache bits:"));
    for (QCheckBox* box : m_abits + m_kvbits) {
        const int b = box->property("bits").toInt();
        box->setText(b == 16 ? tr("16 (none)") : QString::number(b));
    }
    m_queueButton->setText(tr("Queue runs"));
    updateSummary();
}

void ExperimentPanel::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWidget::changeEvent(event);
}

} // namespace ptq
