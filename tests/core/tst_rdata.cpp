// R serialization reader: payloads written byte by byte in the test following R Internals
// ("Serialization Formats"), compressed with zlib the way R does (.rds gzip, .rdb length
// header + zlib), read back; broken inputs each throw ptq::Error naming the file; and the
// real janeaustenr database when the fetched corpora are present.

#include "family/rdata.h"
#include "test_files.h"

#include <gtest/gtest.h>

#include <zlib.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

using namespace ptq::rdata;
using ptq::test::expectPtqError;
using ptq::test::TempDir;

namespace {

const std::string kFile = "handmade.rds";

// Item header flags: type in the low byte, bit 9 attributes, bit 10 tag, levels from bit 12.
constexpr uint32_t kAttr = 1u << 9;
constexpr uint32_t kTag = 1u << 10;
constexpr uint32_t kAsciiLevels = 64u << 12;
constexpr uint32_t kUtf8Levels = 8u << 12;
constexpr uint32_t kLatin1Levels = 4u << 12;

class Xdr {
public:
    explicit Xdr(int version = 3)
    {
        m_out = "X\n";
        u32(uint32_t(version));
        u32(0x040201); // written by R 4.2.1
        u32(0x030500); // readable from R 3.5.0
        if (version == 3) {
            u32(5);
            m_out += "UTF-8";
        }
    }
    Xdr& u32(uint32_t v)
    {
        for (int shift = 24; shift >= 0; shift -= 8)
            m_out.push_back(char((v >> shift) & 0xff));
        return *this;
    }
    Xdr& real(double d)
    {
        uint64_t bits;
        std::memcpy(&bits, &d, sizeof bits);
        for (int shift = 56; shift >= 0; shift -= 8)
            m_out.push_back(char((bits >> shift) & 0xff));
        return *this;
    }
    Xdr& chars(const std::string& s, uint32_t levels = kAsciiLevels)
    {
        u32(9 | levels).u32(uint32_t(s.size()));
        m_out += s;
        return *this;
    }
    Xdr& naString() { return u32(9).u32(0xffffffffu); }
    Xdr& strings(const std::vector<std::string>& v, uint32_t flags = 0)
    {
        u32(16 | flags).u32(uint32_t(v.size()));
        for (const auto& s : v)
            chars(s);
        return *this;
    }
    Xdr& symbol(const std::string& name) { return u32(1).chars(name); }
    Xdr& nil() { return u32(254); }
    const std::string& bytes() const { return m_out; }

private:
    std::string m_out;
};

std::string zlibCompress(const std::string& raw, int windowBits)
{
    z_stream zs{};
    EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    std::string out(deflateBound(&zs, uLong(raw.size())) + 32, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
    zs.avail_in = uInt(raw.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = uInt(out.size());
    EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}
std::string gzip(const std::string& raw)
{
    return zlibCompress(raw, 15 + 16);
}
// An .rdb entry: 4-byte big-endian uncompressed length, then the zlib stream.
std::string rdbEntry(const std::string& raw)
{
    std::string out;
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(char((raw.size() >> shift) & 0xff));
    return out + zlibCompress(raw, 15);
}

RObjectPtr read(const std::string& bytes)
{
    return unserialize(decompress(bytes, kFile, "obj"), kFile, "obj");
}

} // namespace

TEST(RData, CharacterVectorWithEncodingsAndNa)
{
    Xdr x;
    x.u32(16).u32(4);
    x.chars("plain").chars("caf\xC3\xA9", kUtf8Levels).naString().chars("\xE9t\xE9", kLatin1Levels);
    for (const std::string& packed : {x.bytes(), gzip(x.bytes()), rdbEntry(x.bytes())}) {
        const RObjectPtr obj = read(packed);
        ASSERT_EQ(obj->type, RType::String);
        ASSERT_EQ(obj->strings.size(), 4u);
        EXPECT_EQ(obj->strings[0], "plain");
        EXPECT_EQ(obj->strings[1], "caf\xC3\xA9");
        EXPECT_FALSE(obj->strings[2].has_value());       // NA_STRING
        EXPECT_EQ(obj->strings[3], "\xC3\xA9t\xC3\xA9"); // Latin-1 converted to UTF-8
    }
}

TEST(RData, VersionTwoAndNumericVectors)
{
    Xdr x(2);
    x.u32(19).u32(3);                                           // list of 3
    x.u32(13).u32(3).u32(1).u32(uint32_t(-7)).u32(0x80000000u); // 1L, -7L, NA_integer_
    x.u32(14).u32(2).real(1.5).real(-0.25);                     // c(1.5, -0.25)
    x.u32(10).u32(2).u32(1).u32(0);                             // c(TRUE, FALSE)
    const RObjectPtr obj = read(x.bytes());
    ASSERT_EQ(obj->type, RType::List);
    ASSERT_EQ(obj->elements.size(), 3u);
    EXPECT_EQ(obj->elements[0]->integers, (std::vector<int32_t>{1, -7, kNaInteger}));
    EXPECT_EQ(obj->elements[1]->reals, (std::vector<double>{1.5, -0.25}));
    EXPECT_EQ(obj->elements[2]->type, RType::Logical);
    EXPECT_EQ(obj->elements[2]->integers, (std::vector<int32_t>{1, 0}));
}

TEST(RData, ListWithNamesAttribute)
{
    Xdr x;
    x.u32(19 | kAttr).u32(2);
    x.strings({"a", "b"});
    x.u32(13).u32(1).u32(42);
    x.u32(2 | kTag).symbol("names").strings({"words", "answer"}).nil(); // attributes pairlist
    const RObjectPtr obj = read(gzip(x.bytes()));
    EXPECT_EQ(obj->names(), (std::vector<std::string>{"words", "answer"}));
    ASSERT_NE(obj->element("answer"), nullptr);
    EXPECT_EQ(obj->element("answer")->integers, std::vector<int32_t>{42});
    EXPECT_EQ(obj->element("words")->strings.size(), 2u);
    EXPECT_EQ(obj->element("missing"), nullptr);
}

// A data frame with a factor column. Symbols are entered in the reference table as they
// appear (levels=1, class=2, names=3, row.names=4); the frame's "class" tag is a packed
// back-reference (index in the flags) and a second one uses the long form (index 0 in the
// flags, the index in the next integer).
TEST(RData, DataFrameFactorAndBackReferences)
{
    Xdr x;
    x.u32(19 | kAttr | (1u << 8)).u32(2);
    // column 1: factor(c("b", "a", "b", NA))
    x.u32(13 | kAttr | (1u << 8)).u32(4).u32(2).u32(1).u32(2).u32(0x80000000u);
    x.u32(2 | kTag).symbol("levels").strings({"a", "b"});
    x.u32(2 | kTag).symbol("class").strings({"factor"}).nil();
    // column 2: c(0.5, 1.5, 2.5, 3.5)
    x.u32(14).u32(4).real(0.5).real(1.5).real(2.5).real(3.5);
    x.u32(2 | kTag).symbol("names").strings({"kind", "value"});
    x.u32(2 | kTag).u32(255 | (2u << 8)).strings({"data.frame"}); // class via packed ref 2
    x.u32(2 | kTag).symbol("row.names").u32(13).u32(2).u32(0x80000000u).u32(uint32_t(-4)).nil();
    const RObjectPtr df = read(rdbEntry(x.bytes()));
    EXPECT_TRUE(df->inherits("data.frame"));
    EXPECT_EQ(dataFrameRows(*df, kFile, "df"), 4u);
    const RObject* kind = df->element("kind");
    ASSERT_NE(kind, nullptr);
    EXPECT_TRUE(kind->inherits("factor"));
    const auto labels = characterVector(*kind, kFile, "kind");
    ASSERT_EQ(labels.size(), 4u);
    EXPECT_EQ(labels[0], "b");
    EXPECT_EQ(labels[1], "a");
    EXPECT_FALSE(labels[3].has_value());
    EXPECT_EQ(df->element("value")->reals[3], 3.5);

    Xdr y; // long-form back-reference: list(levels = 1L) where the tag refers to symbol 1
    y.u32(2 | kTag).symbol("levels").u32(13).u32(1).u32(7);
    y.u32(2 | kTag).u32(255).u32(1).u32(13).u32(1).u32(8).nil();
    const RObjectPtr pl = read(y.bytes());
    EXPECT_EQ(pl->tags, (std::vector<std::string>{"levels", "levels"}));
    expectPtqError([&] { characterVector(*pl, kFile, "pl"); }, kFile, "not a character vector");
}

TEST(RData, LazyLoadDatabaseRoundTrip)
{
    TempDir dir("ptq-rdata");
    Xdr first;
    first.strings({"line one", "line two"});
    Xdr second;
    second.u32(13).u32(1).u32(5);
    const std::string e1 = rdbEntry(first.bytes()), e2 = rdbEntry(second.bytes());
    ptq::test::writeFile(dir.file("Rdata.rdb"), e1 + e2);
    Xdr index; // list(variables = list(text = c(0, n1), number = c(n1, n2)), compressed = TRUE)
    index.u32(19 | kAttr).u32(2);
    index.u32(19 | kAttr).u32(2);
    index.u32(13).u32(2).u32(0).u32(uint32_t(e1.size()));
    index.u32(13).u32(2).u32(uint32_t(e1.size())).u32(uint32_t(e2.size()));
    index.u32(2 | kTag).symbol("names").strings({"text", "number"}).nil();
    index.u32(10).u32(1).u32(1);
    index.u32(2 | kTag).u32(255 | (1u << 8)).strings({"variables", "compressed"}).nil();
    ptq::test::writeFile(dir.file("Rdata.rdx"), gzip(index.bytes()));

    const LazyLoadDb db(dir.file("Rdata"));
    EXPECT_EQ(db.names(), (std::vector<std::string>{"text", "number"}));
    EXPECT_EQ(db.load("text")->strings[1], "line two");
    EXPECT_EQ(db.load("number")->integers, std::vector<int32_t>{5});
    expectPtqError([&] { db.load("nothing"); }, "Rdata.rdx", "no such object");

    ptq::test::writeFile(dir.file("Rdata.rdb"), e1); // the second entry is now past the end
    const LazyLoadDb truncated(dir.file("Rdata"));
    expectPtqError([&] { truncated.load("number"); }, "Rdata.rdb", "runs past the end");
}

TEST(RData, MalformedInputsThrowNamingTheFile)
{
    Xdr good;
    good.strings({"alpha", "beta"});
    const std::string raw = good.bytes();
    expectPtqError([&] { read(raw.substr(0, raw.size() - 3)); }, kFile, "truncated");
    const std::string packed = rdbEntry(raw);
    expectPtqError([&] { read(packed.substr(0, packed.size() - 6)); }, kFile,
                   "truncated compressed data");
    const std::string gz = gzip(raw);
    expectPtqError([&] { read(gz.substr(0, gz.size() / 2)); }, kFile, "truncated compressed data");
    const auto parse = [](const std::string& bytes) { return unserialize(bytes, kFile, "obj"); };
    expectPtqError([&] { parse("Y\n" + raw.substr(2)); }, kFile, "bad magic");
    expectPtqError([&] { parse("B\n" + raw.substr(2)); }, kFile, "not supported");
    expectPtqError([&] { read("Y\n" + raw.substr(2)); }, kFile, "bad magic"); // not compressed
    std::string wrongVersion = raw;
    wrongVersion[5] = 9;
    expectPtqError([&] { parse(wrongVersion); }, kFile, "unsupported serialization version 9");
    const std::string bomb = std::string("\x7f\xff\xff\xff", 4) + zlibCompress(raw, 15);
    expectPtqError([&] { read(bomb); }, kFile, "length header announces");

    Xdr unknown;
    unknown.u32(99).u32(0);
    expectPtqError([&] { read(unknown.bytes()); }, kFile, "unknown or unsupported SEXP type 99");
    Xdr env; // environments are not data
    env.u32(4).u32(0);
    expectPtqError([&] { read(env.bytes()); }, kFile, "SEXP type 4");

    Xdr absurd;
    absurd.u32(16).u32(0x7fffffff).chars("x");
    expectPtqError([&] { read(absurd.bytes()); }, kFile, "exceeds");
    Xdr negative;
    negative.u32(13).u32(uint32_t(-5));
    expectPtqError([&] { read(negative.bytes()); }, kFile, "negative vector length");
    Xdr hugeString;
    hugeString.u32(16).u32(1).u32(9).u32(0x7ffffff0);
    expectPtqError([&] { read(hugeString.bytes()); }, kFile, "truncated");

    Xdr badRef;
    badRef.u32(19).u32(1).u32(255 | (3u << 8));
    expectPtqError([&] { read(badRef.bytes()); }, kFile, "back-reference 3");

    Xdr deep; // list(list(list(...))) 100000 levels: must fail cleanly, not overflow the stack
    for (int i = 0; i < 100000; ++i)
        deep.u32(19).u32(1);
    deep.nil();
    expectPtqError([&] { read(deep.bytes()); }, kFile, "nesting deeper than");

    const std::string badHeader = std::string("\x00\x00\x01\x00\x78", 5) + "not zlib at all";
    expectPtqError([&] { read(badHeader); }, kFile, "corrupt compressed data");
    std::string lying = rdbEntry(raw);
    lying[3] = char(lying[3] + 1); // the header claims one byte more than the stream holds
    expectPtqError([&] { read(lying); }, kFile, "the header says");

    try {
        read(absurd.bytes());
    } catch (const ptq::Error& e) {
        EXPECT_EQ(e.file(), kFile);
        EXPECT_EQ(e.object(), "obj");
        EXPECT_NE(std::string(e.what()).find("byte offset"), std::string::npos) << e.what();
    }
}

TEST(RData, RealJaneAustenDatabase)
{
    const char* env = std::getenv("PTQ_CORPUS_DIR");
    const std::filesystem::path root =
        env ? std::filesystem::path(env) : std::filesystem::path(PTQ_SOURCE_DIR) / ".cache/corpora";
    const auto base = root / "raw/janeaustenr/Rdata";
    if (!std::filesystem::exists(base.string() + ".rdx"))
        GTEST_SKIP() << "no fetched corpora at " << root << " (run cmake/fetch_corpora.sh)";
    const LazyLoadDb db(base.string());
    for (const char* novel : {"emma", "mansfieldpark", "northangerabbey", "persuasion",
                              "prideprejudice", "sensesensibility"})
        EXPECT_TRUE(db.contains(novel)) << novel;
    const RObjectPtr pp = db.load("prideprejudice");
    const auto lines = characterVector(*pp, base.string(), "prideprejudice");
    // The novel runs to about 13,000 printed lines (122,000 words at ~10 words a line).
    EXPECT_GT(lines.size(), 10000u);
    EXPECT_LT(lines.size(), 16000u);
    std::string firstNonEmpty;
    for (const auto& line : lines) {
        if (line && !line->empty()) {
            firstNonEmpty = *line;
            break;
        }
    }
    EXPECT_EQ(firstNonEmpty, "PRIDE AND PREJUDICE");
    std::cout << "prideprejudice: " << lines.size() << " lines\n";
}
