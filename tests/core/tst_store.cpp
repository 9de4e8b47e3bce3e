// The results store on real SQLite files in a temp folder: round trips of every field,
// migration from schema 1, a concurrent reader, lock/corruption/newer-schema errors, merge
// semantics, stale-run detection and fingerprints.

#include "model/checkpoint_fingerprint.h"
#include "store/results_store.h"
#include "store/schema.h"

#include "llama_reference.h"
#include "model/checkpoint_writer.h"
#include "test_files.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <random>
#include <regex>
#include <set>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace ptq {
// Readable failure messages for status comparisons.
void PrintTo(RunStatus s, std::ostream* os)
{
    *os << runStatusName(s);
}
} // namespace ptq

using namespace ptq;
using ptq::test::expectPtqError;
using ptq::test::readFile;
using ptq::test::TempDir;
using ptq::test::writeFile;

namespace {

// A raw sqlite3 connection, independent of the store, for setting up and inspecting files.
class RawDb {
public:
    explicit RawDb(const std::string& path)
    {
        if (sqlite3_open(path.c_str(), &m_db) != SQLITE_OK)
            throw std::runtime_error("cannot open " + path);
    }
    ~RawDb() { sqlite3_close(m_db); }
    void exec(const std::string& sql)
    {
        char* err = nullptr;
        const int rc = sqlite3_exec(m_db, sql.c_str(), nullptr, nullptr, &err);
        const std::string message = err ? err : "";
        sqlite3_free(err);
        if (rc != SQLITE_OK)
            throw std::runtime_error("sql failed: " + message + " in " + sql);
    }
    int64_t integer(const std::string& sql)
    {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(m_db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
            throw std::runtime_error(std::string("prepare failed: ") + sqlite3_errmsg(m_db));
        int64_t v = -1;
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return v;
    }
    std::vector<std::string> column(const std::string& sql)
    {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(m_db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
            throw std::runtime_error(std::string("prepare failed: ") + sqlite3_errmsg(m_db));
        std::vector<std::string> out;
        while (sqlite3_step(st) == SQLITE_ROW) {
            std::string row;
            for (int i = 0; i < sqlite3_column_count(st); ++i) {
                const auto* t = sqlite3_column_text(st, i);
                row += (i ? "|" : "") + std::string(t ? reinterpret_cast<const char*>(t) : "NULL");
            }
            out.push_back(row);
        }
        sqlite3_finalize(st);
        return out;
    }

private:
    sqlite3* m_db = nullptr;
};

const std::string kShaWiki(64, 'a');
const std::string kShaC4(64, 'c');

ModelRecord makeModel(const std::string& fingerprint, const std::string& name)
{
    return ModelRecord{
        0, fingerprint, name, "/models/" + name, "llama", 1234567, R"({"model_type":"llama"})"};
}

RunSpec makeSpec(const std::string& modelFp, const std::string& recipe, int wbits, uint64_t seed)
{
    RunSpec s;
    s.modelFingerprint = modelFp;
    s.recipeName = recipe;
    s.recipeJson = R"({"method":")" + recipe + R"(","wbits":)" + std::to_string(wbits) + "}";
    s.wbits = wbits;
    s.groupSize = 128;
    s.abits = 16;
    s.kvbits = 8;
    s.seed = seed;
    s.calibJson = R"({"dataset":")" + kShaC4 + R"(","samples":128,"seqlen":2048})";
    s.evalJson = R"({"datasets":[")" + kShaWiki + R"("],"seqlen":2048})";
    return s;
}

// Results whose every number depends on `salt`, so mixed-up rows show.
RunResults makeResults(double salt, int layers = 7, int blocks = 2)
{
    RunResults r;
    r.metrics = {{"perplexity", kShaWiki, 5.25 + salt},
                 {"kl_mean", kShaWiki, 0.0125 * salt},
                 {"bits_per_weight", "", 4.25}};
    for (int i = 0; i < layers; ++i)
        r.layers.push_back(LayerErrorRow{i / 7, "layer" + std::to_string(i), 4, 128,
                                         0.01 * i + salt, 0.002 * i, 1e-3 * salt, 0.5 + i,
                                         uint64_t(1000 + i), 0.25 * i});
    for (int b = 0; b < blocks; ++b)
        r.blocks.push_back(BlockErrorRow{b, 0.1 * b + salt, 1.5 * b});
    r.quantizeSeconds = 12.5 + salt;
    r.evalSeconds = 3.75;
    r.packedBytes = 1ull << 33; // above 32 bits on purpose
    r.fp16Bytes = 3ull << 33;
    r.bitsPerWeight = 4.25;
    return r;
}

bool isIsoUtc(const std::string& s)
{
    static const std::regex iso(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$)");
    return std::regex_match(s, iso);
}

// Every run (by fingerprint) with its status, numbers and rows, ids left out: two files hold
// the same results exactly when their dumps are equal.
std::string canonicalDump(const ResultsStore& store)
{
    auto runs = store.listRuns();
    std::sort(runs.begin(), runs.end(),
              [](const RunRecord& a, const RunRecord& b) { return a.fingerprint < b.fingerprint; });
    std::string out;
    char buf[512];
    for (const auto& r : runs) {
        std::snprintf(buf, sizeof buf, "run %s %s model=%s q=%.17g e=%.17g p=%llu f=%llu b=%.17g\n",
                      r.fingerprint.c_str(), runStatusName(r.status).c_str(),
                      r.spec.modelFingerprint.c_str(), r.quantizeSeconds, r.evalSeconds,
                      (unsigned long long)r.packedBytes, (unsigned long long)r.fp16Bytes,
                      r.bitsPerWeight);
        out += buf;
        for (const auto& m : r.metrics) {
            std::snprintf(buf, sizeof buf, "  metric %s %s %.17g\n", m.name.c_str(),
                          m.datasetSha256.c_str(), m.value);
            out += buf;
        }
        for (const auto& l : store.layerErrors(r.id)) {
            std::snprintf(buf, sizeof buf,
                          "  layer %lld %s %d %lld %.17g %.17g %.17g %.17g %llu %.17g\n",
                          (long long)l.block, l.layer.c_str(), l.bits, (long long)l.groupSize,
                          l.relWeightError, l.outputError, l.methodLoss, l.maxAbsError,
                          (unsigned long long)l.bytes, l.seconds);
            out += buf;
        }
        for (const auto& b : store.blockErrors(r.id)) {
            std::snprintf(buf, sizeof buf, "  block %lld %.17g %.17g\n", (long long)b.block,
                          b.outputError, b.seconds);
            out += buf;
        }
    }
    return out;
}

// Checks that `a` (written) and `b` (read back) agree field by field.
void expectSameResults(const RunResults& a, const RunRecord& rec,
                       const std::vector<LayerErrorRow>& layers,
                       const std::vector<BlockErrorRow>& blocks)
{
    ASSERT_EQ(rec.metrics.size(), a.metrics.size());
    auto want = a.metrics;
    std::sort(want.begin(), want.end(), [](const MetricValue& x, const MetricValue& y) {
        return std::tie(x.name, x.datasetSha256) < std::tie(y.name, y.datasetSha256);
    });
    for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(rec.metrics[i].name, want[i].name);
        EXPECT_EQ(rec.metrics[i].datasetSha256, want[i].datasetSha256);
        if (std::isnan(want[i].value))
            EXPECT_TRUE(std::isnan(rec.metrics[i].value)) << want[i].name;
        else
            EXPECT_EQ(rec.metrics[i].value, want[i].value) << want[i].name; // REAL is a double
    }
    ASSERT_EQ(layers.size(), a.layers.size());
    for (size_t i = 0; i < layers.size(); ++i) {
        const auto &x = a.layers[i], &y = layers[i];
        EXPECT_EQ(y.block, x.block);
        EXPECT_EQ(y.layer, x.layer);
        EXPECT_EQ(y.bits, x.bits);
        EXPECT_EQ(y.groupSize, x.groupSize);
        EXPECT_EQ(y.relWeightError, x.relWeightError);
        EXPECT_EQ(y.outputError, x.outputError);
        EXPECT_EQ(y.methodLoss, x.methodLoss);
        EXPECT_EQ(y.maxAbsError, x.maxAbsError);
        EXPECT_EQ(y.bytes, x.bytes);
        EXPECT_EQ(y.seconds, x.seconds);
    }
    ASSERT_EQ(blocks.size(), a.blocks.size());
    for (size_t i = 0; i < blocks.size(); ++i) {
        EXPECT_EQ(blocks[i].block, a.blocks[i].block);
        EXPECT_EQ(blocks[i].outputError, a.blocks[i].outputError);
        EXPECT_EQ(blocks[i].seconds, a.blocks[i].seconds);
    }
    EXPECT_EQ(rec.quantizeSeconds, a.quantizeSeconds);
    EXPECT_EQ(rec.evalSeconds, a.evalSeconds);
    EXPECT_EQ(rec.packedBytes, a.packedBytes);
    EXPECT_EQ(rec.fp16Bytes, a.fp16Bytes);
    EXPECT_EQ(rec.bitsPerWeight, a.bitsPerWeight);
}

} // namespace

TEST(Store, CreatesFileFolderWalAndSchema)
{
    TempDir dir("tst-store");
    const std::string path = dir.file("nested/deeper/results.db");
    {
        ResultsStore store(path);
        EXPECT_EQ(store.schemaVersion(), kSchemaVersion);
        EXPECT_EQ(store.path(), path);
        EXPECT_TRUE(store.listRuns().empty());
    }
    ASSERT_TRUE(std::filesystem::exists(path));
    RawDb raw(path);
    EXPECT_EQ(raw.integer("PRAGMA user_version"), kSchemaVersion);
    EXPECT_EQ(raw.column("PRAGMA journal_mode"), std::vector<std::string>{"wal"});
    for (const char* table :
         {"models", "datasets", "runs", "metrics", "layer_errors", "block_errors", "artifacts"})
        EXPECT_EQ(raw.integer(std::string("SELECT count(*) FROM sqlite_master WHERE name='") +
                              table + "'"),
                  1)
            << table;
}

// The per-layer column table (store/layer_record.h) is the layer_errors table of the schema:
// same names, same order, same types, after the run id.
TEST(Store, LayerColumnsAreTheLayerErrorsTable)
{
    TempDir dir("tst-store-columns");
    const std::string path = dir.file("results.db");
    {
        ResultsStore store(path);
    }
    RawDb raw(path);
    const auto names =
        raw.column("SELECT name FROM pragma_table_info('layer_errors') ORDER BY cid");
    const auto types =
        raw.column("SELECT type FROM pragma_table_info('layer_errors') ORDER BY cid");
    ASSERT_EQ(names.size(), ptq::layerColumns().size() + 1);
    EXPECT_EQ(names[0], "run_id");
    for (std::size_t i = 0; i < ptq::layerColumns().size(); ++i) {
        EXPECT_EQ(names[i + 1], ptq::layerColumns()[i].name);
        EXPECT_EQ(types[i + 1], ptq::layerColumns()[i].sqlType) << names[i + 1];
    }
    // Every column reads back what it wrote.
    ptq::LayerErrorRow row{3, "mlp.up_proj", 4, 128, 0.25, 0.125, 0.5, 0.0625, 4096, 1.5};
    ptq::LayerErrorRow back;
    for (const auto& col : ptq::layerColumns())
        col.set(back, col.get(row));
    EXPECT_EQ(back.block, 3);
    EXPECT_EQ(back.layer, "mlp.up_proj");
    EXPECT_EQ(back.bits, 4);
    EXPECT_EQ(back.groupSize, 128);
    EXPECT_EQ(back.relWeightError, 0.25);
    EXPECT_EQ(back.outputError, 0.125);
    EXPECT_EQ(back.methodLoss, 0.5);
    EXPECT_EQ(back.maxAbsError, 0.0625);
    EXPECT_EQ(back.bytes, 4096u);
    EXPECT_EQ(back.seconds, 1.5);
}

TEST(Store, DefaultPathFollowsEnvironment)
{
    const char* saved = std::getenv("PTQ_STORE");
    const std::string savedValue = saved ? saved : "";
    setenv("PTQ_STORE", "/tmp/x/explicit.db", 1);
    EXPECT_EQ(ResultsStore::defaultPath(), "/tmp/x/explicit.db");
    unsetenv("PTQ_STORE");
    setenv("XDG_DATA_HOME", "/tmp/xdg", 1);
    EXPECT_EQ(ResultsStore::defaultPath(), "/tmp/xdg/ptq-workbench/results.db");
    unsetenv("XDG_DATA_HOME");
    EXPECT_NE(ResultsStore::defaultPath().find("/.local/share/ptq-workbench/results.db"),
              std::string::npos);
    if (saved)
        setenv("PTQ_STORE", savedValue.c_str(), 1);
}

TEST(Store, ModelsAndDatasetsUpsertByKey)
{
    TempDir dir("tst-store");
    ResultsStore store(dir.file("r.db"));
    const int64_t a = store.upsertModel(makeModel("fpA", "tiny-a"));
    EXPECT_EQ(store.upsertModel(makeModel("fpA", "renamed")), a);
    const int64_t b = store.upsertModel(makeModel("fpB", "tiny-b"));
    EXPECT_NE(a, b);
    const auto m = store.modelByFingerprint("fpA");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->id, a);
    EXPECT_EQ(m->name, "tiny-a");
    EXPECT_EQ(m->path, "/models/tiny-a");
    EXPECT_EQ(m->architecture, "llama");
    EXPECT_EQ(m->parameters, 1234567);
    EXPECT_EQ(m->configJson, R"({"model_type":"llama"})");
    EXPECT_FALSE(store.modelByFingerprint("nope"));
    EXPECT_EQ(store.models().size(), 2u);

