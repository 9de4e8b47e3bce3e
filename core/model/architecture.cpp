#include "model/architecture.h"

#include "util/error.h"

#include <algorithm>
#include <mutex>

namespace ptq {

torch::Tensor BlockRuntime::inputRotation(const std::string& input) const
{
    auto it = inputRotations.find(input);
    return it == inputRotations.end() ? torch::Tensor() : it->second;
}

const BlockTensorSpec& BlockLayout::tensor(const std::string& key) const
{
    for (const auto& t : tensors)
        if (t.key == key)
            return t;
    throw Error("block layout", key, "no such tensor in the architecture's block");
}

bool BlockLayout::hasTensor(const std::string& key) const
{
    return std::any_of(tensors.begin(), tensors.end(),
                       [&](const BlockTensorSpec& t) { return t.key == key; });
}

const InputGroup& BlockLayout::groupOf(const std::string& linear) const
{
    for (const auto& g : inputGroups)
        if (std::find(g.linears.begin(), g.linears.end(), linear) != g.linears.end())
            return g;
    throw Error("block layout", linear, "not a linear of the architecture's block");
}

const FoldPoint* BlockLayout::fold(ArchFeature feature) const
{
    for (const auto& f : folds)
        if (f.feature == feature)
            return &f;
    return nullptr;
}

std::vector<const FoldPoint*> BlockLayout::foldsOf(ArchFeature feature) const
{
    std::vector<const FoldPoint*> out;
    for (const auto& f : folds)
        if (f.feature == feature)
            out.push_back(&f);
    return out;
}

// ---------------------------------------------------------------------------------------------

struct BlockWeights::ComputeCache {
    std::mutex mutex;
    torch::ScalarType dtype = torch::kFloat;
    std::vector<torch::Tensor> sources;
    std::vector<int64_t> versions;
    std::vector<torch::Tensor> casted;
};

torch::Tensor& BlockWeights::at(const std::string& key)
{
    auto it = tensors.find(key);
    if (it == tensors.end() || !it->second.defined())
        throw Error("block " + std::to_string(index), key, "the block has no such tensor");
    return it->second;
}

const torch::Tensor& BlockWeights::at(const std::string& key) const
{
    return const_cast<BlockWeights*>(this)->at(key);
}

torch::Tensor BlockWeights::get(const std::string& key) const
{
    auto it = tensors.find(key);
    return it == tensors.end() ? torch::Tensor() : it->second;
}

std::vector<std::pair<std::string, torch::Tensor*>> BlockWeights::linears()
{
    std::vector<std::pair<std::string, torch::Tensor*>> out;
    if (!layout)
        throw Error("block " + std::to_string(index), "layout", "the block has no layout");
    for (const auto& name : layout->linears)
        out.emplace_back(name, &at(name));
    return out;
}

std::vector<std::pair<std::string, const torch::Tensor*>> BlockWeights::linears() const
{
    std::vector<std::pair<std::string, const torch::Tensor*>> out;
    for (auto& [name, ptr] : const_cast<BlockWeights*>(this)->linears())
        out.emplace_back(name, ptr);
    return out;
}

BlockWeights BlockWeights::copy() const
{
    BlockWeights c = *this;
    c.computeCache.reset();
    return c;
}

std::vector<torch::Tensor> BlockWeights::computeLinears(torch::ScalarType dtype) const
{
    std::vector<torch::Tensor> src;
    for (const auto& [name, t] : linears())
        src.push_back(*t);
    bool allThere = true;
    for (const auto& t : src)
        allThere = allThere && t.scalar_type() == dtype;
    if (allThere)
        return src;
    // Inference tensors carry no version counter, so a cached cast could go stale unseen.
    bool cacheable = true;
    for (const auto& t : src)
        cacheable = cacheable && !t.is_inference();
    if (!cacheable) {
        std::vector<torch::Tensor> out;
        for (const auto& t : src)
            out.push_back(t.to(dtype));
        return out;
    }
    static std::mutex creation; // two threads running the same block must share one cache
    std::shared_ptr<ComputeCache> cachePtr;
    {
        std::lock_guard<std::mutex> lock(creation);
        if (!computeCache)
            computeCache = std::make_shared<ComputeCache>();
        cachePtr = computeCache;
    }
    auto& cache = *cachePtr;
    std::lock_guard<std::mutex> lock(cache.mutex);
    bool valid = cache.dtype == dtype && cache.sources.size() == src.size();
    for (std::size_t i = 0; valid && i < src.size(); ++i)
        valid = cache.sources[i].is_same(src[i]) && cache.versions[i] == src[i]._version();
    if (!valid) {
        cache.dtype = dtype;
        cache.sources = src;
        cache.versions.clear();
        cache.casted.clear();
        for (const auto& t : src) {
            cache.versions.push_back(t._version());
            cache.casted.push_back(t.to(dtype).contiguous());
        }
    }
    return cache.casted;
}

// ---------------------------------------------------------------------------------------------

torch::Tensor Architecture::moduleForward(const BlockWeights& w, const std::string& module,
                                          const torch::Tensor& x, const ForwardContext&) const
{
    torch::NoGradGuard noGrad;
    const auto& names = w.layout->linears;
    if (std::find(names.begin(), names.end(), module) == names.end())
        throw Error(info().modelType, module, "not a module or linear of the block");
    return torch::linear(x, w.at(module), w.get(module + ".bias"));
}

void Architecture::checkRuntime(const BlockWeights& w) const
{
    if (!w.runtime)
        return;
    const auto& rt = *w.runtime;
    const std::string object = "block " + std::to_string(w.index);
    for (const auto& [input, r] : rt.inputRotations) {
        const InputGroup* group = nullptr;
        for (const auto& g : w.layout->inputGroups)
            if (g.input == input)
                group = &g;
        if (!group || !group->onlineRotation)
            throw Error(object, "runtime rotation of " + input,
                        "the architecture supports no run-time rotation there");
        const int64_t n = w.at(group->linears.front()).size(1);
        if (r.dim() != 2 || r.size(0) != n || r.size(1) != n)
            throw Error(object, "runtime rotation of " + input,
                        "must be (" + std::to_string(n) + ", " + std::to_string(n) + ")");
    }
    const int64_t d = w.layout->headDim;
    if (rt.headRotation.defined() &&
        (d == 0 || rt.headRotation.sizes() != torch::IntArrayRef{d, d}))
        throw Error(object, "runtime head rotation", "must be (head_dim, head_dim)");
}

torch::Tensor Architecture::initialTensor(int64_t, const BlockTensorSpec&, at::Generator&) const
{
    return {};
}

std::vector<std::shared_ptr<const BlockLayout>> Architecture::distinctLayouts() const
{
    std::vector<std::shared_ptr<const BlockLayout>> out;
    for (int64_t i = 0; i < numBlocks(); ++i) {
        auto l = layout(i);
        if (std::find(out.begin(), out.end(), l) == out.end())
            out.push_back(l);
    }
    if (out.empty())
        out.push_back(layout(0));
    return out;
}

std::unique_ptr<Architecture> makeArchitecture(const ModelConfig& config)
{
    return findArchitecture(config.modelType).make(config);
}

} // namespace ptq
