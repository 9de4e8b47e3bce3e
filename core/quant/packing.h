#pragma once
// A quantized linear layer as it is stored: integer codes bit-packed, fp16 scales, packed
// zero points and, for act-order without static groups, the column permutation. Sizes and
// bits per weight are computed from these real buffers, never from a formula.
//
// Bit packing is a little-endian bit stream: code k of a row-major (out, in) matrix occupies
// bits [k*bits, (k+1)*bits) of the byte array, bit 0 being the least significant bit of
// byte 0. Every width 2..8 uses the same layout; the last byte is zero-padded.

#include "quant/grid.h"

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <utility>

#include <cstdint>

namespace ptq {

struct QuantizedLinear {
    int64_t outFeatures = 0;
    int64_t inFeatures = 0;
    QuantGrid grid;
    // uint8 (ceil(out*in*bits/8)): codes of the stored column order (see permutation).
    torch::Tensor packedCodes;
    // fp16 (out, groups), or (1, 1) for a per-tensor grid.
    torch::Tensor scales;
    // Zero points packed like the codes, one per scale; undefined when symmetric (the zero
    // is then 2^(bits-1)).
    torch::Tensor zeros;
    // int64 (in): stored column p is weight column permutation[p] (GPTQ act-order with
    // groups over the permuted order); undefined when columns are stored in order.
    torch::Tensor permutation;
    // Incoherence processing (QuIP): when set, the codes are those of U W V^T and the weight
    // is U^T (scale * (code - zero)) V. U and V are regenerated from a seed and the layer
    // name, so only the 64-bit seed is stored.
    struct Incoherence {
        uint64_t seed = 0;
        // Returns U (out, out) and V (in, in).
        std::function<std::pair<torch::Tensor, torch::Tensor>()> rotations;
    };
    std::shared_ptr<const Incoherence> incoherence;

    // The float32 (out, in) weight in the original column order: scale * (code - zero),
    // rotated back when incoherence is set.
    torch::Tensor dequantize() const;
    // Unpacked codes, uint8 (out, in), in the stored column order.
    torch::Tensor codes() const;
    // Bytes of all stored buffers: codes, scales, zeros, permutation (and the 8-byte seed of
    // an incoherence rotation).
    uint64_t bytes() const;
    // bytes() * 8 / (out * in); e.g. W4 g128 asymmetric = 4 + (16 + 4)/128 = 4.156.
    double bitsPerWeight() const;
};

// Packs uint8 codes (any shape, each < 2^bits) into the bit stream described above.
torch::Tensor packCodes(const torch::Tensor& codes, int bits);
// Unpacks `count` codes of `bits` bits; inverse of packCodes (1-D uint8 result).
torch::Tensor unpackCodes(const torch::Tensor& packed, int bits, int64_t count);

// Assembles the stored form. codes: uint8 (out, in) in stored column order; scale, zero:
// float32 (out, groups) or (1, 1), scale fp16-representable; permutation may be undefined.
QuantizedLinear makeQuantizedLinear(const torch::Tensor& codes, const QuantParams& params,
                                    const QuantGrid& grid, const torch::Tensor& permutation);

} // namespace ptq
