#include "model/config.h"

#include "model/architectures.h"
#include "util/error.h"
#include "util/file_io.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

namespace ptq {

namespace {

using Json = nlohmann::json;

// Typed access to config.json keys; every failure names the file and the key.
class Reader {
public:
    Reader(const Json& object, std::string file, std::string prefix = "")
        : m_json(object), m_file(std::move(file)), m_prefix(std::move(prefix))
    {}

    // Absent and null both count as "not given", as transformers treats them.
    const Json* find(const char* key) const
    {
        const auto it = m_json.find(key);
        return it == m_json.end() || it->is_null() ? nullptr : &*it;
    }
    bool has(const char* key) const { return find(key) != nullptr; }

    [[noreturn]] void fail(const char* key, const std::string& reason) const
    {
        throw Error(m_file, "key '" + m_prefix + key + "'", reason);
    }

    const Json& require(const char* key) const
    {
        if (const Json* v = find(key))
            return *v;
        fail(key, "missing required key");
    }

    int64_t integer(const char* key) const
    {
        const Json& v = require(key);
        if (!v.is_number_integer())
            fail(key, std::string("expected an integer, got ") + v.type_name() + " " + v.dump());
        if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX))
            fail(key, "integer " + v.dump() + " is too large");
        return v.get<int64_t>();
    }
    int64_t positive(const char* key) const
    {
        const int64_t v = integer(key);
        if (v <= 0)
            fail(key, "must be positive, got " + std::to_string(v));
        return v;
    }
    int64_t positive(const char* key, int64_t fallback) const
    {
        return has(key) ? positive(key) : fallback;
    }

    double number(const char* key) const
    {
        const Json& v = require(key);
        if (!v.is_number())
            fail(key, std::string("expected a number, got ") + v.type_name() + " " + v.dump());
        return v.get<double>();
    }
    double finitePositive(const char* key, double fallback) const
    {
        if (!has(key))
            return fallback;
        const double v = number(key);
        if (!std::isfinite(v) || v <= 0)
            fail(key, "must be a finite positive number, got " + find(key)->dump());
        return v;
    }

    bool boolean(const char* key, bool fallback) const
    {
        const Json* v = find(key);
        if (!v)
            return fallback;
        if (!v->is_boolean())
            fail(key, std::string("expected a boolean, got ") + v->type_name() + " " + v->dump());
        return v->get<bool>();
    }

    std::string string(const char* key, const std::string& fallback) const
    {
        const Json* v = find(key);
        if (!v)
            return fallback;
        if (!v->is_string())
            fail(key, std::string("expected a string, got ") + v->type_name() + " " + v->dump());
        return v->get<std::string>();
    }

    // bos/eos: an integer, a list of integers (the first is the primary one), or null.
    std::optional<int64_t> tokenId(const char* key) const
    {
        const Json* v = find(key);
        if (!v)
            return std::nullopt;
        if (v->is_array()) {
            for (const Json& e : *v) {
                if (!e.is_number_integer() || e.get<int64_t>() < 0)
                    fail(key, "expected non-negative integer token ids, got " + v->dump());
            }
            if (v->empty())
                return std::nullopt;
            return (*v)[0].get<int64_t>();
        }
        const int64_t id = integer(key);
        if (id < 0)
            fail(key, "token id must be non-negative, got " + std::to_string(id));
        return id;
    }

    const std::string& file() const { return m_file; }

private:
    const Json& m_json;
    std::string m_file;
    std::string m_prefix;
};

