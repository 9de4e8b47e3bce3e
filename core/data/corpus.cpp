#include "data/corpus.h"

#include "data/rdata.h"
#include "text/unicode.h"
#include "util/error.h"
#include "util/file_io.h"

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

std::string sha256Hex(std::string_view bytes)
{
    // FIPS 180-4, section 6.2: the first 32 bits of the fractional parts of the cube roots
    // of the first 64 primes, and of the square roots of the first 8 for the initial state.
    static const uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2};
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const auto rotr = [](uint32_t x, int n) { return (x >> n) | (x << (32 - n)); };
    // Padding: 0x80, zeros, then the message length in bits as a 64-bit big-endian number.
    std::string tail(bytes.substr(bytes.size() - bytes.size() % 64));
    tail.push_back(char(0x80));
    while (tail.size() % 64 != 56)
        tail.push_back('\0');
    const uint64_t bits = uint64_t(bytes.size()) * 8;
    for (int i = 7; i >= 0; --i)
        tail.push_back(char((bits >> (8 * i)) & 0xff));
    const size_t fullBlocks = bytes.size() / 64;
    for (size_t block = 0; block < fullBlocks + tail.size() / 64; ++block) {
        const auto* p = reinterpret_cast<const unsigned char*>(
            block < fullBlocks ? bytes.data() + 64 * block
                               : tail.data() + 64 * (block - fullBlocks));
        uint32_t w[64];
        for (int t = 0; t < 16; ++t)
            w[t] = (uint32_t(p[4 * t]) << 24) | (uint32_t(p[4 * t + 1]) << 16) |
                   (uint32_t(p[4 * t + 2]) << 8) | p[4 * t + 3];
        for (int t = 16; t < 64; ++t) {
            const uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
            const uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (int t = 0; t < 64; ++t) {
            const uint32_t t1 =
                hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[t] + w[t];
            const uint32_t t2 =
                (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            hh = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
    }
    std::string hex;
    char buf[9];
    for (uint32_t v : h) {
        std::snprintf(buf, sizeof buf, "%08x", v);
        hex += buf;
    }
    return hex;
}

} // namespace ptq::data
