#include "store/schema.h"

#include "store/results_store.h"
#include "util/error.h"

#include <sqlite3.h>

#include <cmath>
#include <limits>

namespace ptq::store {

namespace {

// Version 1, as first released. Kept verbatim: tests build v1 files from it and migrations
// start from it. Never edit a released version; add a new one and a migration step.
const char* const kDdlV1 = R"sql(
CREATE TABLE models (
    id INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    path TEXT NOT NULL DEFAULT '',
    architecture TEXT NOT NULL DEFAULT '',
    parameters INTEGER NOT NULL DEFAULT 0,
    config_json TEXT NOT NULL DEFAULT ''
);
CREATE TABLE datasets (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL DEFAULT '',
    tokens INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL UNIQUE,
    model_id INTEGER NOT NULL REFERENCES models(id),
    recipe_name TEXT NOT NULL,
    recipe_json TEXT NOT NULL,
    wbits INTEGER NOT NULL,
    group_size INTEGER NOT NULL,
    abits INTEGER NOT NULL,
    kvbits INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    calib_json TEXT NOT NULL DEFAULT '',
    eval_json TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed',
                                           'cancelled', 'interrupted')),
    error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    quantize_seconds REAL NOT NULL DEFAULT 0,
    eval_seconds REAL NOT NULL DEFAULT 0,
    packed_bytes INTEGER NOT NULL DEFAULT 0,
    fp16_bytes INTEGER NOT NULL DEFAULT 0,
    bits_per_weight REAL NOT NULL DEFAULT 0,
    engine_version TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_model ON runs(model_id);
CREATE INDEX runs_status ON runs(status);
CREATE TABLE metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    dataset_id INTEGER NOT NULL DEFAULT 0, -- 0: the metric has no dataset
    value REAL,                            -- NULL: NaN (SQLite has no REAL NaN)
    PRIMARY KEY (run_id, name, dataset_id)
);
CREATE TABLE layer_errors (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    block INTEGER NOT NULL,
    layer TEXT NOT NULL,
    bits INTEGER NOT NULL,
    group_size INTEGER NOT NULL,
    rel_weight_error REAL,
    output_error REAL,
    method_loss REAL,
    max_abs_error REAL,
    bytes INTEGER NOT NULL,
    seconds REAL
);
CREATE INDEX layer_errors_run ON layer_errors(run_id, block);
)sql";

// Version 2: provenance of the process that ran a run (for detecting runs left 'running'
// by a dead process), per-block errors and exported artifacts.
const char* const kDdlV2 = R"sql(
CREATE TABLE models (
    id INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    path TEXT NOT NULL DEFAULT '',
    architecture TEXT NOT NULL DEFAULT '',
    parameters INTEGER NOT NULL DEFAULT 0,
    config_json TEXT NOT NULL DEFAULT ''
);
CREATE TABLE datasets (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL DEFAULT '',
    tokens INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL UNIQUE,
    model_id INTEGER NOT NULL REFERENCES models(id),
    recipe_name TEXT NOT NULL,
    recipe_json TEXT NOT NULL,
    wbits INTEGER NOT NULL,
    group_size INTEGER NOT NULL,
    abits INTEGER NOT NULL,
    kvbits INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    calib_json TEXT NOT NULL DEFAULT '',
    eval_json TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed',
                                           'cancelled', 'interrupted')),
    error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    quantize_seconds REAL NOT NULL DEFAULT 0,
    eval_seconds REAL NOT NULL DEFAULT 0,
    packed_bytes INTEGER NOT NULL DEFAULT 0,
    fp16_bytes INTEGER NOT NULL DEFAULT 0,
    bits_per_weight REAL NOT NULL DEFAULT 0,
    engine_version TEXT NOT NULL DEFAULT '',
    engine_commit TEXT NOT NULL DEFAULT '',
    host TEXT NOT NULL DEFAULT '',
    pid INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_model ON runs(model_id);
CREATE INDEX runs_status ON runs(status);
CREATE TABLE metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    dataset_id INTEGER NOT NULL DEFAULT 0, -- 0: the metric has no dataset
    value REAL,                            -- NULL: NaN (SQLite has no REAL NaN)
    PRIMARY KEY (run_id, name, dataset_id)
);
CREATE TABLE layer_errors (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    block INTEGER NOT NULL,
    layer TEXT NOT NULL,
    bits INTEGER NOT NULL,
    group_size INTEGER NOT NULL,
    rel_weight_error REAL,
    output_error REAL,
    method_loss REAL,
    max_abs_error REAL,
    bytes INTEGER NOT NULL,
    seconds REAL
);
CREATE INDEX layer_errors_run ON layer_errors(run_id, block);
CREATE TABLE block_errors (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    block INTEGER NOT NULL,
    output_error REAL,
    seconds REAL,
    PRIMARY KEY (run_id, block)
);
CREATE TABLE artifacts (
    id INTEGER PRIMARY KEY,
    run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX artifacts_run ON artifacts(run_id);
)sql";

