// Reader and writer of the safetensors format: round trips, and one test per kind of broken
// file, each asserting a ptq::Error that names the file and the problem.

#include "io/safetensors.h"
#include "test_files.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace ptq;
using ptq::test::expectPtqError;
using ptq::test::safetensorsBytes;
using ptq::test::TempDir;
using ptq::test::writeFile;

namespace {

std::string bytesOf(const void* p, std::size_t n)
{
    return std::string(static_cast<const char*>(p), n);
}

// Writes a raw file and returns its path.
std::string rawFile(const TempDir& dir, const std::string& name, const std::string& header,
                    const std::string& data = "")
{
    const std::string path = dir.file(name);
    writeFile(path, safetensorsBytes(header, data));
    return path;
}

void expectOpenFails(const std::string& path, const std::string& phrase)
{
    expectPtqError([&] { SafetensorsFile f(path); }, path, phrase);
}

} // namespace

TEST(Safetensors, DTypeTableIsConsistent)
{
    const DType all[] = {DType::Bool, DType::U8,  DType::I8,  DType::F8_E4M3, DType::F8_E5M2,
                         DType::I16,  DType::U16, DType::F16, DType::BF16,    DType::I32,
                         DType::U32,  DType::F32, DType::I64, DType::U64,     DType::F64};
    for (DType t : all) {
        DType back = DType::Bool;
        ASSERT_TRUE(parseDType(dtypeName(t), back)) << dtypeName(t);
        EXPECT_EQ(back, t);
    }
    EXPECT_EQ(dtypeSize(DType::BF16), 2u);
    EXPECT_EQ(dtypeSize(DType::F64), 8u);
    DType ignored;
    EXPECT_FALSE(parseDType("F33", ignored));
    EXPECT_FALSE(parseDType("f32", ignored)); // the spec's spellings are upper case
}

TEST(Safetensors, RoundTripKeepsBytesShapesAndMetadata)
{
    TempDir dir;
    const std::string path = dir.file("model.safetensors");
    const float f32[6] = {1.5f, -2.0f, 3.25f, 0.0f, -0.0f, 1e-30f};
    const uint16_t f16[3] = {0x3c00, 0xc000, 0x7bff};          // 1, -2, 65504
    const uint16_t bf16[4] = {0x3f80, 0xbf80, 0x7f80, 0x0001}; // 1, -1, inf, denormal
    const int64_t i64[2] = {INT64_MIN, 42};
    const std::map<std::string, std::string> meta = {{"format", "pt"}, {"note", "ünïcode"}};
    writeSafetensors(path,
                     {{"w.f32", DType::F32, {2, 3}, f32},
                      {"w.f16", DType::F16, {3}, f16},
                      {"w.bf16", DType::BF16, {2, 1, 2}, bf16},
                      {"w.i64", DType::I64, {2}, i64}},
                     meta);

    SafetensorsFile f(path);
    EXPECT_EQ(f.path(), path);
    EXPECT_EQ(f.metadata(), meta);
    ASSERT_EQ(f.tensors().size(), 4u);
    // Data offsets follow the order given to the writer.
    EXPECT_EQ(f.tensors()[0].name, "w.f32");
    EXPECT_EQ(f.tensors()[3].name, "w.i64");

    const TensorInfo& a = f.at("w.f32");
    EXPECT_EQ(a.dtype, DType::F32);
    EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(a.numel(), 6);
    EXPECT_EQ(bytesOf(f.data(a), a.byteSize()), bytesOf(f32, sizeof f32));
    const TensorInfo& h = f.at("w.f16");
    EXPECT_EQ(h.dtype, DType::F16);
    EXPECT_EQ(bytesOf(f.data(h), h.byteSize()), bytesOf(f16, sizeof f16));
    const TensorInfo& b = f.at("w.bf16");
    EXPECT_EQ(b.dtype, DType::BF16);
    EXPECT_EQ(b.shape, (std::vector<int64_t>{2, 1, 2}));
    EXPECT_EQ(bytesOf(f.data(b), b.byteSize()), bytesOf(bf16, sizeof bf16));
    const TensorInfo& l = f.at("w.i64");
    EXPECT_EQ(l.dtype, DType::I64);
    EXPECT_EQ(bytesOf(f.data(l), l.byteSize()), bytesOf(i64, sizeof i64));

    // The header is padded so the data section starts 8-byte aligned, and nothing else.
    const std::string raw = test::readFile(path);
    uint64_t n = 0;
    std::memcpy(&n, raw.data(), 8);
    EXPECT_EQ(n % 8, 0u);
    EXPECT_EQ(f.fileSize(), raw.size());
    EXPECT_EQ(raw.size(), 8 + n + sizeof f32 + sizeof f16 + sizeof bf16 + sizeof i64);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(f.data(a)) % 8, 0u);
}

