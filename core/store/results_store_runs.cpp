// ResultsStore, the write side of runs: adding a run, claiming it, recording its state as it
// starts, completes, fails or is interrupted, and writing its results.

#include "store/results_store.h"

#include "store/results_store_internal.h"
#include "store/schema.h"
#include "util/error.h"
#include "util/fault.h"

#include <sqlite3.h>

#include <string>
#include <utility>
#include <vector>

namespace ptq {

namespace {

using store::runObject;
using store::Statement;
using store::Transaction;

} // namespace

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
    std::string names, marks;
    for (const auto& col : layerColumns()) {
        names += std::string(", ") + col.name;
        marks += ",?";
    }
    const std::string insert =
        "INSERT INTO layer_errors(run_id" + names + ") VALUES(?" + marks + ")";
    Statement layer(c, insert.c_str(), object);
    for (const auto& l : results.layers) {
        layer.bindInt(1, runId);
        int index = 2;
        for (const auto& col : layerColumns()) {
            const LayerCell cell = col.get(l);
            if (const auto* i = std::get_if<int64_t>(&cell))
                layer.bindInt(index, *i);
            else if (const auto* d = std::get_if<double>(&cell))
                layer.bindReal(index, *d);
            else
                layer.bindText(index, std::get<std::string>(cell));
            ++index;
        }
        layer.run();
        layer.reset();
    }
    Statement block(c,
                    "INSERT INTO block_errors(run_id, block, output_error, seconds, "
                    "routing_agreement) VALUES(?,?,?,?,?)",
                    object);
    for (const auto& b : results.blocks) {
        block.bindInt(1, runId)
            .bindInt(2, b.block)
            .bindReal(3, b.outputError)
            .bindReal(4, b.seconds)
            .bindReal(5, b.routingAgreement);
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

} // namespace ptq
