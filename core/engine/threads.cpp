#include "engine/threads.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <dlfcn.h>
#include <thread>

namespace ptq {

namespace {

// Debian's libtorch reaches OpenBLAS through the libblas alternative; the pthread build of
// OpenBLAS keeps its own thread count, which torch::set_num_threads does not change. Look the
// setter up at run time so the build does not depend on which BLAS provides libblas.
void setBlasThreads(int n)
{
    using SetFn = void (*)(int);
    if (auto fn = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
        fn(n);
}

} // namespace

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
