#include "family/trainer.h"

#include "eval/perplexity.h"
#include "family/corpus.h"
#include "family/llama_train_model.h"
#include "family/train_state.h"
#include "model/checkpoint_writer.h"
#include "text/tokenizer.h"
#include "util/error.h"
#include "util/file_io.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>

namespace fs = std::filesystem;

namespace ptq {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

void validateTrainConfig(const TrainConfig& c)
{
    auto require = [](bool ok, const char* key, const std::string& reason) {
        if (!ok)
            throw Error("training config", key, reason);
    };
    require(c.seqlen >= 1, "seqlen", "must be at least 1");
    require(c.batchSize >= 1, "batch size", "must be at least 1");
    require(c.steps >= 1, "steps", "must be at least 1");
    require(c.lr > 0 && std::isfinite(c.lr), "lr", "must be a positive number");
    require(c.minLrRatio >= 0 && c.minLrRatio <= 1, "min lr ratio", "must lie in [0, 1]");
    require(c.warmupSteps >= 0, "warmup steps", "must not be negative");
    require(c.weightDecay >= 0, "weight decay", "must not be negative");
    require(c.beta1 >= 0 && c.beta1 < 1, "beta1", "must lie in [0, 1)");
    require(c.beta2 >= 0 && c.beta2 < 1, "beta2", "must lie in [0, 1)");
    require(c.evalEvery >= 0, "eval every", "must not be negative");
    require(c.evalBatches >= 1, "eval batches", "must be at least 1");
    require(c.checkpointEvery >= 0, "checkpoint every", "must not be negative");
    require(!c.outDir.empty(), "output folder", "not given");
    require(c.storage == DType::F32 || c.storage == DType::F16 || c.storage == DType::BF16,
            "storage dtype", "must be F32, F16 or BF16");
}

void checkStream(const std::vector<int32_t>& tokens, const std::string& source,
                 const TrainConfig& c)
{
    const std::string name = source.empty() ? "token stream" : source;
    const auto need = static_cast<std::size_t>(c.seqlen + 1);
    if (tokens.size() < need)
        throw Error(name, "token stream",
                    std::to_string(tokens.size()) +
                        " tokens, shorter than one window of seqlen+1 = " + std::to_string(need));
    for (std::size_t i = 0; i < tokens.size(); ++i)
        if (tokens[i] < 0 || tokens[i] >= c.model.vocabSize)
            throw Error(name, "token " + std::to_string(i),
                        "id " + std::to_string(tokens[i]) + " outside the model's vocabulary of " +
                            std::to_string(c.model.vocabSize));
}

nlohmann::json configJson(const TrainConfig& c)
{
    return {{"model", nlohmann::json::parse(c.model.toJson())},
            {"seqlen", c.seqlen},
            {"batch_size", c.batchSize},
            {"steps", c.steps},
            {"lr", c.lr},
            {"min_lr_ratio", c.minLrRatio},
            {"warmup_steps", c.warmupSteps},
            {"weight_decay", c.weightDecay},
            {"beta1", c.beta1},
            {"beta2", c.beta2},
            {"grad_clip", c.gradClip},
            {"seed", c.seed}};
}

const char* torchDtypeName(DType t)
{
    return t == DType::BF16 ? "bfloat16" : t == DType::F16 ? "float16" : "float32";
}

// The step in a log row's first column; rows that do not start with one sort last.
int64_t leadingStep(const std::string& row)
{
    char* end = nullptr;
    const long long v = std::strtoll(row.c_str(), &end, 10);
    return end != row.c_str() && *end == ',' ? v : INT64_MAX;
}

// A CSV log. A resumed run keeps the rows up to the resumed step: rows written after the
// last checkpoint belong to steps that are about to be redone.
class CsvLog {
public:
    CsvLog(const std::string& path, const std::string& header, int64_t resumeStep) : m_path(path)
    {
        std::vector<std::string> kept;
        std::ifstream in(path);
        std::string line;
        if (resumeStep > 0 && in && std::getline(in, line) && line == header)
            while (std::getline(in, line))
                if (leadingStep(line) <= resumeStep)
                    kept.push_back(line);
        in.close();
        m_out.open(path, std::ios::trunc);
        m_out << header << "\n";
        for (const auto& row : kept)
            m_out << row << "\n";
        check();
    }

