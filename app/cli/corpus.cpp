// ptqbench corpus / make-tasks: the fetched corpora (cmake/fetch_corpora.sh) turned into the
// deterministic document-level train/valid/test split files that training, calibration and
// evaluation read, and into the bundled zero-shot tasks (test documents only).

#include "family/corpus.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "family/task_gen.h"

#include <cstdio>
#include <filesystem>

namespace ptq::cli {

int runCorpus(const std::vector<std::string>& args)
{
    Args a(args, {"fetched", "out"}, {});
    const std::vector<data::Document> docs = data::loadCorpus(a.str("fetched"));
    const std::string out = a.str("out");
    const data::SplitStats stats = data::writeSplits(docs, out);
    std::printf("%-6s %10s %12s\n", "split", "documents", "bytes");
    for (data::Split s : {data::Split::Train, data::Split::Valid, data::Split::Test})
        std::printf("%-6s %10zu %12zu\n", data::splitName(s), stats.documents[size_t(s)],
                    stats.bytes[size_t(s)]);
    std::printf("wrote %s/{train,valid,test}.txt and manifest.json\n", out.c_str());
    return 0;
}

int runMakeTasks(const std::vector<std::string>& args)
{
    Args a(args, {"fetched", "out", "seed", "examples"}, {});
    data::TaskGenConfig config;
    config.seed =
        static_cast<uint64_t>(a.integer("seed", static_cast<int64_t>(config.seed), 0, INT64_MAX));
    config.maxExamples = a.integer("examples", config.maxExamples, 0, 1 << 24);
    const std::vector<data::Document> all = data::loadCorpus(a.str("fetched"));
    // Only held-out test documents feed the tasks; the generator re-checks the split too.
    std::vector<data::Document> test;
    for (const auto& d : all)
        if (data::assignSplit(d, config.validFrac, config.testFrac) == data::Split::Test)
            test.push_back(d);
    const std::string out = a.str("out");
    std::error_code ec;
    std::filesystem::create_directories(out, ec);
    const auto lastWord = data::generateLastWordTask(test, config);
    const auto nextSentence = data::generateNextSentenceTask(test, config);
    data::writeTaskJsonl(out + "/lastword.jsonl", lastWord);
    data::writeTaskJsonl(out + "/nextsentence.jsonl", nextSentence);
    std::printf("test documents  %zu of %zu\n", test.size(), all.size());
    std::printf("lastword        %zu examples -> %s/lastword.jsonl\n", lastWord.size(),
                out.c_str());
    std::printf("nextsentence    %zu examples -> %s/nextsentence.jsonl\n", nextSentence.size(),
                out.c_str());
    return 0;
}

} // namespace ptq::cli
