// ResultsStore::mergeFrom: combine the stores of several machines or sessions into one.

#include "store/results_store.h"

#include "store/schema.h"
#include "util/error.h"

#include <cstdio>
#include <map>
#include <tuple>

namespace ptq {

namespace {

// Whether `there` (from the other file) should replace `here` (same fingerprint). A finished
// run beats an unfinished one. Between two finished runs the choice must not depend on the
// direction of the merge, so the earlier finish wins, then the earlier start, then host and
// pid, then the metrics; identical keys keep this side.
std::string metricsKey(const RunRecord& r)
{
    std::string key;
    char value[32];
    for (const auto& m : r.metrics) {
        std::snprintf(value, sizeof value, "%.17g", m.value);
        key += m.name + "/" + m.datasetSha256 + "=" + value + ";";
    }
    return key;
}

bool replaces(const RunRecord& there, const RunRecord& here)
{
    if (there.status != RunStatus::Done)
        return false;
    if (here.status != RunStatus::Done)
        return true;
    const std::string thereMetrics = metricsKey(there), hereMetrics = metricsKey(here);
    return std::tie(there.finishedAt, there.startedAt, there.host, there.pid, thereMetrics) <
           std::tie(here.finishedAt, here.startedAt, here.host, here.pid, hereMetrics);
}

struct SourceRun {
    RunRecord record;
    RunResults results;
};

} // namespace

MergeReport ResultsStore::mergeFrom(const ResultsStore& other)
{
    requireWritable("merge from " + other.path());
    // Everything from the other file comes from one snapshot of it.
    std::vector<ModelRecord> models;
    std::vector<DatasetRecord> datasets;
    std::vector<SourceRun> runs;
    {
        const auto oc = other.connection();
        store::Transaction snapshot(oc, false, "merge source");
        models = other.models();
        datasets = other.datasets();
        for (auto& r : other.listRuns()) {
            SourceRun s;
            s.results.metrics = r.metrics;
            s.results.layers = other.layerErrors(r.id);
            s.results.blocks = other.blockErrors(r.id);
            s.record = std::move(r);
            runs.push_back(std::move(s));
        }
        snapshot.commit();
    }

    // Ids differ between files: models are matched by fingerprint and datasets by sha256
    // (metrics carry the sha256), runs by fingerprint. The steps below join this transaction.
    const auto c = connection();
    store::Transaction tx(c, true, "merge from " + other.path());
    std::map<std::string, int64_t> modelIds; // fingerprint -> id here
    for (const auto& m : models)
        modelIds[m.fingerprint] = upsertModel(m);
    for (const auto& d : datasets)
        upsertDataset(d);

    MergeReport report;
    for (const auto& s : runs) {
        const RunRecord& there = s.record;
        const auto model = modelIds.find(there.spec.modelFingerprint);
        if (model == modelIds.end())
            throw Error(other.path(), "run " + there.fingerprint,
                        "its model " + there.spec.modelFingerprint + " is not in the file");
        const auto here = findRun(there.fingerprint);
        if (!here) {
            const int64_t id = insertRunRow(c, there, model->second);
            writeResults(c, id, s.results);
            ++report.runsAdded;
        } else if (replaces(there, *here)) {
            deleteResults(c, here->id);
            updateRunRow(c, here->id, there);
            writeResults(c, here->id, s.results);
            ++report.runsUpdated;
        } else {
            ++report.runsSkipped;
        }
    }
    tx.commit();
    return report;
}

} // namespace ptq
