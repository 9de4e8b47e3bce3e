#include "quant/quip.h"

#include "quant/gptq.h"
#include "quant/hadamard.h"

namespace ptq {

namespace {

const char* const kSource = "quip quantizer";

// FNV-1a of the layer name mixed with the seed and a stream number (splitmix64 finaliser), so
// every layer gets its own reproducible U and V.
uint64_t layerSeed(uint64_t seed, const std::string& layer, uint64_t stream)
{
    uint64_t h = 1469598103934665603ULL;
    for (unsigned char ch : layer)
        h = (h ^ ch) * 1099511628211ULL;
    uint64_t x = h ^ (seed * 0x9e3779b97f4a7c15ULL) ^ (stream * 0xd1b54a32d192ed03ULL);
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// A HessianAccumulator whose hessian() is h (in, in) symmetric PSD: with h = E diag(l) E^T,
// the in rows sqrt(in/2) sqrt(l_i) e_i^T give 2/in * sum r r^T = h.
HessianAccumulator accumulatorOf(const torch::Tensor& h, const std::string& name)
{
    const int64_t in = h.size(0);
    const auto sym = (h + h.t()) * 0.5;
    auto [lambda, vectors] = torch::linalg_eigh(sym);
    const auto roots = lambda.clamp_min(0).sqrt() * std::sqrt(in / 2.0);
    HessianAccumulator acc(in, name);
    acc.add((vectors * roots.unsqueeze(0)).t().to(torch::kFloat).contiguous());
    return acc;
}

} // namespace

QuipParams QuipParams::fromJson(const nlohmann::json& params)
{
    MethodParams reader("quip", params);
    QuipParams p;
    const int64_t seed = reader.getInt("seed", 0);
    if (seed < 0)
        throw Error(reader.source(), "seed", "must be non-negative");
    p.seed = static_cast<uint64_t>(seed);
    p.percDamp = reader.getDouble("percdamp", p.percDamp);
    if (!(p.percDamp >= 0.0))
        throw Error(reader.source(), "percdamp", "must be non-negative");
    p.blockSize = reader.getInt("blocksize", p.blockSize);
    if (p.blockSize < 1)
        throw Error(reader.source(), "blocksize", "must be positive");
    reader.finish();
    return p;
}

std::pair<torch::Tensor, torch::Tensor>
QuipQuantizer::rotations(const std::string& layer, int64_t out, int64_t in,
                         std::vector<std::string>& warnings) const
{
    auto u = randomRotation(out, layerSeed(m_params.seed, layer, 1), true, layer + " (QuIP U)",
                            warnings);
    auto v =
        randomRotation(in, layerSeed(m_params.seed, layer, 2), true, layer + " (QuIP V)", warnings);
    return {u, v};
}

WeightQuantResult QuipQuantizer::quantize(const LayerInput& layer, const QuantGrid& grid,
                                          const ProgressFn& progress) const
{
    const std::string object = layer.name.empty() ? std::string("weight") : layer.name;
    const auto w = checkedWeight(layer, grid);
    if (!layer.hessian)
        throw Error(kSource, object, "QuIP needs the Hessian of the layer's calibration inputs");
    const int64_t out = w.size(0), in = w.size(1);
    if (layer.hessian->inFeatures() != in)
        throw Error(kSource, object,
                    "the Hessian has " + std::to_string(layer.hessian->inFeatures()) +
                        " inputs, the weight " + std::to_string(in));
    std::vector<std::string> warnings;
    const auto [u, v] = rotations(object, out, in, warnings);
    const auto u64 = u.to(torch::kDouble), v64 = v.to(torch::kDouble);

    const auto wRot = torch::matmul(torch::matmul(u64, w.to(torch::kDouble)), v64.t());
    const auto h = layer.hessian->hessian().to(torch::kDouble);
    const auto acc = accumulatorOf(torch::matmul(torch::matmul(v64, h), v64.t()), object);

    GptqParams gp;
    gp.percDamp = m_params.percDamp;
    gp.blockSize = m_params.blockSize;
    LayerInput rotated{layer.name, wRot.to(torch::kFloat).contiguous(), &acc};
    auto result = GptqQuantizer(gp).quantize(rotated, grid, progress);

    result.dequantized =
        torch::matmul(torch::matmul(u64.t(), result.dequantized.to(torch::kDouble)), v64)
            .to(torch::kFloat)
            .contiguous();
    auto incoherence = std::make_shared<QuantizedLinear::Incoherence>();
    incoherence->seed = m_params.seed;
    incoherence->rotations = [params = m_params, object, out, in]() {
        std::vector<std::string> ignored;
        return QuipQuantizer(params).rotations(object, out, in, ignored);
    };
    result.q.incoherence = std::move(incoherence);
    for (auto& warning : warnings)
        result.warnings.push_back(std::move(warning));
    return result;
}

} // namespace ptq