TEST(Safetensors, WriterIsDeterministicAndLeavesNoTemporaryFile)
{
    TempDir dir;
    const float x[2] = {1, 2};
    const std::vector<TensorToWrite> tensors = {{"b", DType::F32, {2}, x},
                                                {"a", DType::F32, {1}, x}};
    writeSafetensors(dir.file("one.safetensors"), tensors, {{"k", "v"}});
    writeSafetensors(dir.file("two.safetensors"), tensors, {{"k", "v"}});
    EXPECT_EQ(test::readFile(dir.file("one.safetensors")),
              test::readFile(dir.file("two.safetensors")));
    // Overwriting replaces the file in one step.
    writeSafetensors(dir.file("one.safetensors"), {{"c", DType::F32, {2}, x}});
    SafetensorsFile f(dir.file("one.safetensors"));
    ASSERT_EQ(f.tensors().size(), 1u);
    EXPECT_EQ(f.tensors()[0].name, "c");
    int files = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        EXPECT_EQ(e.path().string().find(".tmp-"), std::string::npos) << e.path();
        ++files;
    }
    EXPECT_EQ(files, 2);
}

TEST(Safetensors, ZeroSizeAndScalarTensors)
{
    TempDir dir;
    const std::string path = dir.file("z.safetensors");
    const double scalar = 3.0;
    writeSafetensors(path, {{"empty", DType::F16, {0, 4}, nullptr},
                            {"scalar", DType::F64, {}, &scalar},
                            {"empty2", DType::I8, {5, 0}, nullptr}});
    SafetensorsFile f(path);
    EXPECT_EQ(f.at("empty").numel(), 0);
    EXPECT_EQ(f.at("empty").byteSize(), 0u);
    EXPECT_EQ(f.at("scalar").numel(), 1);
    double back = 0;
    std::memcpy(&back, f.data(f.at("scalar")), sizeof back);
    EXPECT_EQ(back, 3.0);
    EXPECT_EQ(f.at("empty2").shape, (std::vector<int64_t>{5, 0}));
}

TEST(Safetensors, FileWithoutTensorsOpens)
{
    TempDir dir;
    writeSafetensors(dir.file("none.safetensors"), {});
    SafetensorsFile f(dir.file("none.safetensors"));
    EXPECT_TRUE(f.tensors().empty());
    EXPECT_TRUE(f.metadata().empty());
    EXPECT_EQ(f.find("x"), nullptr);
}

TEST(Safetensors, HandWrittenHeaderWithPaddingAndHoleIsAccepted)
{
    TempDir dir;
    // Trailing spaces after the JSON, and 4 unused bytes between the two tensors.
    const std::string path = rawFile(dir, "hole.safetensors",
                                     R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                                     R"("b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}}   )",
                                     "AB....CD");
    SafetensorsFile f(path);
    EXPECT_EQ(bytesOf(f.data(f.at("a")), 2), "AB");
    EXPECT_EQ(bytesOf(f.data(f.at("b")), 2), "CD");
}

TEST(Safetensors, TensorsAreListedInOffsetOrder)
{
    TempDir dir;
    const std::string path = rawFile(dir, "order.safetensors",
                                     R"({"first":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},)"
                                     R"("second":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})",
                                     "abcd");
    SafetensorsFile f(path);
    ASSERT_EQ(f.tensors().size(), 2u);
    EXPECT_EQ(f.tensors()[0].name, "second");
    EXPECT_EQ(bytesOf(f.data(f.at("first")), 2), "cd");
}

TEST(Safetensors, AtNamesMissingTensor)
{
    TempDir dir;
    const float x = 1;
    writeSafetensors(dir.file("a.safetensors"), {{"x", DType::F32, {1}, &x}});
    SafetensorsFile f(dir.file("a.safetensors"));
    expectPtqError([&] { f.at("nope"); }, "a.safetensors", "'nope'");
}

// ---- broken files: one test per problem ----

TEST(SafetensorsBad, MissingFile)
{
    TempDir dir;
    expectOpenFails(dir.file("absent.safetensors"), "cannot open");
}

