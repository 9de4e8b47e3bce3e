// Reading R's files: undoing their gzip/zlib compression, .rds files and the lazy-load
// databases (Rdata.rdx index + Rdata.rdb blobs) of R packages.

#include "family/rdata.h"

#include "util/error.h"
#include "util/file_io.h"

#include <zlib.h>

#include <algorithm>
#include <fstream>

namespace ptq::rdata {

namespace {

// Upper bound for one decompressed object: corrupt length headers must not allocate wildly.
constexpr uint64_t kMaxDecompressed = uint64_t(1) << 32;

// Inflates a zlib or gzip stream (zlib detects which). `expected` is the size announced by
// R's length header, 0 when unknown.
std::string inflateStream(std::string_view in, uint64_t expected, const std::string& file,
                          const std::string& object, size_t offset)
{
    auto fail = [&](const std::string& reason) -> Error {
        return Error(file, object, "byte offset " + std::to_string(offset) + ": " + reason);
    };
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 32) != Z_OK)
        throw fail("cannot initialise zlib");
    std::string out;
    out.resize(expected > 0 ? size_t(expected) : std::max<size_t>(in.size() * 4, 1024));
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    size_t produced = 0;
    int rc = Z_OK;
    size_t consumed = 0;
    while (rc != Z_STREAM_END) {
        if (produced == out.size()) {
            if (expected > 0 && consumed == in.size()) {
                inflateEnd(&zs);
                throw fail("truncated compressed data (no end of stream after " +
                           std::to_string(produced) + " bytes of output)");
            }
            if (expected > 0 || out.size() >= kMaxDecompressed) {
                inflateEnd(&zs);
                throw fail("decompressed data is longer than the announced " +
                           std::to_string(out.size()) + " bytes");
            }
            out.resize(std::min<size_t>(out.size() * 2, kMaxDecompressed));
        }
        const size_t inChunk = std::min<size_t>(in.size() - consumed, 1u << 30);
        zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + consumed));
        zs.avail_in = uInt(inChunk);
        const size_t outChunk = std::min<size_t>(out.size() - produced, 1u << 30);
        zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
        zs.avail_out = uInt(outChunk);
        rc = inflate(&zs, Z_NO_FLUSH);
        consumed += inChunk - zs.avail_in;
        produced += outChunk - zs.avail_out;
        if (rc == Z_BUF_ERROR && consumed == in.size()) {
            inflateEnd(&zs);
            throw fail("truncated compressed data (stream ends after " + std::to_string(produced) +
                       " bytes of output)");
        }
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
            const std::string msg = zs.msg ? zs.msg : "unknown error";
            inflateEnd(&zs);
            throw fail("corrupt compressed data (zlib: " + msg + ")");
        }
    }
    inflateEnd(&zs);
    if (expected > 0 && produced != expected)
        throw fail("decompressed to " + std::to_string(produced) + " bytes, the header says " +
                   std::to_string(expected));
    out.resize(produced);
    return out;
}

uint32_t bigEndian32(std::string_view b)
{
    return (uint32_t(uint8_t(b[0])) << 24) | (uint32_t(uint8_t(b[1])) << 16) |
           (uint32_t(uint8_t(b[2])) << 8) | uint8_t(b[3]);
}

} // namespace

std::string decompress(std::string_view bytes, const std::string& file, const std::string& object,
                       size_t offset)
{
    if (bytes.size() >= 2 && bytes.substr(0, 2) == "X\n")
        return std::string(bytes);
    if (bytes.size() >= 2 && uint8_t(bytes[0]) == 0x1F && uint8_t(bytes[1]) == 0x8B)
        return inflateStream(bytes, 0, file, object, offset);
    if (bytes.size() >= 2 && uint8_t(bytes[0]) == 0x78)
        return inflateStream(bytes, 0, file, object, offset);
    if (bytes.size() < 5)
        throw Error(file, object,
                    "byte offset " + std::to_string(offset) + ": truncated (" +
                        std::to_string(bytes.size()) + " bytes, too short for a length header)");
    // R's length header must be followed by a zlib header: deflate (low nibble 8).
    if ((uint8_t(bytes[4]) & 0x0F) != 8)
        throw Error(file, object,
                    "byte offset " + std::to_string(offset) +
                        ": bad magic: neither an R serialization nor gzip/zlib data");
    const uint32_t expected = bigEndian32(bytes);
    // Deflate expands at most ~1032:1; a larger announced size is a corrupt header, and
    // must not become a huge allocation.
    if (expected == 0 || uint64_t(expected) > uint64_t(bytes.size()) * 1032 + 1024)
        throw Error(file, object,
                    "byte offset " + std::to_string(offset) + ": length header announces " +
                        std::to_string(expected) + " bytes for " +
                        std::to_string(bytes.size() - 4) + " compressed bytes");
    return inflateStream(bytes.substr(4), expected, file, object, offset + 4);
}

