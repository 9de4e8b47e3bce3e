#include "quant/hadamard.h"

#include "util/error.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

namespace ptq {

namespace {

const char* const kSource = "hadamard";

bool isPrime(int64_t q)
{
    if (q < 2)
        return false;
    for (int64_t d = 2; d * d <= q; ++d)
        if (q % d == 0)
            return false;
    return true;
}

// Paley I needs a prime q = 3 (mod 4) with m = q + 1; Paley II a prime q = 1 (mod 4) with
// m = 2 (q + 1). Orders 1, 2 are Sylvester's.
bool paleyOrder(int64_t m)
{
    if (m == 1 || m == 2)
        return true;
    if (isPrime(m - 1) && (m - 1) % 4 == 3)
        return true;
    return m % 2 == 0 && isPrime(m / 2 - 1) && (m / 2 - 1) % 4 == 1;
}

// The Legendre symbol chi(a) of GF(q), q prime: 0 for a = 0, +1 for squares, -1 otherwise.
std::vector<int> legendreTable(int64_t q)
{
    std::vector<int> chi(static_cast<size_t>(q), -1);
    chi[0] = 0;
    for (int64_t x = 1; x < q; ++x)
        chi[static_cast<size_t>((x * x) % q)] = 1;
    return chi;
}

// The (q+1, q+1) core [[0, 1^T], [e 1, Qj]] with the Jacobsthal matrix Qj_ij = chi(j - i):
// e = -1 gives Paley I's skew part (q = 3 mod 4), e = +1 Paley II's conference matrix.
std::vector<int> paleyCore(int64_t q, int edgeSign)
{
    const auto chi = legendreTable(q);
    const int64_t m = q + 1;
    std::vector<int> c(static_cast<size_t>(m * m), 0);
    for (int64_t j = 1; j < m; ++j) {
        c[static_cast<size_t>(j)] = 1;
        c[static_cast<size_t>(j * m)] = edgeSign;
    }
    for (int64_t i = 0; i < q; ++i)
        for (int64_t j = 0; j < q; ++j)
            c[static_cast<size_t>((i + 1) * m + j + 1)] = chi[static_cast<size_t>((j - i + q) % q)];
    return c;
}

// +-1 Hadamard matrix of order m, m with paleyOrder(m).
torch::Tensor baseHadamard(int64_t m)
{
    if (m == 1)
        return torch::ones({1, 1});
    if (m == 2)
        return torch::tensor({1.f, 1.f, 1.f, -1.f}).view({2, 2});
    auto h = torch::empty({m, m});
    auto* out = h.data_ptr<float>();
    const int64_t q1 = m - 1;
    if (isPrime(q1) && q1 % 4 == 3) {
        // Paley I: H = I + S with S skew-symmetric.
        const auto s = paleyCore(q1, -1);
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < m; ++j)
                out[i * m + j] = static_cast<float>(s[static_cast<size_t>(i * m + j)] + (i == j));
        return h;
    }
    // Paley II: every entry of the symmetric conference matrix C becomes a 2x2 block,
    // 0 -> [[1, -1], [-1, -1]], +-1 -> +-[[1, 1], [1, -1]].
    const int64_t q = m / 2 - 1, c = q + 1;
    const auto conf = paleyCore(q, 1);
    for (int64_t i = 0; i < c; ++i)
        for (int64_t j = 0; j < c; ++j) {
            const int v = conf[static_cast<size_t>(i * c + j)];
            const float b[4] = {v == 0 ? 1.f : float(v), v == 0 ? -1.f : float(v),
                                v == 0 ? -1.f : float(v), v == 0 ? -1.f : float(-v)};
            for (int a = 0; a < 2; ++a)
                for (int d = 0; d < 2; ++d)
                    out[(2 * i + a) * m + 2 * j + d] = b[a * 2 + d];
        }
    return h;
}

void checkOrder(int64_t n)
{
    if (n < 1)
        throw Error(kSource, "order " + std::to_string(n), "the order must be positive");
    if (!hadamardKnown(n))
        throw Error(kSource, "order " + std::to_string(n),
                    "no Hadamard matrix of order " + std::to_string(n) + " is known to this build");
}

int64_t twoPower(int64_t n)
{
    int64_t p = 1;
    while (n % (2 * p) == 0)
        p *= 2;
    return p;
}

// Butterflies of the Sylvester transform along the last dim (size p, a power of two),
// unnormalised: x (R, p) -> x H_p.
torch::Tensor sylvesterButterflies(torch::Tensor x, int64_t p)
{
    const int64_t rows = x.size(0);
    for (int64_t h = 1; h < p; h *= 2) {
        auto v = x.view({rows, p / (2 * h), 2, h});
        auto a = v.select(2, 0), b = v.select(2, 1);
        x = torch::stack({a + b, a - b}, 2).reshape({rows, p});
    }
    return x;
}

} // namespace

