#include "store/results_store.h"

#include "store/schema.h"
#include "util/error.h"
#include "util/fault.h"

#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <unistd.h>

namespace ptq {

namespace {

namespace fs = std::filesystem;
using store::Statement;
using store::Transaction;

std::string runObject(int64_t id)
{
    return "run " + std::to_string(id);
}

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
    cols += fileVersion >= 3 ? "r.owner" : "''";
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
    return r;
}

// Reading page 1 is what detects a file that is not a database; quick_check finds truncated
// or damaged pages before anything is written to the file.
void checkReadable(const store::Connection& c)
{
    Statement probe(c, "SELECT count(*) FROM sqlite_master", "open");
    probe.step();
    Statement check(c, "PRAGMA quick_check(1)", "integrity check");
    if (check.step() && check.text(0) != "ok")
        throw Error(c.path, "integrity check",
                    "the database file is corrupt (" + check.text(0) + ")");
}

// Version 0 is either a new, empty file (ours to create) or somebody else's database.
void checkIsStore(const store::Connection& c, int version, bool readOnly)
{
    if (version != 0)
        return;
    Statement q(c, "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'", "open");
    q.step();
    if (q.int64(0) > 0)
        throw Error(c.path, "", "an SQLite file but not a PTQ Workbench results store");
    if (readOnly)
        throw Error(c.path, "", "an empty file, not a PTQ Workbench results store");
}

void prepareForWriting(const store::Connection& c)
{
    store::exec(c, "PRAGMA foreign_keys = ON", "open");
    std::string journal;
    {
        // The statement must be finished before the mode can change.
        Statement mode(c, "PRAGMA journal_mode", "journal mode");
        journal = mode.step() ? mode.text(0) : "";
    }
    if (journal != "wal")
        store::exec(c, "PRAGMA journal_mode = WAL", "journal mode");
    // NORMAL in WAL mode loses no committed transaction when the process dies (only on power
    // loss), and keeps each state change cheap.
    store::exec(c, "PRAGMA synchronous = NORMAL", "open");
    if (store::userVersion(c) == kSchemaVersion)
        return;
    Transaction tx(c, true, "schema migration");
    // Another process may have created or migrated the file while this one waited.
    const int version = store::userVersion(c);
    if (version == 0)
        store::createSchema(c);
    else if (version < kSchemaVersion)
        store::migrateSchema(c, version);
    else if (version > kSchemaVersion)
        throw Error(c.path, "schema version " + std::to_string(version),
                    "upgraded by a newer PTQ Workbench while opening");
    tx.commit();
}

} // namespace

ResultsStore::ResultsStore(const std::string& path, Mode mode, int busyTimeoutMs)
    : m_path(path), m_mode(mode), m_busyTimeoutMs(busyTimeoutMs)
{
    try {
        open();
    } catch (...) {
        sqlite3_close_v2(m_db);
        m_db = nullptr;
        throw;
    }
}

ResultsStore::~ResultsStore()
{
    sqlite3_close_v2(m_db);
}

store::Connection ResultsStore::connection() const
{
    return store::Connection{m_db, m_path, m_busyTimeoutMs};
}