RObjectPtr readRds(const std::string& path)
{
    const std::string raw = readFileBytes(path);
    return unserialize(decompress(raw, path, "", 0), path, "");
}

LazyLoadDb::LazyLoadDb(const std::string& basePath)
    : m_rdbPath(basePath + ".rdb"), m_rdxPath(basePath + ".rdx")
{
    const std::string raw = readFileBytes(m_rdxPath);
    RObjectPtr index = unserialize(decompress(raw, m_rdxPath, "index", 0), m_rdxPath, "index");
    const RObject* variables = index->element("variables");
    if (!variables || variables->type != RType::List)
        throw Error(m_rdxPath, "index", "no 'variables' list");
    m_names = variables->names();
    if (m_names.size() != variables->elements.size())
        throw Error(m_rdxPath, "variables", "names and entries differ in number");
    for (size_t i = 0; i < m_names.size(); ++i) {
        const RObject& e = *variables->elements[i];
        const bool isInt = e.type == RType::Integer && e.integers.size() == 2;
        const bool isReal = e.type == RType::Real && e.reals.size() == 2;
        if (!isInt && !isReal)
            throw Error(m_rdxPath, "variables$" + m_names[i], "not an (offset, length) pair");
        const double off = isInt ? e.integers[0] : e.reals[0];
        const double len = isInt ? e.integers[1] : e.reals[1];
        if (!(off >= 0 && len > 0))
            throw Error(m_rdxPath, "variables$" + m_names[i], "negative offset or length");
        m_entries.push_back({uint64_t(off), uint64_t(len)});
    }
    if (const RObject* c = index->element("compressed")) {
        if (c->type == RType::Logical || c->type == RType::Integer)
            m_compression = c->integers.empty() ? 1 : c->integers[0];
        else if (c->type == RType::Real && !c->reals.empty())
            m_compression = int(c->reals[0]);
    }
}

bool LazyLoadDb::contains(std::string_view name) const
{
    return std::find(m_names.begin(), m_names.end(), name) != m_names.end();
}

RObjectPtr LazyLoadDb::load(const std::string& name) const
{
    const auto it = std::find(m_names.begin(), m_names.end(), name);
    if (it == m_names.end())
        throw Error(m_rdxPath, name, "no such object in the lazy-load database");
    const Entry e = m_entries[size_t(it - m_names.begin())];
    std::ifstream in(m_rdbPath, std::ios::binary);
    if (!in)
        throw Error(m_rdbPath, name, "cannot open for reading");
    in.seekg(0, std::ios::end);
    const uint64_t fileSize = uint64_t(in.tellg());
    if (e.offset > fileSize || e.length > fileSize - e.offset)
        throw Error(m_rdbPath, name,
                    "byte offset " + std::to_string(e.offset) + ": entry of " +
                        std::to_string(e.length) + " bytes runs past the end of the " +
                        std::to_string(fileSize) + "-byte file");
    std::string blob(size_t(e.length), '\0');
    in.seekg(std::streamoff(e.offset));
    if (!in.read(blob.data(), std::streamsize(blob.size())))
        throw Error(m_rdbPath, name, "byte offset " + std::to_string(e.offset) + ": read failed");
    std::string_view body(blob);
    if (m_compression == 2 || m_compression == 3) {
        // bzip2/xz databases put a type byte after the length: '0' stored, 'Z' zlib.
        if (body.size() < 5 || (body[4] != '0' && body[4] != 'Z'))
            throw Error(m_rdbPath, name,
                        "byte offset " + std::to_string(e.offset) +
                            ": bzip2/xz-compressed entries are not supported");
        const bool stored = body[4] == '0';
        body = body.substr(5);
        if (stored)
            return unserialize(body, m_rdbPath, name);
        return unserialize(inflateStream(body, bigEndian32(blob), m_rdbPath, name, e.offset + 5),
                           m_rdbPath, name);
    }
    return unserialize(decompress(body, m_rdbPath, name, size_t(e.offset)), m_rdbPath, name);
}

} // namespace ptq::rdata
