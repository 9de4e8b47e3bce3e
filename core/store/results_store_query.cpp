// ResultsStore, the read side of runs: finding and listing runs with their metrics, and the
// per-layer and per-block errors of a run.

#include "store/results_store.h"

#include "store/results_store_internal.h"
#include "store/schema.h"
#include "util/error.h"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ptq {

namespace {

using store::runObject;
using store::Statement;
using store::Transaction;

// The columns RunRecord reads, in this order. Files of schema 1 have no provenance columns.
std::string runColumns(int fileVersion)
{
    std::string cols =
        "r.id, r.fingerprint, m.fingerprint, r.recipe_name, r.recipe_json, r.wbits, "
        "r.group_size, r.abits, r.kvbits, r.seed, r.calib_json, r.eval_json, m.name, "
        "m.parameters, r.status, r.error, r.created_at, r.started_at, r.finished_at, "
        "r.quantize_seconds, r.eval_seconds, r.packed_bytes, r.fp16_bytes, r.bits_per_weight, "
        "r.engine_version, ";
    cols += fileVersion >= 2 ? "r.engine_commit, r.host, r.pid, " : "'', '', 0, ";
    cols += fileVersion >= 3 ? "r.owner, " : "'', ";
    cols += fileVersion >= 4 ? "m.active_parameters" : "m.parameters";
    return cols;
}

RunRecord readRun(const Statement& q, const std::string& path)
{
    RunRecord r;
    r.id = q.int64(0);
    r.fingerprint = q.text(1);
    r.spec.modelFingerprint = q.text(2);
    r.spec.recipeName = q.text(3);
    r.spec.recipeJson = q.text(4);
    r.spec.wbits = int(q.int64(5));
    r.spec.groupSize = q.int64(6);
    r.spec.abits = int(q.int64(7));
    r.spec.kvbits = int(q.int64(8));
    r.spec.seed = uint64_t(q.int64(9));
    r.spec.calibJson = q.text(10);
    r.spec.evalJson = q.text(11);
    r.modelName = q.text(12);
    r.modelParameters = q.int64(13);
    r.status = parseRunStatus(q.text(14), path + ": " + runObject(r.id));
    r.error = q.text(15);
    r.createdAt = q.text(16);
    r.startedAt = q.text(17);
    r.finishedAt = q.text(18);
    r.quantizeSeconds = q.realOrZero(19);
    r.evalSeconds = q.realOrZero(20);
    r.packedBytes = uint64_t(q.int64(21));
    r.fp16Bytes = uint64_t(q.int64(22));
    r.bitsPerWeight = q.realOrZero(23);
    r.engineVersion = q.text(24);
    r.engineCommit = q.text(25);
    r.host = q.text(26);
    r.pid = q.int64(27);
    r.owner = q.text(28);
    r.modelActiveParameters = q.int64(29);
    return r;
}

} // namespace

std::optional<RunRecord> ResultsStore::findRun(const std::string& fingerprint) const
{
    auto runs = queryRuns(connection(), RunFilter{}, std::nullopt, fingerprint);
    if (runs.empty())
        return std::nullopt;
    return std::move(runs.front());
}

std::optional<RunRecord> ResultsStore::run(int64_t id) const
{
    auto runs = queryRuns(connection(), RunFilter{}, id, {});
    if (runs.empty())
        return std::nullopt;
    return std::move(runs.front());
}

std::vector<RunRecord> ResultsStore::listRuns(const RunFilter& filter) const
{
    return queryRuns(connection(), filter, std::nullopt, {});
}