void ResultsStore::open()
{
    if (m_path.empty())
        throw Error("", "results store", "empty file name");
    std::error_code ec;
    const bool exists = fs::exists(m_path, ec);
    if (exists && fs::is_directory(m_path, ec))
        throw Error(m_path, "", "is a folder, not a results store file");
    int flags = SQLITE_OPEN_READONLY;
    if (m_mode == Mode::ReadWrite) {
        const fs::path parent = fs::path(m_path).parent_path();
        if (!parent.empty() && !fs::create_directories(parent, ec) && ec)
            throw Error(m_path, parent.string(), "cannot create the folder: " + ec.message());
        flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    } else if (!exists) {
        throw Error(m_path, "", "no such file");
    }
    const int rc = sqlite3_open_v2(m_path.c_str(), &m_db, flags, nullptr);
    const store::Connection c = connection();
    if (rc != SQLITE_OK)
        store::throwSqlite(c, rc, "open");
    sqlite3_extended_result_codes(m_db, 1);
    sqlite3_busy_timeout(m_db, m_busyTimeoutMs);

    // Everything up to here only reads, so a file refused below is left as it was.
    checkReadable(c);
    m_fileVersion = store::userVersion(c);
    checkIsStore(c, m_fileVersion, m_mode == Mode::ReadOnly);
    if (m_mode == Mode::ReadOnly)
        return;
    if (m_fileVersion > kSchemaVersion)
        throw Error(m_path, "schema version " + std::to_string(m_fileVersion),
                    "written by a newer PTQ Workbench (schema version " +
                        std::to_string(m_fileVersion) + ", this build knows up to " +
                        std::to_string(kSchemaVersion) + "); open it read-only or upgrade");
    prepareForWriting(c);
    m_fileVersion = kSchemaVersion;
}

int ResultsStore::schemaVersion() const
{
    return store::userVersion(connection());
}

std::string ResultsStore::defaultPath()
{
    if (const char* p = std::getenv("PTQ_STORE"); p && *p)
        return p;
    if (const char* p = std::getenv("XDG_DATA_HOME"); p && *p)
        return std::string(p) + "/ptq-workbench/results.db";
    const char* home = std::getenv("HOME");
    return std::string(home && *home ? home : ".") + "/.local/share/ptq-workbench/results.db";
}

void ResultsStore::requireWritable(const std::string& operation) const
{
    if (m_mode == Mode::ReadOnly)
        throw Error(m_path, operation, "the results store was opened read-only");
}

int64_t ResultsStore::upsertModel(const ModelRecord& m)
{
    requireWritable("model " + m.name);
    if (m.fingerprint.empty())
        throw Error(m_path, "model " + m.name, "empty fingerprint");
    const auto c = connection();
    Transaction tx(c, true, "model " + m.name);
    Statement insert(c,
                     "INSERT INTO models(fingerprint, name, path, architecture, parameters, "
                     "config_json) VALUES(?,?,?,?,?,?) ON CONFLICT(fingerprint) DO NOTHING",
                     "model " + m.name);
    insert.bindText(1, m.fingerprint)
        .bindText(2, m.name)
        .bindText(3, m.path)
        .bindText(4, m.architecture)
        .bindInt(5, m.parameters)
        .bindText(6, m.configJson)
        .run();
    Statement q(c, "SELECT id FROM models WHERE fingerprint = ?", "model " + m.name);
    q.bindText(1, m.fingerprint).step();
    const int64_t id = q.int64(0);
    tx.commit();
    return id;
}

int64_t ResultsStore::datasetIdForSha(const store::Connection& c, const std::string& sha256)
{
    // A dataset first seen through a metric gets a row with only its hash; upsertDataset fills
    // in the rest later.
    Statement insert(c, "INSERT INTO datasets(sha256) VALUES(?) ON CONFLICT(sha256) DO NOTHING",
                     "dataset " + sha256);
    insert.bindText(1, sha256).run();
    Statement q(c, "SELECT id FROM datasets WHERE sha256 = ?", "dataset " + sha256);
    q.bindText(1, sha256).step();
    return q.int64(0);
}

int64_t ResultsStore::upsertDataset(const DatasetRecord& d)
{
    requireWritable("dataset " + d.sha256);
    if (d.sha256.empty())
        throw Error(m_path, "dataset " + d.path, "empty sha256");
    const auto c = connection();
    Transaction tx(c, true, "dataset " + d.sha256);
    const int64_t id = datasetIdForSha(c, d.sha256);
    // Fill a row that so far only knew the hash; a described row keeps its description.
    Statement fill(c,
                   "UPDATE datasets SET path = ?, tokens = ?, bytes = ? WHERE id = ? AND "
                   "path = '' AND tokens = 0 AND bytes = 0",
                   "dataset " + d.sha256);
    fill.bindText(1, d.path).bindInt(2, d.tokens).bindInt(3, d.bytes).bindInt(4, id).run();
    tx.commit();
    return id;
}

