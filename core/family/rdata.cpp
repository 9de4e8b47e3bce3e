// The XDR reader of R's serialization format: unserialize. The object model's helpers:
// rdata_object.cpp; decompression, .rds files and lazy-load databases: rdata_files.cpp.

#include "family/rdata.h"

#include "util/error.h"

#include <algorithm>
#include <cstring>

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

} // namespace

RObjectPtr unserialize(std::string_view bytes, const std::string& file, const std::string& object)
{
    return Reader(bytes, file, object).readAll();
}

} // namespace ptq::rdata