    void row(const std::string& text)
    {
        m_out << text << "\n";
        m_out.flush();
        check();
    }

private:
    void check()
    {
        if (!m_out)
            throw Error(m_path, "log", "cannot write the file");
    }
    std::string m_path;
    std::ofstream m_out;
};

std::string csvRow(std::initializer_list<double> values, int64_t step)
{
    std::string s = std::to_string(step);
    char buf[32];
    for (double v : values) {
        std::snprintf(buf, sizeof buf, ",%.9g", v);
        s += buf;
    }
    return s;
}

std::unique_ptr<torch::optim::AdamW> makeOptimizer(const LlamaTrainModel& model,
                                                   const TrainConfig& c)
{
    std::vector<torch::Tensor> decay, noDecay;
    for (const auto& [name, p] : model.namedParameters())
        (model.weightDecay(name) ? decay : noDecay).push_back(p);
    auto options = [&](double wd) {
        return std::make_unique<torch::optim::AdamWOptions>(
            torch::optim::AdamWOptions(c.lr)
                .betas(std::make_tuple(c.beta1, c.beta2))
                .eps(c.adamEps)
                .weight_decay(wd));
    };
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(decay, options(c.weightDecay));
    if (!noDecay.empty())
        groups.emplace_back(noDecay, options(0.0));
    return std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(c.lr));
}

// libtorch keys optimizer state by the parameter's TensorImpl address.
std::string stateKey(const torch::Tensor& p)
{
    return c10::guts::to_string(p.unsafeGetTensorImpl());
}

class TrainingRun {
public:
    TrainingRun(const TrainConfig& c, const TrainData& d)
        : m_c(c), m_d(d), m_model(c.model, c.seed), m_rng(c.seed)
    {
        m_optimizer = makeOptimizer(m_model, c);
    }

    void restore(const train::TrainState& s);
    train::TrainState capture() const;
    void checkpoint() const;
    TrainStepRecord step();
    double validLoss() const;

    const LlamaTrainModel& model() const { return m_model; }
    int64_t stepsDone() const { return m_step; }
    int64_t tokensSeen() const { return m_step * m_c.batchSize * m_c.seqlen; }

private:
    torch::Tensor sampleBatch(); // (B, T+1) int64

    const TrainConfig& m_c;
    const TrainData& m_d;
    LlamaTrainModel m_model;
    std::unique_ptr<torch::optim::AdamW> m_optimizer;
    std::mt19937_64 m_rng;
    int64_t m_step = 0;
};

torch::Tensor TrainingRun::sampleBatch()
{
    const int64_t t1 = m_c.seqlen + 1;
    const auto& tokens = m_d.train;
    std::uniform_int_distribution<int64_t> pick(0, static_cast<int64_t>(tokens.size()) - t1);
    auto batch = torch::empty({m_c.batchSize, t1}, torch::kLong);
    int64_t* out = batch.data_ptr<int64_t>();
    for (int64_t b = 0; b < m_c.batchSize; ++b) {
        const int64_t start = pick(m_rng);
        for (int64_t j = 0; j < t1; ++j)
            out[b * t1 + j] = tokens[start + j];
    }
    return batch;
}

TrainStepRecord TrainingRun::step()
{
    const auto t0 = Clock::now();
    TrainStepRecord r;
    r.step = m_step + 1;
    r.lr = scheduledLr(m_c, m_step);
    for (auto& group : m_optimizer->param_groups())
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(r.lr);
    m_optimizer->zero_grad();
    auto [objective, loss] = m_model.trainingLoss(sampleBatch());
    objective.backward();
    r.loss = loss.item<double>();
    if (!std::isfinite(r.loss))
        throw Error(m_c.outDir, "step " + std::to_string(r.step),
                    "training loss is not finite (lower --lr?)");
    const double maxNorm = m_c.gradClip > 0 ? m_c.gradClip : INFINITY;
    r.gradNorm = torch::nn::utils::clip_grad_norm_(m_model.parameters(), maxNorm);
    m_optimizer->step();
    ++m_step;
    r.tokensPerSecond =
        static_cast<double>(m_c.batchSize * m_c.seqlen) / std::max(secondsSince(t0), 1e-9);
    return r;
}

// Mean NLL over evalBatches * batchSize windows spread evenly over the validation stream:
// the same windows at every evaluation, so the curve compares like with like.
double TrainingRun::validLoss() const
{
    torch::NoGradGuard noGrad;
    const int64_t t1 = m_c.seqlen + 1;
    const int64_t count = m_c.evalBatches * m_c.batchSize;
    const int64_t span = static_cast<int64_t>(m_d.valid.size()) - t1;
    double sum = 0;
    int64_t done = 0;
    while (done < count) {
        const int64_t n = std::min(m_c.batchSize, count - done);
        auto batch = torch::empty({n, t1}, torch::kLong);
        int64_t* out = batch.data_ptr<int64_t>();
        for (int64_t b = 0; b < n; ++b) {
            const int64_t i = done + b;
            const int64_t start = count > 1 ? span * i / (count - 1) : 0;
            for (int64_t j = 0; j < t1; ++j)
                out[b * t1 + j] = m_d.valid[start + j];
        }
        sum += m_model.loss(batch).item<double>() * static_cast<double>(n);
        done += n;
    }
    return sum / static_cast<double>(count);
}