int64_t hadamardBaseOrder(int64_t n)
{
    if (n < 1)
        return 0;
    const int64_t p = twoPower(n);
    // Try m = odd * 2^j for growing j, so the cheap Sylvester part stays as large as possible.
    for (int64_t m = n / p; m <= n; m *= 2)
        if (paleyOrder(m))
            return m;
    return 0;
}

torch::Tensor hadamardMatrix(int64_t n)
{
    checkOrder(n);
    const int64_t m = hadamardBaseOrder(n);
    auto sylvester = torch::ones({1, 1});
    for (int64_t p = 1; p < n / m; p *= 2)
        sylvester = torch::cat(
            {torch::cat({sylvester, sylvester}, 1), torch::cat({sylvester, -sylvester}, 1)}, 0);
    return torch::kron(baseHadamard(m), sylvester).contiguous();
}

torch::Tensor fastHadamardTransform(const torch::Tensor& x)
{
    if (!x.defined() || x.dim() < 1)
        throw Error(kSource, "input", "expected a tensor (..., n)");
    const int64_t n = x.size(-1);
    checkOrder(n);
    const int64_t m = hadamardBaseOrder(n), p = n / m;
    auto rows = x.to(torch::kFloat).reshape({-1, p}).contiguous(); // (R*m, p)
    rows = sylvesterButterflies(rows, p);
    // x viewed as (m, p) per vector: x (H_m (x) H_p) = H_m^T X H_p, applied along m.
    auto out = rows.view({-1, m, p});
    if (m > 1)
        out = torch::matmul(baseHadamard(m).t(), out);
    return (out / std::sqrt(double(n))).reshape(x.sizes());
}

torch::Tensor randomSigns(int64_t n, uint64_t seed)
{
    auto gen = at::detail::createCPUGenerator(seed);
    return torch::randint(0, 2, {n}, gen, torch::TensorOptions().dtype(torch::kFloat)) * 2 - 1;
}

torch::Tensor randomHadamard(int64_t n, uint64_t seed)
{
    const auto h = hadamardMatrix(n);
    return (h * randomSigns(n, seed).unsqueeze(0) / std::sqrt(double(n))).contiguous();
}

torch::Tensor randomOrthogonal(int64_t n, uint64_t seed)
{
    if (n < 1)
        throw Error(kSource, "order " + std::to_string(n), "the order must be positive");
    auto gen = at::detail::createCPUGenerator(seed);
    const auto g = torch::randn({n, n}, gen, torch::TensorOptions().dtype(torch::kDouble));
    auto [q, r] = torch::linalg_qr(g);
    // Multiplying column j by sign(R_jj) makes the factorisation unique and Q Haar-distributed.
    auto d = torch::sign(r.diagonal());
    d = torch::where(d == 0, torch::ones_like(d), d);
    return (q * d.unsqueeze(0)).to(torch::kFloat).contiguous();
}

torch::Tensor randomRotation(int64_t n, uint64_t seed, bool hadamard, const std::string& object,
                             std::vector<std::string>& warnings)
{
    if (!hadamard)
        return randomOrthogonal(n, seed);
    if (hadamardKnown(n))
        return randomHadamard(n, seed);
    const int64_t p = twoPower(n), m = n / p;
    warnings.push_back(object + ": no Hadamard matrix of order " + std::to_string(n) +
                       " is known to this build; using a random orthogonal matrix of order " +
                       std::to_string(m) + " combined with a Hadamard of order " +
                       std::to_string(p) + " (exact, but spreads outliers less evenly)");
    const auto rm = randomOrthogonal(m, seed ^ 0x9e3779b97f4a7c15ULL);
    const auto q = torch::kron(rm, hadamardMatrix(p) / std::sqrt(double(p)));
    return (q * randomSigns(n, seed).unsqueeze(0)).contiguous();
}

} // namespace ptq
