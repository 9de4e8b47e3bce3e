#include "family/corpus.h"

#include "family/rdata.h"
#include "text/unicode.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/sha256.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <utility>

namespace ptq::data {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

std::string jsonString(const Json& j, const char* key, const std::string& file)
{
    const auto it = j.find(key);
    if (it == j.end() || !it->is_string())
        throw Error(file, key, "missing or not a string");
    return it->get<std::string>();
}

void checkUtf8(const std::string& text, const std::string& file, const std::string& object)
{
    if (const auto bad = text::firstInvalidUtf8(text))
        throw Error(file, object, "ill-formed UTF-8 at byte " + std::to_string(*bad));
}

std::string_view trimmed(std::string_view s)
{
    const auto isSpace = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && isSpace(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && isSpace(s.back()))
        s.remove_suffix(1);
    return s;
}

std::vector<std::string> sortedFiles(const std::string& dir, const std::string& extension)
{
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw Error(dir, "", "not a directory (run cmake/fetch_corpora.sh first)");
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.is_regular_file() && entry.path().extension() == extension)
            files.push_back(entry.path().string());
    }
    std::sort(files.begin(), files.end());
    return files;
}

// The file names that data.js require()s, in book order: `require( './chapter_1.json' )`.
std::vector<std::string> requiredFiles(const std::string& script, const std::string& path)
{
    std::vector<std::string> names;
    for (size_t pos = script.find("require("); pos != std::string::npos;
         pos = script.find("require(", pos + 1)) {
        const size_t open = script.find_first_of("'\"", pos);
        if (open == std::string::npos)
            break;
        const size_t close = script.find(script[open], open + 1);
        if (close == std::string::npos)
            throw Error(path, "byte " + std::to_string(open), "unterminated require() path");
        std::string name = script.substr(open + 1, close - open - 1);
        if (name.rfind("./", 0) == 0)
            name = name.substr(2);
        if (name.find('/') != std::string::npos || name.find("..") != std::string::npos)
            throw Error(path, name, "require() path outside the data folder");
        names.push_back(name);
    }
    if (names.empty())
        throw Error(path, "", "lists no section files");
    return names;
}

std::string zeroPadded(long long n)
{
    char buf[24];
    std::snprintf(buf, sizeof buf, "%03lld", n);
    return buf;
}

bool isRomanNumeral(std::string_view s)
{
    return !s.empty() && s.find_first_not_of("IVXLC") == std::string_view::npos;
}

bool isNumber(std::string_view s)
{
    return !s.empty() && s.size() < 6 &&
           s.find_first_not_of("0123456789") == std::string_view::npos;
}

} // namespace

const char* splitName(Split split)
{
    switch (split) {
    case Split::Train:
        return "train";
    case Split::Valid:
        return "valid";
    case Split::Test:
        return "test";
    }
    return "train";
}

std::string reflowParagraphs(std::string_view text)
{
    std::string out;
    std::string paragraph;
    auto flush = [&] {
        if (paragraph.empty())
            return;
        if (!out.empty())
            out.push_back('\n');
        out += paragraph;
        paragraph.clear();
    };
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos)
            end = text.size();
        const std::string_view line = trimmed(text.substr(start, end - start));
        if (line.empty())
            flush();
        for (size_t i = 0; i < line.size(); ++i) {
            const bool blank = line[i] == ' ' || line[i] == '\t' || line[i] == '\r';
            if (i == 0 && !paragraph.empty())
                paragraph.push_back(' ');
            if (!blank)
                paragraph.push_back(line[i]);
            else if (paragraph.back() != ' ')
                paragraph.push_back(' ');
        }
        start = end + 1;
    }
    flush();
    return out;
}

bool isChapterHeading(std::string_view line)
{
    line = trimmed(line);
    for (std::string_view word : {std::string_view("CHAPTER "), std::string_view("Chapter ")}) {
        if (line.substr(0, word.size()) != word)
            continue;
        std::string_view number = trimmed(line.substr(word.size()));
        if (!number.empty() && number.back() == '.')
            number.remove_suffix(1);
        return isNumber(number) || isRomanNumeral(number);
    }
    return false;
}

