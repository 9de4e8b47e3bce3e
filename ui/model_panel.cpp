#include "model_panel.h"

#include "bundled.h"
#include "display_format.h"
#include "error_label.h"
#include "util/error.h"

#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QLocale>
#include <QMimeData>
#include <QPushButton>
#include <QSettings>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <exception>

namespace ptq {

namespace {

// A single local folder among the dragged URLs, or an empty string.
QString droppedFolder(const QMimeData* mime)
{
    if (!mime || !mime->hasUrls() || mime->urls().size() != 1)
        return {};
    const QUrl url = mime->urls().first();
    if (!url.isLocalFile() || !QFileInfo(url.toLocalFile()).isDir())
        return {};
    return url.toLocalFile();
}

QLabel* captionOf(QFormLayout* form, QWidget* field)
{
    return qobject_cast<QLabel*>(form->labelForField(field));
}

} // namespace

ModelPanel::ModelPanel(QWidget* parent) : QWidget(parent)
{
    setAcceptDrops(true);
    buildUi();
    connect(m_openButton, &QPushButton::clicked, this, &ModelPanel::chooseFolder);
    connect(&m_watcher, &QFutureWatcher<LoadResult>::finished, this, &ModelPanel::onLoadFinished);
    retranslateUi();
}

ModelPanel::~ModelPanel()
{
    // The loads only read files, but they must not outlive the objects they report to.
    for (QFuture<LoadResult>& f : m_running)
        f.waitForFinished();
}

void ModelPanel::buildUi()
{
    m_openButton = new QPushButton(this);
    m_openButton->setObjectName(QStringLiteral("openFolderButton"));
    m_intro = new QLabel(this);
    m_intro->setObjectName(QStringLiteral("introLabel"));
    m_intro->setWordWrap(true);

    auto* top = new QHBoxLayout;
    top->addWidget(m_openButton);
    top->addWidget(m_intro, 1);

    m_pathLabel = new QLabel(this);
    m_pathLabel->setObjectName(QStringLiteral("pathLabel"));
    m_pathLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_errorLabel = makeErrorLabel(this, QStringLiteral("errorLabel"));

    m_form = new QFormLayout;
    m_architecture = addRow(QStringLiteral("architectureValue"));
    m_parameters = addRow(QStringLiteral("parametersValue"));
    m_dtype = addRow(QStringLiteral("dtypeValue"));
    m_layers = addRow(QStringLiteral("layersValue"));
    m_hiddenSize = addRow(QStringLiteral("hiddenSizeValue"));
    m_heads = addRow(QStringLiteral("headsValue"));
    m_vocab = addRow(QStringLiteral("vocabValue"));
    m_sizeOnDisk = addRow(QStringLiteral("sizeOnDiskValue"));
    m_shards = addRow(QStringLiteral("shardsValue"));
    m_tokenizer = addRow(QStringLiteral("tokenizerValue"));

    m_listCaption = new QLabel(this);
    m_modelList = new QListWidget(this);
    m_modelList->setObjectName(QStringLiteral("modelList"));
    connect(m_modelList, &QListWidget::itemActivated, this, [this](QListWidgetItem* item) {
        const QString dir = item->data(Qt::UserRole).toString();
        if (!dir.isEmpty())
            openFolder(dir);
    });
    connect(m_modelList, &QListWidget::itemClicked, this, [this](QListWidgetItem* item) {
        const QString dir = item->data(Qt::UserRole).toString();
        if (!dir.isEmpty() && dir != m_dir)
            openFolder(dir);
    });
    auto* listColumn = new QVBoxLayout;
    listColumn->addWidget(m_listCaption);
    listColumn->addWidget(m_modelList, 1);

    auto* details = new QVBoxLayout;
    details->addLayout(top);
    details->addWidget(m_pathLabel);
    details->addWidget(m_errorLabel);
    details->addLayout(m_form);
    details->addStretch(1);

    auto* layout = new QHBoxLayout(this);
    layout->addLayout(listColumn, 2);
    layout->addLayout(details, 5);
}

QStringList ModelPanel::recentModels()
{
    return QSettings().value(QStringLiteral("recentModels")).toStringList();
}

QStringList ModelPanel::knownModels() const
{
    QStringList all = bundledModelDirs();
    for (const QString& d : recentModels())
        if (!all.contains(d))
            all << d;
    return all;
}

void ModelPanel::rememberRecent(const QString& dir)
{
    const QString clean = QDir::cleanPath(QFileInfo(dir).absoluteFilePath());
    if (bundledModelDirs().contains(clean))
        return;
    QStringList recent = recentModels();
    recent.removeAll(clean);
    recent.prepend(clean);
    while (recent.size() > kMaxRecent)
        recent.removeLast();
    QSettings().setValue(QStringLiteral("recentModels"), recent);
}

void ModelPanel::fillModelList()
{
    m_modelList->clear();
    auto addHeader = [this](const QString& text) {
        auto* item = new QListWidgetItem(text, m_modelList);
        item->setFlags(Qt::ItemIsEnabled);
        QFont f = item->font();
        f.setBold(true);
        item->setFont(f);
    };
    auto addModel = [this](const QString& dir) {
        auto* item = new QListWidgetItem(QFileInfo(dir).fileName(), m_modelList);
        item->setData(Qt::UserRole, dir);
        item->setToolTip(QDir::toNativeSeparators(dir));
        if (QDir::cleanPath(dir) == QDir::cleanPath(m_dir))
            m_modelList->setCurrentItem(item);
    };
    const QStringList bundled = bundledModelDirs();
    addHeader(tr("Bundled family"));
    for (const QString& d : bundled)
        addModel(d);
    const QStringList recent = recentModels();
    addHeader(tr("Recent"));
    for (const QString& d : recent)
        if (!bundled.contains(d))
            addModel(d);
}

QLabel* ModelPanel::addRow(const QString& objectName)
{
    auto* value = new QLabel(this);
    value->setObjectName(objectName);
    value->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* caption = new QLabel(this);
    caption->setObjectName(
        QString(objectName).replace(QStringLiteral("Value"), QStringLiteral("Caption")));
    m_form->addRow(caption, value);
    return value;
}

void ModelPanel::retranslateUi()
{
    m_listCaption->setText(tr("Models:"));
    fillModelList();
    m_openButton->setText(tr("Open folder…"));
    m_openButton->setToolTip(tr("Choose a Hugging Face checkpoint folder (Ctrl+O)"));
    m_intro->setText(tr("Open or drop a folder holding config.json and model.safetensors."));
    captionOf(m_form, m_architecture)->setText(tr("Architecture:"));
    captionOf(m_form, m_parameters)->setText(tr("Parameters:"));
    captionOf(m_form, m_dtype)->setText(tr("Data type:"));
    captionOf(m_form, m_layers)->setText(tr("Layers:"));
    captionOf(m_form, m_hiddenSize)->setText(tr("Hidden size:"));
    captionOf(m_form, m_heads)->setText(tr("Heads / KV heads:"));
    captionOf(m_form, m_vocab)->setText(tr("Vocabulary:"));
    captionOf(m_form, m_sizeOnDisk)->setText(tr("Size on disk:"));
    captionOf(m_form, m_shards)->setText(tr("Shards:"));
    captionOf(m_form, m_tokenizer)->setText(tr("Tokenizer:"));
    // Values carry translated words too (yes/no, "loading"): render them again.
    showSummary();
}

void ModelPanel::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWidget::changeEvent(event);
}