RopeScaling readRopeScaling(const Reader& root)
{
    RopeScaling rs;
    const Json* v = root.find("rope_scaling");
    if (!v)
        return rs;
    if (!v->is_object())
        root.fail("rope_scaling", std::string("expected an object or null, got ") + v->type_name());
    const Reader r(*v, root.file(), "rope_scaling.");
    // Newer configs spell it "rope_type", older ones "type".
    const std::string type = r.has("rope_type") ? r.string("rope_type", "") : r.string("type", "");
    if (type == "default" || type.empty())
        return rs; // transformers treats "default" as unscaled RoPE
    if (type != "linear" && type != "llama3")
        root.fail("rope_scaling",
                  "unsupported rope_scaling type '" + type + "' (supported: linear, llama3)");
    rs.type = type;
    rs.factor = r.number("factor");
    if (!std::isfinite(rs.factor) || rs.factor < 1.0)
        r.fail("factor", "must be a finite number >= 1");
    if (type == "llama3") {
        rs.lowFreqFactor = r.finitePositive("low_freq_factor", std::nan(""));
        rs.highFreqFactor = r.finitePositive("high_freq_factor", std::nan(""));
        if (std::isnan(rs.lowFreqFactor))
            r.fail("low_freq_factor", "missing required key");
        if (std::isnan(rs.highFreqFactor))
            r.fail("high_freq_factor", "missing required key");
        // The smoothing ramp divides by (high - low).
        if (!(rs.highFreqFactor > rs.lowFreqFactor))
            r.fail("high_freq_factor", "must be greater than low_freq_factor");
        rs.originalMaxPositionEmbeddings = r.positive("original_max_position_embeddings");
    }
    return rs;
}

void readAttention(const Reader& r, ModelConfig& c)
{
    c.numHeads = r.positive("num_attention_heads");
    c.numKvHeads = r.positive("num_key_value_heads", c.numHeads);
    if (r.has("head_dim")) {
        c.headDim = r.positive("head_dim");
    } else {
        if (c.hiddenSize % c.numHeads != 0)
            r.fail("num_attention_heads", "hidden_size " + std::to_string(c.hiddenSize) +
                                              " is not divisible by num_attention_heads " +
                                              std::to_string(c.numHeads));
        c.headDim = c.hiddenSize / c.numHeads;
    }
    if (c.numHeads % c.numKvHeads != 0)
        r.fail("num_key_value_heads", "num_attention_heads " + std::to_string(c.numHeads) +
                                          " is not divisible by num_key_value_heads " +
                                          std::to_string(c.numKvHeads));
    // RoPE rotates pairs of channels.
    if (c.headDim % 2 != 0)
        r.fail("head_dim", "head dimension " + std::to_string(c.headDim) + " must be even");
}

void readArchitectureSpecific(const Reader& r, ModelConfig& c)
{
    if (c.modelType == "llama") {
        c.attentionBias = r.boolean("attention_bias", false);
        // An MLP bias or another activation would run without error and give wrong numbers.
        if (r.boolean("mlp_bias", false))
            r.fail("mlp_bias", "MLP biases are not supported");
    } else if (c.modelType == "qwen2") {
        c.attentionBias = true;
        if (r.boolean("use_sliding_window", false))
            c.slidingWindow = r.positive("sliding_window");
    } else { // mistral
        c.attentionBias = false;
        c.slidingWindow = r.positive("sliding_window", 0);
    }
    const std::string act = r.string("hidden_act", "silu");
    if (act != "silu")
        r.fail("hidden_act", "unsupported activation '" + act + "' (supported: silu)");
}

} // namespace

ModelConfig ModelConfig::fromJson(const std::string& jsonText, const std::string& file)
{
    Json root;
    try {
        root = Json::parse(jsonText);
    } catch (const Json::exception& e) {
        throw Error(file, "", std::string("invalid JSON: ") + e.what());
    }
    if (!root.is_object())
        throw Error(file, "", "config is not a JSON object");
    const Reader r(root, file);

    ModelConfig c;
    c.modelType = r.string("model_type", "");
    if (c.modelType.empty())
        r.fail("model_type", "missing required key (supported: " + knownModelTypes() + ")");
    const auto& table = architectures();
    if (std::none_of(table.begin(), table.end(),
                     [&](const ArchitectureInfo& a) { return a.modelType == c.modelType; }))
        r.fail("model_type",
               "unknown architecture '" + c.modelType + "' (supported: " + knownModelTypes() + ")");
    c.vocabSize = r.positive("vocab_size");
    c.hiddenSize = r.positive("hidden_size");
    c.intermediateSize = r.positive("intermediate_size");
    c.numLayers = r.positive("num_hidden_layers");
    readAttention(r, c);
    c.maxPositionEmbeddings = r.positive("max_position_embeddings", 2048);
    c.rmsNormEps = r.finitePositive("rms_norm_eps", 1e-6);
    c.ropeTheta = r.finitePositive("rope_theta", 10000.0);
    c.ropeScaling = readRopeScaling(r);
    c.tieWordEmbeddings = r.boolean("tie_word_embeddings", false);
    readArchitectureSpecific(r, c);
    // Recent transformers releases write "dtype" where older ones wrote "torch_dtype".
    c.torchDtype = r.string("torch_dtype", r.string("dtype", ""));
    c.bosTokenId = r.tokenId("bos_token_id");
    c.eosTokenId = r.tokenId("eos_token_id");
    return c;
}