std::vector<Document> splitNovelChapters(const std::string& novel, const std::string& bookTitle,
                                         const std::vector<std::string>& lines,
                                         const std::string& file)
{
    std::vector<Document> docs;
    std::string block;
    std::string heading;
    int chapter = 0;
    auto flush = [&] {
        std::string text = reflowParagraphs(block);
        block.clear();
        if (text.empty())
            return;
        Document doc;
        doc.source = "austen";
        doc.id = chapter == 0 ? novel + "_front" : novel + "_ch" + zeroPadded(chapter);
        doc.title = chapter == 0 ? bookTitle : bookTitle + ", " + heading;
        checkUtf8(text, file, novel + " (" + doc.id + ")");
        doc.text = std::move(text);
        docs.push_back(std::move(doc));
    };
    for (const std::string& line : lines) {
        if (isChapterHeading(line)) {
            flush();
            ++chapter;
            heading = std::string(trimmed(line));
        }
        block += line;
        block.push_back('\n');
    }
    flush();
    return docs;
}

std::vector<Document> loadSotu(const std::string& dir)
{
    std::vector<Document> docs;
    for (const std::string& path : sortedFiles(dir, ".json")) {
        const Json j = readJsonFile(path);
        if (!j.is_object())
            throw Error(path, "", "not a JSON object");
        std::string stem = fs::path(path).stem().string();
        // "<year>_<name>_<party>": the id keeps year and name.
        const size_t cut = stem.rfind('_');
        if (cut == std::string::npos || cut < 5 || !isNumber(stem.substr(0, 4)))
            throw Error(path, "", "file name is not <year>_<name>_<party>.json");
        Document doc;
        doc.source = "sotu";
        doc.id = stem.substr(0, cut);
        const std::string name = jsonString(j, "name", path);
        const std::string year = stem.substr(0, 4);
        doc.title = "State of the Union address, " + year + ", " + name;
        doc.text = reflowParagraphs(jsonString(j, "text", path));
        if (doc.text.empty())
            throw Error(path, "text", "empty address");
        checkUtf8(doc.text, path, "text");
        docs.push_back(std::move(doc));
    }
    if (docs.empty())
        throw Error(dir, "", "no address files (*.json)");
    return docs;
}

std::vector<Document> loadMobyDick(const std::string& dir)
{
    const std::string script = (fs::path(dir) / "data.js").string();
    std::vector<Document> docs;
    for (const std::string& name : requiredFiles(readFileBytes(script), script)) {
        const std::string path = (fs::path(dir) / name).string();
        const Json j = readJsonFile(path);
        const std::string chapter = jsonString(j, "chapter", path);
        const std::string title = jsonString(j, "title", path);
        if (chapter == "Contents")
            continue; // the table of contents repeats the chapter titles
        Document doc;
        doc.source = "moby-dick";
        std::string text = reflowParagraphs(jsonString(j, "text", path));
        if (isNumber(chapter)) {
            doc.id = "chapter_" + zeroPadded(std::stoll(chapter));
            doc.title = "CHAPTER " + chapter + ". " + title;
            text = doc.title + "\n" + text; // like the printed book (and the Austen chapters)
        } else {
            doc.id = chapter;
            std::transform(doc.id.begin(), doc.id.end(), doc.id.begin(),
                           [](unsigned char c) { return char(std::tolower(c)); });
            doc.title = chapter + (title.empty() ? "" : ". " + title);
        }
        checkUtf8(text, path, "text");
        doc.text = std::move(text);
        docs.push_back(std::move(doc));
    }
    return docs;
}

std::vector<Document> loadAusten(const std::string& dir)
{
    static const std::pair<const char*, const char*> kNovels[] = {
        {"sensesensibility", "Sense and Sensibility"}, {"prideprejudice", "Pride and Prejudice"},
        {"mansfieldpark", "Mansfield Park"},           {"emma", "Emma"},
        {"northangerabbey", "Northanger Abbey"},       {"persuasion", "Persuasion"}};
    const std::string base = (fs::path(dir) / "Rdata").string();
    const rdata::LazyLoadDb db(base);
    std::vector<Document> docs;
    for (const auto& [name, title] : kNovels) {
        const rdata::RObjectPtr obj = db.load(name);
        std::vector<std::string> lines;
        for (auto& line : rdata::characterVector(*obj, base + ".rdb", name))
            lines.push_back(line.value_or(""));
        auto chapters = splitNovelChapters(name, title, lines, base + ".rdb");
        if (chapters.size() < 2)
            throw Error(base + ".rdb", name, "no chapter headings found");
        std::move(chapters.begin(), chapters.end(), std::back_inserter(docs));
    }
    return docs;
}

