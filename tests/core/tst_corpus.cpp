// Corpus documents and splits: SHA-256 against the FIPS 180-4 examples, split assignment that
// depends on nothing but the document, split fractions on 10,000 synthetic documents, the
// split files and manifest, chapter splitting of hand-made Austen-, Moby-Dick- and SOTU-like
// sources, and the real fetched corpora when present.

#include "family/corpus.h"
#include "test_files.h"
#include "util/sha256.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <set>

using namespace ptq::data;
using ptq::test::expectPtqError;
using ptq::test::readFile;
using ptq::test::TempDir;
using ptq::test::writeFile;

namespace {

std::vector<Document> syntheticDocs(size_t n)
{
    std::vector<Document> docs;
    for (size_t i = 0; i < n; ++i)
        docs.push_back({i % 3 == 0 ? "sotu" : "austen", "doc_" + std::to_string(i), "",
                        "text " + std::to_string(i)});
    return docs;
}

std::filesystem::path corpusRoot()
{
    const char* env = std::getenv("PTQ_CORPUS_DIR");
    return env ? std::filesystem::path(env)
               : std::filesystem::path(PTQ_SOURCE_DIR) / ".cache/corpora";
}

} // namespace

TEST(Corpus, SplitIsAFunctionOfTheDocumentAlone)
{
    std::vector<Document> docs = syntheticDocs(2000);
    std::map<std::string, Split> before;
    for (const auto& d : docs)
        before[d.source + "/" + d.id] = assignSplit(d);
    std::mt19937 rng(7);
    std::shuffle(docs.begin(), docs.end(), rng);
    docs.resize(500); // other documents gone, the rest reordered
    for (auto& d : docs) {
        d.text += " edited"; // the text does not take part either
        EXPECT_EQ(assignSplit(d), before[d.source + "/" + d.id]) << d.id;
    }
    // The source takes part: the same id under another source is hashed apart.
    int differ = 0;
    for (int i = 0; i < 200; ++i) {
        Document a{"sotu", "x" + std::to_string(i), "", ""};
        Document b{"austen", a.id, "", ""};
        differ += assignSplit(a, 0.3, 0.3) != assignSplit(b, 0.3, 0.3);
    }
    EXPECT_GT(differ, 50);
}

TEST(Corpus, SplitFractionsAreApproximatelyRight)
{
    const std::vector<Document> docs = syntheticDocs(10000);
    for (const auto& [valid, test] : {std::pair{0.05, 0.05}, std::pair{0.2, 0.1}}) {
        std::array<int, 3> counts{};
        for (const auto& d : docs)
            counts[int(assignSplit(d, valid, test))] += 1;
        // Binomial standard deviation sqrt(p(1-p)/n) is at most 0.005 here; 4.5 sigma.
        const double tol = 4.5 * std::sqrt(0.25 / 10000.0);
        EXPECT_NEAR(counts[1] / 10000.0, valid, tol);
        EXPECT_NEAR(counts[2] / 10000.0, test, tol);
        EXPECT_NEAR(counts[0] / 10000.0, 1 - valid - test, tol);
    }
    expectPtqError([] { assignSplit({"a", "b", "", ""}, 0.7, 0.5); }, "", "sum to at most 1");
    expectPtqError([] { assignSplit({"a", "b", "", ""}, -0.1, 0.1); }, "", "must be >= 0");
}

TEST(Corpus, WriteSplitsFilesAndManifest)
{
    TempDir dir("ptq-corpus");
    std::vector<Document> docs = syntheticDocs(60);
    docs[0].text = "First paragraph.\nSecond paragraph with caf\xC3\xA9.";
    const SplitStats stats = writeSplits(docs, dir.path().string(), 0.2, 0.2);
    std::array<std::string, 3> expected;
    std::array<size_t, 3> bytes{}, count{};
    for (const auto& d : docs) {
        const int s = int(assignSplit(d, 0.2, 0.2));
        expected[s] += (count[s] ? "\n" : "") + d.text + "\n";
        bytes[s] += d.text.size();
        count[s] += 1;
    }
    for (int s = 0; s < 3; ++s) {
        EXPECT_EQ(readFile(dir.file(std::string(splitName(Split(s))) + ".txt")), expected[s]);
        EXPECT_EQ(stats.bytes[s], bytes[s]);
        EXPECT_EQ(stats.documents[s], count[s]);
        EXPECT_GT(count[s], 0u);
    }
    const auto manifest = nlohmann::json::parse(readFile(dir.file("manifest.json")));
    ASSERT_EQ(manifest["documents"].size(), docs.size());
    const auto& m0 = manifest["documents"][0];
    EXPECT_EQ(m0["id"], "doc_0");
    EXPECT_EQ(m0["bytes"], docs[0].text.size());
    EXPECT_EQ(m0["sha256"], ptq::sha256Hex(docs[0].text));
    EXPECT_EQ(m0["split"], splitName(assignSplit(docs[0], 0.2, 0.2)));
    EXPECT_EQ(manifest["splits"]["train"]["documents"], count[0]);

    docs.push_back(docs[3]);
    expectPtqError([&] { writeSplits(docs, dir.path().string()); }, "doc_3", "listed twice");
}

