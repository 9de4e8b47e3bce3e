// ptqbench corpus: the fetched corpora (cmake/fetch_corpora.sh) turned into the deterministic
// document-level train/valid/test split files that training, calibration and evaluation read.

#include "data/corpus.h"
#include "cli/args.h"
#include "cli/commands.h"

#include <cstdio>

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

} // namespace ptq::cli