std::vector<Document> loadCorpus(const std::string& fetchDir)
{
    const fs::path raw = fs::path(fetchDir) / "raw";
    std::vector<Document> docs = loadSotu((raw / "sotu").string());
    std::vector<Document> moby = loadMobyDick((raw / "moby-dick").string());
    std::vector<Document> austen = loadAusten((raw / "janeaustenr").string());
    std::move(moby.begin(), moby.end(), std::back_inserter(docs));
    std::move(austen.begin(), austen.end(), std::back_inserter(docs));
    return docs;
}

uint64_t stableHash(std::string_view bytes)
{
    uint64_t h = 0xcbf29ce484222325ull; // FNV-1a 64 offset basis
    for (unsigned char c : bytes) {
        h ^= c;
        h *= 0x100000001b3ull; // FNV-1a 64 prime
    }
    // splitmix64 finaliser (Steele, Lea, Flood 2014)
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

Split assignSplit(const Document& doc, double validFrac, double testFrac)
{
    if (!(validFrac >= 0 && testFrac >= 0 && validFrac + testFrac <= 1))
        throw Error("", "split fractions",
                    "valid " + std::to_string(validFrac) + " and test " + std::to_string(testFrac) +
                        " must be >= 0 and sum to at most 1");
    std::string key = doc.source;
    key.push_back('\0');
    key += doc.id;
    const double u = double(stableHash(key) >> 11) * 0x1.0p-53; // uniform in [0, 1)
    if (u < testFrac)
        return Split::Test;
    if (u < testFrac + validFrac)
        return Split::Valid;
    return Split::Train;
}

SplitStats writeSplits(const std::vector<Document>& docs, const std::string& outDir,
                       double validFrac, double testFrac)
{
    std::error_code ec;
    fs::create_directories(outDir, ec);
    if (ec)
        throw Error(outDir, "", "cannot create directory: " + ec.message());
    std::array<std::ofstream, 3> files;
    std::array<std::string, 3> paths;
    for (int s = 0; s < 3; ++s) {
        paths[s] = (fs::path(outDir) / (std::string(splitName(Split(s))) + ".txt")).string();
        files[s].open(paths[s], std::ios::binary | std::ios::trunc);
        if (!files[s])
            throw Error(paths[s], "", "cannot open for writing");
    }
    SplitStats stats;
    Json manifest = {{"valid_fraction", validFrac},
                     {"test_fraction", testFrac},
                     {"split_hash", "fnv1a64+splitmix64 of source '\\0' id"}};
    Json list = Json::array();
    std::set<std::pair<std::string, std::string>> seen;
    for (const Document& doc : docs) {
        if (!seen.emplace(doc.source, doc.id).second)
            throw Error(outDir, doc.source + "/" + doc.id, "document id listed twice");
        const Split split = assignSplit(doc, validFrac, testFrac);
        const int s = int(split);
        if (stats.documents[s] > 0)
            files[s] << '\n';
        files[s] << doc.text << '\n';
        stats.documents[s] += 1;
        stats.bytes[s] += doc.text.size();
        list.push_back({{"source", doc.source},
                        {"id", doc.id},
                        {"title", doc.title},
                        {"split", splitName(split)},
                        {"bytes", doc.text.size()},
                        {"sha256", sha256Hex(doc.text)}});
    }
    for (int s = 0; s < 3; ++s) {
        if (!files[s].flush())
            throw Error(paths[s], "", "write failed");
        manifest["splits"][splitName(Split(s))] = {{"documents", stats.documents[s]},
                                                   {"bytes", stats.bytes[s]}};
    }
    manifest["documents"] = std::move(list);
    const std::string manifestPath = (fs::path(outDir) / "manifest.json").string();
    std::ofstream out(manifestPath, std::ios::binary | std::ios::trunc);
    out << manifest.dump(2) << '\n';
    if (!out.flush())
        throw Error(manifestPath, "", "write failed");
    return stats;
}

} // namespace ptq::data