    const int64_t d = store.upsertDataset({0, kShaWiki, "/data/wiki.txt", 1000, 5000});
    EXPECT_EQ(store.upsertDataset({0, kShaWiki, "/elsewhere", 1, 2}), d);
    const auto ds = store.datasets();
    ASSERT_EQ(ds.size(), 1u);
    EXPECT_EQ(ds[0].path, "/data/wiki.txt");
    EXPECT_EQ(ds[0].tokens, 1000);
    EXPECT_EQ(ds[0].bytes, 5000);
}

TEST(Store, RunLifecycleRoundTripsEveryField)
{
    TempDir dir("tst-store");
    ResultsStore store(dir.file("r.db"));
    store.upsertModel(makeModel("fpA", "tiny-a"));
    store.upsertDataset({0, kShaWiki, "/data/wiki.txt", 1000, 5000});
    RunSpec spec = makeSpec("fpA", "gptq", 4, (1ull << 63) + 5); // seed beyond int64
    const int64_t id = store.addRun(spec);
    EXPECT_EQ(store.addRun(spec), id) << "same spec, same run";

    auto r = store.run(id);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, RunStatus::Queued);
    EXPECT_EQ(r->fingerprint, runFingerprint(spec));
    EXPECT_EQ(r->spec.modelFingerprint, "fpA");
    EXPECT_EQ(r->spec.recipeName, spec.recipeName);
    EXPECT_EQ(r->spec.recipeJson, spec.recipeJson);
    EXPECT_EQ(r->spec.wbits, 4);
    EXPECT_EQ(r->spec.groupSize, 128);
    EXPECT_EQ(r->spec.abits, 16);
    EXPECT_EQ(r->spec.kvbits, 8);
    EXPECT_EQ(r->spec.seed, spec.seed);
    EXPECT_EQ(r->spec.calibJson, spec.calibJson);
    EXPECT_EQ(r->spec.evalJson, spec.evalJson);
    EXPECT_EQ(r->modelName, "tiny-a");
    EXPECT_EQ(r->modelParameters, 1234567);
    EXPECT_TRUE(isIsoUtc(r->createdAt)) << r->createdAt;
    EXPECT_EQ(r->startedAt, "");
    EXPECT_EQ(r->finishedAt, "");
    EXPECT_EQ(r->engineVersion, PTQ_VERSION);

    store.markRunning(id);
    r = store.run(id);
    EXPECT_EQ(r->status, RunStatus::Running);
    EXPECT_TRUE(isIsoUtc(r->startedAt)) << r->startedAt;
    EXPECT_EQ(r->pid, int64_t(getpid()));
    EXPECT_FALSE(r->host.empty());

    RunResults results = makeResults(0.5);
    results.metrics.push_back({"kl_max", kShaC4, std::nan("")}); // NaN must stay NaN
    store.completeRun(id, results);
    r = store.findRun(runFingerprint(spec));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, RunStatus::Done);
    EXPECT_TRUE(isIsoUtc(r->finishedAt)) << r->finishedAt;
    EXPECT_LE(r->startedAt, r->finishedAt);
    expectSameResults(results, *r, store.layerErrors(id), store.blockErrors(id));
    // A dataset first seen in a metric exists afterwards, known only by its hash.
    EXPECT_EQ(store.datasets().size(), 2u);

    store.failRun(id, "out of memory in block 3");
    r = store.run(id);
    EXPECT_EQ(r->status, RunStatus::Failed);
    EXPECT_EQ(r->error, "out of memory in block 3");

    // A rerun starts clean: no error, no numbers from the earlier attempt.
    store.markRunning(id);
    r = store.run(id);
    EXPECT_EQ(r->status, RunStatus::Running);
    EXPECT_EQ(r->error, "");
    EXPECT_EQ(r->finishedAt, "");
    EXPECT_TRUE(r->metrics.empty());
    EXPECT_EQ(r->packedBytes, 0u);
    EXPECT_TRUE(store.layerErrors(id).empty());
    EXPECT_TRUE(store.blockErrors(id).empty());

    store.cancelRun(id);
    EXPECT_EQ(store.run(id)->status, RunStatus::Cancelled);

    EXPECT_FALSE(store.run(id + 100));
    EXPECT_FALSE(store.findRun("0000"));
    expectPtqError([&] { store.markRunning(id + 100); }, dir.file("r.db"), "no such run");
    expectPtqError([&] { store.failRun(id + 100, "x"); }, dir.file("r.db"), "no such run");

    const int64_t art = store.addArtifact(id, "csv", "/tmp/out.csv");
    EXPECT_GT(art, 0);
    EXPECT_GT(store.addArtifact(std::nullopt, "pdf", "/tmp/plot.pdf"), art);
    expectPtqError([&] { store.addArtifact(id + 100, "csv", "x"); }, dir.file("r.db"),
                   "no such run");
}