std::optional<ModelRecord> ResultsStore::modelByFingerprint(const std::string& fingerprint) const
{
    for (auto& m : models()) {
        if (m.fingerprint == fingerprint)
            return m;
    }
    return std::nullopt;
}

std::vector<ModelRecord> ResultsStore::models() const
{
    const auto c = connection();
    Statement q(c,
                "SELECT id, fingerprint, name, path, architecture, parameters, config_json "
                "FROM models ORDER BY id",
                "models");
    std::vector<ModelRecord> out;
    while (q.step())
        out.push_back(ModelRecord{q.int64(0), q.text(1), q.text(2), q.text(3), q.text(4),
                                  q.int64(5), q.text(6)});
    return out;
}

std::vector<DatasetRecord> ResultsStore::datasets() const
{
    const auto c = connection();
    Statement q(c, "SELECT id, sha256, path, tokens, bytes FROM datasets ORDER BY id", "datasets");
    std::vector<DatasetRecord> out;
    while (q.step())
        out.push_back(DatasetRecord{q.int64(0), q.text(1), q.text(2), q.int64(3), q.int64(4)});
    return out;
}

int64_t ResultsStore::insertRunRow(const store::Connection& c, const RunRecord& r, int64_t modelId)
{
    Statement q(c,
                "INSERT INTO runs(fingerprint, model_id, recipe_name, recipe_json, wbits, "
                "group_size, abits, kvbits, seed, calib_json, eval_json, status, error, "
                "created_at, engine_version, engine_commit) "
                "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                "run " + r.fingerprint);
    q.bindText(1, r.fingerprint)
        .bindInt(2, modelId)
        .bindText(3, r.spec.recipeName)
        .bindText(4, r.spec.recipeJson)
        .bindInt(5, r.spec.wbits)
        .bindInt(6, r.spec.groupSize)
        .bindInt(7, r.spec.abits)
        .bindInt(8, r.spec.kvbits)
        .bindInt(9, int64_t(r.spec.seed))
        .bindText(10, r.spec.calibJson)
        .bindText(11, r.spec.evalJson)
        .bindText(12, runStatusName(r.status))
        .bindText(13, r.error)
        .bindText(14, r.createdAt.empty() ? store::nowIso8601() : r.createdAt)
        .bindText(15, r.engineVersion)
        .bindText(16, r.engineCommit)
        .run();
    const int64_t id = sqlite3_last_insert_rowid(c.db);
    updateRunRow(c, id, r);
    return id;
}

void ResultsStore::updateRunRow(const store::Connection& c, int64_t runId, const RunRecord& r)
{
    Statement q(c,
                "UPDATE runs SET status = ?, error = ?, created_at = COALESCE(?, created_at), "
                "started_at = ?, finished_at = ?, quantize_seconds = ?, eval_seconds = ?, "
                "packed_bytes = ?, fp16_bytes = ?, bits_per_weight = ?, engine_version = ?, "
                "engine_commit = ?, host = ?, pid = ?, owner = ? WHERE id = ?",
                runObject(runId));
    q.bindText(1, runStatusName(r.status))
        .bindText(2, r.error)
        .bindTextOrNull(3, r.createdAt)
        .bindTextOrNull(4, r.startedAt)
        .bindTextOrNull(5, r.finishedAt)
        .bindReal(6, r.quantizeSeconds)
        .bindReal(7, r.evalSeconds)
        .bindInt(8, int64_t(r.packedBytes))
        .bindInt(9, int64_t(r.fp16Bytes))
        .bindReal(10, r.bitsPerWeight)
        .bindText(11, r.engineVersion)
        .bindText(12, r.engineCommit)
        .bindText(13, r.host)
        .bindInt(14, r.pid)
        .bindText(15, r.owner)
        .bindInt(16, runId)
        .run();
}

int64_t ResultsStore::addRun(const RunSpec& spec)
{
    requireWritable("run");
    const auto c = connection();
    RunRecord r;
    r.fingerprint = runFingerprint(spec);
    r.spec = spec;
    r.engineVersion = store::engineVersion();
    r.engineCommit = store::engineCommit();
    Transaction tx(c, true, "run " + r.fingerprint);
    {
        Statement q(c, "SELECT id FROM runs WHERE fingerprint = ?", "run " + r.fingerprint);
        if (q.bindText(1, r.fingerprint).step())
            return q.int64(0);
    }
    Statement model(c, "SELECT id FROM models WHERE fingerprint = ?", "run " + r.fingerprint);
    if (!model.bindText(1, spec.modelFingerprint).step())
        throw Error(m_path, "model " + spec.modelFingerprint,
                    "no such model in the store (upsertModel it before adding runs)");
    const int64_t id = insertRunRow(c, r, model.int64(0));
    tx.commit();
    return id;
}

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

void ResultsStore::deleteResults(const store::Connection& c, int64_t runId)
{
    const char* tables[] = {"metrics", "layer_errors", "block_errors"};
    for (const char* table : tables) {
        const std::string sql = std::string("DELETE FROM ") + table + " WHERE run_id = ?";
        Statement q(c, sql.c_str(), runObject(runId));
        q.bindInt(1, runId).run();
    }
}

void ResultsStore::writeResults(const store::Connection& c, int64_t runId,
                                const RunResults& results)
{
    const std::string object = runObject(runId);
    Statement metric(c, "INSERT INTO metrics(run_id, name, dataset_id, value) VALUES(?,?,?,?)",
                     object);
    for (const auto& m : results.metrics) {
        checkMetricName(m.name, m_path + ": " + object);
        const int64_t datasetId = m.datasetSha256.empty() ? 0 : datasetIdForSha(c, m.datasetSha256);
        metric.bindInt(1, runId).bindText(2, m.name).bindInt(3, datasetId).bindReal(4, m.value);
        metric.run();
        metric.reset();
    }
    Statement layer(c,
                    "INSERT INTO layer_errors(run_id, block, layer, bits, group_size, "
                    "rel_weight_error, output_error, method_loss, max_abs_error, bytes, seconds) "
                    "VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                    object);
    for (const auto& l : results.layers) {
        layer.bindInt(1, runId)
            .bindInt(2, l.block)
            .bindText(3, l.layer)
            .bindInt(4, l.bits)
            .bindInt(5, l.groupSize)
            .bindReal(6, l.relWeightError)
            .bindReal(7, l.outputError)
            .bindReal(8, l.methodLoss)
            .bindReal(9, l.maxAbsError)
            .bindInt(10, int64_t(l.bytes))
            .bindReal(11, l.seconds);
        layer.run();
        layer.reset();
    }
    Statement block(c,
                    "INSERT INTO block_errors(run_id, block, output_error, seconds) "
                    "VALUES(?,?,?,?)",
                    object);
    for (const auto& b : results.blocks) {
        block.bindInt(1, runId)
            .bindInt(2, b.block)
            .bindReal(3, b.outputError)
            .bindReal(4, b.seconds);
        block.run();
        block.reset();
    }
}

void ResultsStore::startRunRow(const store::Connection& c, int64_t runId, RunRecord rec)
{
    rec.status = RunStatus::Running;
    rec.error.clear();
    rec.startedAt = store::nowIso8601();
    rec.finishedAt.clear();
    rec.quantizeSeconds = rec.evalSeconds = rec.bitsPerWeight = 0;
    rec.packedBytes = rec.fp16Bytes = 0;
    rec.engineVersion = store::engineVersion();
    rec.engineCommit = store::engineCommit();
    const store::ProcessOwner me = store::ProcessOwner::current();
    rec.host = me.host;
    rec.pid = me.pid;
    rec.owner = me.token();
    deleteResults(c, runId);
    updateRunRow(c, runId, rec);
}

RunRecord ResultsStore::existingRun(const store::Connection& c, int64_t runId) const
{
    auto r = queryRuns(c, RunFilter{std::nullopt, {}, {}, std::nullopt, false}, runId, {});
    if (r.empty())
        throw Error(m_path, runObject(runId), "no such run");
    return std::move(r.front());
}

void ResultsStore::markRunning(int64_t runId)
{
    requireWritable(runObject(runId));
    const auto c = connection();
    Transaction tx(c, true, runObject(runId));
    startRunRow(c, runId, existingRun(c, runId));
    tx.commit();
}

RunClaim ResultsStore::claimRun(int64_t runId, bool retryFailed)
{
    requireWritable(runObject(runId));
    const auto c = connection();
    // The status is read and changed in one write transaction: two processes cannot both
    // claim the run, and the decision never rests on a status read earlier.
    Transaction tx(c, true, runObject(runId));
    RunClaim claim;
    claim.found = existingRun(c, runId);
    switch (claim.found.status) {
    case RunStatus::Done:
        claim.outcome = ClaimOutcome::AlreadyDone;
        return claim;
    case RunStatus::Failed:
        if (!retryFailed) {
            claim.outcome = ClaimOutcome::FailedBefore;
            return claim;
        }
        break;
    case RunStatus::Running: {
        const auto owner = runOwner(claim.found);
        claim.ownerState = store::ownerState(owner);
        if (claim.ownerState != store::OwnerState::Dead) {
            claim.outcome = ClaimOutcome::RunningElsewhere;
            return claim;
        }
        claim.outcome = ClaimOutcome::TakenFromDeadProcess;
        break;
    }
    default:
        break;
    }
    startRunRow(c, runId, claim.found);
    faultPoint("store.claim.before_commit");
    tx.commit();
    faultPoint("store.claim.after_commit");
    return claim;
}

void ResultsStore::completeRun(int64_t runId, const RunResults& results)
{
    requireWritable(runObject(runId));
    // Checked before the transaction too, so a bad name costs no lock.
    for (const auto& m : results.metrics)
        checkMetricName(m.name, m_path + ": " + runObject(runId));
    const auto c = connection();
    Transaction tx(c, true, runObject(runId));
    RunRecord rec = existingRun(c, runId);
    deleteResults(c, runId);
    writeResults(c, runId, results);
    rec.status = RunStatus::Done;
    rec.error.clear();
    rec.finishedAt = store::nowIso8601();
    rec.quantizeSeconds = results.quantizeSeconds;
    rec.evalSeconds = results.evalSeconds;
    rec.packedBytes = results.packedBytes;
    rec.fp16Bytes = results.fp16Bytes;
    rec.bitsPerWeight = results.bitsPerWeight;
    updateRunRow(c, runId, rec);
    faultPoint("store.complete.before_commit");
    tx.commit();
    faultPoint("store.complete.after_commit");
}

void ResultsStore::failRun(int64_t runId, const std::string& error)
{
    requireWritable(runObject(runId));
    const auto c = connection();
    Transaction tx(c, true, runObject(runId));
    Statement q(c, "UPDATE runs SET status = 'failed', error = ?, finished_at = ? WHERE id = ?",
                runObject(runId));
    q.bindText(1, error).bindText(2, store::nowIso8601()).bindInt(3, runId).run();
    if (sqlite3_changes(m_db) == 0)
        throw Error(m_path, runObject(runId), "no such run");
    tx.commit();
}

void ResultsStore::cancelRun(int64_t runId)
{
    endRun(runId, RunStatus::Cancelled);
}

void ResultsStore::interruptRun(int64_t runId)
{
    endRun(runId, RunStatus::Interrupted);
}

void ResultsStore::endRun(int64_t runId, RunStatus status)
{
    requireWritable(runObject(runId));
    const auto c = connection();
    Transaction tx(c, true, runObject(runId));
    Statement q(c, "UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", runObject(runId));
    q.bindText(1, runStatusName(status)).bindText(2, store::nowIso8601()).bindInt(3, runId).run();
    if (sqlite3_changes(m_db) == 0)
        throw Error(m_path, runObject(runId), "no such run");
    tx.commit();
}

int64_t ResultsStore::markStaleRunsInterrupted(bool all)
{
    requireWritable("interrupted runs");
    const auto c = connection();
    Transaction tx(c, true, "interrupted runs");
    std::vector<std::pair<int64_t, std::string>> stale;
    {
        Statement q(c, "SELECT id, host, pid, owner FROM runs WHERE status = 'running'",
                    "running runs");
        while (q.step()) {
            const auto owner = store::ProcessOwner::fromStored(q.text(1), q.int64(2), q.text(3));
            // A run on another machine or in another container cannot be checked from here:
            // only `all` takes it.
            if (all || store::ownerState(owner) == store::OwnerState::Dead)
                stale.emplace_back(q.int64(0), "interrupted: " + store::describeOwner(owner) +
                                                   " stopped while running it");
        }
    }
    Statement update(c, "UPDATE runs SET status = 'interrupted', error = ? WHERE id = ?",
                     "interrupted runs");
    for (const auto& [id, why] : stale) {
        update.bindText(1, why).bindInt(2, id).run();
        update.reset();
    }
    tx.commit();
    return int64_t(stale.size());
}

store::ProcessOwner runOwner(const RunRecord& run)
{
    return store::ProcessOwner::fromStored(run.host, run.pid, run.owner);
}

std::vector<LayerErrorRow> ResultsStore::layerErrors(int64_t runId) const
{
    const auto c = connection();
    Statement q(c,
                "SELECT block, layer, bits, group_size, rel_weight_error, output_error, "
                "method_loss, max_abs_error, bytes, seconds FROM layer_errors WHERE run_id = ? "
                "ORDER BY block, rowid",
                runObject(runId));
    q.bindInt(1, runId);
    std::vector<LayerErrorRow> out;
    while (q.step())
        out.push_back(LayerErrorRow{q.int64(0), q.text(1), int(q.int64(2)), q.int64(3), q.real(4),
                                    q.real(5), q.real(6), q.real(7), uint64_t(q.int64(8)),
                                    q.real(9)});
    return out;
}

std::vector<BlockErrorRow> ResultsStore::blockErrors(int64_t runId) const
{
    if (m_fileVersion < 2)
        return {}; // schema 1 had no per-block errors
    const auto c = connection();
    Statement q(c,
                "SELECT block, output_error, seconds FROM block_errors WHERE run_id = ? "
                "ORDER BY block",
                runObject(runId));
    q.bindInt(1, runId);
    std::vector<BlockErrorRow> out;
    while (q.step())
        out.push_back(BlockErrorRow{q.int64(0), q.real(1), q.real(2)});
    return out;
}

int64_t ResultsStore::addArtifact(std::optional<int64_t> runId, const std::string& kind,
                                  const std::string& path)
{
    requireWritable("artifact " + path);
    const auto c = connection();
    Transaction tx(c, true, "artifact " + path);
    if (runId) {
        Statement q(c, "SELECT 1 FROM runs WHERE id = ?", runObject(*runId));
        if (!q.bindInt(1, *runId).step())
            throw Error(m_path, runObject(*runId), "no such run (artifact " + path + ")");
    }
    Statement q(c, "INSERT INTO artifacts(run_id, kind, path, created_at) VALUES(?,?,?,?)",
                "artifact " + path);
    if (runId)
        q.bindInt(1, *runId);
    else
        q.bindNull(1);
    q.bindText(2, kind).bindText(3, path).bindText(4, store::nowIso8601()).run();
    const int64_t id = sqlite3_last_insert_rowid(m_db);
    tx.commit();
    return id;
}

} // namespace ptq
