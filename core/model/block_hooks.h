#pragma once
// What one block call applies beyond the weights, shared by the architectures' forwards:
// the runtime's hooks (model/architecture.h BlockRuntime) and the calibration observer.
// active() is false on the plain path, which then runs exactly as without them.

#include "model/architecture.h"

#include "util/error.h"

#include <torch/torch.h>

#include <algorithm>
#include <string>

namespace ptq {

struct BlockHooks {
    const BlockRuntime* runtime = nullptr;
    const LinearObserver* observe = nullptr;

    bool active() const { return runtime || observe; }

    // x (..., in) -> the input the group's linears see, in `dtype`: rotated, hooked and
    // observed in fp32 when the call has hooks.
    torch::Tensor input(const InputGroup& g, torch::Tensor x, torch::ScalarType dtype) const
    {
        if (!active())
            return x.to(dtype);
        x = x.to(torch::kFloat);
        if (runtime) {
            if (auto r = runtime->inputRotation(g.input); r.defined())
                x = torch::matmul(x, r);
            if (runtime->linearInput)
                x = runtime->linearInput(g.input, x);
        }
        if (observe)
            for (const auto& n : g.linears)
                (*observe)(n, x);
        return x.to(dtype);
    }

    // (B,T,N,D) fp32 keys or values -> the cache hook's result, same layout.
    static torch::Tensor cache(const std::function<torch::Tensor(const torch::Tensor&)>& hook,
                               const torch::Tensor& x)
    {
        if (!hook)
            return x;
        return hook(x.permute({0, 2, 1, 3}).contiguous()).permute({0, 2, 1, 3});
    }
};

// Position of `linear` in layout.linears (and so in BlockWeights::computeLinears); throws
// ptq::Error when it is not a linear of the layout.
inline std::size_t linearIndex(const BlockLayout& layout, const std::string& linear)
{
    const auto& names = layout.linears;
    const auto it = std::find(names.begin(), names.end(), linear);
    if (it == names.end())
        throw Error("block layout", linear, "not a linear of the architecture's block");
    return static_cast<std::size_t>(it - names.begin());
}

} // namespace ptq