TEST(Store, AddRunNeedsItsModel)
{
    TempDir dir("tst-store");
    ResultsStore store(dir.file("r.db"));
    expectPtqError([&] { store.addRun(makeSpec("missing", "rtn", 4, 0)); }, dir.file("r.db"),
                   "no such model");
    EXPECT_TRUE(store.listRuns().empty());
}

TEST(Store, StatusNamesRoundTrip)
{
    for (RunStatus s : {RunStatus::Queued, RunStatus::Running, RunStatus::Done, RunStatus::Failed,
                        RunStatus::Cancelled, RunStatus::Interrupted})
        EXPECT_EQ(parseRunStatus(runStatusName(s)), s);
    expectPtqError([] { parseRunStatus("finished", "cli"); }, "cli", "unknown run status");
}

TEST(Store, ListRunsFilters)
{
    TempDir dir("tst-store");
    ResultsStore store(dir.file("r.db"));
    store.upsertModel(makeModel("fpA", "a"));
    store.upsertModel(makeModel("fpB", "b"));
    const int64_t r1 = store.addRun(makeSpec("fpA", "rtn", 4, 0));
    const int64_t r2 = store.addRun(makeSpec("fpA", "gptq", 4, 0));
    const int64_t r3 = store.addRun(makeSpec("fpA", "gptq", 3, 0));
    const int64_t r4 = store.addRun(makeSpec("fpB", "gptq", 4, 0));
    store.markRunning(r2);
    store.completeRun(r2, makeResults(1));
    store.markRunning(r3);
    store.failRun(r3, "boom");

    const auto ids = [&](const RunFilter& f) {
        std::vector<int64_t> out;
        for (const auto& r : store.listRuns(f))
            out.push_back(r.id);
        return out;
    };
    using V = std::vector<int64_t>;
    EXPECT_EQ(ids({}), (V{r1, r2, r3, r4}));
    RunFilter f;
    f.status = RunStatus::Done;
    EXPECT_EQ(ids(f), V{r2});
    f = {};
    f.status = RunStatus::Queued;
    EXPECT_EQ(ids(f), (V{r1, r4}));
    f = {};
    f.modelFingerprint = "fpB";
    EXPECT_EQ(ids(f), V{r4});
    f = {};
    f.recipeName = "gptq";
    EXPECT_EQ(ids(f), (V{r2, r3, r4}));
    f.wbits = 4;
    EXPECT_EQ(ids(f), (V{r2, r4}));
    f.modelFingerprint = "fpA";
    EXPECT_EQ(ids(f), V{r2});
    f.withMetrics = false;
    EXPECT_TRUE(store.listRuns(f).front().metrics.empty());
    f.withMetrics = true;
    EXPECT_EQ(store.listRuns(f).front().metrics.size(), 3u);
}