// Version 3: runs.owner identifies the process running a run beyond its pid (boot id, pid
// namespace, start time; store/process_owner.h), so a reused pid is not taken for it.
const char* const kDdlV3 = R"sql(
CREATE TABLE models (
    id INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    path TEXT NOT NULL DEFAULT '',
    architecture TEXT NOT NULL DEFAULT '',
    parameters INTEGER NOT NULL DEFAULT 0,
    config_json TEXT NOT NULL DEFAULT ''
);
CREATE TABLE datasets (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL DEFAULT '',
    tokens INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL UNIQUE,
    model_id INTEGER NOT NULL REFERENCES models(id),
    recipe_name TEXT NOT NULL,
    recipe_json TEXT NOT NULL,
    wbits INTEGER NOT NULL,
    group_size INTEGER NOT NULL,
    abits INTEGER NOT NULL,
    kvbits INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    calib_json TEXT NOT NULL DEFAULT '',
    eval_json TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed',
                                           'cancelled', 'interrupted')),
    error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    quantize_seconds REAL NOT NULL DEFAULT 0,
    eval_seconds REAL NOT NULL DEFAULT 0,
    packed_bytes INTEGER NOT NULL DEFAULT 0,
    fp16_bytes INTEGER NOT NULL DEFAULT 0,
    bits_per_weight REAL NOT NULL DEFAULT 0,
    engine_version TEXT NOT NULL DEFAULT '',
    engine_commit TEXT NOT NULL DEFAULT '',
    host TEXT NOT NULL DEFAULT '',
    pid INTEGER NOT NULL DEFAULT 0,
    owner TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_model ON runs(model_id);
CREATE INDEX runs_status ON runs(status);
CREATE TABLE metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    dataset_id INTEGER NOT NULL DEFAULT 0, -- 0: the metric has no dataset
    value REAL,                            -- NULL: NaN (SQLite has no REAL NaN)
    PRIMARY KEY (run_id, name, dataset_id)
);
CREATE TABLE layer_errors (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    block INTEGER NOT NULL,
    layer TEXT NOT NULL,
    bits INTEGER NOT NULL,
    group_size INTEGER NOT NULL,
    rel_weight_error REAL,
    output_error REAL,
    method_loss REAL,
    max_abs_error REAL,
    bytes INTEGER NOT NULL,
    seconds REAL
);
CREATE INDEX layer_errors_run ON layer_errors(run_id, block);
CREATE TABLE block_errors (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    block INTEGER NOT NULL,
    output_error REAL,
    seconds REAL,
    PRIMARY KEY (run_id, block)
);
CREATE TABLE artifacts (
    id INTEGER PRIMARY KEY,
    run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX artifacts_run ON artifacts(run_id);
)sql";

// Step i turns version i into version i + 1; the result must match kDdl of version i + 1
// (tst_store compares the two layouts column by column).
const char* const kMigrateV1toV2 = R"sql(
ALTER TABLE runs ADD COLUMN engine_commit TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN pid INTEGER NOT NULL DEFAULT 0;
CREATE TABLE block_errors (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    block INTEGER NOT NULL,
    output_error REAL,
    seconds REAL,
    PRIMARY KEY (run_id, block)
);
CREATE TABLE artifacts (
    id INTEGER PRIMARY KEY,
    run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX artifacts_run ON artifacts(run_id);
)sql";

const char* const kMigrateV2toV3 = R"sql(
ALTER TABLE runs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
)sql";

// Version 4: Mixture-of-Experts records. Per layer: the expert a linear belongs to (-1: none),
// the calibration tokens routed to it (-1: not routed) and the tokens behind its statistics;
// per block: the share of evaluation tokens whose top-k expert set the quantized model keeps;
// per model: the parameters one token uses (active) next to the total.
const char* const kMigrateV3toV4 = R"sql(
ALTER TABLE layer_errors ADD COLUMN expert INTEGER NOT NULL DEFAULT -1;
ALTER TABLE layer_errors ADD COLUMN routed_tokens INTEGER NOT NULL DEFAULT -1;
ALTER TABLE layer_errors ADD COLUMN calib_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE block_errors ADD COLUMN routing_agreement REAL;
ALTER TABLE models ADD COLUMN active_parameters INTEGER NOT NULL DEFAULT 0;
)sql";

