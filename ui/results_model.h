#pragma once
// The runs of a results store as a table, and the filter/sort proxy the results panel shows
// it through. Display text is formatted for reading; Qt::UserRole (ResultsModel::SortRole)
// carries the raw number, so sorting by perplexity puts 9.5 before 10.2.

#include "store/results_store.h"

#include <QAbstractTableModel>
#include <QSortFilterProxyModel>
#include <optional>
#include <vector>

namespace ptq {

class ResultsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        Id,
        Model,
        Recipe,
        Status,
        WBits,
        ABits,
        KvBits,
        Group,
        BitsPerWeight,
        SizeMb,
        Perplexity,
        PerplexityFp,
        KlMean,
        Top1,
        Acc,
        QuantizeSeconds,
        EvalSeconds,
        Finished,
        ColumnCount
    };
    static constexpr int SortRole = Qt::UserRole;
    static constexpr int RunIdRole = Qt::UserRole + 1;

    explicit ResultsModel(QObject* parent = nullptr);

    void setRuns(std::vector<RunRecord> runs);
    const std::vector<RunRecord>& runs() const { return m_runs; }
    const RunRecord& run(int row) const { return m_runs[size_t(row)]; }
    int rowOfRun(qint64 runId) const; // -1 when not present

    // The store metric a column shows ("" for the columns that are not metrics). A metric
    // recorded on several datasets shows the value on the dataset with the smallest sha256,
    // the same choice as the plots make when no dataset is chosen.
    static std::string metricOfColumn(int column);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    // Headers are translated: call after a language change.
    void retranslate();

private:
    QVariant sortValue(const RunRecord& r, int column) const;
    QVariant displayValue(const RunRecord& r, int column) const;

    std::vector<RunRecord> m_runs;
};

// Filters by a text (case-insensitive, any column's display text), a status and a model
// name; sorts numerically through ResultsModel::SortRole, missing values last.
class ResultsFilterProxy : public QSortFilterProxyModel {
    Q_OBJECT
public:
    explicit ResultsFilterProxy(QObject* parent = nullptr);

    void setTextFilter(const QString& text);
    void setStatusFilter(std::optional<RunStatus> status);
    void setModelFilter(const QString& modelName); // "" = every model
    QString textFilter() const { return m_text; }

    // The runs the proxy shows, in its current (sorted) order.
    std::vector<RunRecord> visibleRuns() const;
    qint64 runIdAt(int proxyRow) const;

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;
    bool lessThan(const QModelIndex& left, const QModelIndex& right) const override;

private:
    QString m_text;
    std::optional<RunStatus> m_status;
    QString m_model;
};

} // namespace ptq