TEST(Store, FreshSchemaEqualsMigratedSchema)
{
    // The DDL of the current version and "version 1 + every migration" must give the same
    // tables, columns (type, NOT NULL, default, key) and indexes.
    TempDir dir("tst-store");
    const auto layout = [](const std::string& path) {
        RawDb raw(path);
        std::vector<std::string> out;
        for (const auto& t :
             raw.column("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")) {
            for (const auto& c : raw.column("PRAGMA table_info(" + t + ")"))
                out.push_back(t + ": " + c);
            for (const auto& i : raw.column("PRAGMA index_list(" + t + ")"))
                out.push_back(t + " index: " + i.substr(i.find('|') + 1));
        }
        return out;
    };
    {
        RawDb raw(dir.file("v1.db"));
        raw.exec(store::schemaDdl(1));
        raw.exec("PRAGMA user_version = 1");
    }
    {
        ResultsStore migrated(dir.file("v1.db"));
    }
    {
        ResultsStore fresh(dir.file("fresh.db"));
    }
    const auto a = layout(dir.file("v1.db")), b = layout(dir.file("fresh.db"));
    EXPECT_EQ(a, b);
    EXPECT_GT(a.size(), 40u);
}

namespace {

// A schema-1 file with one model, one dataset, a finished run with metrics and layer rows,
// and a queued run, all written by raw SQL.
void writeV1File(const std::string& path)
{
    RawDb raw(path);
    raw.exec(store::schemaDdl(1));
    raw.exec("PRAGMA user_version = 1");
    raw.exec("INSERT INTO models VALUES(1, 'fpOld', 'old', '/m/old', 'llama', 99, '{}')");
    raw.exec("INSERT INTO datasets VALUES(1, '" + kShaWiki + "', '/d/wiki', 10, 20)");
    raw.exec("INSERT INTO runs(id, fingerprint, model_id, recipe_name, recipe_json, wbits, "
             "group_size, abits, kvbits, seed, status, created_at, started_at, finished_at, "
             "quantize_seconds, packed_bytes, engine_version) VALUES(7, 'runOld', 1, 'rtn', "
             "'{}', 3, 64, 16, 16, 42, 'done', '2024-01-02T03:04:05.000Z', "
             "'2024-01-02T03:04:06.000Z', '2024-01-02T03:05:00.000Z', 1.5, 777, '0.1.0')");
    raw.exec("INSERT INTO runs(id, fingerprint, model_id, recipe_name, recipe_json, wbits, "
             "group_size, abits, kvbits, seed, status, created_at) VALUES(8, 'runQueued', 1, "
             "'gptq', '{}', 4, 128, 16, 16, 0, 'queued', '2024-01-02T03:04:05.000Z')");
    raw.exec("INSERT INTO metrics VALUES(7, 'perplexity', 1, 6.5), (7, 'bits_per_weight', 0, "
             "3.25)");
    raw.exec("INSERT INTO layer_errors VALUES(7, 0, 'self_attn.q_proj', 3, 64, 0.1, 0.2, 0.3, "
             "0.4, 100, 0.5), (7, 1, 'mlp.down_proj', 3, 64, 0.6, 0.7, 0.8, 0.9, 200, 1.0)");
}

void expectV1Rows(const ResultsStore& store)
{
    const auto runs = store.listRuns();
    ASSERT_EQ(runs.size(), 2u);
    const RunRecord& r = runs[0];
    EXPECT_EQ(r.id, 7);
    EXPECT_EQ(r.fingerprint, "runOld");
    EXPECT_EQ(r.status, RunStatus::Done);
    EXPECT_EQ(r.spec.modelFingerprint, "fpOld");
    EXPECT_EQ(r.spec.wbits, 3);
    EXPECT_EQ(r.spec.seed, 42u);
    EXPECT_EQ(r.quantizeSeconds, 1.5);
    EXPECT_EQ(r.packedBytes, 777u);
    EXPECT_EQ(r.engineVersion, "0.1.0");
    EXPECT_EQ(r.engineCommit, "");
    EXPECT_EQ(r.host, "");
    EXPECT_EQ(r.finishedAt, "2024-01-02T03:05:00.000Z");
    ASSERT_EQ(r.metrics.size(), 2u);
    EXPECT_EQ(r.metrics[0].name, "bits_per_weight");
    EXPECT_EQ(r.metrics[0].datasetSha256, "");
    EXPECT_EQ(r.metrics[0].value, 3.25);
    EXPECT_EQ(r.metrics[1].name, "perplexity");
    EXPECT_EQ(r.metrics[1].datasetSha256, kShaWiki);
    EXPECT_EQ(r.metrics[1].value, 6.5);
    const auto layers = store.layerErrors(7);
    ASSERT_EQ(layers.size(), 2u);
    EXPECT_EQ(layers[1].layer, "mlp.down_proj");
    EXPECT_EQ(layers[1].maxAbsError, 0.9);
    EXPECT_EQ(layers[1].bytes, 200u);
    EXPECT_TRUE(store.blockErrors(7).empty());
    EXPECT_EQ(runs[1].status, RunStatus::Queued);
    EXPECT_EQ(store.models().size(), 1u);
    EXPECT_EQ(store.datasets().size(), 1u);
}

} // namespace