TEST(Corpus, ReflowJoinsHardWrappedLines)
{
    EXPECT_EQ(reflowParagraphs("  One line\nwrapped   here.\r\n\n\n\nNext\tpara.\n"),
              "One line wrapped here.\nNext para.");
    EXPECT_EQ(reflowParagraphs("\n\n"), "");
    EXPECT_EQ(reflowParagraphs("single"), "single");
}

TEST(Corpus, AustenLikeChapters)
{
    EXPECT_TRUE(isChapterHeading("CHAPTER I"));
    EXPECT_TRUE(isChapterHeading("Chapter 12"));
    EXPECT_TRUE(isChapterHeading("  CHAPTER XLII. "));
    EXPECT_FALSE(isChapterHeading("Chapter and verse were quoted"));
    EXPECT_FALSE(isChapterHeading("CHAPTERS 1"));
    EXPECT_FALSE(isChapterHeading("The CHAPTER I"));

    const std::vector<std::string> lines = {"A NOVEL",
                                            "",
                                            "By Someone",
                                            "",
                                            "",
                                            "VOLUME I",
                                            "",
                                            "CHAPTER I",
                                            "",
                                            "",
                                            "It was a truth universally",
                                            "acknowledged.",
                                            "",
                                            "Second paragraph.",
                                            "",
                                            "",
                                            "CHAPTER II",
                                            "",
                                            "Short.",
                                            "",
                                            "VOLUME II",
                                            "",
                                            "CHAPTER I",
                                            "",
                                            "Again one."};
    const auto docs = splitNovelChapters("novel", "A Novel", lines, "novel.rdb");
    ASSERT_EQ(docs.size(), 4u);
    EXPECT_EQ(docs[0].id, "novel_front");
    EXPECT_EQ(docs[0].text, "A NOVEL\nBy Someone\nVOLUME I");
    EXPECT_EQ(docs[1].id, "novel_ch001");
    EXPECT_EQ(docs[1].title, "A Novel, CHAPTER I");
    EXPECT_EQ(docs[1].text,
              "CHAPTER I\nIt was a truth universally acknowledged.\nSecond paragraph.");
    EXPECT_EQ(docs[2].id, "novel_ch002");
    EXPECT_EQ(docs[2].text, "CHAPTER II\nShort.\nVOLUME II");
    EXPECT_EQ(docs[3].id, "novel_ch003"); // numbered through the book, not per volume
    EXPECT_EQ(docs[3].text, "CHAPTER I\nAgain one.");
    for (const auto& d : docs)
        EXPECT_EQ(d.source, "austen");

    expectPtqError(
        [] {
            splitNovelChapters("bad", "Bad", {"CHAPTER 1", "caf\xC3"}, "bad.rdb");
        },
        "bad.rdb", "ill-formed UTF-8");
}