TEST(SafetensorsBad, TruncatedBelowEightBytes)
{
    TempDir dir;
    const std::string path = dir.file("short.safetensors");
    writeFile(path, std::string("\x10\0\0", 3));
    expectOpenFails(path, "shorter than the 8-byte header length");
}

TEST(SafetensorsBad, HeaderLengthZero)
{
    TempDir dir;
    expectOpenFails(rawFile(dir, "zero.safetensors", ""), "header length is 0");
}

TEST(SafetensorsBad, HeaderLengthLargerThanFile)
{
    TempDir dir;
    const std::string path = dir.file("long.safetensors");
    std::string bytes = safetensorsBytes("{}");
    bytes[0] = 100; // claims 100 header bytes, 2 present
    writeFile(path, bytes);
    expectOpenFails(path, "beyond end of file");
}

TEST(SafetensorsBad, HeaderLengthOverCap)
{
    TempDir dir;
    const std::string path = dir.file("huge.safetensors");
    std::string bytes = safetensorsBytes("{}");
    const uint64_t n = SafetensorsFile::kMaxHeaderBytes + 1;
    for (int i = 0; i < 8; ++i)
        bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    writeFile(path, bytes);
    expectOpenFails(path, "exceeds the cap");
}

TEST(SafetensorsBad, InvalidJson)
{
    TempDir dir;
    expectOpenFails(rawFile(dir, "json.safetensors", R"({"a": {"dtype": )"), "not valid JSON");
}

TEST(SafetensorsBad, HeaderNotAnObject)
{
    TempDir dir;
    expectOpenFails(rawFile(dir, "array.safetensors", "[1, 2]"), "JSON object");
}

TEST(SafetensorsBad, EntryNotAnObject)
{
    TempDir dir;
    expectOpenFails(rawFile(dir, "entry.safetensors", R"({"w": 5})"), "'w'");
}

TEST(SafetensorsBad, UnknownDType)
{
    TempDir dir;
    expectOpenFails(rawFile(dir, "dtype.safetensors",
                            R"({"w":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", "abcd"),
                    "unknown dtype 'F33'");
}

TEST(SafetensorsBad, MissingDataOffsets)
{
    TempDir dir;
    expectOpenFails(
        rawFile(dir, "fields.safetensors", R"({"w":{"dtype":"F32","shape":[1]}})", "abcd"),
        "data_offsets");
}

TEST(SafetensorsBad, MistypedShape)
{
    TempDir dir;
    expectOpenFails(rawFile(dir, "shape.safetensors",
                            R"({"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})", "abcd"),
                    "shape");
}

TEST(SafetensorsBad, ShapeDoesNotMatchByteSpan)
{
    TempDir dir;
    expectOpenFails(rawFile(dir, "span.safetensors",
                            R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", "abcd"),
                    "shape/byte-span mismatch");
}

TEST(SafetensorsBad, SpanBeyondEndOfFile)
{
    TempDir dir;
    expectOpenFails(rawFile(dir, "eof.safetensors",
                            R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "abcd"),
                    "beyond end of file");
}

TEST(SafetensorsBad, BeginAfterEnd)
{
    TempDir dir;
    expectOpenFails(rawFile(dir, "order.safetensors",
                            R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}})", "abcd"),
                    "is after end");
}

TEST(SafetensorsBad, OverlappingSpans)
{
    TempDir dir;
    expectOpenFails(rawFile(dir, "overlap.safetensors",
                            R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                            R"("b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})",
                            "abcd"),
                    "overlaps tensor 'a'");
}

TEST(SafetensorsBad, NegativeDimension)
{
    TempDir dir;
    expectOpenFails(rawFile(dir, "neg.safetensors",
                            R"({"w":{"dtype":"U8","shape":[-1,-4],"data_offsets":[0,4]}})", "abcd"),
                    "not a non-negative integer");
}

TEST(SafetensorsBad, NonIntegerDimension)
{
    TempDir dir;
    expectOpenFails(rawFile(dir, "float.safetensors",
                            R"({"w":{"dtype":"U8","shape":[2.5],"data_offsets":[0,2]}})", "ab"),
                    "not a non-negative integer");
}

TEST(SafetensorsBad, ShapeProductOverflow)
{
    TempDir dir;
    expectOpenFails(
        rawFile(dir, "overflow.safetensors",
                R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})"),
        "overflows");
}