TEST(Store, MigratesVersion1AndKeepsRows)
{
    TempDir dir("tst-store");
    const std::string path = dir.file("old.db");
    writeV1File(path);
    {
        // Read-only reads a schema-1 file through its own columns and never migrates it.
        ResultsStore ro(path, ResultsStore::Mode::ReadOnly);
        EXPECT_EQ(ro.schemaVersion(), 1);
        expectV1Rows(ro);
    }
    {
        ResultsStore store(path);
        EXPECT_EQ(store.schemaVersion(), kSchemaVersion);
        expectV1Rows(store);
        // The new tables and columns work on the migrated file.
        store.markRunning(8);
        EXPECT_EQ(store.run(8)->pid, int64_t(getpid()));
        store.completeRun(8, makeResults(2));
        EXPECT_EQ(store.blockErrors(8).size(), 2u);
        EXPECT_GT(store.addArtifact(7, "csv", "/tmp/a.csv"), 0);
    }
    RawDb raw(path);
    EXPECT_EQ(raw.integer("PRAGMA user_version"), kSchemaVersion);
    EXPECT_EQ(raw.integer("SELECT count(*) FROM block_errors"), 2);
    EXPECT_EQ(raw.integer("SELECT count(*) FROM artifacts"), 1);
}

TEST(Store, FailedMigrationLeavesVersion1Intact)
{
    // A user table named like a version-2 table makes the migration fail half-way; the one
    // transaction must leave the file exactly at version 1.
    TempDir dir("tst-store");
    const std::string path = dir.file("old.db");
    writeV1File(path);
    {
        RawDb raw(path);
        raw.exec("CREATE TABLE artifacts(x)");
    }
    expectPtqError([&] { ResultsStore store(path); }, path, "artifacts");
    RawDb raw(path);
    EXPECT_EQ(raw.integer("PRAGMA user_version"), 1);
    EXPECT_EQ(raw.integer("SELECT count(*) FROM pragma_table_info('runs') WHERE name='host'"), 0);
    EXPECT_EQ(raw.integer("SELECT count(*) FROM sqlite_master WHERE name='block_errors'"), 0);
    EXPECT_EQ(raw.integer("SELECT count(*) FROM runs"), 2);
}

TEST(Store, ConcurrentReaderNeverSeesDoneWithoutNumbers)
{
    TempDir dir("tst-store");
    const std::string path = dir.file("r.db");
    constexpr int kRuns = 50, kLayers = 224, kBlocks = 32;
    ResultsStore writer(path);
    writer.upsertModel(makeModel("fpA", "a"));
    std::vector<int64_t> ids;
    for (int i = 0; i < kRuns; ++i)
        ids.push_back(writer.addRun(makeSpec("fpA", "rtn", 4, uint64_t(i))));

    std::atomic<bool> finished{false};
    std::atomic<int> polls{0}, doneSeen{0}, incomplete{0};
    std::string readerError;
    std::thread reader([&] {
        try {
            ResultsStore store(path, ResultsStore::Mode::ReadOnly);
            bool last = false;
            while (!last) {
                last = finished.load();
                for (const auto& r : store.listRuns()) {
                    if (r.status != RunStatus::Done)
                        continue;
                    ++doneSeen;
                    if (r.metrics.size() != 3 || r.packedBytes == 0 ||
                        store.layerErrors(r.id).size() != size_t(kLayers) ||
                        store.blockErrors(r.id).size() != size_t(kBlocks))
                        ++incomplete;
                }
                ++polls;
            }
        } catch (const std::exception& e) {
            readerError = e.what();
        }
    });
    for (int i = 0; i < kRuns; ++i) {
        writer.markRunning(ids[i]);
        writer.completeRun(ids[i], makeResults(i, kLayers, kBlocks));
    }
    finished = true;
    reader.join();
    EXPECT_EQ(readerError, "");
    EXPECT_EQ(incomplete.load(), 0);
    EXPECT_GE(doneSeen.load(), kRuns) << "the last poll sees every run done";
    EXPECT_GE(polls.load(), 2);
}

