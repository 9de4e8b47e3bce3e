#include "util/blas.h"

#include <dlfcn.h>

#include <mutex>

namespace ptq {

namespace {

using SetThreadsFn = void (*)(int);
using GetThreadsFn = int (*)();

// Debian's libtorch reaches OpenBLAS through the libblas alternative; looked up at run time
// so the build does not depend on which BLAS provides libblas.
SetThreadsFn blasSetter()
{
    static const auto fn =
        reinterpret_cast<SetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    return fn;
}

GetThreadsFn blasGetter()
{
    static const auto fn =
        reinterpret_cast<GetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    return fn;
}

struct SerialState {
    std::mutex mutex;
    int depth = 0;
    int saved = 1;
};

SerialState& serialState()
{
    static SerialState state;
    return state;
}

// The chunks [begin, end) of `rows` rows in steps of chunkRows, run on the engine's threads
// with one chunk per task (grain 1) so that the partition never depends on the thread count.
// With `pairEnds`, task k takes chunk k/2 from the front for even k and from the back for
// odd k: when chunks grow with their index (a triangle), each thread's contiguous range of
// tasks then holds as much work as another's. The order changes no result.
template <typename Fn>
void forEachChunk(int64_t rows, int64_t chunkRows, bool pairEnds, const Fn& fn)
{
    TORCH_CHECK(chunkRows > 0, "chunkRows must be positive");
    const int64_t chunks = (rows + chunkRows - 1) / chunkRows;
    SerialBlas serial;
    at::parallel_for(0, chunks, 1, [&](int64_t k0, int64_t k1) {
        for (int64_t k = k0; k < k1; ++k) {
            const int64_t ch = !pairEnds ? k : k % 2 == 0 ? k / 2 : chunks - 1 - k / 2;
            const int64_t r0 = ch * chunkRows;
            fn(r0, std::min(rows, r0 + chunkRows));
        }
    });
}

} // namespace

void setBlasThreads(int n)
{
    SerialState& s = serialState();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.depth > 0) { // applied when the last serial scope closes
        s.saved = n;
        return;
    }
    if (auto fn = blasSetter())
        fn(n);
}

SerialBlas::SerialBlas()
{
    SerialState& s = serialState();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.depth++ == 0) {
        auto get = blasGetter();
        s.saved = get ? get() : 1;
        if (auto set = blasSetter())
            set(1);
    }
}

SerialBlas::~SerialBlas()
{
    SerialState& s = serialState();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (--s.depth == 0)
        if (auto set = blasSetter())
            set(s.saved);
}

void addmmRowChunks(torch::Tensor c, const torch::Tensor& a, const torch::Tensor& b, float alpha,
                    int64_t chunkRows)
{
    TORCH_CHECK(c.dim() == 2 && a.dim() == 2 && b.dim() == 2 && a.size(0) == c.size(0) &&
                    b.size(1) == c.size(1) && a.size(1) == b.size(0),
                "addmmRowChunks: shapes do not match");
    forEachChunk(c.size(0), chunkRows, false, [&](int64_t r0, int64_t r1) {
        c.slice(0, r0, r1).addmm_(a.slice(0, r0, r1), b, 1.0, alpha);
    });
}

void addGramLowerRowChunks(torch::Tensor c, const torch::Tensor& x, int64_t chunkRows)
{
    const int64_t n = c.size(0);
    TORCH_CHECK(c.dim() == 2 && c.size(1) == n && x.dim() == 2 && x.size(1) == n,
                "addGramLowerRowChunks: shapes do not match");
    forEachChunk(n, chunkRows, true, [&](int64_t r0, int64_t r1) {
        c.slice(0, r0, r1).slice(1, 0, r1).addmm_(x.slice(1, r0, r1).t(), x.slice(1, 0, r1));
    });
}

} // namespace ptq
