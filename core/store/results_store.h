#pragma once
// The results store: one SQLite file holding every model, dataset, run, metric, per-layer
// error and exported artifact the workbench has produced. Any SQLite tool can open it.
//
// Schema (version kSchemaVersion, kept in PRAGMA user_version; forward migrations only):
//   models(id, fingerprint UNIQUE, name, path, architecture, parameters, config_json,
//          active_parameters)
//   datasets(id, sha256 UNIQUE, path, tokens, bytes)
//   runs(id, fingerprint UNIQUE, model_id, recipe_name, recipe_json, wbits, group_size, abits,
//        kvbits, seed, calib_json, eval_json, status, error, created_at, started_at,
//        finished_at, quantize_seconds, eval_seconds, packed_bytes, fp16_bytes,
//        bits_per_weight, engine_version, engine_commit, host, pid, owner)
//   metrics(run_id, name, dataset_id, value)      PRIMARY KEY (run_id, name, dataset_id)
//                                                 dataset_id 0 = none; value NULL = NaN
//   layer_errors(run_id, block, layer, bits, group_size, rel_weight_error, output_error,
//                method_loss, max_abs_error, bytes, seconds, expert, routed_tokens,
//                calib_tokens)
//   block_errors(run_id, block, output_error, seconds, routing_agreement)
//   artifacts(id, run_id NULL, kind, path, created_at)
//
// Concurrency: WAL journal, busy timeout (default 5 s). Each state change of a run is one
// transaction; a run's results (metrics, layer rows, status 'done') commit together, so a
// reader never sees a 'done' run without its numbers. A reader (the GUI) and a writer (a
// sweep) work on one file at once, each through its own ResultsStore: one object belongs to
// one thread at a time.
//
// Errors: every failure throws ptq::Error naming the database file: not an SQLite file,
// corrupt, locked past the busy timeout ("database is locked by another process"), written
// by a newer schema version (opened read-only is allowed; writing is refused with an
// explanation), unknown metric names in queries.

