#include "results_model.h"

#include <QLocale>

#include <cmath>

namespace ptq {

namespace {

// The value of a metric on the dataset with the smallest sha256 (see metricOfColumn).
std::optional<double> metricValue(const RunRecord& r, const std::string& name)
{
    const MetricValue* best = nullptr;
    for (const MetricValue& m : r.metrics)
        if (m.name == name && (!best || m.datasetSha256 < best->datasetSha256))
            best = &m;
    if (!best)
        return std::nullopt;
    return best->value;
}

// Enough digits to compare runs at a glance; the exports carry full precision.
QString formatNumber(double v)
{
    if (!std::isfinite(v))
        return QLocale().toString(v);
    const double a = std::fabs(v);
    if (a >= 100.0)
        return QLocale().toString(v, 'f', 1);
    if (a >= 1.0)
        return QLocale().toString(v, 'f', 3);
    return QLocale().toString(v, 'g', 4);
}

QString statusText(RunStatus s)
{
    switch (s) {
    case RunStatus::Queued:
        return ResultsModel::tr("queued");
    case RunStatus::Running:
        return ResultsModel::tr("running");
    case RunStatus::Done:
        return ResultsModel::tr("done");
    case RunStatus::Failed:
        return ResultsModel::tr("failed");
    case RunStatus::Cancelled:
        return ResultsModel::tr("cancelled");
    case RunStatus::Interrupted:
        return ResultsModel::tr("interrupted");
    }
    return {};
}

QString groupText(int64_t g)
{
    if (g == 0)
        return ResultsModel::tr("channel");
    if (g < 0)
        return ResultsModel::tr("tensor");
    return QString::number(g);
}

} // namespace

ResultsModel::ResultsModel(QObject* parent) : QAbstractTableModel(parent) {}

void ResultsModel::setRuns(std::vector<RunRecord> runs)
{
    beginResetModel();
    m_runs = std::move(runs);
    endResetModel();
}

int ResultsModel::rowOfRun(qint64 runId) const
{
    for (size_t i = 0; i < m_runs.size(); ++i)
        if (m_runs[i].id == runId)
            return int(i);
    return -1;
}

std::string ResultsModel::metricOfColumn(int column)
{
    switch (column) {
    case Perplexity:
        return "perplexity";
    case PerplexityFp:
        return "perplexity_fp";
    case KlMean:
        return "kl_mean";
    case Top1:
        return "top1_agreement";
    case Acc:
        return "acc";
    default:
        return {};
    }
}

int ResultsModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_runs.size());
}

int ResultsModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ResultsModel::sortValue(const RunRecord& r, int column) const
{
    switch (column) {
    case Id:
        return qlonglong(r.id);
    case Model:
        return QString::fromStdString(r.modelName);
    case Recipe:
        return QString::fromStdString(r.spec.recipeName);
    case Status:
        return statusText(r.status);
    case WBits:
        return r.spec.wbits;
    case ABits:
        return r.spec.abits;
    case KvBits:
        return r.spec.kvbits;
    case Group:
        return qlonglong(r.spec.groupSize);
    case BitsPerWeight:
        return r.bitsPerWeight > 0 ? QVariant(r.bitsPerWeight) : QVariant();
    case SizeMb:
        return r.packedBytes > 0 ? QVariant(double(r.packedBytes) / 1e6) : QVariant();
    case QuantizeSeconds:
        return r.status == RunStatus::Done ? QVariant(r.quantizeSeconds) : QVariant();
    case EvalSeconds:
        return r.status == RunStatus::Done ? QVariant(r.evalSeconds) : QVariant();
    case Finished:
        return r.finishedAt.empty() ? QVariant() : QVariant(QString::fromStdString(r.finishedAt));
    default:
        break;
    }
    const std::optional<double> v = metricValue(r, metricOfColumn(column));
    return v ? QVariant(*v) : QVariant();
}

QVariant ResultsModel::displayValue(const RunRecord& r, int column) const
{
    const QVariant v = sortValue(r, column);
    if (!v.isValid())
        return QStringLiteral("—");
    switch (column) {
    case Group:
        return groupText(r.spec.groupSize);
    case BitsPerWeight:
    case SizeMb:
    case QuantizeSeconds:
    case EvalSeconds:
    case Perplexity:
    case PerplexityFp:
    case KlMean:
    case Top1:
    case Acc:
        return formatNumber(v.toDouble());
    default:
        return v.toString();
    }
}

