#include "quant/packing.h"

#include "util/error.h"

#include <algorithm>
#include <string>

namespace ptq {

namespace {
const char* const kPackFile = "packed weight";

void checkBits(int bits)
{
    if (bits < 2 || bits > 8)
        throw Error(kPackFile, "bits", "bits must be between 2 and 8, got " + std::to_string(bits));
}

// bytes whole bytes of Bits-bit codes, first code in the lowest bits.
template <int Bits> void packWhole(const uint8_t* src, int64_t bytes, uint8_t* dst)
{
    constexpr int kPer = 8 / Bits;
    for (int64_t i = 0; i < bytes; ++i) {
        unsigned byte = 0;
        for (int j = 0; j < kPer; ++j)
            byte |= unsigned(src[i * kPer + j]) << (j * Bits);
        dst[i] = uint8_t(byte);
    }
}
} // namespace

torch::Tensor packCodes(const torch::Tensor& codes, int bits)
{
    checkBits(bits);
    const auto flat = codes.to(torch::kUInt8).contiguous().reshape({-1});
    const int64_t count = flat.numel();
    if (count > 0 && flat.max().item<int>() >= (1 << bits))
        throw Error(kPackFile, "codes", "a code does not fit in " + std::to_string(bits) + " bits");
    auto packed = torch::zeros({(count * bits + 7) / 8}, torch::kUInt8);
    const uint8_t* src = flat.data_ptr<uint8_t>();
    uint8_t* dst = packed.data_ptr<uint8_t>();
    // Widths that divide a byte: whole bytes directly (the same bit stream, vectorisable);
    // the rest of the codes, if any, go through the general loop below from a byte boundary.
    int64_t k = 0, o = 0;
    if (bits == 8 || bits == 4 || bits == 2) {
        const int per = 8 / bits;
        o = count / per;
        k = o * per;
        if (bits == 8)
            std::copy_n(src, o, dst);
        else if (bits == 4)
            packWhole<4>(src, o, dst);
        else
            packWhole<2>(src, o, dst);
    }
    // A 64-bit accumulator collects codes; whole bytes leave from its low end.
    uint64_t acc = 0;
    int filled = 0;
    for (; k < count; ++k) {
        acc |= uint64_t(src[k]) << filled;
        filled += bits;
        while (filled >= 8) {
            dst[o++] = uint8_t(acc);
            acc >>= 8;
            filled -= 8;
        }
    }
    if (filled > 0)
        dst[o] = uint8_t(acc);
    return packed;
}

torch::Tensor unpackCodes(const torch::Tensor& packed, int bits, int64_t count)
{
    checkBits(bits);
    const auto bytes = packed.contiguous();
    if (bytes.scalar_type() != torch::kUInt8 || bytes.numel() * 8 < count * bits)
        throw Error(kPackFile, "packed codes",
                    "expected at least " + std::to_string((count * bits + 7) / 8) +
                        " uint8 bytes, got " + std::to_string(bytes.numel()));
    auto codes = torch::empty({count}, torch::kUInt8);
    const uint8_t* src = bytes.data_ptr<uint8_t>();
    uint8_t* dst = codes.data_ptr<uint8_t>();
    const uint64_t mask = (uint64_t(1) << bits) - 1;
    uint64_t acc = 0;
    int filled = 0;
    int64_t i = 0;
    for (int64_t k = 0; k < count; ++k) {
        while (filled < bits) {
            acc |= uint64_t(src[i++]) << filled;
            filled += 8;
        }
        dst[k] = uint8_t(acc & mask);
        acc >>= bits;
        filled -= bits;
    }
    return codes;
}

QuantizedLinear makeQuantizedLinear(const torch::Tensor& codes, const QuantParams& params,
                                    const QuantGrid& grid, const torch::Tensor& permutation)
{
    QuantizedLinear q;
    q.outFeatures = codes.size(0);
    q.inFeatures = codes.size(1);
    q.grid = grid;
    q.packedCodes = packCodes(codes, grid.bits);
    q.scales = params.scale.to(torch::kHalf).contiguous();
    if (!grid.symmetric)
        q.zeros = packCodes(params.zero.to(torch::kUInt8), grid.bits);
    if (permutation.defined())
        q.permutation = permutation.to(torch::kLong).contiguous();
    return q;
}

torch::Tensor QuantizedLinear::codes() const
{
    return unpackCodes(packedCodes, grid.bits, outFeatures * inFeatures)
        .reshape({outFeatures, inFeatures});
}

torch::Tensor QuantizedLinear::dequantize() const
{
    const auto scale = scales.to(torch::kFloat);
    torch::Tensor zero;
    if (grid.symmetric)
        zero = torch::full_like(scale, double(int64_t(1) << (grid.bits - 1)));
    else
        zero =
            unpackCodes(zeros, grid.bits, scale.numel()).to(torch::kFloat).reshape(scale.sizes());
    // Same float expression as fakeQuantize(): scale * (code - zero), hence bit-exact.
    auto w = expandToColumns(scale, outFeatures, inFeatures) *
             (codes().to(torch::kFloat) - expandToColumns(zero, outFeatures, inFeatures));
    if (permutation.defined()) {
        auto original = torch::empty_like(w);
        original.index_copy_(1, permutation, w);
        w = original;
    }
    if (!incoherence)
        return w;
    // Same float64 expression as the quantizer's, hence bit-exact with its result.
    const auto [u, v] = incoherence->rotations();
    return torch::matmul(torch::matmul(u.to(torch::kDouble).t(), w.to(torch::kDouble)),
                         v.to(torch::kDouble))
        .to(torch::kFloat)
        .contiguous();
}

uint64_t QuantizedLinear::bytes() const
{
    uint64_t n = 0;
    for (const auto* t : {&packedCodes, &scales, &zeros, &permutation})
        if (t->defined())
            n += uint64_t(t->numel()) * t->element_size();
    if (incoherence)
        n += sizeof(incoherence->seed);
    return n;
}

double QuantizedLinear::bitsPerWeight() const
{
    return double(bytes()) * 8.0 / double(outFeatures * inFeatures);
}

} // namespace ptq