void ModelPanel::chooseFolder()
{
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open model folder"), m_dir);
    if (!dir.isEmpty())
        openFolder(dir);
}

ModelPanel::LoadResult ModelPanel::load(const QString& dir)
{
    // Runs on a pool thread: no widgets here. ptq::Error carries file, object and reason;
    // anything else (out of memory, a filesystem error) is reported rather than lost.
    LoadResult r;
    r.dir = dir;
    try {
        r.summary = summarizeCheckpoint(dir.toStdString());
    } catch (const Error& e) {
        r.error = QString::fromStdString(e.what());
    } catch (const std::exception& e) {
        r.error = QStringLiteral("%1: %2").arg(dir, QString::fromLocal8Bit(e.what()));
    }
    return r;
}

void ModelPanel::openFolder(const QString& dir)
{
    m_dir = dir;
    m_loading = true;
    m_summary.reset();
    m_error.clear();
    QFuture<LoadResult> future = QtConcurrent::run(&ModelPanel::load, dir);
    m_running.erase(std::remove_if(m_running.begin(), m_running.end(),
                                   [](const QFuture<LoadResult>& f) { return f.isFinished(); }),
                    m_running.end());
    m_running.append(future);
    m_watcher.setFuture(future); // stops reporting any earlier load
    // Highlight the folder in the list (without rebuilding it: this may run from its click).
    for (int i = 0; i < m_modelList->count(); ++i)
        if (QDir::cleanPath(m_modelList->item(i)->data(Qt::UserRole).toString()) ==
            QDir::cleanPath(dir))
            m_modelList->setCurrentRow(i);
    showSummary();
    emit loadStarted(dir);
}