ModelConfig ModelConfig::fromFile(const std::string& path)
{
    return fromJson(readFileBytes(path, "config file"), path);
}

std::string ModelConfig::toJson() const
{
    using OJson = nlohmann::ordered_json;
    OJson j;
    const char* arch = modelType == "mistral" ? "MistralForCausalLM"
                       : modelType == "qwen2" ? "Qwen2ForCausalLM"
                                              : "LlamaForCausalLM";
    j["architectures"] = {arch};
    j["model_type"] = modelType;
    j["vocab_size"] = vocabSize;
    j["hidden_size"] = hiddenSize;
    j["intermediate_size"] = intermediateSize;
    j["num_hidden_layers"] = numLayers;
    j["num_attention_heads"] = numHeads;
    j["num_key_value_heads"] = numKvHeads;
    j["head_dim"] = headDim;
    j["hidden_act"] = "silu";
    j["max_position_embeddings"] = maxPositionEmbeddings;
    j["rms_norm_eps"] = rmsNormEps;
    j["rope_theta"] = ropeTheta;
    if (ropeScaling.type.empty()) {
        j["rope_scaling"] = nullptr;
    } else {
        OJson rs{{"rope_type", ropeScaling.type}, {"factor", ropeScaling.factor}};
        if (ropeScaling.type == "llama3") {
            rs["low_freq_factor"] = ropeScaling.lowFreqFactor;
            rs["high_freq_factor"] = ropeScaling.highFreqFactor;
            rs["original_max_position_embeddings"] = ropeScaling.originalMaxPositionEmbeddings;
        }
        j["rope_scaling"] = rs;
    }
    j["tie_word_embeddings"] = tieWordEmbeddings;
    if (modelType == "llama") {
        j["attention_bias"] = attentionBias;
        j["mlp_bias"] = false;
    } else if (modelType == "qwen2") {
        j["use_sliding_window"] = slidingWindow > 0;
        j["sliding_window"] = slidingWindow > 0 ? OJson(slidingWindow) : OJson(nullptr);
    } else {
        j["sliding_window"] = slidingWindow > 0 ? OJson(slidingWindow) : OJson(nullptr);
    }
    if (!torchDtype.empty())
        j["torch_dtype"] = torchDtype;
    j["bos_token_id"] = bosTokenId ? OJson(*bosTokenId) : OJson(nullptr);
    j["eos_token_id"] = eosTokenId ? OJson(*eosTokenId) : OJson(nullptr);
    return j.dump(2) + "\n";
}

int64_t ModelConfig::parameterCount() const
{
    const int64_t qDim = numHeads * headDim;
    const int64_t kvDim = numKvHeads * headDim;
    const int64_t attention = hiddenSize * qDim        // q_proj (qDim, hidden)
                              + 2 * hiddenSize * kvDim // k_proj, v_proj (kvDim, hidden)
                              + qDim * hiddenSize      // o_proj (hidden, qDim)
                              + (attentionBias ? qDim + 2 * kvDim : 0);
    const int64_t mlp = 3 * hiddenSize * intermediateSize; // gate, up (inter, hidden); down
    const int64_t norms = 2 * hiddenSize;
    const int64_t embeddings = vocabSize * hiddenSize * (tieWordEmbeddings ? 1 : 2);
    return embeddings + numLayers * (attention + mlp + norms) + hiddenSize;
}

} // namespace ptq