#include "store/layer_record.h"
#include "store/process_owner.h"

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace ptq {

namespace store {
struct Connection;
}

constexpr int kSchemaVersion = 5;

// Run states. 'interrupted' = left 'running' by a process that died.
enum class RunStatus { Queued, Running, Done, Failed, Cancelled, Interrupted };
std::string runStatusName(RunStatus s);
// Throws ptq::Error for an unknown name.
RunStatus parseRunStatus(const std::string& name, const std::string& source = "run status");

struct ModelRecord {
    int64_t id = 0;
    std::string fingerprint; // hex sha256 of config.json's canonical form and tensor hashes
    std::string name;        // folder name
    std::string path;
    std::string architecture; // model_type
    int64_t parameters = 0;
    std::string configJson;
    int64_t activeParameters = 0; // per token: routed experts counted k of E
};

struct DatasetRecord {
    int64_t id = 0;
    std::string sha256;
    std::string path;
    int64_t tokens = 0;
    int64_t bytes = 0;
};

// What defines a run. Equal specs have equal fingerprints (runFingerprint), which is how a
// sweep skips finished runs and how merge matches runs across files.
struct RunSpec {
    std::string modelFingerprint;
    std::string recipeName;
    std::string recipeJson; // canonical Recipe::toJson() dump (bits and group live in it)
    int wbits = 16;         // copies of the recipe's numbers, for queries
    int64_t groupSize = 0;
    int abits = 16; // 16 = not quantized
    int kvbits = 16;
    uint64_t seed = 0;
    std::string calibJson; // canonical JSON: dataset sha256, samples, seqlen
    std::string evalJson;  // canonical JSON: datasets (sha256), seqlen, windows, tasks
};
std::string runFingerprint(const RunSpec& spec);

struct MetricValue {
    std::string name;          // one of knownMetricNames()
    std::string datasetSha256; // "" when the metric has no dataset (e.g. bits_per_weight)
    double value = 0;
};

// The metric names the store accepts: perplexity, perplexity_fp, kl_mean, kl_max,
// top1_agreement, acc, acc_norm (zero-shot, per task dataset), bits_per_weight,
// packed_bytes, fp16_bytes.
const std::vector<std::string>& knownMetricNames();
// Throws ptq::Error listing the known names.
void checkMetricName(const std::string& name, const std::string& source);

struct BlockErrorRow {
    int64_t block = 0;
    double outputError = 0;
    double seconds = 0;
    // MoE layers: the share of evaluation tokens whose top-k expert set the quantized model
    // keeps at this block; NaN (NULL) for a dense block or a run without KL evaluation.
    double routingAgreement = std::nan("");
};

// Everything a finished run writes, committed in one transaction by completeRun().
struct RunResults {
    std::vector<MetricValue> metrics;
    std::vector<LayerErrorRow> layers;
    std::vector<BlockErrorRow> blocks;
    double quantizeSeconds = 0;
    double evalSeconds = 0;
    uint64_t packedBytes = 0;
    uint64_t fp16Bytes = 0;
    double bitsPerWeight = 0;
    std::vector<std::string> warnings; // the methods' warnings, reported to the caller only
};

struct RunRecord {
    int64_t id = 0;
    std::string fingerprint;
    RunSpec spec;
    std::string modelName;
    int64_t modelParameters = 0;
    int64_t modelActiveParameters = 0; // per token (MoE); equals modelParameters when dense
    RunStatus status = RunStatus::Queued;
    std::string error;
    std::string createdAt, startedAt, finishedAt; // ISO 8601 UTC, "" when not reached
    double quantizeSeconds = 0;
    double evalSeconds = 0;
    uint64_t packedBytes = 0;
    uint64_t fp16Bytes = 0;
    double bitsPerWeight = 0;
    std::string engineVersion, engineCommit;
    std::string host;  // where the run last ran ("" before it started; files of schema 1)
    int64_t pid = 0;   // that process's id
    std::string owner; // the rest of that process's identity (store/process_owner.h)
    std::vector<MetricValue> metrics; // filled by run()/listRuns(withMetrics = true)
};

struct RunFilter {
    std::optional<RunStatus> status;
    std::string modelFingerprint; // "" = any
    std::string recipeName;       // "" = any
    std::optional<int> wbits;
    bool withMetrics = true;
};

struct MergeReport {
    int64_t runsAdded = 0;
    int64_t runsUpdated = 0; // a finished run replaced an unfinished one with the same fingerprint
                             // (or an identical-spec run that finished later)
    int64_t runsSkipped = 0; // already present (same fingerprint, this side finished or both not)
};

// The process recorded as running (or last running) `run`.
store::ProcessOwner runOwner(const RunRecord& run);

// What ResultsStore::claimRun found, and whether the caller now runs the run.
enum class ClaimOutcome {
    Claimed,              // queued, cancelled, interrupted (or failed, retried): now ours
    TakenFromDeadProcess, // left 'running' by a process that is gone: now ours
    AlreadyDone,          // left alone
    FailedBefore,         // left alone (no retry asked for)
    RunningElsewhere,     // a live process runs it, or one that cannot be examined from here
};

struct RunClaim {
    ClaimOutcome outcome = ClaimOutcome::Claimed;
    RunRecord found;                                           // the run as it was before the claim
    store::OwnerState ownerState = store::OwnerState::Unknown; // of found's owner, if running
    bool ours() const
    {
        return outcome == ClaimOutcome::Claimed || outcome == ClaimOutcome::TakenFromDeadProcess;
    }
};

class ResultsStore {
public:
    enum class Mode { ReadWrite, ReadOnly };

    // Opens or creates the file (ReadWrite creates it and any missing parent folder),
    // migrates an older schema forward inside one transaction, enables WAL and the busy
    // timeout. ReadOnly never writes (no migration: an older file is read through its own
    // version's columns where they exist; a newer file is readable as long as its tables
    // keep the columns read here).
    explicit ResultsStore(const std::string& path, Mode mode = Mode::ReadWrite,
                          int busyTimeoutMs = 5000);
    ~ResultsStore();
    ResultsStore(const ResultsStore&) = delete;
    ResultsStore& operator=(const ResultsStore&) = delete;

    const std::string& path() const { return m_path; }
    int schemaVersion() const; // the file's PRAGMA user_version

    // The default file: $PTQ_STORE, else $XDG_DATA_HOME/ptq-workbench/results.db, else
    // ~/.local/share/ptq-workbench/results.db.
    static std::string defaultPath();

    // Inserts or returns the existing row with the same fingerprint / sha256 (an existing
    // row keeps its fields, except that a dataset row known only by its hash, created by a
    // metric naming it, gets the path, tokens and bytes given here).
    int64_t upsertModel(const ModelRecord& m);
    int64_t upsertDataset(const DatasetRecord& d);
    std::optional<ModelRecord> modelByFingerprint(const std::string& fingerprint) const;
    std::vector<ModelRecord> models() const;
    std::vector<DatasetRecord> datasets() const;

    // Adds a queued run, or returns the id of the existing run with the same fingerprint.
    // The model must have been upserted first.
    int64_t addRun(const RunSpec& spec);
    std::optional<RunRecord> findRun(const std::string& fingerprint) const;
    std::optional<RunRecord> run(int64_t id) const;
    std::vector<RunRecord> listRuns(const RunFilter& filter = {}) const;

    // State changes, each one transaction. markRunning records this process's pid and host
    // and clears any earlier error and results of the run (a rerun of a failed, cancelled
    // or interrupted run starts clean).
    void markRunning(int64_t runId);
    // Reads the run's status and, where the caller should run it, marks it running by this
    // process, in one transaction: a run 'running' in a live process (or one on another
    // machine or in another container) is never taken; one whose process is gone is.
    RunClaim claimRun(int64_t runId, bool retryFailed = false);
    // Status 'done' with the results, replacing any earlier ones. A metric's dataset that is
    // not in the store yet is added by its sha256. An unknown metric name, a duplicate
    // (name, dataset) or block throws and writes nothing. NaN values are kept (as NULL).
    void completeRun(int64_t runId, const RunResults& results);
    void failRun(int64_t runId, const std::string& error);
    void cancelRun(int64_t runId);
    // Status 'interrupted' (resumable): the run was stopped because its process is shutting
    // down, not by the user.
    void interruptRun(int64_t runId);
    // Marks runs left 'running' by a process that is no longer alive (exited, exiting, a
    // zombie, or its pid reused; store/process_owner.h), or with `all` every running run, as
    // interrupted; returns how many.
    int64_t markStaleRunsInterrupted(bool all = false);

    std::vector<LayerErrorRow> layerErrors(int64_t runId) const;
    std::vector<BlockErrorRow> blockErrors(int64_t runId) const;

    int64_t addArtifact(std::optional<int64_t> runId, const std::string& kind,
                        const std::string& path);

    // Copies models, datasets, runs and their results from `other` into this file, keyed by
    // run fingerprint; idempotent and order-independent for finished runs. One transaction.
    // A finished run replaces an unfinished one; between two finished runs the one that
    // finished first wins (then started first, host, pid, metrics), whichever side it is on.
    // Models and datasets already here keep their rows. Artifacts are not copied.
    MergeReport mergeFrom(const ResultsStore& other);

    sqlite3* handle() const { return m_db; } // for tests and ad-hoc queries

private:
    void open();
    store::Connection connection() const;
    void requireWritable(const std::string& operation) const;
    // Sets a run's status and finished_at in one transaction (cancelled, interrupted).
    void endRun(int64_t runId, RunStatus status);
    std::vector<RunRecord> queryRuns(const store::Connection& c, const RunFilter& filter,
                                     std::optional<int64_t> id,
                                     const std::string& fingerprint) const;
    int64_t datasetIdForSha(const store::Connection& c, const std::string& sha256);
    int64_t insertRunRow(const store::Connection& c, const RunRecord& r, int64_t modelId);
    void updateRunRow(const store::Connection& c, int64_t runId, const RunRecord& r);
    // The run's row; throws ptq::Error when there is none.
    RunRecord existingRun(const store::Connection& c, int64_t runId) const;
    // Status 'running' by this process, earlier results cleared (inside a transaction).
    void startRunRow(const store::Connection& c, int64_t runId, RunRecord rec);
    void deleteResults(const store::Connection& c, int64_t runId);
    void writeResults(const store::Connection& c, int64_t runId, const RunResults& results);

    std::string m_path;
    Mode m_mode;
    sqlite3* m_db = nullptr;
    int m_busyTimeoutMs = 5000;
    int m_fileVersion = 0; // user_version when opened (after any migration)
};

} // namespace ptq
