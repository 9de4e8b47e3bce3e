// ptqbench: the PTQ Workbench engine, headless.

#include "cli/analysis_cmds.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "util/error.h"
#include "util/progress.h"

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
        [--quiet] [--experts E [--top-k K (default 2)] [--aux-loss X (default 0.01)]]
        [--arch mamba [--state N (16)] [--expand N (2)] [--conv-kernel N (4)]]
        train a LLaMA-architecture model from scratch (AdamW, warmup + cosine schedule);
        with --experts, a Mixtral-style Mixture of Experts (E experts of width
        --intermediate per layer, top-K routing, load-balancing loss weight X);
        with --arch mamba, a Mamba (v1) model of --layers blocks, inner width
        --expand x --hidden and N states per channel;
        DIR gets config.json, model.safetensors, the tokenizer, train_log.csv,
        valid_log.csv and a resumable train_state/ (Ctrl-C saves it; --resume continues)
  corpus --fetched DIR --out DIR
        split the corpora fetched by cmake/fetch_corpora.sh into train/valid/test files
        (whole documents, assigned by a stable hash of their id)
  make-tasks --fetched DIR --out DIR [--seed S] [--examples N (1000)]
        generate the bundled zero-shot tasks (lastword.jsonl, nextsentence.jsonl) from the
        held-out test documents of the fetched corpora
  zeroshot --model DIR --tasks FILE[,FILE...] [--layout generic|piqa|arc|hellaswag|
        winogrande|boolq] [--examples N] [--threads N] [--json] [--quiet]
        lm-eval-style acc (summed log-likelihood) and acc_norm on JSONL task files
  train-tokenizer --text FILE --out DIR [--vocab N] [--coverage X]
        learn a SentencePiece-style byte-fallback BPE tokenizer (default 4096 pieces)
  quantize --model DIR --recipe NAME|FILE.json --calib FILE --eval FILE [--wbits B]
        [--group G] [--sym] [--abits A] [--kvbits K] [--calib-samples N (128)]
        [--calib-seqlen N (2048)] [--seqlen N (2048)] [--windows N] [--seed S]
        [--threads N] [--json] [--layers-csv FILE] [--quiet]
        quantize block by block along the quantized trajectory, then report bits/weight,
        real size, FP and quantized perplexity, KL(FP || quantized), top-1 agreement and
        the per-layer errors; recipes: see ptqbench list
  sweep SPEC.json [--db FILE] [--retry-failed] [--dry-run] [--quiet]
  sweep --model DIR [--model DIR...] --recipe R[,R...] --calib FILE --eval FILE[,FILE...]
        [--task FILE[,FILE...] [--task-layout L] [--task-examples N]] [--wbits 2,3,4]
        [--group 0,128] [--abits 16,8] [--kvbits 16,4] [--calib-samples N] [--calib-seqlen N]
        [--seqlen N] [--windows N] [--seed S] [--threads N] [--db FILE] [--retry-failed]
        every combination models x recipes x wbits x groups x abits x kvbits, recorded in the
        results store (default $PTQ_STORE or ~/.local/share/ptq-workbench/results.db); a
        rerun skips finished runs and resumes the rest; Ctrl-C cancels the current run
        (exit 130); --dry-run lists the plan and each run's recorded status
  list [--json]
        the architectures the engine runs and what each offers (fold points, hooks), the
        weight quantizers and transforms with what they need and their relative cost, and
        the built-in strategies
  runs list [--db FILE] [--status S] [--recipe R] [--json]
  runs show ID [--db FILE] [--layers] [--json]
  runs interrupt ID... | --stale [--db FILE]
        the recorded runs: status, grid, bits/weight, perplexity and KL on the first
        evaluation text; show adds every metric and, with --layers, the per-layer errors
  merge A.db B.db ... -o C.db
        copy the runs of several stores into one (created when missing), matched by run
        fingerprint; prints how many runs each input added, updated or skipped
  pareto --metric M [--db FILE] [--dataset SHA|PATH] [--x bytes|bpw|active-bytes] [--model FP|NAME]
        [--per-model] [--per-recipe] [--budget-mb N] [--iso-size TOL] [--json]
        Pareto fronts of finished runs, size (packed bytes or bits/weight) against a
        metric (perplexity, kl_mean, acc, ...); --budget-mb: the best run of at most N MB;
        --iso-size TOL: models of about the same size (relative gap <= TOL) where the
        larger model runs at fewer bits, and which one wins
  export [--db FILE] [--format csv|json|latex] [-o FILE|--out FILE] [--status S]
        [--recipe R] [--layers RUN_ID]
        the runs table (one column per metric) or one run's per-layer errors; a file is
        written atomically and recorded in the store
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
        if (command == "make-tasks")
            return ptq::cli::runMakeTasks(args);
        if (command == "zeroshot")
            return ptq::cli::runZeroShot(args);
        if (command == "train-tokenizer")
            return ptq::cli::runTrainTokenizer(args);
        if (command == "sweep")
            return ptq::cli::runSweepCommand(args);
        if (command == "runs")
            return ptq::cli::runRunsCommand(args);
        if (command == "merge")
            return ptq::cli::runMerge(args);
        if (command == "pareto")
            return ptq::cli::runPareto(args);
        if (command == "export")
            return ptq::cli::runExport(args);
        if (command == "list")
            return ptq::cli::runList(args);
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
