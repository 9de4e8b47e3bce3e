// ptqbench demo: the whole job on the bundled default in one command. Builds the default
// model in three storage dtypes from the training part of a text, evaluates each on the
// held-out part in exact (fp32) and fast (bf16) compute, prints a table and writes
// results.csv (label,size_mb,metric) for the size-versus-perplexity plot.

#include "cli/args.h"
#include "cli/commands.h"
#include "eval/perplexity.h"
#include "family/default_model.h"
#include "model/checkpoint.h"
#include "model/model.h"
#include "text/tokenizer.h"
#include "util/error.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace ptq::cli {

namespace {

// Every fifth line is held out for evaluation; the rest trains the model.
void splitText(const std::string& path, const std::string& trainPath, const std::string& evalPath)
{
    std::ifstream in(path);
    if (!in)
        throw Error(path, "", "cannot open the demo text");
    std::ofstream train(trainPath), eval(evalPath);
    std::string line;
    for (int i = 0; std::getline(in, line); ++i)
        (i % 5 == 4 ? eval : train) << line << "\n";
    if (!train || !eval)
        throw Error(trainPath, "", "cannot write the demo's split text");
}

} // namespace

int runDemo(const std::vector<std::string>& args)
{
    Args a(args, {"out", "text", "seqlen"}, {});
    namespace fs = std::filesystem;
    const fs::path out = a.str("out");
    const int64_t seqlen = a.integer("seqlen", 128, 8, 1 << 20);
    fs::create_directories(out);
    const std::string trainPath = (out / "train.txt").string();
    const std::string evalPath = (out / "eval.txt").string();
    splitText(a.str("text"), trainPath, evalPath);

    const std::string csvPath = (out / "results.csv").string();
    std::ofstream csv(csvPath);
    csv << "label,size_mb,metric\n";
    std::printf("%-22s %10s %10s %12s %10s\n", "model", "size MB", "compute", "perplexity",
                "tokens/s");
    for (DType storage : {DType::F32, DType::F16, DType::BF16}) {
        const std::string name = std::string("default-") + dtypeName(storage);
        const std::string dir = (out / name).string();
        writeDefaultModel(dir, DefaultModelSpec{trainPath, storage, 0, 0.02});
        auto checkpoint = Checkpoint::open(dir);
        Tokenizer tokenizer = Tokenizer::fromDir(dir);
        const std::vector<int32_t> tokens = tokenizeTextFile(tokenizer, evalPath);
        const double sizeMb = checkpoint->bytesOnDisk() / 1e6;
        for (torch::ScalarType compute : {torch::kFloat, torch::kBFloat16}) {
            Model model(checkpoint, ForwardOptions{compute});
            PerplexityConfig pc;
            pc.seqlen = seqlen;
            const PerplexityResult r = evaluatePerplexity(model, tokens, pc);
            const char* computeName = compute == torch::kFloat ? "fp32" : "bf16";
            std::printf("%-22s %10.3f %10s %12.4f %10.0f\n", name.c_str(), sizeMb, computeName,
                        r.perplexity, r.tokensPerSecond);
            csv << name << " " << computeName << "," << sizeMb << "," << r.perplexity << "\n";
        }
    }
    if (!csv)
        throw Error(csvPath, "", "cannot write the results");
    std::printf("results: %s\n", csvPath.c_str());
    return 0;
}

} // namespace ptq::cli
