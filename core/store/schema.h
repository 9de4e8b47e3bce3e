#pragma once
// Internals of the results store: the DDL of every released schema version, the forward
// migrations between them, and a thin RAII layer over the sqlite3 C API that turns every
// failure into a ptq::Error naming the database file. Not part of the public API.

#include <cstdint>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace ptq::store {

// One open database and what error messages need to know about it.
struct Connection {
    sqlite3* db = nullptr;
    std::string path;
    int busyTimeoutMs = 0;
};

// Throws ptq::Error(path, object, reason) for a failed sqlite3 call, with a plain reason for
// the cases a user can act on: locked past the busy timeout, not a database, corrupt.
[[noreturn]] void throwSqlite(const Connection& c, int rc, const std::string& object);

// Runs one or more statements that return no rows.
void exec(const Connection& c, const std::string& sql, const std::string& object);

// A prepared statement. Doubles are stored as REAL; NaN has no REAL encoding in SQLite (it
// becomes NULL), so NULL reads back as NaN rather than a silent 0.
class Statement {
public:
    Statement(const Connection& c, const char* sql, std::string object = {});
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bindInt(int index, int64_t v);
    Statement& bindReal(int index, double v);
    Statement& bindText(int index, const std::string& v);
    Statement& bindNull(int index);
    Statement& bindTextOrNull(int index, const std::string& v); // "" binds NULL

    bool step(); // true when a row is available
    void run();  // steps a statement that returns no rows
    void reset();

    int64_t int64(int col) const;
    double real(int col) const;       // NULL = NaN
    double realOrZero(int col) const; // NULL = 0
    std::string text(int col) const;  // NULL = ""
    bool isNull(int col) const;

private:
    const Connection& m_c;
    sqlite3_stmt* m_stmt = nullptr;
    std::string m_object;
};

// A transaction. Writers use BEGIN IMMEDIATE so that waiting for the write lock happens at
// the start (under the busy timeout) rather than as a deadlock at the first write. A read
// snapshot (write = false) gives several SELECTs one consistent view. Inside an already
// open transaction either kind joins it (begins and commits nothing).
class Transaction {
public:
    Transaction(const Connection& c, bool write, std::string object = {});
    ~Transaction(); // rolls back unless committed
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

private:
    const Connection& m_c;
    std::string m_object;
    bool m_active = false;
};

// The full DDL of schema version `version` (1 .. kSchemaVersion) as it was released;
// throws for other numbers. Version 1 lacked block_errors, artifacts and the runs columns
// engine_commit, host and pid.
const char* schemaDdl(int version);

// Creates the current schema in an empty database and sets user_version. The caller holds
// a write transaction.
void createSchema(const Connection& c);

// Migrates from `fromVersion` to kSchemaVersion, one step per released version, and sets
// user_version. The caller holds a write transaction, so a failure leaves the file as it was.
void migrateSchema(const Connection& c, int fromVersion);

int userVersion(const Connection& c);

// Provenance (fingerprint.cpp).
std::string nowIso8601();    // UTC with milliseconds: 2026-11-25T12:00:00.000Z
std::string engineVersion(); // PTQ_VERSION
std::string engineCommit();  // PTQ_GIT_COMMIT where the build defines it, else ""

} // namespace ptq::store
