// ptqbench train / train-tokenizer: the bundled model family's training, headless.

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/terminal_progress.h"
#include "engine/threads.h"
#include "family/bpe_trainer.h"
#include "family/trainer.h"
#include "text/tokenizer.h"
#include "util/error.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

namespace ptq::cli {

namespace {

std::atomic<bool> g_interrupted{false};

void onInterrupt(int)
{
    g_interrupted = true;
}

double real(const Args& a, const std::string& key, double fallback, double min, double max)
{
    if (!a.has(key))
        return fallback;
    const std::string s = a.str(key);
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || errno == ERANGE || !(v >= min && v <= max))
        throw UsageError("option --" + key + " expects a number in [" + std::to_string(min) + ", " +
                         std::to_string(max) + "], got '" + s + "'");
    return v;
}

DType storageDtype(const std::string& s)
{
    DType t;
    if (!parseDType(s, t) || (t != DType::F32 && t != DType::F16 && t != DType::BF16))
        throw UsageError("--dtype must be F32, F16 or BF16, got '" + s + "'");
    return t;
}

// LLaMA proportions by default: head dim 32, kv heads = heads, intermediate ~8/3 hidden
// rounded up to a multiple of 32.
ModelConfig modelConfigFrom(const Args& a, const Tokenizer& tokenizer, int64_t seqlen)
{
    ModelConfig m;
    m.modelType = "llama";
    m.vocabSize = tokenizer.vocabSize();
    m.hiddenSize = a.integer("hidden", 128, 8, 1 << 16);
    m.numLayers = a.integer("layers", 4, 1, 1024);
    m.numHeads = a.integer("heads", std::max<int64_t>(1, m.hiddenSize / 32), 1, 1024);
    m.numKvHeads = a.integer("kv-heads", m.numHeads, 1, m.numHeads);
    if (m.hiddenSize % m.numHeads != 0)
        throw UsageError("--heads " + std::to_string(m.numHeads) + " does not divide --hidden " +
                         std::to_string(m.hiddenSize));
    m.headDim = m.hiddenSize / m.numHeads;
    m.intermediateSize =
        a.integer("intermediate", (8 * m.hiddenSize / 3 + 31) / 32 * 32, 1, 1 << 20);
    m.maxPositionEmbeddings = seqlen;
    m.rmsNormEps = 1e-5;
    m.ropeTheta = 10000.0;
    m.tieWordEmbeddings = a.flag("tie");
    // A Mixtral-style Mixture of Experts: every layer's MLP becomes E experts of width
    // --intermediate, k of them per token.
    const int64_t experts = a.integer("experts", 0, 0, 1024);
    if (experts > 0) {
        m.modelType = "mixtral";
        m.moe.experts = experts;
        m.moe.expertsPerToken = a.integer("top-k", 2, 1, experts);
        m.moe.expertWidth = m.intermediateSize;
        m.moe.normalizeTopK = true;
        m.moe.auxLossCoef = real(a, "aux-loss", 0.01, 0.0, 10.0);
    } else if (a.has("top-k") || a.has("aux-loss")) {
        throw UsageError("--top-k and --aux-loss need --experts");
    }
    // Mamba: --hidden, --layers and --tie as above; the state-space shape from --state,
    // --expand and --conv-kernel (transformers' MambaConfig defaults 16, 2, 4).
    const std::string arch = a.str("arch", experts > 0 ? "mixtral" : "llama");
    if (arch == "mamba") {
        if (experts > 0 || a.has("heads") || a.has("kv-heads") || a.has("intermediate"))
            throw UsageError("--arch mamba takes no --experts, --heads, --kv-heads or "
                             "--intermediate (its width is --expand x --hidden)");
        m.modelType = "mamba";
        m.numHeads = m.numKvHeads = m.headDim = 0;
        m.ssm.stateSize = a.integer("state", 16, 1, 1024);
        m.ssm.expand = static_cast<double>(a.integer("expand", 2, 1, 16));
        m.ssm.convKernel = a.integer("conv-kernel", 4, 1, 64);
        m.ssm.timeStepRank = (m.hiddenSize + 15) / 16;
        m.intermediateSize = static_cast<int64_t>(m.ssm.expand) * m.hiddenSize;
    } else if (arch != (experts > 0 ? "mixtral" : "llama")) {
        throw UsageError("--arch must be llama (mixtral with --experts) or mamba, got '" + arch +
                         "'");
    } else if (a.has("state") || a.has("expand") || a.has("conv-kernel")) {
        throw UsageError("--state, --expand and --conv-kernel need --arch mamba");
    }
    m.bosTokenId = tokenizer.bosId();
    m.eosTokenId = tokenizer.eosId();
    return m;
}

TrainConfig trainConfigFrom(const Args& a, const Tokenizer& tokenizer)
{
    TrainConfig c;
    c.seqlen = a.integer("seqlen", 256, 1, 1 << 16);
    c.model = modelConfigFrom(a, tokenizer, c.seqlen);
    c.batchSize = a.integer("batch", 16, 1, 1 << 16);
    c.steps = a.integer("steps", 1000, 1, INT32_MAX);
    c.lr = real(a, "lr", 1e-3, 1e-9, 10.0);
    c.minLrRatio = real(a, "min-lr-ratio", 0.1, 0.0, 1.0);
    c.warmupSteps = a.integer("warmup", std::min<int64_t>(100, c.steps / 10), 0, INT32_MAX);
    c.weightDecay = real(a, "weight-decay", 0.1, 0.0, 10.0);
    c.gradClip = real(a, "grad-clip", 1.0, 0.0, 1e6);
    c.seed = static_cast<uint64_t>(a.integer("seed", 0, 0, INT64_MAX));
    c.evalEvery = a.integer("eval-every", 100, 0, INT32_MAX);
    c.evalBatches = a.integer("eval-batches", 4, 1, 1 << 16);
    c.checkpointEvery = a.integer("checkpoint-every", 500, 0, INT32_MAX);
    c.outDir = a.str("out");
    c.tokenizerDir = a.str("tokenizer");
    c.storage = storageDtype(a.str("dtype", "F32"));
    c.resume = a.flag("resume");
    return c;
}

void printSummary(const TrainConfig& c, const TrainResult& r)
{
    const double tokensThisRun =
        static_cast<double>((r.stepsDone - r.startStep) * c.batchSize * c.seqlen);
    std::printf("model         %s (%s, %lld parameters, %lld layers, hidden %lld)\n",
                c.outDir.c_str(), c.model.modelType.c_str(), static_cast<long long>(r.parameters),
                static_cast<long long>(c.model.numLayers),
                static_cast<long long>(c.model.hiddenSize));
    std::printf("steps         %lld of %lld%s%s\n", static_cast<long long>(r.stepsDone),
                static_cast<long long>(c.steps), r.startStep > 0 ? " (resumed from " : "",
                r.startStep > 0 ? (std::to_string(r.startStep) + ")").c_str() : "");
    std::printf("tokens seen   %lld (%lld x %lld per step)\n", static_cast<long long>(r.tokensSeen),
                static_cast<long long>(c.batchSize), static_cast<long long>(c.seqlen));
    std::printf("train loss    %.4f (mean of the last steps)\n", r.finalTrainLoss);
    if (!r.valid.empty())
        std::printf("valid loss    %.4f  perplexity %.3f (step %lld)\n", r.finalValidLoss,
                    r.validPerplexity, static_cast<long long>(r.valid.back().step));
    std::printf("time          %.1f s (%.0f tokens/s)\n", r.seconds,
                tokensThisRun / std::max(r.seconds, 1e-9));
    if (r.cancelled)
        std::printf("interrupted   state saved at step %lld; rerun with --resume to continue\n",
                    static_cast<long long>(r.stepsDone));
}

} // namespace

