// Thread-count independent GEMMs (util/blas.h) against float64 products, and bit for bit
// across thread counts. The suite also runs this file with OPENBLAS_CORETYPE=Haswell, whose
// SGEMM kernel rounds differently for different splits of the same product: there the
// equalities below fail for a plain torch::addmm_ with OpenBLAS threads.

#include "engine/threads.h"
#include "util/blas.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <dlfcn.h>

#include <vector>

using namespace ptq;

namespace {

struct Threads {
    int before = engineThreads();
    explicit Threads(int n) { setEngineThreads(n); }
    ~Threads() { setEngineThreads(before); }
};

int openBlasThreads()
{
    using GetFn = int (*)();
    auto fn = reinterpret_cast<GetFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    return fn ? fn() : -1;
}

// max |a - b| / max |b|, b the float64 reference.
double relMaxError(const torch::Tensor& a, const torch::Tensor& b)
{
    return ((a.to(torch::kDouble) - b).abs().max() / b.abs().max()).item<double>();
}

} // namespace

// c += alpha a b over a strided view (the trailing columns of a wider matrix, as GPTQ's
// lazy-batch update uses it), with row counts that leave a partial last chunk. float32 sums
// of K = 300 products of unit normals: relative error ~ sqrt(K) * 6e-8 ~ 1e-6; 1e-5 allowed.
TEST(Blas, AddmmRowChunksMatchesFloat64AndIgnoresThreads)
{
    torch::manual_seed(3);
    const auto a = torch::randn({1100, 300});
    const auto b = torch::randn({300, 700});
    const auto base = torch::randn({1100, 900});
    const auto ref = base.slice(1, 200, 900).to(torch::kDouble) -
                     0.5 * a.to(torch::kDouble).mm(b.to(torch::kDouble));
    std::vector<torch::Tensor> results;
    for (int threads : {1, 2, 3}) {
        const Threads t(threads);
        for (int64_t chunk : {int64_t(512), int64_t(7)}) {
            auto c = base.clone();
            addmmRowChunks(c.slice(1, 200, 900), a, b, -0.5f, chunk);
            EXPECT_LE(relMaxError(c.slice(1, 200, 900), ref), 1e-5);
            EXPECT_TRUE(torch::equal(c.slice(1, 0, 200), base.slice(1, 0, 200)));
            if (chunk == 512)
                results.push_back(c);
        }
    }
    for (std::size_t i = 1; i < results.size(); ++i)
        EXPECT_TRUE(torch::equal(results[i], results[0])) << i + 1 << " threads against 1";
    EXPECT_THROW(addmmRowChunks(base, a, b, 1.0f), c10::Error);
}

// The lower triangle of x^T x, accumulated over batches; entries above the diagonal blocks
// are left alone.
TEST(Blas, GramLowerRowChunksMatchesFloat64AndIgnoresThreads)
{
    torch::manual_seed(4);
    const auto x = torch::randn({400, 600});
    const auto ref = x.to(torch::kDouble).t().mm(x.to(torch::kDouble)) * 2.0;
    const auto lower = torch::ones({600, 600}, torch::kBool).tril();
    std::vector<torch::Tensor> results;
    for (int threads : {1, 2, 3}) {
        const Threads t(threads);
        auto c = torch::zeros({600, 600});
        addGramLowerRowChunks(c, x, 256);
        addGramLowerRowChunks(c, x, 256);
        EXPECT_LE(relMaxError(c.masked_fill(~lower, 0), ref.masked_fill(~lower, 0)), 1e-5);
        EXPECT_EQ(c[0][599].item<float>(), 0.0f); // above the first diagonal block
        EXPECT_NE(c[0][255].item<float>(), 0.0f); // inside it
        results.push_back(c);
    }
    for (std::size_t i = 1; i < results.size(); ++i)
        EXPECT_TRUE(torch::equal(results[i], results[0])) << i + 1 << " threads against 1";
}

TEST(Blas, SerialScopesNestAndRestoreTheThreadCount)
{
    if (openBlasThreads() < 0)
        GTEST_SKIP() << "the BLAS in this process has no thread setting";
    const Threads t(2);
    EXPECT_EQ(openBlasThreads(), 2);
    {
        const SerialBlas outer;
        EXPECT_EQ(openBlasThreads(), 1);
        {
            const SerialBlas inner;
            EXPECT_EQ(openBlasThreads(), 1);
        }
        EXPECT_EQ(openBlasThreads(), 1);
        setBlasThreads(3); // applied when the last scope closes
        EXPECT_EQ(openBlasThreads(), 1);
    }
    EXPECT_EQ(openBlasThreads(), 3);
}