train::TrainState TrainingRun::capture() const
{
    train::TrainState s;
    s.step = m_step;
    s.tokensSeen = tokensSeen();
    std::ostringstream rng;
    rng << m_rng;
    s.rng = rng.str();
    s.dataHash = m_d.hash;
    s.config = configJson(m_c);
    s.params = m_model.stateDict();
    auto& state = m_optimizer->state();
    for (const auto& [name, p] : m_model.namedParameters()) {
        auto it = state.find(stateKey(p));
        if (it == state.end())
            continue; // no update yet
        const auto& ps = static_cast<const torch::optim::AdamWParamState&>(*it->second);
        s.expAvg[name] = ps.exp_avg();
        s.expAvgSq[name] = ps.exp_avg_sq();
        s.adamSteps[name] = ps.step();
    }
    return s;
}

void TrainingRun::restore(const train::TrainState& s)
{
    const std::string file = train::trainStateDir(m_c.outDir) + "/state.json";
    const auto saved = s.config;
    const auto now = configJson(m_c);
    for (const char* key : {"model", "seqlen", "batch_size", "seed"})
        if (!saved.contains(key) || saved[key] != now[key])
            throw Error(file, std::string("config.") + key,
                        "differs from this run's (" + now[key].dump() + " now, " +
                            (saved.contains(key) ? saved[key].dump() : "none") + " saved)");
    if (s.dataHash != m_d.hash)
        throw Error(file, "data_hash", "the training data changed since the state was saved");
    m_model.loadStateDict(s.params, train::trainStateDir(m_c.outDir) + "/state.safetensors");
    std::istringstream rng(s.rng);
    rng >> m_rng;
    if (!rng)
        throw Error(file, "rng", "not a std::mt19937_64 state");
    auto& state = m_optimizer->state();
    for (const auto& [name, p] : m_model.namedParameters()) {
        auto it = s.adamSteps.find(name);
        if (it == s.adamSteps.end())
            continue;
        auto ps = std::make_unique<torch::optim::AdamWParamState>();
        ps->step(it->second);
        ps->exp_avg(s.expAvg.at(name).clone());
        ps->exp_avg_sq(s.expAvgSq.at(name).clone());
        if (ps->exp_avg().sizes() != p.sizes() || ps->exp_avg_sq().sizes() != p.sizes())
            throw Error(train::trainStateDir(m_c.outDir) + "/state.safetensors", "exp_avg/" + name,
                        "shape differs from the parameter's");
        state[stateKey(p)] = std::move(ps);
    }
    m_step = s.step;
}

void TrainingRun::checkpoint() const
{
    train::saveTrainState(m_c.outDir, capture());
    ModelConfig mc = m_c.model;
    mc.torchDtype = torchDtypeName(m_c.storage);
    writeLlamaCheckpoint(m_c.outDir, mc, m_model.stateDict(), m_c.storage);
}

// The rows a step adds to the logs, the progress line, and whether to go on.
bool reportStep(const TrainConfig& c, const TrainStepRecord& r, CsvLog& log,
                const ProgressFn& progress)
{
    log.row(csvRow({r.loss, r.lr, r.gradNorm, r.tokensPerSecond}, r.step));
    if (!progress)
        return true;
    char detail[160];
    std::snprintf(detail, sizeof detail, "step %lld/%lld  loss %.4f  lr %.2e  %.0f tok/s",
                  static_cast<long long>(r.step), static_cast<long long>(c.steps), r.loss, r.lr,
                  r.tokensPerSecond);
    return progress({"train", detail, r.step, c.steps});
}

void startOutput(const TrainConfig& c)
{
    std::error_code ec;
    fs::create_directories(c.outDir, ec);
    if (ec)
        throw Error(c.outDir, "output folder", "cannot create it: " + ec.message());
    if (!c.resume && train::hasTrainState(c.outDir))
        throw Error(train::trainStateDir(c.outDir), "training state",
                    "already present: resume it or train into another folder");
    if (!c.tokenizerDir.empty())
        train::copyTokenizerFiles(c.tokenizerDir, c.outDir);
}

} // namespace

double scheduledLr(const TrainConfig& c, int64_t step)
{
    if (step < c.warmupSteps)
        return c.lr * static_cast<double>(step + 1) / static_cast<double>(c.warmupSteps);
    const double minLr = c.minLrRatio * c.lr;
    const int64_t decaySteps = std::max<int64_t>(1, c.steps - c.warmupSteps);
    const double p =
        std::min(1.0, static_cast<double>(step - c.warmupSteps) / static_cast<double>(decaySteps));
    return minLr + (c.lr - minLr) * 0.5 * (1.0 + std::cos(M_PI * p));
}