int runTrain(const std::vector<std::string>& args)
{
    Args a(args, {"tokenizer",    "train",        "valid",
                  "out",          "hidden",       "layers",
                  "heads",        "kv-heads",     "intermediate",
                  "seqlen",       "batch",        "steps",
                  "lr",           "min-lr-ratio", "warmup",
                  "weight-decay", "grad-clip",    "seed",
                  "eval-every",   "eval-batches", "checkpoint-every",
                  "dtype",        "threads",      "experts",
                  "top-k",        "aux-loss",     "arch",
                  "state",        "expand",       "conv-kernel"},
           {"resume", "tie", "quiet"});
    // One thread by default: on the 2-core machines a 2-thread step ran 2-5x slower than a
    // 1-thread one whenever other work shared the cores (OpenMP spin-waits), and one thread
    // makes a resumed run bit-identical to an uninterrupted one. --threads 0 = all cores.
    setEngineThreads(static_cast<int>(a.integer("threads", 1, 0, 1024)));
    const std::string tokenizerDir = a.str("tokenizer");
    const std::string trainPath = a.str("train"), validPath = a.str("valid");
    const Tokenizer tokenizer = Tokenizer::fromDir(tokenizerDir);
    const TrainConfig config = trainConfigFrom(a, tokenizer);
    const TrainData data = prepareTrainData(tokenizerDir, trainPath, validPath, config.outDir);
    if (!a.flag("quiet"))
        std::fprintf(stderr, "data          %zu train / %zu valid tokens\n", data.train.size(),
                     data.valid.size());

    TerminalProgress progress(!a.flag("quiet"));
    ProgressFn bar = progress.callback();
    g_interrupted = false;
    // Ctrl-C ends the run at the next step boundary with a checkpoint, not mid-write.
    auto previous = std::signal(SIGINT, onInterrupt);
    TrainResult r;
    try {
        r = trainLlama(config, data,
                       [&](const Progress& p) { return !g_interrupted && (!bar || bar(p)); });
    } catch (...) {
        std::signal(SIGINT, previous);
        progress.finish();
        throw;
    }
    std::signal(SIGINT, previous);
    progress.finish();
    printSummary(config, r);
    return r.cancelled ? 130 : 0;
}

