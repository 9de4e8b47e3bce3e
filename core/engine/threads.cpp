#include "engine/threads.h"

#include "util/blas.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <thread>

namespace ptq {

void setEngineThreads(int n)
{
    if (n <= 0) {
        unsigned hw = std::thread::hardware_concurrency();
        n = hw == 0 ? 1 : static_cast<int>(hw);
    }
    torch::set_num_threads(n);
    setBlasThreads(n);
}

int engineThreads()
{
    return torch::get_num_threads();
}

const char* torchVersion()
{
    return TORCH_VERSION;
}

} // namespace ptq
