#include "analysis/pareto.h"

#include "util/error.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <set>

namespace ptq {

namespace {

const MetricValue* findMetric(const RunRecord& run, const std::string& name,
                              const std::string& dataset)
{
    for (const auto& m : run.metrics)
        if (m.name == name && m.datasetSha256 == dataset)
            return &m;
    return nullptr;
}

std::string runLabel(const RunRecord& run)
{
    std::string s = "run " + std::to_string(run.id) + " (" + run.modelName + ", " +
                    run.spec.recipeName + " w" + std::to_string(run.spec.wbits);
    if (run.spec.groupSize != 0)
        s += " g" + std::to_string(run.spec.groupSize);
    return s + ")";
}

std::string joinList(const std::set<std::string>& items)
{
    std::string s;
    for (const auto& i : items)
        s += (s.empty() ? "" : ", ") + (i.empty() ? std::string("(no dataset)") : i);
    return s;
}

// "Better" in the metric's direction: minimizing compares y, maximizing compares -y, which
// is exact for doubles, so one sweep serves both directions.
double orientedY(double y, Direction d)
{
    return d == Direction::Minimize ? y : -y;
}

bool betterValue(double a, double b, Direction d)
{
    return orientedY(a, d) < orientedY(b, d);
}

double sizeOf(const RunRecord& run, SizeAxis axis)
{
    if (axis == SizeAxis::ActiveBytes) // recorded for MoE runs; a dense model reads it all
        for (const auto& m : run.metrics)
            if (m.name == "active_packed_bytes")
                return m.value;
    return axis == SizeAxis::BitsPerWeight ? run.bitsPerWeight
                                           : static_cast<double>(run.packedBytes);
}

// Bits per weight used to decide which side of an iso-size pair runs at fewer bits: the
// recorded figure when present, else the nominal weight bits of the recipe.
double bitsOf(const RunRecord& run)
{
    return run.bitsPerWeight > 0 ? run.bitsPerWeight : static_cast<double>(run.spec.wbits);
}

void checkFinite(double v, const std::string& source, const std::string& label,
                 const std::string& what)
{
    if (!std::isfinite(v))
        throw Error(source, label, what + " is " + (std::isnan(v) ? "NaN" : "infinite"));
}

// The metric values of Done runs on the resolved dataset, as (run index, value).
std::vector<std::pair<size_t, double>>
metricValues(const std::vector<RunRecord>& runs, const ParetoQuery& q, const std::string& dataset)
{
    std::vector<std::pair<size_t, double>> out;
    for (size_t i = 0; i < runs.size(); ++i) {
        if (runs[i].status != RunStatus::Done)
            continue;
        const MetricValue* m = findMetric(runs[i], q.metric, dataset);
        if (!m)
            continue;
        checkFinite(m->value, q.source, runLabel(runs[i]), q.metric);
        out.emplace_back(i, m->value);
    }
    return out;
}

} // namespace

Direction metricDirection(const std::string& metric)
{
    checkMetricName(metric, "metric direction");
    static const std::map<std::string, Direction> kDirections = {
        {"perplexity", Direction::Minimize},
        {"perplexity_fp", Direction::Minimize},
        {"kl_mean", Direction::Minimize},
        {"kl_max", Direction::Minimize},
        {"acc", Direction::Maximize},
        {"acc_norm", Direction::Maximize},
        {"top1_agreement", Direction::Maximize},
        {"bits_per_weight", Direction::Minimize},
        {"packed_bytes", Direction::Minimize},
        {"fp16_bytes", Direction::Minimize},
        {"routing_agreement", Direction::Maximize},
        {"active_packed_bytes", Direction::Minimize},
    };
    auto it = kDirections.find(metric);
    if (it == kDirections.end())
        throw Error("metric direction", metric,
                    "the store knows this metric but no direction (better lower or higher) is "
                    "defined for it");
    return it->second;
}

std::string sizeAxisName(SizeAxis axis)
{
    switch (axis) {
    case SizeAxis::Bytes:
        return "bytes";
    case SizeAxis::BitsPerWeight:
        return "bpw";
    case SizeAxis::ActiveBytes:
        return "active-bytes";
    }
    return "bytes";
}

SizeAxis parseSizeAxis(const std::string& name, const std::string& source)
{
    if (name == "bytes")
        return SizeAxis::Bytes;
    if (name == "bpw")
        return SizeAxis::BitsPerWeight;
    if (name == "active-bytes")
        return SizeAxis::ActiveBytes;
    throw Error(source, name, "unknown size axis; expected 'bytes', 'active-bytes' or 'bpw'");
}

std::vector<size_t> paretoFront(const std::vector<ParetoPoint>& points, Direction yDirection,
                                const std::string& source)
{
    for (const auto& p : points) {
        checkFinite(p.x, source, p.label, "size (x)");
        checkFinite(p.y, source, p.label, "metric (y)");
    }
    std::vector<size_t> order(points.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        const double ya = orientedY(points[a].y, yDirection);
        const double yb = orientedY(points[b].y, yDirection);
        if (points[a].x != points[b].x)
            return points[a].x < points[b].x;
        return ya != yb ? ya < yb : a < b;
    });
    // Sweep groups of equal x. Inside a group only the points with the group's best y can
    // survive; they do unless a strictly smaller x already reached a y at least as good.
    std::vector<size_t> front;
    double bestBefore = std::numeric_limits<double>::infinity();
    for (size_t g = 0; g < order.size();) {
        const double x = points[order[g]].x;
        const double groupBest = orientedY(points[order[g]].y, yDirection);
        size_t end = g;
        while (end < order.size() && points[order[end]].x == x)
            ++end;
        if (groupBest < bestBefore)
            for (size_t k = g; k < end && orientedY(points[order[k]].y, yDirection) == groupBest;
                 ++k)
                front.push_back(order[k]);
        bestBefore = std::min(bestBefore, groupBest);
        g = end;
    }
    return front;
}