int runTrainTokenizer(const std::vector<std::string>& args)
{
    Args a(args, {"text", "vocab", "out", "coverage"}, {"quiet"});
    const std::string textPath = a.str("text"), outDir = a.str("out");
    text::BpeTrainerConfig config;
    config.vocabSize = static_cast<int>(a.integer("vocab", 4096, 260, 1 << 20));
    config.characterCoverage = real(a, "coverage", config.characterCoverage, 0.5, 1.0);
    std::ifstream in(textPath, std::ios::binary);
    if (!in)
        throw Error(textPath, "text file", "cannot open it for reading");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.empty())
        throw Error(textPath, "text file", "empty: nothing to learn a vocabulary from");

    text::BpeTrainer trainer;
    trainer.addText(text, textPath);
    TerminalProgress progress(!a.flag("quiet"));
    const text::BpeTrainerResult r = trainer.train(config, progress.callback());
    progress.finish();
    writeSentencePieceTokenizer(outDir, r.spec);
    std::printf("tokenizer     %s (SentencePiece BPE, byte fallback)\n", outDir.c_str());
    std::printf("vocabulary    %d (%d base characters, %d merges, %d characters to bytes)\n",
                r.vocabSize, r.baseCharacters, r.merges, r.droppedCharacters);
    std::printf("text          %lld bytes, %lld distinct words -> %lld tokens (%.2f bytes/token)\n",
                r.textBytes, r.distinctWords, r.trainingTokens,
                r.trainingTokens ? static_cast<double>(r.textBytes) / r.trainingTokens : 0.0);
    std::printf("time          %.1f s\n", r.seconds);
    return 0;
}

} // namespace ptq::cli
