// ptqbench: the PTQ Workbench engine, headless.

#include "cli/args.h"
#include "cli/commands.h"
#include "engine/progress.h"
#include "util/error.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

namespace {

const char* kUsage = R"(usage: ptqbench <command> [options]

commands:
  info  --model DIR [--json]
        architecture, parameter count, dtype and layers of a checkpoint folder
  eval  --model DIR --text FILE [--seqlen N] [--windows N] [--random N] [--seed S]
        [--dtype fp32|bf16] [--threads N] [--json] [--quiet]
        perplexity in the GPTQ convention: rows joined with blank lines, tokenized once,
        non-overlapping windows of N tokens (default 2048), mean next-token NLL;
        --windows N scores the first N windows only; --random N samples N windows at
        seeded random offsets (the C4 convention)
  make-default --out DIR --text FILE [--dtype F32|F16|BF16] [--seed S]
        write the built-in byte-level bigram LLaMA checkpoint learned from FILE
  demo  --out DIR --text FILE [--seqlen N]
        build the default model in three dtypes, evaluate them, write DIR/results.csv
  train --tokenizer DIR --train FILE --valid FILE --out DIR [--hidden N] [--layers N]
        [--heads N] [--kv-heads N] [--intermediate N] [--tie] [--seqlen N] [--batch N]
        [--steps N] [--lr X] [--min-lr-ratio X] [--warmup N] [--weight-decay X]
        [--grad-clip X] [--seed S] [--eval-every N] [--eval-batches N]
        [--checkpoint-every N] [--dtype F32|BF16|F16] [--threads N (default 1)] [--resume]
        [--quiet]
        train a LLaMA-architecture model from scratch (AdamW, warmup + cosine schedule);
        DIR gets config.json, model.safetensors, the tokenizer, train_log.csv,
        valid_log.csv and a resumable train_state/ (Ctrl-C saves it; --resume continues)
  corpus --fetched DIR --out DIR
        split the corpora fetched by cmake/fetch_corpora.sh into train/valid/test files
        (whole documents, assigned by a stable hash of their id)
  train-tokenizer --text FILE --out DIR [--vocab N] [--coverage X]
        learn a SentencePiece-style byte-fallback BPE tokenizer (default 4096 pieces)
  quantize --model DIR --recipe NAME|FILE.json --calib FILE --eval FILE [--wbits B]
        [--group G] [--sym] [--abits A] [--kvbits K] [--calib-samples N (128)]
        [--calib-seqlen N (2048)] [--seqlen N (2048)] [--windows N] [--seed S]
        [--threads N] [--json] [--layers-csv FILE] [--quiet]
        quantize block by block along the quantized trajectory, then report bits/weight,
        real size, FP and quantized perplexity, KL(FP || quantized), top-1 agreement and
        the per-layer errors; recipes: rtn, gptq, awq, smoothquant, quarot-rtn,
        quarot-gptq, awq-gptq, smoothquant-gptq, quip, omniquant
)";

} // namespace

int main(int argc, char** argv)
{
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        std::fputs(kUsage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const std::string command = argv[1];
    const std::vector<std::string> args(argv + 2, argv + argc);
    try {
        if (command == "info")
            return ptq::cli::runInfo(args);
        if (command == "eval")
            return ptq::cli::runEval(args);
        if (command == "make-default")
            return ptq::cli::runMakeDefault(args);
        if (command == "demo")
            return ptq::cli::runDemo(args);
        if (command == "train")
            return ptq::cli::runTrain(args);
        if (command == "corpus")
            return ptq::cli::runCorpus(args);
        if (command == "quantize")
            return ptq::cli::runQuantize(args);
        if (command == "train-tokenizer")
            return ptq::cli::runTrainTokenizer(args);
        std::fprintf(stderr, "ptqbench: unknown command '%s'\n\n%s", command.c_str(), kUsage);
        return 2;
    } catch (const ptq::cli::UsageError& e) {
        std::fprintf(stderr, "ptqbench %s: %s\n", command.c_str(), e.what());
        return 2;
    } catch (const ptq::Cancelled& e) {
        std::fprintf(stderr, "ptqbench %s: %s\n", command.c_str(), e.what());
        return 130;
    } catch (const ptq::Error& e) {
        std::fprintf(stderr, "ptqbench %s: error: %s\n", command.c_str(), e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ptqbench %s: internal error: %s\n", command.c_str(), e.what());
        return 1;
    }
}