void ModelPanel::onLoadFinished()
{
    const LoadResult result = m_watcher.result();
    if (result.dir != m_dir)
        return;
    m_loading = false;
    m_summary = result.summary;
    m_error = result.error;
    showSummary();
    if (m_summary) {
        rememberRecent(result.dir);
        fillModelList();
        emit modelLoaded(result.dir);
        emit modelsChanged(knownModels());
    } else
        emit loadFailed(m_error);
}

void ModelPanel::clearValues()
{
    for (QLabel* value : {m_architecture, m_parameters, m_dtype, m_layers, m_hiddenSize, m_heads,
                          m_vocab, m_sizeOnDisk, m_shards, m_tokenizer})
        value->setText(QStringLiteral("—"));
}

void ModelPanel::showSummary()
{
    if (m_dir.isEmpty())
        m_pathLabel->setText(tr("No model open."));
    else if (m_loading)
        m_pathLabel->setText(tr("Reading %1…").arg(QDir::toNativeSeparators(m_dir)));
    else
        m_pathLabel->setText(QDir::toNativeSeparators(m_dir));

    m_errorLabel->setVisible(!m_error.isEmpty());
    m_errorLabel->setText(m_error.isEmpty() ? QString()
                                            : tr("Could not open the model: %1").arg(m_error));
    if (!m_summary) {
        clearValues();
        return;
    }
    const QLocale locale;
    const CheckpointSummary& s = *m_summary;
    m_architecture->setText(QString::fromStdString(s.architecture));
    m_parameters->setText(formatParameterCount(s.parameters));
    m_dtype->setText(QString::fromStdString(s.dtype));
    m_layers->setText(locale.toString(qlonglong(s.layers)));
    m_hiddenSize->setText(locale.toString(qlonglong(s.hiddenSize)));
    if (s.stateSize > 0) // Mamba: no attention heads; the state-space shape instead
        m_heads->setText(tr("none (state space: %1 states × %2 channels)")
                             .arg(locale.toString(qlonglong(s.stateSize)),
                                  locale.toString(qlonglong(s.innerSize))));
    else
        m_heads->setText(QStringLiteral("%1 / %2").arg(locale.toString(qlonglong(s.numHeads)),
                                                       locale.toString(qlonglong(s.numKvHeads))));
    m_vocab->setText(locale.toString(qlonglong(s.vocabSize)));
    m_sizeOnDisk->setText(formatByteSize(s.bytesOnDisk));
    m_shards->setText(locale.toString(s.shards));
    m_tokenizer->setText(s.hasTokenizer ? tr("yes (tokenizer.json)") : tr("no"));
}

void ModelPanel::dragEnterEvent(QDragEnterEvent* event)
{
    if (!droppedFolder(event->mimeData()).isEmpty())
        event->acceptProposedAction();
}

void ModelPanel::dropEvent(QDropEvent* event)
{
    const QString dir = droppedFolder(event->mimeData());
    if (dir.isEmpty())
        return;
    event->acceptProposedAction();
    openFolder(dir);
}

} // namespace ptq
