#include "family/rdata.h"

#include "util/error.h"
#include "util/file_io.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

namespace ptq::rdata {

namespace {

// SEXPTYPE codes and the pseudo-types of the serialization stream (serialize.c).
// clang-format off
enum : int {
    kNilSxp = 0, kSymSxp = 1, kListSxp = 2, kLangSxp = 6, kCharSxp = 9, kLglSxp = 10,
    kIntSxp = 13, kRealSxp = 14, kStrSxp = 16, kVecSxp = 19, kExprSxp = 20, kS4Sxp = 25,
    kAltrepSxp = 238, kAttrListSxp = 239, kAttrLangSxp = 240, kBaseEnvSxp = 241,
    kEmptyEnvSxp = 242, kBaseNamespaceSxp = 250, kMissingArgSxp = 251, kUnboundValueSxp = 252,
    kGlobalEnvSxp = 253, kNilValueSxp = 254, kRefSxp = 255,
};
// clang-format on

// Flag bits of an item header: type in the low byte, then object/attribute/tag bits, and
// the "levels" (for CHARSXP: the encoding) from bit 12 on.
constexpr uint32_t kHasAttrBit = 1u << 9;
constexpr uint32_t kHasTagBit = 1u << 10;
constexpr uint32_t kLatin1Mask = 1u << 2;

// Upper bound for one decompressed object: corrupt length headers must not allocate wildly.
constexpr uint64_t kMaxDecompressed = uint64_t(1) << 32;

std::string latin1ToUtf8(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        if (c < 0x80) {
            out.push_back(char(c));
        } else {
            out.push_back(char(0xC0 | (c >> 6)));
            out.push_back(char(0x80 | (c & 0x3F)));
        }
    }
    return out;
}

class Reader {
public:
    Reader(std::string_view bytes, const std::string& file, const std::string& object)
        : m_bytes(bytes), m_file(file), m_object(object)
    {}

    RObjectPtr readAll()
    {
        readHeader();
        RObjectPtr root = readItem(0);
        return root;
    }

private:
    [[noreturn]] void fail(size_t offset, const std::string& reason) const
    {
        throw Error(m_file, m_object, "byte offset " + std::to_string(offset) + ": " + reason);
    }

    void need(size_t n, const char* what) const
    {
        if (n > m_bytes.size() - m_pos)
            fail(m_pos, std::string("truncated: ") + what + " needs " + std::to_string(n) +
                            " bytes, " + std::to_string(m_bytes.size() - m_pos) + " left");
    }

    uint32_t readU32()
    {
        need(4, "an integer");
        const auto* p = reinterpret_cast<const unsigned char*>(m_bytes.data() + m_pos);
        m_pos += 4;
        return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
    }
    int32_t readInt() { return int32_t(readU32()); }

    double readDouble()
    {
        need(8, "a double");
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i)
            bits = (bits << 8) | static_cast<unsigned char>(m_bytes[m_pos + i]);
        m_pos += 8;
        double d;
        std::memcpy(&d, &bits, sizeof d);
        return d;
    }

    void readHeader()
    {
        need(2, "the format magic");
        const std::string_view magic = m_bytes.substr(0, 2);
        if (magic == "A\n" || magic == "B\n")
            fail(0, "ASCII and native-binary serializations are not supported (only XDR 'X')");
        if (magic != "X\n")
            fail(0, "bad magic: not an R XDR serialization");
        m_pos = 2;
        const int32_t version = readInt();
        if (version != 2 && version != 3)
            fail(2, "unsupported serialization version " + std::to_string(version));
        readInt(); // the writer's R version
        readInt(); // the oldest R version that can read it
        if (version == 3) {
            const size_t at = m_pos;
            const int32_t n = readInt();
            if (n < 0 || n > 64)
                fail(at, "native encoding name of absurd length " + std::to_string(n));
            need(size_t(n), "the native encoding name");
            m_nativeEncoding = std::string(m_bytes.substr(m_pos, size_t(n)));
            m_pos += size_t(n);
        }
    }

