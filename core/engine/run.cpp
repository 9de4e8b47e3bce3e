#include "engine/run.h"

#include "engine/quantize.h"
#include "eval/kl.h"
#include "eval/perplexity.h"
#include "eval/zeroshot.h"
#include "model/checkpoint.h"
#include "model/model.h"
#include "text/tokenizer.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/sha256.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <tuple>

namespace ptq {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

double secondsSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void addMetric(RunResults& r, const std::string& name, const std::string& sha, double value)
{
    r.metrics.push_back({name, sha, value});
}

// Perplexity/KL of every evaluation text: both models on the same windows.
void evaluateTexts(const RunRequest& req, const Model& fp, const Model& quant,
                   const Tokenizer& tokenizer, const ProgressFn& progress, RunResults& out)
{
    PerplexityConfig pc;
    pc.seqlen = req.eval.seqlen;
    pc.maxWindows = req.eval.windows;
    for (const std::string& path : req.eval.texts) {
        const std::string sha = fileSha256(path);
        const auto tokens = tokenizeTextFile(tokenizer, path);
        const KlResult kl = evaluateKl(fp, quant, tokens, pc, progress);
        addMetric(out, "perplexity", sha, kl.quantPerplexity);
        addMetric(out, "perplexity_fp", sha, kl.fpPerplexity);
        addMetric(out, "kl_mean", sha, kl.meanKl);
        addMetric(out, "kl_max", sha, kl.maxKl);
        addMetric(out, "top1_agreement", sha, kl.top1Agreement);
        if (std::isnan(kl.routingAgreement))
            continue;
        addMetric(out, "routing_agreement", sha, kl.routingAgreement);
        if (&path != &req.eval.texts.front())
            continue; // per block: on the first evaluation text
        for (auto& b : out.blocks)
            if (b.block >= 0 && std::size_t(b.block) < kl.routingAgreementPerBlock.size())
                b.routingAgreement = kl.routingAgreementPerBlock[std::size_t(b.block)];
    }
}

void evaluateTasks(const RunRequest& req, const Model& quant, const Tokenizer& tokenizer,
                   const ProgressFn& progress, RunResults& out)
{
    for (const TaskFileSpec& t : req.eval.tasks) {
        const std::string sha = fileSha256(t.path);
        TaskSpec spec = taskPreset(t.layout);
        spec.name = fs::path(t.path).stem().string();
        const Task task = loadTask(t.path, spec);
        ZeroShotConfig zc;
        zc.maxExamples = t.examples;
        const ZeroShotResult r = evaluateZeroShot(quant, tokenizer, task, zc, progress);
        addMetric(out, "acc", sha, r.acc);
        addMetric(out, "acc_norm", sha, r.accNorm);
    }
}

void copyRecords(const QuantizeResult& q, RunResults& out)
{
    out.layers = q.layers;
    out.warnings = q.warnings;
    for (const auto& t : q.transforms) // once each: a transform may repeat one per block
        for (const auto& w : t.warnings)
            if (std::find(out.warnings.begin(), out.warnings.end(), w) == out.warnings.end())
                out.warnings.push_back(w);
    for (const BlockRecord& b : q.blocks)
        out.blocks.push_back({b.block, b.outputError, b.seconds});
    out.packedBytes = q.packedBytes;
    out.fp16Bytes = q.fp16Bytes;
    out.bitsPerWeight = q.bitsPerWeight;
    addMetric(out, "bits_per_weight", "", q.bitsPerWeight);
    addMetric(out, "packed_bytes", "", static_cast<double>(q.packedBytes));
    addMetric(out, "fp16_bytes", "", static_cast<double>(q.fp16Bytes));
    if (q.activePackedBytes != q.packedBytes)
        addMetric(out, "active_packed_bytes", "", static_cast<double>(q.activePackedBytes));
}

} // namespace

std::string fileSha256(const std::string& path)
{
    // Keyed by path, size and modification time so a file rewritten in place is hashed again.
    using Key = std::tuple<std::string, uintmax_t, fs::file_time_type>;
    static std::mutex mutex;
    static std::map<Key, std::string> cache;
    std::error_code ec;
    const uintmax_t size = fs::file_size(path, ec);
    if (ec)
        throw Error(path, "dataset", "cannot read it: " + ec.message());
    const fs::file_time_type mtime = fs::last_write_time(path, ec);
    if (ec)
        throw Error(path, "dataset", "cannot read it: " + ec.message());
    const Key key{path, size, mtime};
    {
        std::lock_guard<std::mutex> lock(mutex);
        if (auto it = cache.find(key); it != cache.end())
            return it->second;
    }
    const std::string sha = sha256Hex(readFileBytes(path, "dataset"));
    std::lock_guard<std::mutex> lock(mutex);
    cache[key] = sha;
    return sha;
}

