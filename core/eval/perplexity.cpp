#include "eval/perplexity.h"

#include "model/model.h"
#include "text/tokenizer.h"
#include "util/error.h"
#include "util/sha256.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>

namespace ptq {

namespace {

// log_softmax over V columns is computed for this many logits at a time (fp32 bytes), so a
// 128k vocabulary never needs a (tokens x V) buffer.
constexpr int64_t kLogitChunkBytes = 256ll << 20;

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is invalid
// (overlong forms, surrogates and code points above U+10FFFF included).
std::size_t utf8SequenceLength(const std::string& s, std::size_t i)
{
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = byte(i);
    if (c < 0x80)
        return 1;
    std::size_t n;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
        n = 2;
        cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3;
        cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (i + n > s.size())
        return 0;
    for (std::size_t k = 1; k < n; ++k) {
        if ((byte(i + k) & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (byte(i + k) & 0x3f);
    }
    static const uint32_t kMinimum[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinimum[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

void checkUtf8(const std::string& line, const std::string& path, int64_t lineNumber)
{
    for (std::size_t i = 0; i < line.size();) {
        const std::size_t n = utf8SequenceLength(line, i);
        if (n == 0)
            throw Error(path, "line " + std::to_string(lineNumber),
                        "invalid UTF-8 at byte " + std::to_string(i + 1) + " of the line");
        i += n;
    }
}

// Sum of -log p(target) over rows of hidden states, the head applied in row chunks.
// h (N,C) final-normed; targets (N) int64.
double sumNll(const Model& model, const torch::Tensor& h, const torch::Tensor& targets)
{
    const int64_t n = h.size(0), vocab = model.config().vocabSize;
    const int64_t rows = std::max<int64_t>(1, kLogitChunkBytes / (vocab * 4));
    double total = 0;
    for (int64_t r0 = 0; r0 < n; r0 += rows) {
        const int64_t len = std::min(rows, n - r0);
        auto logits = model.lmHead(h.narrow(0, r0, len)); // (len,V) fp32
        if (!torch::isfinite(logits).all().item<bool>())
            throw Error(model.checkpoint().dir(), "logits",
                        "non-finite values (NaN or Inf) in the model output");
        auto logp = torch::log_softmax(logits, -1);
        auto picked = logp.gather(1, targets.narrow(0, r0, len).unsqueeze(1));
        total -= picked.to(torch::kDouble).sum().item<double>();
    }
    return total;
}

} // namespace

namespace {

// Token ids of texts already encoded in this process, keyed by (tokenizer fingerprint,
// sha256 of the joined text): a sweep calibrates and evaluates every run on the same files,
// and encoding a 14 MB text takes ~20 s where reading and hashing it takes ~0.1 s. Keyed by
// content, never by path, so an edited file is encoded again. Oldest entries go first once
// the cache holds more than kTokenCacheLimit tokens.
constexpr size_t kTokenCacheLimit = size_t(1) << 26; // 64 Mi tokens, 256 MiB

class TokenCache {
public:
    std::shared_ptr<const std::vector<int32_t>> find(const std::string& key)
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        const auto it = m_entries.find(key);
        return it == m_entries.end() ? nullptr : it->second;
    }
    void insert(const std::string& key, std::shared_ptr<const std::vector<int32_t>> tokens)
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (!m_entries.emplace(key, tokens).second)
            return;
        m_order.push_back(key);
        m_tokens += tokens->size();
        while (m_tokens > kTokenCacheLimit && m_order.size() > 1) {
            const auto old = m_entries.find(m_order.front());
            m_tokens -= old->second->size();
            m_entries.erase(old);
            m_order.pop_front();
        }
    }

private:
    std::mutex m_mutex;
    std::map<std::string, std::shared_ptr<const std::vector<int32_t>>> m_entries;
    std::deque<std::string> m_order;
    size_t m_tokens = 0;
};

TokenCache& tokenCache()
{
    static TokenCache cache;
    return cache;
}

std::string readJoinedText(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error(path, "text file", "cannot open it for reading");
    std::string text, line;
    int64_t lineNumber = 0;
    while (std::getline(in, line)) {
        ++lineNumber;
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        checkUtf8(line, path, lineNumber);
        if (lineNumber > 1)
            text += "\n\n";
        text += line;
    }
    if (in.bad())
        throw Error(path, "line " + std::to_string(lineNumber + 1), "read error");
    if (text.empty())
        throw Error(path, "text file", "empty: no text to evaluate");
    return text;
}

} // namespace

std::vector<int32_t> tokenizeTextFile(const Tokenizer& tokenizer, const std::string& path)
{
    const std::string text = readJoinedText(path);
    if (tokenizer.fingerprint().empty())
        return tokenizer.encode(text, true);
    const std::string key = tokenizer.fingerprint() + "/" + sha256Hex(text);
    if (const auto cached = tokenCache().find(key))
        return *cached;
    auto tokens = std::make_shared<const std::vector<int32_t>>(tokenizer.encode(text, true));
    tokenCache().insert(key, tokens);
    return *tokens;
}

std::vector<int64_t> windowStarts(int64_t numTokens, const PerplexityConfig& config)
{
    const int64_t seqlen = config.seqlen;
    if (seqlen < 2)
        throw Error("", "perplexity seqlen",
                    "must be at least 2 tokens, got " + std::to_string(seqlen));
    std::vector<int64_t> starts;
    if (config.sampling == WindowSampling::Sequential) {
        if (numTokens < seqlen)
            throw Error("", "perplexity windows",
                        "the text has " + std::to_string(numTokens) +
                            " tokens, fewer than one window of " + std::to_string(seqlen));
        int64_t n = numTokens / seqlen;
        if (config.maxWindows > 0)
            n = std::min(n, config.maxWindows);
        for (int64_t i = 0; i < n; ++i)
            starts.push_back(i * seqlen);
        return starts;
    }
    // Random windows as GPTQ's C4 loader draws them: start uniform in [0, numTokens-seqlen-1].
    if (numTokens < seqlen + 1)
        throw Error("", "perplexity windows",
                    "random windows need more than " + std::to_string(seqlen) +
                        " tokens; the text has " + std::to_string(numTokens));
    if (config.randomWindows <= 0)
        throw Error("", "perplexity random windows",
                    "must be positive, got " + std::to_string(config.randomWindows));
    std::mt19937_64 rng(config.seed);
    std::uniform_int_distribution<int64_t> pick(0, numTokens - seqlen - 1);
    for (int64_t i = 0; i < config.randomWindows; ++i)
        starts.push_back(pick(rng));
    return starts;
}

PerplexityResult evaluatePerplexity(const Model& model, const std::vector<int32_t>& tokens,
                                    const PerplexityConfig& config, const ProgressFn& progress)
{
    torch::NoGradGuard noGrad;
    const auto started = std::chrono::steady_clock::now();
    const auto& c = model.config();
    const std::string dir = model.checkpoint().dir();
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (tokens[i] < 0 || tokens[i] >= c.vocabSize)
            throw Error(dir, "token " + std::to_string(i),
                        "id " + std::to_string(tokens[i]) +
                            " does not fit the model's vocabulary of " +
                            std::to_string(c.vocabSize) + " (tokenizer and model do not match)");
    }
    const auto starts = windowStarts(static_cast<int64_t>(tokens.size()), config);
    const int64_t seqlen = config.seqlen, numWindows = starts.size();
    const uint64_t windowBytes = uint64_t(seqlen) * uint64_t(c.hiddenSize) * 4;
    const int64_t perBatch =
        std::clamp<int64_t>(int64_t(config.maxHiddenBytes / windowBytes), 1, numWindows);
    const int64_t batches = (numWindows + perBatch - 1) / perBatch;
    const long long totalSteps = static_cast<long long>(batches) * (model.numBlocks() + 1);
    const auto forward = model.context(seqlen);

    double nll = 0;
    long long step = 0;
    for (int64_t w0 = 0, batch = 0; w0 < numWindows; w0 += perBatch, ++batch) {
        const int64_t n = std::min(perBatch, numWindows - w0);
        auto ids = torch::empty({n, seqlen}, torch::kLong);
        auto* p = ids.data_ptr<int64_t>();
        for (int64_t b = 0; b < n; ++b)
            for (int64_t t = 0; t < seqlen; ++t)
                p[b * seqlen + t] = tokens[starts[w0 + b] + t];
        const std::string where = "windows " + std::to_string(w0 + 1) + "-" +
                                  std::to_string(w0 + n) + "/" + std::to_string(numWindows);
        auto h = model.hidden(
            ids, *forward,
            [&](int64_t i) {
                reportProgress(progress, {"perplexity",
                                          where + ", block " + std::to_string(i + 1) + "/" +
                                              std::to_string(model.numBlocks()),
                                          ++step, totalSteps});
            },
            config.route);
        // Position t predicts token t+1: rows [0, T-1) of each window.
        auto normed = h.narrow(1, 0, seqlen - 1).reshape({-1, c.hiddenSize});
        auto targets = ids.narrow(1, 1, seqlen - 1).reshape({-1});
        nll += sumNll(model, normed, targets);
        reportProgress(progress, {"perplexity", where + " scored", ++step, totalSteps});
    }

    PerplexityResult r;
    r.tokensInText = static_cast<int64_t>(tokens.size());
    r.windows = numWindows;
    r.seqlen = seqlen;
    r.tokensScored = numWindows * (seqlen - 1);
    r.meanNll = nll / double(r.tokensScored);
    r.perplexity = std::exp(r.meanNll);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    r.tokensPerSecond = r.seconds > 0 ? double(numWindows * seqlen) / r.seconds : 0;
    return r;
}

} // namespace ptq