void hashTrainData(TrainData& d)
{
    auto bytes = [](const std::vector<int32_t>& v) {
        return std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * 4);
    };
    char buf[40];
    std::snprintf(buf, sizeof buf, "%016llx%016llx",
                  static_cast<unsigned long long>(data::stableHash(bytes(d.train))),
                  static_cast<unsigned long long>(data::stableHash(bytes(d.valid))));
    d.hash = buf;
}

TrainData prepareTrainData(const std::string& tokenizerDir, const std::string& trainTextPath,
                           const std::string& validTextPath, const std::string& cacheDir)
{
    const std::string tokJson = (fs::path(tokenizerDir) / "tokenizer.json").string();
    const std::string tokConfig = (fs::path(tokenizerDir) / "tokenizer_config.json").string();
    if (!fs::is_regular_file(tokJson))
        throw Error(tokJson, "tokenizer.json", "missing: not a tokenizer folder");
    std::string tokenizerBytes = readFileBytes(tokJson, "tokenizer.json");
    if (fs::exists(tokConfig))
        tokenizerBytes += '\0' + readFileBytes(tokConfig, "tokenizer_config.json");
    std::unique_ptr<Tokenizer> tokenizer; // loaded only when a cache misses
    std::error_code ec;
    fs::create_directories(cacheDir, ec);
    auto stream = [&](const std::string& path, const char* name) {
        const uint64_t key =
            data::stableHash(readFileBytes(path, "text file") + '\0' + tokenizerBytes);
        const std::string cache = (fs::path(cacheDir) / (std::string(name) + ".tokens")).string();
        std::vector<int32_t> tokens;
        if (train::readTokenCache(cache, key, tokens))
            return tokens;
        if (!tokenizer)
            tokenizer = std::make_unique<Tokenizer>(Tokenizer::fromDir(tokenizerDir));
        tokens = tokenizeTextFile(*tokenizer, path);
        train::writeTokenCache(cache, key, tokens);
        return tokens;
    };
    TrainData d;
    d.train = stream(trainTextPath, "train");
    d.valid = stream(validTextPath, "valid");
    d.trainSource = trainTextPath;
    d.validSource = validTextPath;
    hashTrainData(d);
    return d;
}

TrainResult trainLlama(const TrainConfig& c, const TrainData& data, const ProgressFn& progress)
{
    const auto t0 = Clock::now();
    validateTrainConfig(c);
    checkStream(data.train, data.trainSource, c);
    checkStream(data.valid, data.validSource, c);
    startOutput(c);
    TrainingRun run(c, data);
    if (c.resume)
        run.restore(train::loadTrainState(c.outDir));
    TrainResult result;
    result.startStep = run.stepsDone();
    result.parameters = run.model().parameterCount();
    CsvLog trainLog(c.outDir + "/train_log.csv", "step,loss,lr,grad_norm,tokens_per_s",
                    result.startStep);
    CsvLog validLog(c.outDir + "/valid_log.csv", "step,valid_loss,valid_ppl", result.startStep);
    auto validate = [&] {
        const double loss = run.validLoss();
        result.valid.push_back({run.stepsDone(), loss});
        validLog.row(csvRow({loss, std::exp(loss)}, run.stepsDone()));
    };
    while (run.stepsDone() < c.steps) {
        result.steps.push_back(run.step());
        const int64_t s = run.stepsDone();
        if (c.evalEvery > 0 && s % c.evalEvery == 0)
            validate();
        const bool goOn = reportStep(c, result.steps.back(), trainLog, progress);
        if (!goOn || (c.checkpointEvery > 0 && s % c.checkpointEvery == 0 && s < c.steps))
            run.checkpoint();
        if (!goOn) {
            result.cancelled = true;
            break;
        }
    }
    if (!result.cancelled) {
        if (result.valid.empty() || result.valid.back().step != run.stepsDone())
            validate();
        run.checkpoint();
    }
    const std::size_t n = result.steps.size(), tail = std::min<std::size_t>(20, n);
    for (std::size_t i = n - tail; i < n; ++i)
        result.finalTrainLoss += result.steps[i].loss / static_cast<double>(tail);
    if (!result.valid.empty()) {
        result.finalValidLoss = result.valid.back().loss;
        result.validPerplexity = std::exp(result.finalValidLoss);
    }
    result.stepsDone = run.stepsDone();
    result.tokensSeen = run.tokensSeen();
    result.seconds = secondsSince(t0);
    return result;
}

} // namespace ptq