std::vector<RunRecord> ResultsStore::queryRuns(const store::Connection& c, const RunFilter& filter,
                                               std::optional<int64_t> id,
                                               const std::string& fingerprint) const
{
    std::string where;
    std::vector<std::string> texts; // bound in order, with ints interleaved as strings
    const auto add = [&](const std::string& clause, const std::string& value) {
        where += (where.empty() ? " WHERE " : " AND ") + clause;
        texts.push_back(value);
    };
    if (id)
        add("r.id = CAST(? AS INTEGER)", std::to_string(*id));
    if (!fingerprint.empty())
        add("r.fingerprint = ?", fingerprint);
    if (filter.status)
        add("r.status = ?", runStatusName(*filter.status));
    if (!filter.modelFingerprint.empty())
        add("m.fingerprint = ?", filter.modelFingerprint);
    if (!filter.recipeName.empty())
        add("r.recipe_name = ?", filter.recipeName);
    if (filter.wbits)
        add("r.wbits = CAST(? AS INTEGER)", std::to_string(*filter.wbits));
    const std::string sql = "SELECT " + runColumns(m_fileVersion) +
                            " FROM runs r JOIN models m ON m.id = r.model_id" + where +
                            " ORDER BY r.id";

    // One snapshot for the runs and their metrics: a run read as 'done' comes with the
    // metrics committed with it.
    Transaction snapshot(c, false, "runs");
    std::vector<RunRecord> out;
    std::map<int64_t, size_t> index;
    {
        Statement q(c, sql.c_str(), "runs");
        for (size_t i = 0; i < texts.size(); ++i)
            q.bindText(int(i + 1), texts[i]);
        while (q.step()) {
            out.push_back(readRun(q, m_path));
            index[out.back().id] = out.size() - 1;
        }
    }
    if (filter.withMetrics && !out.empty()) {
        const bool single = out.size() == 1;
        std::string msql = "SELECT mt.run_id, mt.name, COALESCE(d.sha256, ''), mt.value FROM "
                           "metrics mt LEFT JOIN datasets d ON d.id = mt.dataset_id";
        if (single)
            msql += " WHERE mt.run_id = ?";
        msql += " ORDER BY mt.run_id, mt.name, d.sha256";
        Statement q(c, msql.c_str(), "metrics");
        if (single)
            q.bindInt(1, out.front().id);
        while (q.step()) {
            const auto it = index.find(q.int64(0));
            if (it != index.end())
                out[it->second].metrics.push_back(MetricValue{q.text(1), q.text(2), q.real(3)});
        }
    }
    snapshot.commit();
    return out;
}

RunRecord ResultsStore::existingRun(const store::Connection& c, int64_t runId) const
{
    auto r = queryRuns(c, RunFilter{std::nullopt, {}, {}, std::nullopt, false}, runId, {});
    if (r.empty())
        throw Error(m_path, runObject(runId), "no such run");
    return std::move(r.front());
}

std::vector<LayerErrorRow> ResultsStore::layerErrors(int64_t runId) const
{
    const auto c = connection();
    std::string names; // columns newer than the file read as their defaults
    for (const auto& col : layerColumns())
        if (col.since <= m_fileVersion)
            names += std::string(names.empty() ? "" : ", ") + col.name;
    const std::string select =
        "SELECT " + names + " FROM layer_errors WHERE run_id = ? ORDER BY block, rowid";
    Statement q(c, select.c_str(), runObject(runId));
    q.bindInt(1, runId);
    std::vector<LayerErrorRow> out;
    while (q.step()) {
        LayerErrorRow row;
        int index = 0;
        for (const auto& col : layerColumns()) {
            if (col.since > m_fileVersion)
                continue;
            const std::string type = col.sqlType;
            col.set(row, type == "TEXT"      ? LayerCell(q.text(index))
                         : type == "INTEGER" ? LayerCell(q.int64(index))
                                             : LayerCell(q.real(index)));
            ++index;
        }
        out.push_back(std::move(row));
    }
    return out;
}

std::vector<BlockErrorRow> ResultsStore::blockErrors(int64_t runId) const
{
    if (m_fileVersion < 2)
        return {}; // schema 1 had no per-block errors
    const auto c = connection();
    Statement q(c,
                m_fileVersion >= 4 ? "SELECT block, output_error, seconds, routing_agreement FROM "
                                     "block_errors WHERE run_id = ? ORDER BY block"
                                   : "SELECT block, output_error, seconds, NULL FROM "
                                     "block_errors WHERE run_id = ? ORDER BY block",
                runObject(runId));
    q.bindInt(1, runId);
    std::vector<BlockErrorRow> out;
    while (q.step())
        out.push_back(BlockErrorRow{q.int64(0), q.real(1), q.real(2), q.real(3)});
    return out;
}

} // namespace ptq