    // A vector length: one int, or -1 followed by two ints for long vectors. Checked
    // against the bytes left (`minBytesPerElement` each) so corrupt lengths fail early.
    size_t readLength(size_t minBytesPerElement)
    {
        const size_t at = m_pos;
        const int32_t n = readInt();
        uint64_t len;
        if (n == -1) {
            const uint64_t upper = readU32();
            const uint64_t lower = readU32();
            len = (upper << 32) | lower;
        } else if (n < 0) {
            fail(at, "negative vector length " + std::to_string(n));
        } else {
            len = uint64_t(n);
        }
        const uint64_t left = m_bytes.size() - m_pos;
        if (len > left / std::max<size_t>(minBytesPerElement, 1))
            fail(at, "vector length " + std::to_string(len) + " exceeds the " +
                         std::to_string(left) + " bytes left");
        return size_t(len);
    }

    std::optional<std::string> readCharsxp(uint32_t flags)
    {
        const size_t at = m_pos;
        const int32_t n = readInt();
        if (n == -1)
            return std::nullopt; // NA_STRING
        if (n < 0)
            fail(at, "negative string length " + std::to_string(n));
        need(size_t(n), "a string");
        std::string_view raw = m_bytes.substr(m_pos, size_t(n));
        m_pos += size_t(n);
        const uint32_t levels = flags >> 12;
        const bool latin1 = (levels & kLatin1Mask) != 0 ||
                            ((levels & 0x4A) == 0 &&
                             (m_nativeEncoding == "latin1" || m_nativeEncoding == "ISO-8859-1"));
        return latin1 ? latin1ToUtf8(raw) : std::string(raw);
    }

    std::optional<std::string> readStringElement()
    {
        const size_t at = m_pos;
        const uint32_t flags = readU32();
        if ((flags & 0xFF) != kCharSxp)
            fail(at, "character vector element of type " + std::to_string(flags & 0xFF) +
                         " (expected CHARSXP 9)");
        return readCharsxp(flags);
    }

