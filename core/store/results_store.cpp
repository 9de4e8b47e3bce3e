// ResultsStore: opening the file (checks, schema creation and migration), the model and
// dataset registry, and artifacts. Runs: results_store_runs.cpp and results_store_query.cpp.

#include "store/results_store.h"

#include "store/results_store_internal.h"
#include "store/schema.h"
#include "util/error.h"

#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>

namespace ptq {

namespace {

namespace fs = std::filesystem;
using store::runObject;
using store::Statement;
using store::Transaction;

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
                     "config_json, active_parameters) VALUES(?,?,?,?,?,?,?) "
                     "ON CONFLICT(fingerprint) DO NOTHING",
                     "model " + m.name);
    insert.bindText(1, m.fingerprint)
        .bindText(2, m.name)
        .bindText(3, m.path)
        .bindText(4, m.architecture)
        .bindInt(5, m.parameters)
        .bindText(6, m.configJson)
        .bindInt(7, m.activeParameters > 0 ? m.activeParameters : m.parameters)
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
                m_fileVersion >= 4
                    ? "SELECT id, fingerprint, name, path, architecture, parameters, config_json, "
                      "active_parameters FROM models ORDER BY id"
                    : "SELECT id, fingerprint, name, path, architecture, parameters, config_json, "
                      "parameters FROM models ORDER BY id",
                "models");
    std::vector<ModelRecord> out;
    while (q.step())
        out.push_back(ModelRecord{q.int64(0), q.text(1), q.text(2), q.text(3), q.text(4),
                                  q.int64(5), q.text(6), q.int64(7)});
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