TEST(Corpus, MobyDickLikeSections)
{
    TempDir dir("ptq-moby");
    writeFile(dir.file("data.js"),
              "'use strict';\nvar data = new Array( 4 );\n"
              "data[ 0 ] = require( './contents.json' );\n"
              "data[ 1 ] = require( './etymology.json' );\n"
              "data[ 2 ] = require( './chapter_1.json' );\n"
              "data[ 3 ] = require( './chapter_2.json' );\n"
              "data[ 4 ] = require( './epilogue.json' );\nmodule.exports = data;\n");
    auto section = [&](const std::string& file, const nlohmann::json& j) {
        writeFile(dir.file(file), j.dump());
    };
    section("contents.json", {{"chapter", "Contents"}, {"title", ""}, {"text", "CONTENTS"}});
    section("etymology.json",
            {{"chapter", "Etymology"}, {"title", "(Usher.)"}, {"text", "ETYMOLOGY.\n\nWhale."}});
    section("chapter_1.json", {{"chapter", "1"},
                               {"title", "Loomings."},
                               {"text", "Call me Ishmael.\n\nSome years ago\u2014never mind."}});
    section("chapter_2.json",
            {{"chapter", "2"}, {"title", "The Carpet-Bag."}, {"text", "I stuffed a shirt."}});
    section("epilogue.json",
            {{"chapter", "Epilogue"}, {"title", ""}, {"text", "The drama's done."}});
    const auto docs = loadMobyDick(dir.path().string());
    ASSERT_EQ(docs.size(), 4u); // the table of contents is left out
    EXPECT_EQ(docs[0].id, "etymology");
    EXPECT_EQ(docs[0].text, "ETYMOLOGY.\nWhale.");
    EXPECT_EQ(docs[1].id, "chapter_001");
    EXPECT_EQ(docs[1].title, "CHAPTER 1. Loomings.");
    EXPECT_EQ(docs[1].text,
              "CHAPTER 1. Loomings.\nCall me Ishmael.\nSome years ago\u2014never mind.");
    EXPECT_EQ(docs[2].id, "chapter_002");
    EXPECT_EQ(docs[3].id, "epilogue");

    writeFile(dir.file("chapter_2.json"), "{\"chapter\": 2}");
    expectPtqError([&] { loadMobyDick(dir.path().string()); }, "chapter_2.json", "chapter");
    writeFile(dir.file("data.js"), "module.exports = [];");
    expectPtqError([&] { loadMobyDick(dir.path().string()); }, "data.js", "no section files");
}

TEST(Corpus, SotuLikeAddresses)
{
    TempDir dir("ptq-sotu");
    writeFile(
        dir.file("1790_george_washington_n.json"),
        R"({"year":1790,"name":"George Washington","party":"none","text":"Fellow-Citizens."})");
    writeFile(
        dir.file("1961_john_f_kennedy_d.json"),
        R"({"year":1961,"name":"John F. Kennedy","party":"Democratic","text":"Mr. Speaker."})");
    const auto docs = loadSotu(dir.path().string());
    ASSERT_EQ(docs.size(), 2u);
    EXPECT_EQ(docs[0].id, "1790_george_washington");
    EXPECT_EQ(docs[1].id, "1961_john_f_kennedy");
    EXPECT_EQ(docs[1].title, "State of the Union address, 1961, John F. Kennedy");
    EXPECT_EQ(docs[0].text, "Fellow-Citizens.");
    writeFile(dir.file("1962_broken_d.json"), "{\"name\": \"x\", \"text\": ");
    expectPtqError([&] { loadSotu(dir.path().string()); }, "1962_broken_d.json", "not valid JSON");
    expectPtqError([&] { loadSotu(dir.file("missing")); }, "missing", "not a directory");
}

TEST(Corpus, RealCorpora)
{
    const auto root = corpusRoot();
    if (!std::filesystem::exists(root / ".complete"))
        GTEST_SKIP() << "no fetched corpora at " << root << " (run cmake/fetch_corpora.sh)";
    const std::vector<Document> docs = loadCorpus(root.string());
    std::map<std::string, size_t> perSource;
    std::set<std::string> ids;
    for (const auto& d : docs) {
        perSource[d.source] += 1;
        EXPECT_TRUE(ids.insert(d.source + "/" + d.id).second) << d.id;
        EXPECT_FALSE(d.text.empty()) << d.id;
        EXPECT_EQ(d.text.find("\n\n"), std::string::npos) << d.id;
    }
    // 1790-2021 addresses; Moby-Dick's 135 chapters plus etymology, extracts and epilogue;
    // the six novels' 269 chapters plus six front matters.
    EXPECT_GT(perSource["sotu"], 200u);
    EXPECT_EQ(perSource["moby-dick"], 138u);
    EXPECT_EQ(perSource["austen"], 275u);
    EXPECT_EQ(docs.front().id, "1790_george_washington");

    TempDir out("ptq-corpus-real");
    const SplitStats stats = writeSplits(docs, out.path().string());
    for (int s = 0; s < 3; ++s) {
        std::cout << splitName(Split(s)) << ": " << stats.documents[s] << " documents, "
                  << stats.bytes[s] << " bytes\n";
        EXPECT_GT(stats.documents[s], 10u);
    }
    for (const auto& [source, n] : perSource)
        std::cout << source << ": " << n << " documents\n";
}