    RObjectPtr readItem(int depth)
    {
        const size_t at = m_pos;
        if (depth > kMaxDepth)
            fail(at, "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
        const uint32_t flags = readU32();
        const int type = int(flags & 0xFF);
        auto obj = std::make_shared<RObject>();
        switch (type) {
        case kNilValueSxp:
            return obj;
        case kGlobalEnvSxp:
        case kBaseEnvSxp:
        case kEmptyEnvSxp:
        case kBaseNamespaceSxp:
        case kUnboundValueSxp:
        case kMissingArgSxp:
            obj->type = RType::Environment;
            return obj;
        case kRefSxp:
            return readReference(flags, at);
        case kSymSxp:
            return readSymbol();
        case kListSxp:
        case kLangSxp:
        case kAttrListSxp:
        case kAttrLangSxp:
            return readPairList(flags, depth);
        case kAltrepSxp:
            return readAltrep(depth, at);
        default:
            break;
        }
        readVectorBody(*obj, type, depth, at);
        if (flags & kHasAttrBit)
            readAttributes(*obj, depth);
        return obj;
    }

    void readVectorBody(RObject& obj, int type, int depth, size_t at)
    {
        switch (type) {
        case kLglSxp:
        case kIntSxp: {
            obj.type = type == kLglSxp ? RType::Logical : RType::Integer;
            obj.integers.resize(readLength(4));
            for (int32_t& v : obj.integers)
                v = readInt();
            return;
        }
        case kRealSxp:
            obj.type = RType::Real;
            obj.reals.resize(readLength(8));
            for (double& v : obj.reals)
                v = readDouble();
            return;
        case kStrSxp:
            obj.type = RType::String;
            obj.strings.resize(readLength(8));
            for (auto& s : obj.strings)
                s = readStringElement();
            return;
        case kVecSxp:
        case kExprSxp:
            obj.type = RType::List;
            obj.elements.resize(readLength(4));
            for (auto& e : obj.elements)
                e = readItem(depth + 1);
            return;
        case kS4Sxp:
            obj.type = RType::S4;
            return;
        case kNilSxp:
            return;
        default:
            fail(at, "unknown or unsupported SEXP type " + std::to_string(type));
        }
    }

    void readAttributes(RObject& obj, int depth)
    {
        const size_t at = m_pos;
        RObjectPtr attrs = readItem(depth + 1);
        if (attrs->type == RType::Null)
            return;
        if (attrs->type != RType::PairList)
            fail(at, "attributes are not a pairlist");
        for (size_t i = 0; i < attrs->elements.size(); ++i)
            obj.attributes.emplace_back(attrs->tags[i], attrs->elements[i]);
    }

    RObjectPtr readReference(uint32_t flags, size_t at)
    {
        int64_t index = flags >> 8;
        if (index == 0)
            index = readInt();
        if (index < 1 || size_t(index) > m_refs.size())
            fail(at, "back-reference " + std::to_string(index) + " to one of " +
                         std::to_string(m_refs.size()) + " earlier objects");
        return m_refs[size_t(index - 1)];
    }

    RObjectPtr readSymbol()
    {
        const size_t nameAt = m_pos;
        const uint32_t flags = readU32();
        if ((flags & 0xFF) != kCharSxp)
            fail(nameAt, "symbol name is not a CHARSXP");
        auto name = readCharsxp(flags);
        auto obj = std::make_shared<RObject>();
        obj->type = RType::Symbol;
        obj->symbol = name.value_or("NA");
        m_refs.push_back(obj);
        return obj;
    }

    std::string readTag(int depth)
    {
        const size_t at = m_pos;
        RObjectPtr tag = readItem(depth + 1);
        if (tag->type == RType::Null)
            return {};
        if (tag->type != RType::Symbol)
            fail(at, "pairlist tag is not a symbol");
        return tag->symbol;
    }

    // Pairlists are chains of cons cells; the chain is walked in a loop (only CAR values
    // recurse) so a long pairlist cannot exhaust the stack.
    RObjectPtr readPairList(uint32_t flags, int depth)
    {
        auto obj = std::make_shared<RObject>();
        obj->type = RType::PairList;
        for (bool first = true;; first = false) {
            if (flags & kHasAttrBit) {
                RObject holder;
                readAttributes(holder, depth);
                if (first)
                    obj->attributes = std::move(holder.attributes);
            }
            obj->tags.push_back((flags & kHasTagBit) ? readTag(depth) : std::string());
            obj->elements.push_back(readItem(depth + 1));
            const size_t at = m_pos;
            flags = readU32();
            const int type = int(flags & 0xFF);
            if (type == kNilValueSxp)
                return obj;
            if (type != kListSxp && type != kLangSxp && type != kAttrListSxp &&
                type != kAttrLangSxp)
                fail(at, "pairlist ends in a value of type " + std::to_string(type) +
                             " instead of NULL");
        }
    }

    // ALTREP objects carry their class (a pairlist of class and package symbols), a state
    // and attributes. Only the representations R writes for plain data are expanded.
    RObjectPtr readAltrep(int depth, size_t at)
    {
        RObjectPtr info = readItem(depth + 1);
        RObjectPtr state = readItem(depth + 1);
        RObjectPtr attrs = readItem(depth + 1);
        const std::string cls = (info->type == RType::PairList && !info->elements.empty() &&
                                 info->elements[0]->type == RType::Symbol)
                                    ? info->elements[0]->symbol
                                    : std::string();
        auto obj = std::make_shared<RObject>();
        if (cls == "compact_intseq" || cls == "compact_realseq") {
            if (state->type != RType::Real || state->reals.size() != 3)
                fail(at, "malformed " + cls + " state");
            const double n = state->reals[0], start = state->reals[1], step = state->reals[2];
            if (!(n >= 0 && n <= double(m_bytes.size()) * 64))
                fail(at, cls + " of absurd length");
            for (size_t i = 0; i < size_t(n); ++i) {
                const double v = start + double(i) * step;
                if (cls == "compact_intseq")
                    obj->integers.push_back(int32_t(v));
                else
                    obj->reals.push_back(v);
            }
            obj->type = cls == "compact_intseq" ? RType::Integer : RType::Real;
        } else if (cls.rfind("wrap_", 0) == 0) {
            if (state->type != RType::List || state->elements.empty())
                fail(at, "malformed " + cls + " state");
            *obj = *state->elements[0];
        } else {
            fail(at, "unsupported ALTREP class '" + cls + "'");
        }
        if (attrs->type == RType::PairList) {
            obj->attributes.clear();
            for (size_t i = 0; i < attrs->elements.size(); ++i)
                obj->attributes.emplace_back(attrs->tags[i], attrs->elements[i]);
        }
        return obj;
    }

    std::string_view m_bytes;
    size_t m_pos = 0;
    const std::string& m_file;
    const std::string& m_object;
    std::string m_nativeEncoding;
    std::vector<RObjectPtr> m_refs;
};

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

size_t RObject::length() const
{
    switch (type) {
    case RType::Logical:
    case RType::Integer:
        return integers.size();
    case RType::Real:
        return reals.size();
    case RType::String:
        return strings.size();
    case RType::List:
    case RType::PairList:
        return elements.size();
    default:
        return 0;
    }
}

const RObject* RObject::attribute(std::string_view name) const
{
    for (const auto& [key, value] : attributes) {
        if (key == name)
            return value.get();
    }
    return nullptr;
}

std::vector<std::string> RObject::names() const
{
    if (type == RType::PairList)
        return tags;
    std::vector<std::string> out;
    if (const RObject* n = attribute("names"); n && n->type == RType::String) {
        for (const auto& s : n->strings)
            out.push_back(s.value_or(""));
    }
    return out;
}

const RObject* RObject::element(std::string_view name) const
{
    const std::vector<std::string> keys = names();
    for (size_t i = 0; i < keys.size() && i < elements.size(); ++i) {
        if (keys[i] == name)
            return elements[i].get();
    }
    return nullptr;
}

bool RObject::inherits(std::string_view cls) const
{
    const RObject* c = attribute("class");
    if (!c || c->type != RType::String)
        return false;
    return std::any_of(c->strings.begin(), c->strings.end(),
                       [&](const auto& s) { return s && *s == cls; });
}

RObjectPtr unserialize(std::string_view bytes, const std::string& file, const std::string& object)
{
    return Reader(bytes, file, object).readAll();
}

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

std::vector<std::optional<std::string>> characterVector(const RObject& obj, const std::string& file,
                                                        const std::string& object)
{
    if (obj.type == RType::String)
        return obj.strings;
    if (obj.type == RType::Integer && obj.inherits("factor")) {
        const RObject* levels = obj.attribute("levels");
        if (!levels || levels->type != RType::String)
            throw Error(file, object, "factor without character levels");
        std::vector<std::optional<std::string>> out;
        out.reserve(obj.integers.size());
        for (int32_t code : obj.integers) {
            if (code == kNaInteger) {
                out.emplace_back(std::nullopt);
            } else if (code < 1 || size_t(code) > levels->strings.size()) {
                throw Error(file, object,
                            "factor code " + std::to_string(code) + " outside its " +
                                std::to_string(levels->strings.size()) + " levels");
            } else {
                out.push_back(levels->strings[size_t(code - 1)]);
            }
        }
        return out;
    }
    throw Error(file, object, "not a character vector or factor");
}

size_t dataFrameRows(const RObject& obj, const std::string& file, const std::string& object)
{
    if (obj.type != RType::List || !obj.inherits("data.frame"))
        throw Error(file, object, "not a data frame");
    const RObject* rows = obj.attribute("row.names");
    if (!rows)
        throw Error(file, object, "data frame without row.names");
    // R stores automatic row names compactly as c(NA_integer_, -n).
    if (rows->type == RType::Integer && rows->integers.size() == 2 &&
        rows->integers[0] == kNaInteger)
        return size_t(std::abs(int64_t(rows->integers[1])));
    return rows->length();
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