json calibrationJson(const CalibrationSpec& calib)
{
    return {
        {"sha256", fileSha256(calib.path)}, {"samples", calib.samples}, {"seqlen", calib.seqlen}};
}

json evaluationJson(const EvaluationSpec& eval)
{
    json texts = json::array();
    for (const auto& p : eval.texts)
        texts.push_back(fileSha256(p));
    json tasks = json::array();
    for (const auto& t : eval.tasks)
        tasks.push_back(
            {{"sha256", fileSha256(t.path)}, {"layout", t.layout}, {"examples", t.examples}});
    return {
        {"datasets", texts}, {"seqlen", eval.seqlen}, {"windows", eval.windows}, {"tasks", tasks}};
}

int activationBits(const Recipe& recipe)
{
    return recipe.activations ? recipe.activations->bits : 16;
}

int kvCacheBits(const Recipe& recipe)
{
    return recipe.kv ? recipe.kv->bits : 16;
}

RunSpec makeRunSpec(const RunRequest& request, const std::string& modelFingerprint)
{
    RunSpec s;
    s.modelFingerprint = modelFingerprint;
    s.recipeName = request.recipe.name;
    s.recipeJson = request.recipe.canonical();
    s.wbits = request.recipe.weightGrid.bits;
    s.groupSize = request.recipe.weightGrid.groupSize;
    s.abits = activationBits(request.recipe);
    s.kvbits = kvCacheBits(request.recipe);
    s.seed = request.seed;
    s.calibJson = calibrationJson(request.calib).dump();
    s.evalJson = evaluationJson(request.eval).dump();
    return s;
}

int64_t upsertRunInputs(ResultsStore& store, const RunRequest& request,
                        const std::string& modelFingerprint)
{
    const auto checkpoint = Checkpoint::open(request.modelDir);
    ModelRecord m;
    m.fingerprint = modelFingerprint;
    m.name = fs::path(request.modelDir).lexically_normal().filename().string();
    if (m.name.empty())
        m.name = fs::path(request.modelDir).lexically_normal().parent_path().filename().string();
    m.path = request.modelDir;
    m.architecture = checkpoint->config().modelType;
    m.parameters = checkpoint->parameterCount();
    // The routed experts a token does not use, from the config's shapes.
    const auto& cfg = checkpoint->config();
    m.activeParameters = m.parameters - (cfg.parameterCount() - cfg.activeParameterCount());
    m.configJson = checkpoint->config().toJson();
    const int64_t modelId = store.upsertModel(m);

    // Token counts need the tokenizer; a model without one fails later, in its run.
    std::optional<Tokenizer> tokenizer;
    try {
        tokenizer = Tokenizer::fromDir(request.modelDir);
    } catch (const Error&) {
    }
    auto upsertText = [&](const std::string& path, bool countTokens) {
        DatasetRecord d;
        d.sha256 = fileSha256(path);
        d.path = path;
        d.bytes = static_cast<int64_t>(fs::file_size(path));
        if (countTokens && tokenizer)
            d.tokens = static_cast<int64_t>(tokenizeTextFile(*tokenizer, path).size());
        store.upsertDataset(d);
    };
    upsertText(request.calib.path, true);
    for (const auto& p : request.eval.texts)
        upsertText(p, true);
    for (const auto& t : request.eval.tasks)
        upsertText(t.path, false);
    return modelId;
}

RunResults executeRun(const RunRequest& request, const ProgressFn& progress)
{
    RunResults out;
    const auto start = std::chrono::steady_clock::now();
    reportProgress(progress, {"load", request.modelDir, 0, 1});
    const auto checkpoint = Checkpoint::open(request.modelDir);
    const Tokenizer tokenizer = Tokenizer::fromDir(request.modelDir);
    const Model model(checkpoint);

    QuantizeConfig qc;
    qc.recipe = request.recipe;
    qc.calibTextPath = request.calib.path;
    qc.calibSamples = request.calib.samples;
    qc.calibSeqlen = request.calib.seqlen;
    qc.seed = request.seed;
    const QuantizeResult q = quantizeModel(model, tokenizer, qc, progress);
    out.quantizeSeconds = secondsSince(start);
    copyRecords(q, out);

    const auto evalStart = std::chrono::steady_clock::now();
    const Model quantized = q.model->model();
    evaluateTexts(request, model, quantized, tokenizer, progress, out);
    evaluateTasks(request, quantized, tokenizer, progress, out);
    out.evalSeconds = secondsSince(evalStart);
    return out;
}

} // namespace ptq