TEST(Store, LockedDatabaseNamesFileAndRecovers)
{
    TempDir dir("tst-store");
    const std::string path = dir.file("r.db");
    {
        ResultsStore create(path);
    }
    RawDb other(path);
    other.exec("BEGIN EXCLUSIVE");
    ResultsStore writer(path, ResultsStore::Mode::ReadWrite, 200);
    const auto start = std::chrono::steady_clock::now();
    expectPtqError([&] { writer.upsertModel(makeModel("fpA", "a")); }, path,
                   "database is locked by another process (waited 200 ms)");
    const double waitedMs =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    EXPECT_GE(waitedMs, 150.0) << "the busy timeout was honoured";
    EXPECT_TRUE(writer.models().empty());
    other.exec("COMMIT");
    EXPECT_GT(writer.upsertModel(makeModel("fpA", "a")), 0);
    EXPECT_EQ(writer.models().size(), 1u);
}

namespace {

void expectRefusedUnchanged(const std::string& path, const std::string& phrase)
{
    const std::string before = readFile(path);
    expectPtqError([&] { ResultsStore s(path); }, path, phrase);
    expectPtqError([&] { ResultsStore s(path, ResultsStore::Mode::ReadOnly); }, path, phrase);
    EXPECT_EQ(readFile(path), before) << path << " was modified";
    // A read-only connection may leave SQLite's side files behind; they must hold no pages.
    if (std::filesystem::exists(path + "-wal")) {
        EXPECT_EQ(std::filesystem::file_size(path + "-wal"), 0u);
    }
}

} // namespace

TEST(Store, RefusesFilesThatAreNotStores)
{
    TempDir dir("tst-store");
    std::mt19937 rng(7);
    std::string noise(8192, '\0');
    for (auto& ch : noise)
        ch = char(rng());
    writeFile(dir.file("noise.db"), noise);
    expectRefusedUnchanged(dir.file("noise.db"), "not an SQLite database");

    writeFile(dir.file("notes.db"), "these are my notes, not a database\n");
    expectRefusedUnchanged(dir.file("notes.db"), "not an SQLite database");

    // A real store cut in half.
    const std::string cut = dir.file("cut.db");
    {
        ResultsStore store(cut);
        store.upsertModel(makeModel("fpA", "a"));
        for (int i = 0; i < 20; ++i) {
            const int64_t id = store.addRun(makeSpec("fpA", "rtn", 4, uint64_t(i)));
            store.completeRun(id, makeResults(i, 200));
        }
    }
    const std::string whole = readFile(cut);
    ASSERT_GT(whole.size(), 65536u);
    writeFile(cut, whole.substr(0, whole.size() / 2));
    expectRefusedUnchanged(cut, "corrupt");

    // An SQLite file of another program.
    {
        RawDb raw(dir.file("other.db"));
        raw.exec("CREATE TABLE contacts(name TEXT)");
    }
    expectRefusedUnchanged(dir.file("other.db"), "not a PTQ Workbench results store");

    expectPtqError([&] { ResultsStore s(dir.file("missing.db"), ResultsStore::Mode::ReadOnly); },
                   dir.file("missing.db"), "no such file");
    EXPECT_FALSE(std::filesystem::exists(dir.file("missing.db")));
}

TEST(Store, NewerSchemaIsReadOnly)
{
    TempDir dir("tst-store");
    const std::string path = dir.file("future.db");
    {
        ResultsStore store(path);
        store.upsertModel(makeModel("fpA", "a"));
        store.completeRun(store.addRun(makeSpec("fpA", "rtn", 4, 1)), makeResults(1));
    }
    {
        RawDb raw(path);
        raw.exec("PRAGMA user_version = 99");
    }
    const std::string before = readFile(path);
    expectPtqError([&] { ResultsStore s(path); }, path,
                   "written by a newer PTQ Workbench (schema version 99, this build knows up to " +
                       std::to_string(kSchemaVersion) + "); open it read-only or upgrade");
    EXPECT_EQ(readFile(path), before);
    ResultsStore ro(path, ResultsStore::Mode::ReadOnly);
    EXPECT_EQ(ro.schemaVersion(), 99);
    const auto runs = ro.listRuns();
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].status, RunStatus::Done);
    EXPECT_EQ(runs[0].metrics.size(), 3u);
    expectPtqError([&] { ro.markStaleRunsInterrupted(); }, path, "read-only");
}

TEST(Store, FailedCompletionWritesNothing)
{
    TempDir dir("tst-store");
    const std::string path = dir.file("r.db");
    ResultsStore store(path);
    store.upsertModel(makeModel("fpA", "a"));
    const int64_t id = store.addRun(makeSpec("fpA", "rtn", 4, 1));
    store.markRunning(id);

    RunResults bad = makeResults(1);
    bad.metrics.push_back({"perplexty", kShaWiki, 1.0});
    expectPtqError([&] { store.completeRun(id, bad); }, path,
                   "unknown metric name (known: perplexity, perplexity_fp, kl_mean");
    // A failure after rows were inserted (a duplicate block, caught by the key) rolls back.
    RunResults duplicate = makeResults(1);
    duplicate.blocks.push_back(duplicate.blocks.front());
    expectPtqError([&] { store.completeRun(id, duplicate); }, path, "run " + std::to_string(id));

    EXPECT_EQ(store.run(id)->status, RunStatus::Running);
    EXPECT_EQ(store.run(id)->packedBytes, 0u);
    RawDb raw(path);
    for (const char* table : {"metrics", "layer_errors", "block_errors"})
        EXPECT_EQ(raw.integer(std::string("SELECT count(*) FROM ") + table), 0) << table;
    expectPtqError([] { checkMetricName("ppl", "query"); }, "query", "acc_norm, bits_per_weight");
}

