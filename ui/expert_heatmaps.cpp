#include "expert_heatmaps.h"

#include <QCoreApplication>
#include <QRegularExpression>

#include <algorithm>
#include <cmath>
#include <limits>

namespace ptq {

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

QString tr(const char* text)
{
    return QCoreApplication::translate("ptq::LayerInspector", text);
}

int64_t expertCount(const std::vector<LayerErrorRow>& rows)
{
    int64_t n = 0;
    for (const auto& r : rows)
        n = std::max(n, r.expert + 1);
    return n;
}

} // namespace

QString expertRole(const LayerErrorRow& row)
{
    QString name = QString::fromStdString(row.layer);
    if (row.expert >= 0)
        name.replace(QRegularExpression(QStringLiteral("\\.%1\\.").arg(row.expert)),
                     QStringLiteral("."));
    return QStringLiteral("%1.%2").arg(row.block).arg(name);
}

HeatmapData expertsOfRun(const std::vector<LayerErrorRow>& rows, LayerMeasure measure, qint64 runId)
{
    HeatmapData d;
    d.measure = layerMeasureName(measure);
    const int64_t experts = expertCount(rows);
    if (experts == 0)
        return d;
    for (int64_t e = 0; e < experts; ++e) {
        d.runLabels << tr("expert %1").arg(e);
        d.runIds.push_back(runId);
    }
    std::map<QString, std::size_t> index;
    for (const auto& r : rows) {
        if (r.expert < 0)
            continue;
        const QString role = expertRole(r);
        auto it = index.find(role);
        if (it == index.end()) {
            it = index.emplace(role, d.layers.size()).first;
            d.layers << role;
            d.values.emplace_back(std::size_t(experts), kNan);
        }
        d.values[it->second][std::size_t(r.expert)] = layerMeasureValue(r, measure);
    }
    return d;
}

HeatmapData expertsAcrossRuns(const std::vector<RunRecord>& runs,
                              const std::map<int64_t, std::vector<LayerErrorRow>>& layers,
                              LayerMeasure measure)
{
    HeatmapData d;
    d.measure = layerMeasureName(measure);
    int64_t experts = 0;
    std::vector<const RunRecord*> moe;
    for (const auto& r : runs) {
        const auto it = layers.find(r.id);
        if (it == layers.end() || expertCount(it->second) == 0)
            continue;
        experts = std::max(experts, expertCount(it->second));
        moe.push_back(&r);
    }
    if (moe.empty())
        return d;
    for (int64_t e = 0; e < experts; ++e) {
        d.layers << tr("expert %1").arg(e);
        d.values.emplace_back(moe.size(), kNan);
    }
    for (std::size_t c = 0; c < moe.size(); ++c) {
        const RunRecord& r = *moe[c];
        d.runLabels << QStringLiteral("%1 W%2 #%3")
                           .arg(QString::fromStdString(r.spec.recipeName))
                           .arg(r.spec.wbits)
                           .arg(r.id);
        d.runIds.push_back(r.id);
        std::vector<double> sum(std::size_t(experts), 0.0);
        std::vector<int> count(std::size_t(experts), 0);
        for (const auto& row : layers.at(r.id)) {
            const double v = layerMeasureValue(row, measure);
            if (row.expert < 0 || !std::isfinite(v))
                continue;
            sum[std::size_t(row.expert)] += v;
            ++count[std::size_t(row.expert)];
        }
        for (int64_t e = 0; e < experts; ++e)
            if (count[std::size_t(e)] > 0)
                d.values[std::size_t(e)][c] = sum[std::size_t(e)] / count[std::size_t(e)];
    }
    return d;
}

} // namespace ptq