// A fresh version 4 file is version 3 plus its migration step: the same columns in the same
// order by construction.
const char* ddlV4()
{
    static const std::string ddl = std::string(kDdlV3) + kMigrateV3toV4;
    return ddl.c_str();
}

// Version 5: what each quantized linear's input looked like during calibration, after the
// recipe's transforms: the largest |x| and the outlier ratio (the largest channel maximum over
// the median channel maximum). For a Mamba block, x_proj's input is the selective scan's
// input and out_proj's the gated scan output, the places Quamba and MambaQuant find outliers.
const char* const kMigrateV4toV5 = R"sql(
ALTER TABLE layer_errors ADD COLUMN input_absmax REAL NOT NULL DEFAULT 0;
ALTER TABLE layer_errors ADD COLUMN input_outlier_ratio REAL NOT NULL DEFAULT 0;
)sql";

const char* ddlV5()
{
    static const std::string ddl = std::string(ddlV4()) + kMigrateV4toV5;
    return ddl.c_str();
}

const char* migrationStep(int fromVersion)
{
    switch (fromVersion) {
    case 1:
        return kMigrateV1toV2;
    case 2:
        return kMigrateV2toV3;
    case 3:
        return kMigrateV3toV4;
    case 4:
        return kMigrateV4toV5;
    default:
        return nullptr;
    }
}

void setUserVersion(const Connection& c, int version)
{
    exec(c, "PRAGMA user_version = " + std::to_string(version), "schema version");
}

} // namespace

[[noreturn]] void throwSqlite(const Connection& c, int rc, const std::string& object)
{
    const int primary = rc & 0xff;
    std::string reason;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
        reason = "database is locked by another process (waited " +
                 std::to_string(c.busyTimeoutMs) + " ms)";
    } else if (primary == SQLITE_NOTADB) {
        reason = "not an SQLite database (file is not a database)";
    } else if (primary == SQLITE_CORRUPT) {
        reason = "the database file is corrupt (database disk image is malformed)";
    } else if (primary == SQLITE_READONLY) {
        reason = std::string("the database is read-only (") + sqlite3_errstr(rc) + ")";
    } else if (primary == SQLITE_CANTOPEN) {
        reason = "cannot open the database file";
    } else {
        reason = (c.db ? sqlite3_errmsg(c.db) : sqlite3_errstr(rc));
    }
    throw Error(c.path, object, reason);
}

void exec(const Connection& c, const std::string& sql, const std::string& object)
{
    char* message = nullptr;
    const int rc = sqlite3_exec(c.db, sql.c_str(), nullptr, nullptr, &message);
    sqlite3_free(message); // sqlite3_errmsg still holds the text for throwSqlite
    if (rc != SQLITE_OK)
        throwSqlite(c, rc, object);
}

Statement::Statement(const Connection& c, const char* sql, std::string object)
    : m_c(c), m_object(std::move(object))
{
    const int rc = sqlite3_prepare_v2(c.db, sql, -1, &m_stmt, nullptr);
    if (rc != SQLITE_OK)
        throwSqlite(c, rc, m_object);
}

Statement::~Statement()
{
    sqlite3_finalize(m_stmt);
}

Statement& Statement::bindInt(int index, int64_t v)
{
    sqlite3_bind_int64(m_stmt, index, v);
    return *this;
}

Statement& Statement::bindReal(int index, double v)
{
    if (std::isnan(v))
        sqlite3_bind_null(m_stmt, index);
    else
        sqlite3_bind_double(m_stmt, index, v);
    return *this;
}

Statement& Statement::bindText(int index, const std::string& v)
{
    sqlite3_bind_text(m_stmt, index, v.data(), int(v.size()), SQLITE_TRANSIENT);
    return *this;
}

Statement& Statement::bindNull(int index)
{
    sqlite3_bind_null(m_stmt, index);
    return *this;
}

Statement& Statement::bindTextOrNull(int index, const std::string& v)
{
    return v.empty() ? bindNull(index) : bindText(index, v);
}

bool Statement::step()
{
    const int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW)
        return true;
    if (rc == SQLITE_DONE)
        return false;
    throwSqlite(m_c, rc, m_object);
}

