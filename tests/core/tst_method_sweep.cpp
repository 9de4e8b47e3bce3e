// Every transform of the registry, with RTN and with GPTQ, at W2/W3/W4/W8 through the whole
// pipeline on a tiny random LLaMA, against named error bounds. (The weight quantizers alone
// are swept over the same widths in tst_quant_registry.)
//
// The bounds come from the uniform-noise model of rounding: a b-bit asymmetric grid over a
// row of 64 Gaussian weights (range about 4.8 sigma) has step D = 4.8 sigma / (2^b - 1) and
// relative mean squared error D^2 / 12 / sigma^2: W8 3e-5, W4 8.5e-3, W3 0.039, W2 0.21.
// A block's output error compounds the errors of its seven linears through attention and
// the gated MLP and transforms redistribute error between linears; each bound is twice the
// single-linear figure (measured here: at most 1.3e-5, 3.8e-3, 0.019 and 0.11).

#include "core/llama_reference.h"

#include "engine/quantize.h"
#include "model/checkpoint.h"
#include "model/checkpoint_writer.h"
#include "model/model.h"
#include "quant/registry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>

using namespace ptq;
using namespace ptq::testing;

namespace {

double blockErrorBound(int bits)
{
    switch (bits) {
    case 8:
        return 6e-5;
    case 4:
        return 0.017;
    case 3:
        return 0.08;
    default:
        return 0.42;
    }
}

double meanBlockError(const QuantizeResult& r)
{
    double sum = 0;
    for (const auto& b : r.blocks) {
        EXPECT_TRUE(std::isfinite(b.outputError));
        sum += b.outputError;
    }
    return sum / double(r.blocks.size());
}

} // namespace

TEST(MethodSweep, EveryTransformWithRtnAndGptqAtEveryWidth)
{
    TempDir dir("method-sweep");
    ModelConfig config = tinyLlamaConfig(128, 128);
    config.hiddenSize = 64;
    config.numHeads = 4;
    config.numKvHeads = 2;
    config.headDim = 16;
    writeLlamaCheckpoint(dir.path(), config, randomLlamaWeights(config, 21));
    const Model model(Checkpoint::open(dir.path()));
    const auto calib = randomTokens(3000, int32_t(config.vocabSize), 4);

    ASSERT_FALSE(blockTransforms().empty());
    for (const auto& t : blockTransforms())
        for (const std::string quantizer : {"rtn", "gptq"}) {
            std::map<int, double> errors;
            for (int bits : {2, 3, 4, 8}) {
                const std::string label = t.name + "+" + quantizer + " W" + std::to_string(bits);
                SCOPED_TRACE(label);
                QuantizeConfig qc;
                qc.recipe.name = label;
                qc.recipe.transforms = {{t.name, nlohmann::json::object()}};
                qc.recipe.weightQuantizer = {quantizer, nlohmann::json::object()};
                qc.recipe.weightGrid = QuantGrid{bits, false, 0, 1.0};
                qc.calibSamples = 8;
                qc.calibSeqlen = 32;
                qc.seed = 3;
                qc.recipe.validate(label);
                const QuantizeResult r = quantizeModel(model, calib, qc);
                ASSERT_EQ(int64_t(r.blocks.size()), config.numLayers);
                ASSERT_EQ(int64_t(r.layers.size()), 7 * config.numLayers);
                for (const auto& l : r.layers)
                    EXPECT_EQ(l.bits, bits) << l.layer;
                errors[bits] = meanBlockError(r);
                std::printf("%-28s mean block output error %.3g (bound %.3g)\n", label.c_str(),
                            errors[bits], blockErrorBound(bits));
                EXPECT_LE(errors[bits], blockErrorBound(bits));
            }
            // More bits, less error, for every recipe.
            EXPECT_LT(errors[8], errors[4]) << t.name << "+" << quantizer;
            EXPECT_LT(errors[4], errors[3]) << t.name << "+" << quantizer;
            EXPECT_LT(errors[3], errors[2]) << t.name << "+" << quantizer;
        }
}
