// Zero-shot scoring: lm-eval's request encoding, the log-likelihoods of the requests run
// through the model in length-sorted batches, and acc/acc_norm. Task files: zeroshot_tasks.cpp.

#include "eval/zeroshot.h"

#include "eval/zeroshot_internal.h"
#include "model/model.h"
#include "text/tokenizer.h"
#include "util/error.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

namespace ptq {

namespace {

using detail::isSpace;

// log_softmax over V columns runs on this many logits at a time (fp32 bytes).
constexpr int64_t kLogitChunkBytes = 256ll << 20;

std::size_t codePoints(const std::string& s)
{
    return std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xc0) != 0x80; });
}

} // namespace

EncodedRequest encodeRequest(const Tokenizer& tokenizer, const ChoiceRequest& request)
{
    // lm-eval's _encode_pair: trailing whitespace of the context belongs to the continuation.
    std::string context = request.context, continuation = request.continuation;
    std::size_t end = context.size();
    while (end > 0 && isSpace(context[end - 1]))
        --end;
    continuation = context.substr(end) + continuation;
    context.resize(end);

    EncodedRequest out;
    if (context.empty()) {
        // lm-eval scores a context-free continuation after the prefix token alone.
        const auto bosOnly = tokenizer.encode("", true);
        if (tokenizer.bosId() && !bosOnly.empty() && bosOnly.front() == *tokenizer.bosId())
            out.context = {*tokenizer.bosId()};
        out.continuation = tokenizer.encode(continuation, false);
        return out;
    }
    out.context = tokenizer.encode(context, true);
    const auto whole = tokenizer.encode(context + continuation, true);
    if (whole.size() > out.context.size())
        out.continuation.assign(whole.begin() + int64_t(out.context.size()), whole.end());
    return out;
}

double normalizationLength(const TaskExample& example, std::size_t choice,
                           LengthNormalization normalization)
{
    const std::size_t n = normalization == LengthNormalization::ChoiceCodePoints
                              ? codePoints(example.choiceTexts.at(choice))
                              : example.requests.at(choice).continuation.size();
    if (n == 0)
        throw Error("", "choice " + std::to_string(choice),
                    "has zero length, so acc_norm is undefined");
    return double(n);
}

ZeroShotResult scoreLogLikelihoods(const std::vector<TaskExample>& examples,
                                   std::vector<std::vector<double>> logLikelihoods,
                                   LengthNormalization normalization)
{
    if (logLikelihoods.size() != examples.size())
        throw Error("", "log-likelihoods", "one list per example is required");
    ZeroShotResult r;
    r.n = int64_t(examples.size());
    int64_t hits = 0, hitsNorm = 0;
    for (std::size_t e = 0; e < examples.size(); ++e) {
        const auto& ll = logLikelihoods[e];
        if (ll.size() != examples[e].requests.size() || ll.empty())
            throw Error("", "example " + std::to_string(e), "log-likelihood count != choices");
        // np.argmax: the first maximum wins ties.
        std::size_t best = 0, bestNorm = 0;
        for (std::size_t c = 1; c < ll.size(); ++c) {
            if (ll[c] > ll[best])
                best = c;
            if (ll[c] / normalizationLength(examples[e], c, normalization) >
                ll[bestNorm] / normalizationLength(examples[e], bestNorm, normalization))
                bestNorm = c;
        }
        r.predictions.push_back(int64_t(best));
        r.predictionsNorm.push_back(int64_t(bestNorm));
        hits += int64_t(best) == examples[e].gold;
        hitsNorm += int64_t(bestNorm) == examples[e].gold;
        r.requests += int64_t(ll.size());
    }
    // lm-eval's mean_stderr: the sample standard deviation (n - 1) over sqrt(n); undefined,
    // hence NaN, for fewer than two examples.
    const auto stderrOf = [n = r.n](double p) {
        return n > 1 ? std::sqrt(p * (1 - p) / double(n - 1))
                     : std::numeric_limits<double>::quiet_NaN();
    };
    r.acc = r.n ? double(hits) / double(r.n) : 0;
    r.accNorm = r.n ? double(hitsNorm) / double(r.n) : 0;
    r.accStderr = stderrOf(r.acc);
    r.accNormStderr = stderrOf(r.accNorm);
    r.logLikelihoods = std::move(logLikelihoods);
    return r;
}