std::string resolveMetricDataset(const std::vector<RunRecord>& runs, const ParetoQuery& q)
{
    checkMetricName(q.metric, q.source);
    std::set<std::string> datasets;
    for (const auto& r : runs)
        if (r.status == RunStatus::Done)
            for (const auto& m : r.metrics)
                if (m.name == q.metric)
                    datasets.insert(m.datasetSha256);
    const std::string object = "metric " + q.metric;
    if (datasets.empty())
        throw Error(q.source, object, "no finished run has a value for it");
    if (q.dataset.empty()) {
        if (datasets.size() == 1)
            return *datasets.begin();
        throw Error(q.source, object,
                    "recorded on several datasets; choose one by sha256 (or a unique prefix): " +
                        joinList(datasets));
    }
    std::string wanted = q.dataset;
    std::transform(wanted.begin(), wanted.end(), wanted.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (datasets.count(wanted))
        return wanted;
    std::set<std::string> matches;
    for (const auto& d : datasets)
        if (d.rfind(wanted, 0) == 0)
            matches.insert(d);
    if (matches.size() == 1)
        return *matches.begin();
    if (matches.size() > 1)
        throw Error(q.source, object,
                    "dataset prefix '" + q.dataset + "' is ambiguous: " + joinList(matches));
    throw Error(q.source, object,
                "no finished run has a value on dataset '" + q.dataset +
                    "'; it is recorded on: " + joinList(datasets));
}

ParetoPointSet paretoPoints(const std::vector<RunRecord>& runs, const ParetoQuery& q)
{
    ParetoPointSet set;
    set.metric = q.metric;
    set.direction = metricDirection(q.metric);
    set.x = q.x;
    set.datasetSha256 = resolveMetricDataset(runs, q);
    for (const auto& [i, value] : metricValues(runs, q, set.datasetSha256)) {
        const RunRecord& run = runs[i];
        const double x = sizeOf(run, q.x);
        checkFinite(x, q.source, runLabel(run), "size (" + sizeAxisName(q.x) + ")");
        if (x <= 0) {
            set.warnings.push_back(runLabel(run) + ": left out, no recorded " +
                                   (q.x == SizeAxis::Bytes ? "packed size" : "bits per weight"));
            continue;
        }
        set.points.push_back({x, value, runLabel(run), run.id, i});
    }
    return set;
}

ParetoResult paretoFronts(const std::vector<RunRecord>& runs, const ParetoQuery& q,
                          ParetoGrouping grouping)
{
    ParetoPointSet set = paretoPoints(runs, q);
    ParetoResult result;
    result.metric = set.metric;
    result.datasetSha256 = set.datasetSha256;
    result.direction = set.direction;
    result.x = set.x;
    result.warnings = std::move(set.warnings);

    std::map<std::string, ParetoGroupFront> groups;
    for (auto& p : set.points) {
        const RunRecord& run = runs[p.runIndex];
        std::string key, label;
        switch (grouping) {
        case ParetoGrouping::All:
            label = "all models";
            break;
        case ParetoGrouping::PerModel:
            key = run.spec.modelFingerprint;
            label = run.modelName;
            break;
        case ParetoGrouping::PerRecipe:
            key = label = run.spec.recipeName;
            break;
        case ParetoGrouping::PerModelRecipe:
            key = run.spec.modelFingerprint + "/" + run.spec.recipeName;
            label = run.modelName + "/" + run.spec.recipeName;
            break;
        }
        ParetoGroupFront& g = groups[key];
        g.key = key;
        g.label = label;
        g.points.push_back(std::move(p));
    }
    for (auto& [key, g] : groups) {
        g.front = paretoFront(g.points, result.direction, q.source);
        result.groups.push_back(std::move(g));
    }
    return result;
}

std::optional<BudgetPick> bestUnderBudget(const std::vector<RunRecord>& runs, const ParetoQuery& q,
                                          uint64_t maxBytes)
{
    const Direction dir = metricDirection(q.metric);
    const std::string dataset = resolveMetricDataset(runs, q);
    std::optional<BudgetPick> best;
    for (const auto& [i, value] : metricValues(runs, q, dataset)) {
        const RunRecord& run = runs[i];
        if (run.packedBytes == 0 || run.packedBytes > maxBytes)
            continue;
        const BudgetPick cand{i, run.id, run.packedBytes, value};
        const bool wins = !best || betterValue(value, best->value, dir) ||
                          (value == best->value &&
                           (cand.packedBytes < best->packedBytes ||
                            (cand.packedBytes == best->packedBytes && cand.runId < best->runId)));
        if (wins)
            best = cand;
    }
    return best;
}

std::vector<IsoSizePair> isoSizeComparison(const std::vector<RunRecord>& runs, const ParetoQuery& q,
                                           double tolerance)
{
    if (!std::isfinite(tolerance) || tolerance < 0)
        throw Error(q.source, "iso-size tolerance",
                    "must be a finite relative size gap >= 0, got " + std::to_string(tolerance));
    const Direction dir = metricDirection(q.metric);
    const std::string dataset = resolveMetricDataset(runs, q);
    std::vector<std::pair<size_t, double>> values;
    for (const auto& v : metricValues(runs, q, dataset))
        if (runs[v.first].packedBytes > 0)
            values.push_back(v);

    std::vector<IsoSizePair> pairs;
    for (const auto& [li, lv] : values) {
        for (const auto& [si, sv] : values) {
            const RunRecord& large = runs[li];
            const RunRecord& small = runs[si];
            if (large.spec.modelFingerprint == small.spec.modelFingerprint ||
                large.modelParameters <= small.modelParameters || bitsOf(large) >= bitsOf(small))
                continue;
            const double lb = static_cast<double>(large.packedBytes);
            const double sb = static_cast<double>(small.packedBytes);
            const double gap = std::fabs(lb - sb) / std::min(lb, sb);
            if (gap > tolerance)
                continue;
            IsoSizePair p;
            p.largerRunIndex = li;
            p.largerRunId = large.id;
            p.smallerRunIndex = si;
            p.smallerRunId = small.id;
            p.largerBytes = large.packedBytes;
            p.smallerBytes = small.packedBytes;
            p.largerValue = lv;
            p.smallerValue = sv;
            p.relativeSizeGap = gap;
            p.winner = lv == sv                   ? IsoSizeWinner::Tie
                       : betterValue(lv, sv, dir) ? IsoSizeWinner::Larger
                                                  : IsoSizeWinner::Smaller;
            pairs.push_back(p);
        }
    }
    std::sort(pairs.begin(), pairs.end(), [](const IsoSizePair& a, const IsoSizePair& b) {
        if (a.smallerBytes != b.smallerBytes)
            return a.smallerBytes < b.smallerBytes;
        if (a.smallerRunId != b.smallerRunId)
            return a.smallerRunId < b.smallerRunId;
        return a.largerRunId < b.largerRunId;
    });
    return pairs;
}

std::string isoSizeWinnerName(IsoSizeWinner w)
{
    switch (w) {
    case IsoSizeWinner::Larger:
        return "larger";
    case IsoSizeWinner::Smaller:
        return "smaller";
    case IsoSizeWinner::Tie:
        return "tie";
    }
    return "tie";
}

} // namespace ptq
