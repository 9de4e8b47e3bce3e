// Bit packing: round trips for every width and odd lengths, the exact little-endian layout,
// sizes of the stored layer, and dequantization equal to the fake-quantized weight.

#include "quant/grid.h"
#include "quant/packing.h"
#include "util/error.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

using namespace ptq;

TEST(Packing, RoundTripEveryWidth)
{
    torch::manual_seed(3);
    for (int bits = 2; bits <= 8; ++bits) {
        for (int64_t n : {0, 1, 3, 7, 8, 9, 13, 64, 1000, 1001, 4099}) {
            const auto codes = torch::randint(0, 1 << bits, {n}, torch::kUInt8);
            const auto packed = packCodes(codes, bits);
            ASSERT_EQ(packed.numel(), (n * bits + 7) / 8) << bits << " bits, " << n;
            ASSERT_TRUE(torch::equal(unpackCodes(packed, bits, n), codes))
                << bits << " bits, " << n;
        }
    }
}

TEST(Packing, LittleEndianBitStream)
{
    // 3-bit codes 1,2,3,4,5 at bit offsets 0,3,6,9,12:
    // byte0 = 1 | 2<<3 | (3&3)<<6 = 209, byte1 = 3>>2 | 4<<1 | 5<<4 = 88.
    const auto packed = packCodes(torch::tensor({1, 2, 3, 4, 5}, torch::kUInt8), 3);
    EXPECT_TRUE(torch::equal(packed, torch::tensor({209, 88}, torch::kUInt8)));
    // 4-bit: low nibble first.
    const auto nibbles = packCodes(torch::tensor({0xA, 0x3}, torch::kUInt8), 4);
    EXPECT_EQ(nibbles[0].item<int>(), 0x3A);
}

TEST(Packing, RejectsBadInput)
{
    EXPECT_THROW(packCodes(torch::tensor({4}, torch::kUInt8), 2), Error);
    EXPECT_THROW(packCodes(torch::tensor({1}, torch::kUInt8), 9), Error);
    EXPECT_THROW(unpackCodes(torch::zeros({1}, torch::kUInt8), 4, 3), Error);
}

TEST(Packing, SizeAndDequantizeOfAStoredLayer)
{
    torch::manual_seed(4);
    const auto w = torch::randn({256, 1024});
    struct Case {
        QuantGrid grid;
        double bitsPerWeight; // bits + (16 + zero bits) / group columns
    };
    const std::vector<Case> cases = {
        {{4, false, 128, 1.0}, 4.0 + 20.0 / 128},           // the 4.156 of W4 g128
        {{3, true, 64, 1.0}, 3.0 + 16.0 / 64},              // symmetric: no stored zeros
        {{2, false, 0, 1.0}, 2.0 + 18.0 / 1024},            // per channel
        {{8, false, -1, 1.0}, 8.0 + 24.0 / (256.0 * 1024)}, // per tensor
    };
    for (const auto& c : cases) {
        const auto p = findWeightParams(w, c.grid);
        const auto scale = expandToColumns(p.scale, 256, 1024);
        const auto zero = expandToColumns(p.zero, 256, 1024);
        const auto q = makeQuantizedLinear(quantCodes(w, scale, zero, c.grid.bits), p, c.grid, {});
        EXPECT_NEAR(q.bitsPerWeight(), c.bitsPerWeight, 1e-9) << c.grid.bits;
        EXPECT_EQ(q.scales.scalar_type(), torch::kHalf);
        // Bit-exact: the stored fp16 scales are the ones the fake quantizer used.
        EXPECT_TRUE(torch::equal(q.dequantize(), fakeQuantize(w, scale, zero, c.grid.bits)));
    }
}

TEST(Packing, PermutationRestoresColumnOrder)
{
    // Stored column p holds weight column perm[p]; dequantize() returns the original order.
    QuantGrid grid{4, true, 2, 1.0};
    const auto codes = torch::tensor({1, 2, 3, 4, 5, 6, 7, 8}, torch::kUInt8).reshape({2, 4});
    QuantParams p{torch::ones({2, 2}), torch::full({2, 2}, 8.0)};
    const auto perm = torch::tensor({2, 0, 3, 1}, torch::kLong);
    const auto q = makeQuantizedLinear(codes, p, grid, perm);
    const auto expect =
        torch::tensor({2.0f, 4.0f, 1.0f, 3.0f, 6.0f, 8.0f, 5.0f, 7.0f}).reshape({2, 4}) - 8.0f;
    EXPECT_TRUE(torch::equal(q.dequantize(), expect));
    EXPECT_EQ(q.bytes(), 4u + 8u + 32u); // codes, 4 fp16 scales, 4 int64
}