namespace {

// One request as the model sees it: input ids (L) and the continuation tokens (K) that the
// last K positions predict.
struct PreparedRequest {
    std::vector<int64_t> input;
    std::vector<int64_t> targets;
    std::size_t example = 0, choice = 0;
    bool truncated = false;
};

std::string requestName(const TaskExample& ex, std::size_t index, std::size_t choice)
{
    return (ex.line > 0 ? "line " + std::to_string(ex.line) : "example " + std::to_string(index)) +
           ", choice " + std::to_string(choice);
}

PreparedRequest prepare(const Tokenizer& tokenizer, const TaskExample& ex, std::size_t e,
                        std::size_t c, int64_t maxLength, int64_t vocab)
{
    const EncodedRequest enc = encodeRequest(tokenizer, ex.requests[c]);
    const std::string where = requestName(ex, e, c);
    if (enc.continuation.empty())
        throw Error("", where, "the continuation adds no tokens to the context");
    std::vector<int64_t> full(enc.context.begin(), enc.context.end());
    full.insert(full.end(), enc.continuation.begin(), enc.continuation.end());
    for (int64_t id : full)
        if (id < 0 || id >= vocab)
            throw Error("", where,
                        "token id " + std::to_string(id) + " does not fit the vocabulary of " +
                            std::to_string(vocab) + " (tokenizer and model do not match)");
    PreparedRequest p;
    p.example = e;
    p.choice = c;
    // lm-eval: (context + continuation)[-(max_length + 1):][:-1]
    const int64_t keep = std::min<int64_t>(int64_t(full.size()), maxLength + 1);
    p.truncated = keep < int64_t(full.size());
    p.input.assign(full.end() - keep, full.end() - 1);
    p.targets.assign(enc.continuation.begin(), enc.continuation.end());
    if (p.targets.size() > p.input.size())
        throw Error("", where,
                    "the continuation's " + std::to_string(p.targets.size()) +
                        " tokens need a preceding token and at most " + std::to_string(maxLength) +
                        " tokens of input");
    return p;
}

// Sums log p(target) per request of one batch. h (B,T,C) final-normed.
void scoreBatch(const Model& model, const torch::Tensor& h,
                const std::vector<const PreparedRequest*>& batch, std::vector<double>& sums)
{
    const int64_t t = h.size(1), hidden = h.size(2), vocab = model.config().vocabSize;
    std::vector<int64_t> rows, targets, owner;
    for (std::size_t b = 0; b < batch.size(); ++b) {
        const int64_t len = int64_t(batch[b]->input.size()), k = int64_t(batch[b]->targets.size());
        for (int64_t j = 0; j < k; ++j) {
            rows.push_back(int64_t(b) * t + len - k + j); // position predicting target j
            targets.push_back(batch[b]->targets[j]);
            owner.push_back(int64_t(b));
        }
    }
    const auto flat = h.reshape({-1, hidden});
    const auto rowIndex = torch::tensor(rows, torch::kLong);
    const auto targetIndex = torch::tensor(targets, torch::kLong);
    const int64_t n = int64_t(rows.size());
    const int64_t chunk = std::max<int64_t>(1, kLogitChunkBytes / (vocab * 4));
    for (int64_t r0 = 0; r0 < n; r0 += chunk) {
        const int64_t len = std::min(chunk, n - r0);
        auto logits = model.lmHead(flat.index_select(0, rowIndex.narrow(0, r0, len))); // (len,V)
        if (!torch::isfinite(logits).all().item<bool>())
            throw Error(model.checkpoint().dir(), "logits",
                        "non-finite values (NaN or Inf) in the model output");
        auto picked = torch::log_softmax(logits, -1)
                          .gather(1, targetIndex.narrow(0, r0, len).unsqueeze(1))
                          .to(torch::kDouble)
                          .contiguous();
        const double* p = picked.data_ptr<double>();
        for (int64_t i = 0; i < len; ++i)
            sums[owner[r0 + i]] += p[i];
    }
}

// [begin, end) ranges of `order` (longest first): batchSize rows each, or as many rows of
// the first request's length as fit maxHiddenBytes of fp32 hidden states.
std::vector<std::pair<std::size_t, std::size_t>>
planBatches(const std::vector<const PreparedRequest*>& order, const ZeroShotConfig& config,
            int64_t hiddenSize)
{
    std::vector<std::pair<std::size_t, std::size_t>> batches;
    for (std::size_t i = 0; i < order.size();) {
        const uint64_t rowBytes = uint64_t(order[i]->input.size()) * uint64_t(hiddenSize) * 4;
        int64_t rows =
            config.batchSize > 0 ? config.batchSize : int64_t(config.maxHiddenBytes / rowBytes);
        rows = std::clamp<int64_t>(rows, 1, int64_t(order.size() - i));
        batches.emplace_back(i, i + std::size_t(rows));
        i += std::size_t(rows);
    }
    return batches;
}

struct RunStats {
    int64_t tokensForwarded = 0;
    int64_t truncatedRequests = 0;
};

std::vector<std::vector<double>> runRequests(const Model& model, const Tokenizer& tokenizer,
                                             const std::vector<TaskExample>& examples,
                                             const ZeroShotConfig& config,
                                             const ProgressFn& progress, RunStats& stats)
{
    torch::NoGradGuard noGrad;
    const auto& c = model.config();
    const int64_t maxLength = config.maxLength > 0 ? config.maxLength : c.maxPositionEmbeddings;
    if (maxLength < 1)
        throw Error("", "zero-shot maxLength", "must be at least 1 token");
    std::vector<PreparedRequest> requests;
    std::vector<std::vector<double>> out(examples.size());
    for (std::size_t e = 0; e < examples.size(); ++e) {
        out[e].assign(examples[e].requests.size(), 0.0);
        for (std::size_t ch = 0; ch < examples[e].requests.size(); ++ch)
            requests.push_back(prepare(tokenizer, examples[e], e, ch, maxLength, c.vocabSize));
    }
    // Longest first (as lm-eval orders them): a batch's padding is set by its first request,
    // and similar lengths end up together.
    std::vector<const PreparedRequest*> order;
    for (const auto& r : requests) {
        order.push_back(&r);
        stats.tokensForwarded += int64_t(r.input.size());
        stats.truncatedRequests += r.truncated;
    }
    std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
        return a->input.size() > b->input.size();
    });
    const auto batches = planBatches(order, config, c.hiddenSize);
    const auto forward = model.context(order.empty() ? 1 : int64_t(order.front()->input.size()));
    const long long totalSteps = (long long)batches.size() * (model.numBlocks() + 1);
    long long step = 0;
    for (std::size_t bi = 0; bi < batches.size(); ++bi) {
        const std::vector<const PreparedRequest*> batch(order.begin() + batches[bi].first,
                                                        order.begin() + batches[bi].second);
        const int64_t b = int64_t(batch.size()), t = int64_t(batch.front()->input.size());
        // Right padding with id 0: causal attention keeps it out of every scored position.
        auto ids = torch::zeros({b, t}, torch::kLong);
        auto* p = ids.data_ptr<int64_t>();
        for (int64_t r = 0; r < b; ++r)
            std::copy(batch[r]->input.begin(), batch[r]->input.end(), p + r * t);
        const std::string where =
            "batch " + std::to_string(bi + 1) + "/" + std::to_string(batches.size());
        auto h = model.hidden(ids, *forward, [&](int64_t i) {
            reportProgress(progress, {"zero-shot",
                                      where + ", block " + std::to_string(i + 1) + "/" +
                                          std::to_string(model.numBlocks()),
                                      ++step, totalSteps});
        });
        std::vector<double> sums(batch.size(), 0.0);
        scoreBatch(model, h, batch, sums);
        for (int64_t r = 0; r < b; ++r)
            out[batch[r]->example][batch[r]->choice] = sums[r];
        reportProgress(progress, {"zero-shot", where + " scored", ++step, totalSteps});
    }
    return out;
}

} // namespace