QVariant ResultsModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= int(m_runs.size()))
        return {};
    const RunRecord& r = m_runs[size_t(index.row())];
    switch (role) {
    case Qt::DisplayRole:
        return displayValue(r, index.column());
    case SortRole:
        return sortValue(r, index.column());
    case RunIdRole:
        return qlonglong(r.id);
    case Qt::ToolTipRole:
        if (index.column() == Status && !r.error.empty())
            return QString::fromStdString(r.error);
        return {};
    case Qt::TextAlignmentRole:
        if (index.column() == Model || index.column() == Recipe || index.column() == Status)
            return int(Qt::AlignLeft | Qt::AlignVCenter);
        return int(Qt::AlignRight | Qt::AlignVCenter);
    default:
        return {};
    }
}

QVariant ResultsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case Id:
        return tr("Run");
    case Model:
        return tr("Model");
    case Recipe:
        return tr("Recipe");
    case Status:
        return tr("Status");
    case WBits:
        return tr("W bits");
    case ABits:
        return tr("A bits");
    case KvBits:
        return tr("KV bits");
    case Group:
        return tr("Group");
    case BitsPerWeight:
        return tr("Bits/weight");
    case SizeMb:
        return tr("Size (MB)");
    case Perplexity:
        return tr("Perplexity");
    case PerplexityFp:
        return tr("FP perplexity");
    case KlMean:
        return tr("KL");
    case Top1:
        return tr("Top-1");
    case Acc:
        return tr("Accuracy");
    case QuantizeSeconds:
        return tr("Quantize (s)");
    case EvalSeconds:
        return tr("Eval (s)");
    case Finished:
        return tr("Finished");
    default:
        return {};
    }
}

void ResultsModel::retranslate()
{
    emit headerDataChanged(Qt::Horizontal, 0, ColumnCount - 1);
    if (!m_runs.empty())
        emit dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
}

// ---------------------------------------------------------------------------------------------

ResultsFilterProxy::ResultsFilterProxy(QObject* parent) : QSortFilterProxyModel(parent)
{
    setSortRole(ResultsModel::SortRole);
}

void ResultsFilterProxy::setTextFilter(const QString& text)
{
    m_text = text.trimmed();
    invalidateFilter();
}

void ResultsFilterProxy::setStatusFilter(std::optional<RunStatus> status)
{
    m_status = status;
    invalidateFilter();
}

void ResultsFilterProxy::setModelFilter(const QString& modelName)
{
    m_model = modelName;
    invalidateFilter();
}

std::vector<RunRecord> ResultsFilterProxy::visibleRuns() const
{
    std::vector<RunRecord> runs;
    const auto* model = qobject_cast<const ResultsModel*>(sourceModel());
    if (!model)
        return runs;
    for (int row = 0; row < rowCount(); ++row)
        runs.push_back(model->run(mapToSource(index(row, 0)).row()));
    return runs;
}

qint64 ResultsFilterProxy::runIdAt(int proxyRow) const
{
    return data(index(proxyRow, 0), ResultsModel::RunIdRole).toLongLong();
}

bool ResultsFilterProxy::filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const
{
    const auto* model = qobject_cast<const ResultsModel*>(sourceModel());
    if (!model || sourceParent.isValid())
        return false;
    const RunRecord& r = model->run(sourceRow);
    if (m_status && r.status != *m_status)
        return false;
    if (!m_model.isEmpty() && QString::fromStdString(r.modelName) != m_model)
        return false;
    if (m_text.isEmpty())
        return true;
    for (int c = 0; c < ResultsModel::ColumnCount; ++c)
        if (model->index(sourceRow, c).data().toString().contains(m_text, Qt::CaseInsensitive))
            return true;
    return false;
}

bool ResultsFilterProxy::lessThan(const QModelIndex& left, const QModelIndex& right) const
{
    const QVariant a = left.data(ResultsModel::SortRole);
    const QVariant b = right.data(ResultsModel::SortRole);
    // Missing values go last in ascending order, so the recorded numbers come first.
    if (!a.isValid() || !b.isValid())
        return a.isValid() && !b.isValid();
    if (a.typeId() == QMetaType::QString || b.typeId() == QMetaType::QString)
        return QString::localeAwareCompare(a.toString(), b.toString()) < 0;
    return a.toDouble() < b.toDouble();
}

} // namespace ptq