namespace {

// Store A: model M1; r1 done, r2 queued, r3 done. Store B: ids shifted by extra rows inserted
// first; r2 done, r3 done later, r4 done on model M2 only B knows, r5 queued.
struct MergeFixture {
    TempDir dir{"tst-store-merge"};
    std::string a = dir.file("a.db"), b = dir.file("b.db");
    RunSpec s1 = makeSpec("M1", "rtn", 4, 1), s2 = makeSpec("M1", "gptq", 4, 1),
            s3 = makeSpec("M1", "gptq", 3, 1), s4 = makeSpec("M2", "awq", 4, 1),
            s5 = makeSpec("M2", "rtn", 2, 1);

    MergeFixture()
    {
        {
            ResultsStore s(a);
            s.upsertModel(makeModel("M1", "one"));
            s.upsertDataset({0, kShaWiki, "/a/wiki", 10, 20});
            s.completeRun(s.addRun(s1), makeResults(1));
            s.addRun(s2);
            s.completeRun(s.addRun(s3), makeResults(3));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        {
            ResultsStore s(b);
            s.upsertModel(makeModel("M0", "unused"));
            s.upsertModel(makeModel("M2", "two"));
            s.upsertModel(makeModel("M1", "one-on-b"));
            s.upsertDataset({0, kShaC4, "/b/c4", 1, 2});
            s.upsertDataset({0, kShaWiki, "/b/wiki", 10, 20});
            s.addRun(s5);
            s.completeRun(s.addRun(s4), makeResults(4));
            s.completeRun(s.addRun(s3), makeResults(33));
            s.completeRun(s.addRun(s2), makeResults(2));
        }
    }
};

} // namespace

TEST(StoreMerge, AddsReplacesAndRemapsIds)
{
    MergeFixture f;
    ResultsStore a(f.a);
    ResultsStore b(f.b, ResultsStore::Mode::ReadOnly);
    const int64_t r2Before = a.findRun(runFingerprint(f.s2))->id;
    const MergeReport report = a.mergeFrom(b);
    EXPECT_EQ(report.runsAdded, 2);   // r4, r5
    EXPECT_EQ(report.runsUpdated, 1); // r2: done in B replaces queued in A
    EXPECT_EQ(report.runsSkipped, 1); // r3: done on both sides, A's finished first

    const auto r2 = a.findRun(runFingerprint(f.s2));
    EXPECT_EQ(r2->id, r2Before) << "a replaced run keeps its id here";
    EXPECT_EQ(r2->status, RunStatus::Done);
    expectSameResults(makeResults(2), *r2, a.layerErrors(r2->id), a.blockErrors(r2->id));
    const auto r3 = a.findRun(runFingerprint(f.s3));
    expectSameResults(makeResults(3), *r3, a.layerErrors(r3->id), a.blockErrors(r3->id));

    // r4 arrives with its model (new id here) and its metrics' dataset matched by hash.
    const auto r4 = a.findRun(runFingerprint(f.s4));
    ASSERT_TRUE(r4);
    EXPECT_EQ(r4->modelName, "two");
    expectSameResults(makeResults(4), *r4, a.layerErrors(r4->id), a.blockErrors(r4->id));
    EXPECT_EQ(a.findRun(runFingerprint(f.s5))->status, RunStatus::Queued);
    EXPECT_EQ(a.models().size(), 3u);
    EXPECT_EQ(a.modelByFingerprint("M1")->name, "one") << "existing rows are kept";
    const auto ds = a.datasets();
    ASSERT_EQ(ds.size(), 2u);
    EXPECT_EQ(ds[0].sha256, kShaWiki);
    EXPECT_EQ(ds[0].path, "/a/wiki");
    RawDb raw(f.a);
    EXPECT_EQ(raw.integer("SELECT count(*) FROM metrics m JOIN datasets d ON d.id = m.dataset_id "
                          "WHERE d.sha256 = '" +
                          kShaWiki + "'"),
              2 * 4); // perplexity + kl_mean for r1..r4
}

TEST(StoreMerge, IsIdempotent)
{
    MergeFixture f;
    ResultsStore a(f.a);
    ResultsStore b(f.b, ResultsStore::Mode::ReadOnly);
    a.mergeFrom(b);
    const std::string once = canonicalDump(a);
    RawDb raw(f.a);
    const auto rows = [&] {
        return std::vector<int64_t>{raw.integer("SELECT count(*) FROM runs"),
                                    raw.integer("SELECT count(*) FROM metrics"),
                                    raw.integer("SELECT count(*) FROM layer_errors"),
                                    raw.integer("SELECT count(*) FROM block_errors"),
                                    raw.integer("SELECT count(*) FROM models"),
                                    raw.integer("SELECT count(*) FROM datasets")};
    };
    const auto countsOnce = rows();
    const MergeReport again = a.mergeFrom(b);
    EXPECT_EQ(again.runsAdded, 0);
    EXPECT_EQ(again.runsUpdated, 0);
    EXPECT_EQ(again.runsSkipped, 4); // every run of B
    EXPECT_EQ(canonicalDump(a), once);
    EXPECT_EQ(rows(), countsOnce);
}

TEST(StoreMerge, IsCommutativeForFinishedRuns)
{
    MergeFixture f;
    const std::string ab = f.dir.file("ab.db"), ba = f.dir.file("ba.db");
    std::filesystem::copy_file(f.a, ab);
    std::filesystem::copy_file(f.b, ba);
    {
        ResultsStore x(ab);
        x.mergeFrom(ResultsStore(f.b, ResultsStore::Mode::ReadOnly));
        ResultsStore y(ba);
        y.mergeFrom(ResultsStore(f.a, ResultsStore::Mode::ReadOnly));
    }
    const std::string dumpAb = canonicalDump(ResultsStore(ab, ResultsStore::Mode::ReadOnly));
    const std::string dumpBa = canonicalDump(ResultsStore(ba, ResultsStore::Mode::ReadOnly));
    EXPECT_EQ(dumpAb, dumpBa);
    EXPECT_NE(dumpAb.find("run " + runFingerprint(f.s4)), std::string::npos);
}

TEST(Store, StaleRunsOfDeadProcessesBecomeInterrupted)
{
    TempDir dir("tst-store");
    const std::string path = dir.file("r.db");
    ResultsStore store(path);
    store.upsertModel(makeModel("fpA", "a"));
    const int64_t dead = store.addRun(makeSpec("fpA", "rtn", 4, 1));
    const int64_t remote = store.addRun(makeSpec("fpA", "rtn", 4, 2));
    const int64_t alive = store.addRun(makeSpec("fpA", "rtn", 4, 3));
    for (int64_t id : {dead, remote, alive})
        store.markRunning(id);

    // A pid that surely belongs to no process: a child that has exited and been reaped.
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0)
        _exit(0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    {
        RawDb raw(path);
        raw.exec("UPDATE runs SET pid = " + std::to_string(child) +
                 " WHERE id = " + std::to_string(dead));
        raw.exec("UPDATE runs SET host = 'another-machine', pid = " + std::to_string(child) +
                 " WHERE id = " + std::to_string(remote));
    }
    EXPECT_EQ(store.markStaleRunsInterrupted(), 1);
    EXPECT_EQ(store.run(dead)->status, RunStatus::Interrupted);
    EXPECT_NE(store.run(dead)->error.find(std::to_string(child)), std::string::npos);
    EXPECT_EQ(store.run(remote)->status, RunStatus::Running);
    EXPECT_EQ(store.run(alive)->status, RunStatus::Running);
    EXPECT_EQ(store.markStaleRunsInterrupted(), 0);
    EXPECT_EQ(store.markStaleRunsInterrupted(true), 2);
    EXPECT_EQ(store.run(remote)->status, RunStatus::Interrupted);
    EXPECT_EQ(store.run(alive)->status, RunStatus::Interrupted);
}

TEST(Store, ReadOnlyRefusesWrites)
{
    TempDir dir("tst-store");
    const std::string path = dir.file("r.db");
    {
        ResultsStore create(path);
    }
    ResultsStore ro(path, ResultsStore::Mode::ReadOnly);
    expectPtqError([&] { ro.upsertModel(makeModel("fpA", "a")); }, path, "read-only");
    expectPtqError([&] { ro.addArtifact(std::nullopt, "csv", "x"); }, path, "read-only");
}

TEST(Fingerprint, RunSpecEveryFieldCounts)
{
    const RunSpec base = makeSpec("fpA", "gptq", 4, 1);
    const std::string fp = runFingerprint(base);
    EXPECT_EQ(fp.size(), 64u);
    EXPECT_EQ(runFingerprint(makeSpec("fpA", "gptq", 4, 1)), fp);
    RunSpec spaced = base;
    spaced.recipeJson = "{ \"wbits\": 4,\n \"method\": \"gptq\" }"; // same JSON, other layout
    EXPECT_EQ(runFingerprint(spaced), fp);

    const std::vector<std::function<void(RunSpec&)>> changes = {
        [](RunSpec& s) { s.modelFingerprint = "fpB"; },
        [](RunSpec& s) { s.recipeName = "gptq2"; },
        [](RunSpec& s) { s.recipeJson = R"({"method":"gptq","wbits":4,"act_order":true})"; },
        [](RunSpec& s) { s.wbits = 3; },
        [](RunSpec& s) { s.groupSize = 64; },
        [](RunSpec& s) { s.abits = 8; },
        [](RunSpec& s) { s.kvbits = 4; },
        [](RunSpec& s) { s.seed = 2; },
        [](RunSpec& s) { s.calibJson = R"({"samples":64})"; },
        [](RunSpec& s) { s.evalJson = R"({"seqlen":4096})"; },
    };
    std::set<std::string> seen{fp};
    for (size_t i = 0; i < changes.size(); ++i) {
        RunSpec s = base;
        changes[i](s);
        EXPECT_TRUE(seen.insert(runFingerprint(s)).second) << "change " << i;
    }
}

TEST(Fingerprint, CheckpointFollowsContentNotFolder)
{
    TempDir dir("tst-store-ckpt");
    const ModelConfig config = ptq::testing::tinyLlamaConfig(64, 48);
    const auto weights = randomLlamaWeights(config, 11);
    writeLlamaCheckpoint(dir.file("one"), config, weights);
    writeLlamaCheckpoint(dir.file("two"), config, weights);
    const std::string fp = checkpointFingerprint(dir.file("one"));
    EXPECT_EQ(fp.size(), 64u);
    EXPECT_EQ(checkpointFingerprint(dir.file("two")), fp);

    // One byte of one tensor (the last byte of the data section) differs.
    std::filesystem::copy(dir.file("one"), dir.file("three"));
    const std::string file = dir.file("three") + "/model.safetensors";
    std::string bytes = readFile(file);
    bytes.back() = char(bytes.back() ^ 0x01);
    writeFile(file, bytes);
    EXPECT_NE(checkpointFingerprint(dir.file("three")), fp);

    expectPtqError([&] { checkpointFingerprint(dir.file("absent")); }, dir.file("absent"), "");

    // The process keeps fingerprints by file name, size and mtime: the same folder gives the
    // cached value; a file rewritten in place (same size, later mtime) is hashed again.
    EXPECT_EQ(checkpointFingerprint(dir.file("one")), fp);
    const std::string oneFile = dir.file("one") + "/model.safetensors";
    writeFile(oneFile, bytes);
    std::filesystem::last_write_time(oneFile, std::filesystem::last_write_time(oneFile) +
                                                  std::chrono::seconds(2));
    EXPECT_EQ(checkpointFingerprint(dir.file("one")), checkpointFingerprint(dir.file("three")));
}
