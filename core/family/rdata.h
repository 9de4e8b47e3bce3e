#pragma once
// A reader for R's serialization format (XDR binary "X\n", versions 2 and 3) and for the
// lazy-load databases (Rdata.rdx index + Rdata.rdb blobs) in which R packages ship their
// data sets. It covers what data packages hold: character, logical, integer and real
// vectors, lists, pairlists, symbols and back-references, attributes (names, class, factor
// levels, data-frame row names) and the compact ALTREP sequences. Environments, closures and
// byte code are refused with a ptq::Error naming the file, the object and the byte offset.
// Reference: R Internals, "Serialization Formats", and src/main/serialize.c. Torch-free.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ptq::rdata {

enum class RType {
    Null,
    Symbol,
    PairList,
    Logical,
    Integer,
    Real,
    String,
    List,
    Environment, // the global/base/empty environment markers; their contents are not read
    S4
};

// R's NA for integers and logicals.
constexpr int32_t kNaInteger = std::numeric_limits<int32_t>::min();

struct RObject;
using RObjectPtr = std::shared_ptr<const RObject>;

struct RObject {
    RType type = RType::Null;
    std::string symbol; // Symbol: its name
    std::vector<std::optional<std::string>>
        strings;                      // String: UTF-8 (bytes as stored); NA = nullopt
    std::vector<int32_t> integers;    // Logical, Integer
    std::vector<double> reals;        // Real
    std::vector<RObjectPtr> elements; // List; PairList values
    std::vector<std::string> tags;    // PairList: one tag per value, "" when none
    std::vector<std::pair<std::string, RObjectPtr>> attributes;

    size_t length() const;
    const RObject* attribute(std::string_view name) const; // nullptr when absent
    // The "names" attribute (pairlists: the tags); empty when there is none.
    std::vector<std::string> names() const;
    // The element called `name` of a list or pairlist; nullptr when absent.
    const RObject* element(std::string_view name) const;
    // True when the "class" attribute lists `cls`.
    bool inherits(std::string_view cls) const;
};

// Decodes one serialized object. `bytes` starts with the format magic ("X\n"). Errors name
// `file`, `object` and the byte offset inside `bytes`. Nesting deeper than kMaxDepth throws.
constexpr int kMaxDepth = 256;
RObjectPtr unserialize(std::string_view bytes, const std::string& file, const std::string& object);

// Undoes the compression R wraps around serialized data: a gzip stream (.rds, .rdx), a
// zlib stream, or R's 4-byte big-endian length header followed by a zlib stream (.rdb
// entries); uncompressed data starting with "X\n" is returned as it is. `offset` is where
// `bytes` starts inside `file`, for the error messages.
std::string decompress(std::string_view bytes, const std::string& file, const std::string& object,
                       size_t offset = 0);

// Reads an .rds file (gzip'd or plain serialization).
RObjectPtr readRds(const std::string& path);

// The character vector `obj` (a factor gives its labels) with NA as nullopt; throws
// ptq::Error(file, object, ...) when `obj` is neither.
std::vector<std::optional<std::string>> characterVector(const RObject& obj, const std::string& file,
                                                        const std::string& object);

// The number of rows of a data frame, from its row.names attribute (compact c(NA, -n) form
// or explicit names); throws when `obj` is not a data frame.
size_t dataFrameRows(const RObject& obj, const std::string& file, const std::string& object);

// An R lazy-load database: `basePath` names the pair basePath.rdx / basePath.rdb, e.g.
// ".../janeaustenr/data/Rdata".
class LazyLoadDb {
public:
    explicit LazyLoadDb(const std::string& basePath);

    const std::vector<std::string>& names() const { return m_names; }
    bool contains(std::string_view name) const;
    // Reads and decodes the object `name`; throws ptq::Error when it is missing or broken.
    RObjectPtr load(const std::string& name) const;

private:
    struct Entry {
        uint64_t offset = 0;
        uint64_t length = 0;
    };
    std::string m_rdbPath;
    std::string m_rdxPath;
    std::vector<std::string> m_names;
    std::vector<Entry> m_entries;
    int m_compression = 1; // 1 zlib, 2 bzip2, 3 xz (R's makeLazyLoadDB `compress`)
};

} // namespace ptq::rdata