void Statement::run()
{
    while (step()) {
    }
}

void Statement::reset()
{
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
}

int64_t Statement::int64(int col) const
{
    return sqlite3_column_int64(m_stmt, col);
}

double Statement::real(int col) const
{
    if (isNull(col))
        return std::numeric_limits<double>::quiet_NaN();
    return sqlite3_column_double(m_stmt, col);
}

double Statement::realOrZero(int col) const
{
    return sqlite3_column_double(m_stmt, col);
}

std::string Statement::text(int col) const
{
    const auto* p = sqlite3_column_text(m_stmt, col);
    if (!p)
        return {};
    return std::string(reinterpret_cast<const char*>(p), size_t(sqlite3_column_bytes(m_stmt, col)));
}

bool Statement::isNull(int col) const
{
    return sqlite3_column_type(m_stmt, col) == SQLITE_NULL;
}

Transaction::Transaction(const Connection& c, bool write, std::string object)
    : m_c(c), m_object(std::move(object))
{
    // Inside an open transaction this one joins it: its snapshot is the one to read, and a
    // composite operation (mergeFrom) commits or rolls back all of its steps together.
    if (!sqlite3_get_autocommit(c.db))
        return;
    exec(c, write ? "BEGIN IMMEDIATE" : "BEGIN", m_object);
    m_active = true;
}

Transaction::~Transaction()
{
    if (m_active)
        sqlite3_exec(m_c.db, "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit()
{
    if (!m_active)
        return;
    exec(m_c, "COMMIT", m_object);
    m_active = false;
}

const char* schemaDdl(int version)
{
    switch (version) {
    case 1:
        return kDdlV1;
    case 2:
        return kDdlV2;
    case 3:
        return kDdlV3;
    case 4:
        return ddlV4();
    case 5:
        return ddlV5();
    default:
        throw Error("", "schema version " + std::to_string(version), "no such schema version");
    }
}

void createSchema(const Connection& c)
{
    exec(c, schemaDdl(kSchemaVersion), "create schema");
    setUserVersion(c, kSchemaVersion);
}

void migrateSchema(const Connection& c, int fromVersion)
{
    for (int v = fromVersion; v < kSchemaVersion; ++v) {
        const char* step = migrationStep(v);
        if (!step)
            throw Error(c.path, "schema version " + std::to_string(v),
                        "no migration to version " + std::to_string(v + 1));
        exec(c, step,
             "migration from schema version " + std::to_string(v) + " to " + std::to_string(v + 1));
    }
    setUserVersion(c, kSchemaVersion);
}

int userVersion(const Connection& c)
{
    Statement q(c, "PRAGMA user_version", "schema version");
    return q.step() ? int(q.int64(0)) : 0;
}

} // namespace ptq::store

namespace ptq {

// The value domains of runs.status (mirrored by its CHECK constraint) and metrics.name.
std::string runStatusName(RunStatus s)
{
    switch (s) {
    case RunStatus::Queued:
        return "queued";
    case RunStatus::Running:
        return "running";
    case RunStatus::Done:
        return "done";
    case RunStatus::Failed:
        return "failed";
    case RunStatus::Cancelled:
        return "cancelled";
    case RunStatus::Interrupted:
        return "interrupted";
    }
    return "queued";
}

RunStatus parseRunStatus(const std::string& name, const std::string& source)
{
    for (RunStatus s : {RunStatus::Queued, RunStatus::Running, RunStatus::Done, RunStatus::Failed,
                        RunStatus::Cancelled, RunStatus::Interrupted}) {
        if (runStatusName(s) == name)
            return s;
    }
    throw Error(source, "status '" + name + "'",
                "unknown run status (known: queued, running, done, failed, cancelled, "
                "interrupted)");
}

const std::vector<std::string>& knownMetricNames()
{
    static const std::vector<std::string> names = {
        "perplexity",     "perplexity_fp", "kl_mean",           "kl_max",
        "top1_agreement", "acc",           "acc_norm",          "bits_per_weight",
        "packed_bytes",   "fp16_bytes",    "routing_agreement", "active_packed_bytes"};
    return names;
}

void checkMetricName(const std::string& name, const std::string& source)
{
    for (const auto& known : knownMetricNames()) {
        if (known == name)
            return;
    }
    std::string list;
    for (const auto& known : knownMetricNames())
        list += (list.empty() ? "" : ", ") + known;
    throw Error(source, "metric '" + name + "'", "unknown metric name (known: " + list + ")");
}

} // namespace ptq