TEST(SafetensorsBad, NonStringMetadata)
{
    TempDir dir;
    expectOpenFails(rawFile(dir, "meta.safetensors", R"({"__metadata__":{"step":5}})"),
                    "metadata value must be a string");
}

TEST(SafetensorsBad, DuplicateTensorNames)
{
    TempDir dir;
    expectOpenFails(rawFile(dir, "dup.safetensors",
                            R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                            R"("w":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})",
                            "abcd"),
                    "duplicate key 'w'");
}

// ---- writer refusals ----

TEST(SafetensorsWrite, NullDataIsRefused)
{
    TempDir dir;
    const std::string path = dir.file("null.safetensors");
    expectPtqError(
        [&] {
            writeSafetensors(path, {{"w", DType::F32, {2}, nullptr}});
        },
        path, "data is null");
    EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(SafetensorsWrite, DuplicateNamesAreRefused)
{
    TempDir dir;
    const std::string path = dir.file("dup.safetensors");
    const float x = 0;
    expectPtqError(
        [&] {
            writeSafetensors(path, {{"w", DType::F32, {1}, &x}, {"w", DType::F32, {1}, &x}});
        },
        path, "duplicate tensor name");
}

TEST(SafetensorsWrite, ReservedNameAndNegativeDimAreRefused)
{
    TempDir dir;
    const std::string path = dir.file("bad.safetensors");
    const float x = 0;
    expectPtqError(
        [&] {
            writeSafetensors(path, {{"__metadata__", DType::F32, {1}, &x}});
        },
        path, "reserved");
    expectPtqError(
        [&] {
            writeSafetensors(path, {{"w", DType::F32, {-1}, &x}});
        },
        path, "negative");
}

TEST(SafetensorsWrite, UnwritableFolderIsReported)
{
    TempDir dir;
    const std::string path = dir.file("no/such/folder/w.safetensors");
    const float x = 0;
    expectPtqError(
        [&] {
            writeSafetensors(path, {{"w", DType::F32, {1}, &x}});
        },
        path, "cannot create");
}

// Random damage to a valid file must end in success or ptq::Error, never a crash or another
// exception type. Run under ASan/UBSan to catch reads outside the mapping.
TEST(SafetensorsFuzz, CorruptedHeadersAndTruncationsNeverCrash)
{
    TempDir dir;
    const std::string good = dir.file("good.safetensors");
    const float a[6] = {1, 2, 3, 4, 5, 6};
    const uint16_t b[4] = {1, 2, 3, 4};
    writeSafetensors(
        good,
        {{"a", DType::F32, {2, 3}, a}, {"b", DType::BF16, {4}, b}, {"c", DType::I8, {0}, nullptr}},
        {{"format", "pt"}});
    const std::string original = test::readFile(good);
    uint64_t headerEnd = 0;
    std::memcpy(&headerEnd, original.data(), 8);
    headerEnd += 8;

    std::mt19937_64 rng(20240611);
    const std::string path = dir.file("fuzz.safetensors");
    int opened = 0, refused = 0;
    for (int iter = 0; iter < 300; ++iter) {
        std::string bytes = original;
        const int mode = static_cast<int>(rng() % 4);
        if (mode == 0 || mode == 2) { // flip a few bytes, mostly inside the header
            const int flips = 1 + static_cast<int>(rng() % 4);
            for (int k = 0; k < flips; ++k)
                bytes[rng() % headerEnd] = static_cast<char>(rng() & 0xff);
        }
        if (mode == 1 || mode == 2) // truncate anywhere, including inside the length field
            bytes.resize(rng() % (bytes.size() + 1));
        if (mode == 3) { // a random header length
            const uint64_t n = rng() % (2 * headerEnd);
            for (int i = 0; i < 8; ++i)
                bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
        }
        writeFile(path, bytes);
        try {
            SafetensorsFile f(path);
            // Every reported byte must lie inside the mapping: touch them all.
            unsigned sum = 0;
            for (const TensorInfo& t : f.tensors()) {
                const uint8_t* p = f.data(t);
                for (uint64_t i = 0; i < t.byteSize(); ++i)
                    sum += p[i];
            }
            (void)sum;
            ++opened;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
            ++refused;
        } catch (const std::exception& e) {
            ADD_FAILURE() << "iteration " << iter << ": not a ptq::Error: " << e.what();
        }
    }
    EXPECT_EQ(opened + refused, 300);
    EXPECT_GT(refused, 100); // most damage is detected
    EXPECT_GT(opened, 0);    // e.g. truncation within nothing, or flips inside padding
}