std::vector<std::vector<double>> taskLogLikelihoods(const Model& model, const Tokenizer& tokenizer,
                                                    const std::vector<TaskExample>& examples,
                                                    const ZeroShotConfig& config,
                                                    const ProgressFn& progress)
{
    RunStats stats;
    return runRequests(model, tokenizer, examples, config, progress, stats);
}

std::vector<double> choiceLogLikelihoods(const Model& model, const Tokenizer& tokenizer,
                                         const TaskExample& example, const ZeroShotConfig& config)
{
    return taskLogLikelihoods(model, tokenizer, {example}, config).front();
}

ZeroShotResult evaluateZeroShot(const Model& model, const Tokenizer& tokenizer, const Task& task,
                                const ZeroShotConfig& config, const ProgressFn& progress)
{
    const auto started = std::chrono::steady_clock::now();
    std::vector<TaskExample> examples = task.examples;
    if (config.maxExamples > 0 && int64_t(examples.size()) > config.maxExamples)
        examples.resize(std::size_t(config.maxExamples));
    ZeroShotResult r;
    RunStats stats;
    try {
        r = scoreLogLikelihoods(examples,
                                runRequests(model, tokenizer, examples, config, progress, stats),
                                config.normalization);
    } catch (const Error& e) {
        // Request-level errors know the line, not the file: name the task file here.
        if (!e.file().empty())
            throw;
        throw Error(task.path, e.object(), e.reason());
    }
    r.task = task.name;
    r.tokensForwarded = stats.tokensForwarded;
    r.truncatedRequests = stats.truncatedRequests;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return r;
}

} // namespace ptq
