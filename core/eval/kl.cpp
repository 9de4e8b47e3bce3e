#include "eval/kl.h"

#include "model/model.h"
#include "util/error.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

namespace ptq {

namespace {

// Rows of float64 logits per chunk: (rows, V) doubles stay under this many bytes.
constexpr int64_t kLogitChunkBytes = 256ll << 20;

struct KlSums {
    double kl = 0, maxKl = 0, nllFp = 0, nllQ = 0;
    int64_t agree = 0;
    std::map<int64_t, std::pair<int64_t, int64_t>> routing; // block -> (same set, tokens)
};

// Each router's choices of one walk, per block in call order: (tokens, k) sorted per row.
struct RoutingLog {
    std::map<int64_t, std::vector<torch::Tensor>> chosen;
    RouterObserver observer()
    {
        return [this](int64_t block, const std::string&, const torch::Tensor&,
                      const torch::Tensor& experts) {
            chosen[block].push_back(std::get<0>(experts.sort(-1)));
        };
    }
};

void compareRouting(const RoutingLog& fp, const RoutingLog& q, KlSums& s)
{
    for (const auto& [block, parts] : fp.chosen) {
        const auto it = q.chosen.find(block);
        if (it == q.chosen.end())
            continue;
        const auto a = torch::cat(parts, 0), b = torch::cat(it->second, 0);
        if (a.sizes() != b.sizes())
            continue;
        auto& [same, tokens] = s.routing[block];
        same += a.eq(b).all(-1).sum().item<int64_t>();
        tokens += a.size(0);
    }
}

// hFp, hQ (N,C) final-normed hidden states; targets (N).
void accumulate(const Model& fp, const Model& q, const torch::Tensor& hFp, const torch::Tensor& hQ,
                const torch::Tensor& targets, KlSums& s)
{
    const int64_t n = hFp.size(0), vocab = fp.config().vocabSize;
    const int64_t rows = std::max<int64_t>(1, kLogitChunkBytes / (vocab * 8 * 2));
    for (int64_t r0 = 0; r0 < n; r0 += rows) {
        const int64_t len = std::min(rows, n - r0);
        auto lf = fp.lmHead(hFp.narrow(0, r0, len));
        auto lq = q.lmHead(hQ.narrow(0, r0, len));
        if (!torch::isfinite(lf).all().item<bool>() || !torch::isfinite(lq).all().item<bool>())
            throw Error(q.checkpoint().dir(), "logits",
                        "non-finite values (NaN or Inf) in a model output");
        auto pf = torch::log_softmax(lf.to(torch::kDouble), -1);
        auto pq = torch::log_softmax(lq.to(torch::kDouble), -1);
        auto kl = (pf.exp() * (pf - pq)).sum(-1); // (len)
        s.kl += kl.sum().item<double>();
        s.maxKl = std::max(s.maxKl, kl.max().item<double>());
        auto t = targets.narrow(0, r0, len).unsqueeze(1);
        s.nllFp -= pf.gather(1, t).sum().item<double>();
        s.nllQ -= pq.gather(1, t).sum().item<double>();
        s.agree += lf.argmax(-1).eq(lq.argmax(-1)).sum().item<int64_t>();
    }
}

} // namespace

KlResult evaluateKl(const Model& fpModel, const Model& quantModel,
                    const std::vector<int32_t>& tokens, const PerplexityConfig& config,
                    const ProgressFn& progress)
{
    torch::NoGradGuard noGrad;
    const auto started = std::chrono::steady_clock::now();
    const auto& c = fpModel.config();
    const auto& cq = quantModel.config();
    if (c.vocabSize != cq.vocabSize || c.hiddenSize != cq.hiddenSize ||
        fpModel.numBlocks() != quantModel.numBlocks())
        throw Error(quantModel.checkpoint().dir(), "model pair",
                    "the two models differ in vocabulary, hidden size or depth");
    for (std::size_t i = 0; i < tokens.size(); ++i)
        if (tokens[i] < 0 || tokens[i] >= c.vocabSize)
            throw Error(fpModel.checkpoint().dir(), "token " + std::to_string(i),
                        "id " + std::to_string(tokens[i]) + " outside the vocabulary");
    const auto starts = windowStarts(static_cast<int64_t>(tokens.size()), config);
    const int64_t seqlen = config.seqlen, numWindows = starts.size();
    const uint64_t windowBytes = uint64_t(seqlen) * uint64_t(c.hiddenSize) * 4 * 2;
    const int64_t perBatch =
        std::clamp<int64_t>(int64_t(config.maxHiddenBytes / windowBytes), 1, numWindows);
    const long long total = ((numWindows + perBatch - 1) / perBatch) * (fpModel.numBlocks() + 1);
    const auto forward = fpModel.context(seqlen);

    KlSums sums;
    long long step = 0;
    for (int64_t w0 = 0; w0 < numWindows; w0 += perBatch) {
        const int64_t n = std::min(perBatch, numWindows - w0);
        auto ids = torch::empty({n, seqlen}, torch::kLong);
        auto* p = ids.data_ptr<int64_t>();
        for (int64_t b = 0; b < n; ++b)
            for (int64_t t = 0; t < seqlen; ++t)
                p[b * seqlen + t] = tokens[starts[w0 + b] + t];
        RoutingLog routeFp, routeQ;
        const RouterObserver observeFp = routeFp.observer(), observeQ = routeQ.observer();
        const auto hf = fpModel.hidden(ids, *forward, {}, &observeFp); // (n,T,C)
        const auto hq = quantModel.hidden(
            ids, *forward,
            [&](int64_t i) {
                reportProgress(progress, {"kl", "block " + std::to_string(i + 1), ++step, total});
            },
            &observeQ);
        compareRouting(routeFp, routeQ, sums);
        auto cut = [&](const torch::Tensor& h) {
            return h.narrow(1, 0, seqlen - 1).reshape({-1, c.hiddenSize});
        };
        accumulate(fpModel, quantModel, cut(hf), cut(hq),
                   ids.narrow(1, 1, seqlen - 1).reshape({-1}), sums);
        reportProgress(progress, {"kl", "windows scored", ++step, total});
    }
    KlResult r;
    r.windows = numWindows;
    r.tokensScored = numWindows * (seqlen - 1);
    const double count = double(r.tokensScored);
    r.meanKl = sums.kl / count;
    r.maxKl = sums.maxKl;
    r.top1Agreement = double(sums.agree) / count;
    r.fpPerplexity = std::exp(sums.nllFp / count);
    r.quantPerplexity = std::exp(sums.nllQ / count);
    if (!sums.routing.empty()) {
        int64_t same = 0, tokens = 0;
        r.routingAgreementPerBlock.assign(std::size_t(fpModel.numBlocks()), std::nan(""));
        for (const auto& [block, counts] : sums.routing) {
            same += counts.first;
            tokens += counts.second;
            if (counts.second > 0)
                r.routingAgreementPerBlock[std::size_t(block)] =
                    double(counts.first) / double(counts.second);
        }
        r.routingAgreement = tokens > 0 ? double(same) / double(tokens) : std::nan("");
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return r;
}

} // namespace ptq
