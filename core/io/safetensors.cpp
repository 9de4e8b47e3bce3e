#include "io/safetensors.h"

#include "util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ptq {

namespace {

using Json = nlohmann::json;

struct DTypeEntry {
    DType type;
    const char* name;
    std::size_t size;
};

// Spellings from the safetensors specification (safetensors/src/tensor.rs, enum Dtype).
constexpr DTypeEntry kDTypes[] = {
    {DType::Bool, "BOOL", 1},       {DType::U8, "U8", 1},           {DType::I8, "I8", 1},
    {DType::F8_E4M3, "F8_E4M3", 1}, {DType::F8_E5M2, "F8_E5M2", 1}, {DType::I16, "I16", 2},
    {DType::U16, "U16", 2},         {DType::F16, "F16", 2},         {DType::BF16, "BF16", 2},
    {DType::I32, "I32", 4},         {DType::U32, "U32", 4},         {DType::F32, "F32", 4},
    {DType::I64, "I64", 8},         {DType::U64, "U64", 8},         {DType::F64, "F64", 8},
};

const DTypeEntry& entryOf(DType t)
{
    for (const auto& e : kDTypes) {
        if (e.type == t)
            return e;
    }
    return kDTypes[0]; // unreachable: every enumerator is listed
}

std::string tensorObject(const std::string& name)
{
    return "tensor '" + name + "'";
}

std::string systemError()
{
    return std::strerror(errno);
}

// numel * elementSize, or false when the product does not fit in 64 bits.
bool byteCount(const std::vector<int64_t>& shape, std::size_t elementSize, uint64_t& out)
{
    uint64_t n = elementSize;
    for (int64_t d : shape) {
        if (d < 0 || __builtin_mul_overflow(n, static_cast<uint64_t>(d), &n))
            return false;
    }
    out = n;
    return true;
}

// nlohmann keeps the last of duplicated object keys silently; the parser callback sees every
// key, so a stack of key sets (one per open object) finds duplicates at any depth.
class DuplicateKeyFinder {
public:
    bool operator()(int /*depth*/, Json::parse_event_t event, Json& parsed)
    {
        if (event == Json::parse_event_t::object_start) {
            m_keys.emplace_back();
        } else if (event == Json::parse_event_t::object_end) {
            if (!m_keys.empty())
                m_keys.pop_back();
        } else if (event == Json::parse_event_t::key && !m_keys.empty()) {
            const std::string key = parsed.get<std::string>();
            if (!m_keys.back().insert(key).second && m_duplicate.empty())
                m_duplicate = key;
        }
        return true;
    }
    std::string m_duplicate;

private:
    std::vector<std::unordered_set<std::string>> m_keys;
};

} // namespace

std::size_t dtypeSize(DType t)
{
    return entryOf(t).size;
}

const char* dtypeName(DType t)
{
    return entryOf(t).name;
}

bool parseDType(const std::string& s, DType& out)
{
    for (const auto& e : kDTypes) {
        if (s == e.name) {
            out = e.type;
            return true;
        }
    }
    return false;
}

int64_t TensorInfo::numel() const
{
    int64_t n = 1;
    for (int64_t d : shape)
        n *= d;
    return n;
}

struct SafetensorsFile::Impl {
    std::string path;
    const uint8_t* base = nullptr; // the whole file, mapped read-only
    uint64_t size = 0;
    uint64_t dataStart = 0; // 8 + header length
    std::vector<TensorInfo> tensors;
    std::unordered_map<std::string, std::size_t> byName;
    std::map<std::string, std::string> metadata;

    ~Impl()
    {
        if (base)
            munmap(const_cast<uint8_t*>(base), size);
    }

    void map();
    Json parseHeader();
    void readMetadata(const Json& value);
    TensorInfo readEntry(const std::string& name, const Json& value) const;
    void checkSpans();
};

void SafetensorsFile::Impl::map()
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw Error(path, "", "cannot open: " + systemError());
    struct stat st {};
    if (fstat(fd, &st) != 0) {
        const std::string why = systemError();
        ::close(fd);
        throw Error(path, "", "cannot stat: " + why);
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error(path, "", "not a regular file");
    }
    size = static_cast<uint64_t>(st.st_size);
    if (size < 8) {
        ::close(fd);
        throw Error(path, "header",
                    "file is " + std::to_string(size) +
                        " bytes, shorter than the 8-byte header length");
    }
    void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    const std::string why = systemError();
    ::close(fd); // the mapping keeps its own reference to the file
    if (p == MAP_FAILED)
        throw Error(path, "", "cannot map: " + why);
    base = static_cast<const uint8_t*>(p);
}

Json SafetensorsFile::Impl::parseHeader()
{
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) // little-endian regardless of the host
        n = (n << 8) | base[i];
    if (n == 0)
        throw Error(path, "header", "header length is 0");
    if (n > kMaxHeaderBytes)
        throw Error(path, "header",
                    "header length " + std::to_string(n) + " exceeds the cap of " +
                        std::to_string(kMaxHeaderBytes) + " bytes");
    if (n > size - 8)
        throw Error(path, "header",
                    "header length " + std::to_string(n) + " runs beyond end of file (" +
                        std::to_string(size) + " bytes)");
    dataStart = 8 + n;
    const char* text = reinterpret_cast<const char*>(base + 8);
    if (text[0] != '{')
        throw Error(path, "header", "header does not start with '{' (not a JSON object)");
    DuplicateKeyFinder finder;
    Json header;
    try {
        header = Json::parse(text, text + n, std::ref(finder));
    } catch (const Json::exception& e) {
        throw Error(path, "header", std::string("header is not valid JSON: ") + e.what());
    }
    if (!header.is_object())
        throw Error(path, "header", "header is not a JSON object");
    if (!finder.m_duplicate.empty())
        throw Error(path, "header",
                    "duplicate key '" + finder.m_duplicate + "' (duplicate tensor names)");
    return header;
}

void SafetensorsFile::Impl::readMetadata(const Json& value)
{
    if (!value.is_object())
        throw Error(path, "__metadata__", "must be an object of strings");
    for (const auto& [key, v] : value.items()) {
        if (!v.is_string())
            throw Error(path, "__metadata__ '" + key + "'",
                        std::string("metadata value must be a string, got ") + v.type_name());
        metadata[key] = v.get<std::string>();
    }
}

TensorInfo SafetensorsFile::Impl::readEntry(const std::string& name, const Json& value) const
{
    const std::string object = tensorObject(name);
    if (!value.is_object())
        throw Error(path, object, "entry is not a JSON object");
    TensorInfo t;
    t.name = name;

    const auto dt = value.find("dtype");
    if (dt == value.end() || !dt->is_string())
        throw Error(path, object, "missing or non-string field 'dtype'");
    if (!parseDType(dt->get<std::string>(), t.dtype))
        throw Error(path, object, "unknown dtype '" + dt->get<std::string>() + "'");

    const auto sh = value.find("shape");
    if (sh == value.end() || !sh->is_array())
        throw Error(path, object, "missing or non-array field 'shape'");
    for (const auto& d : *sh) {
        // Non-negative JSON integers parse as unsigned; negative ones and floats do not.
        if (!d.is_number_unsigned())
            throw Error(path, object,
                        "shape dimension " + d.dump() + " is not a non-negative integer");
        if (d.get<uint64_t>() > uint64_t(INT64_MAX))
            throw Error(path, object, "shape dimension " + d.dump() + " is too large");
        t.shape.push_back(d.get<int64_t>());
    }

    const auto off = value.find("data_offsets");
    if (off == value.end() || !off->is_array() || off->size() != 2 ||
        !(*off)[0].is_number_unsigned() || !(*off)[1].is_number_unsigned())
        throw Error(path, object, "'data_offsets' must be two non-negative integers");
    t.begin = (*off)[0].get<uint64_t>();
    t.end = (*off)[1].get<uint64_t>();

    uint64_t bytes = 0;
    if (!byteCount(t.shape, dtypeSize(t.dtype), bytes))
        throw Error(path, object, "shape product overflows 64 bits");
    if (t.begin > t.end)
        throw Error(path, object,
                    "data_offsets begin " + std::to_string(t.begin) + " is after end " +
                        std::to_string(t.end));
    if (t.end - t.begin != bytes)
        throw Error(path, object,
                    "shape/byte-span mismatch: shape and dtype need " + std::to_string(bytes) +
                        " bytes but data_offsets span " + std::to_string(t.end - t.begin));
    const uint64_t dataSize = size - dataStart;
    if (t.end > dataSize)
        throw Error(path, object,
                    "data_offsets end " + std::to_string(t.end) +
                        " lies beyond end of file (data section has " + std::to_string(dataSize) +
                        " bytes)");
    return t;
}

void SafetensorsFile::Impl::checkSpans()
{
    std::sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    // Holes between spans are tolerated (nothing reads them); shared bytes are not, since a
    // write through one tensor would silently change another.
    for (std::size_t i = 1; i < tensors.size(); ++i) {
        const TensorInfo& prev = tensors[i - 1];
        const TensorInfo& cur = tensors[i];
        if (cur.begin < prev.end)
            throw Error(path, tensorObject(cur.name),
                        "data span [" + std::to_string(cur.begin) + ", " + std::to_string(cur.end) +
                            ") overlaps tensor '" + prev.name + "' [" + std::to_string(prev.begin) +
                            ", " + std::to_string(prev.end) + ")");
    }
    for (std::size_t i = 0; i < tensors.size(); ++i)
        byName.emplace(tensors[i].name, i);
}

SafetensorsFile::SafetensorsFile(const std::string& path) : m_impl(std::make_unique<Impl>())
{
    Impl& d = *m_impl;
    d.path = path;
    d.map();
    const Json header = d.parseHeader();
    for (const auto& [key, value] : header.items()) {
        if (key == "__metadata__")
            d.readMetadata(value);
        else
            d.tensors.push_back(d.readEntry(key, value));
    }
    d.checkSpans();
}

SafetensorsFile::~SafetensorsFile() = default;
SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;

const std::string& SafetensorsFile::path() const
{
    return m_impl->path;
}

uint64_t SafetensorsFile::fileSize() const
{
    return m_impl->size;
}

const std::vector<TensorInfo>& SafetensorsFile::tensors() const
{
    return m_impl->tensors;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const
{
    const auto it = m_impl->byName.find(name);
    return it == m_impl->byName.end() ? nullptr : &m_impl->tensors[it->second];
}

const TensorInfo& SafetensorsFile::at(const std::string& name) const
{
    if (const TensorInfo* t = find(name))
        return *t;
    throw Error(m_impl->path, tensorObject(name), "no such tensor in the file");
}

const std::map<std::string, std::string>& SafetensorsFile::metadata() const
{
    return m_impl->metadata;
}

const uint8_t* SafetensorsFile::data(const TensorInfo& t) const
{
    return m_impl->base + m_impl->dataStart + t.begin;
}

namespace {

// Writes all of [data, data + n) to fd, resuming after short writes and signals.
void writeAll(int fd, const void* data, uint64_t n, const std::string& file)
{
    const auto* p = static_cast<const uint8_t*>(data);
    while (n > 0) {
        const std::size_t chunk = static_cast<std::size_t>(std::min<uint64_t>(n, 1ull << 30));
        const ssize_t w = ::write(fd, p, chunk);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            throw Error(file, "", "write failed: " + systemError());
        p += w;
        n -= static_cast<uint64_t>(w);
    }
}

// The header JSON with offsets assigned in the given order, padded with spaces so that the
// data section starts 8-byte aligned (as the reference writer does). Spans are contiguous:
// the reference reader refuses files with holes.
std::string buildHeader(const std::string& path, const std::vector<TensorToWrite>& tensors,
                        const std::map<std::string, std::string>& metadata,
                        std::vector<uint64_t>& sizes)
{
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty())
        header["__metadata__"] = metadata;
    std::set<std::string> names;
    uint64_t offset = 0;
    for (const TensorToWrite& t : tensors) {
        const std::string object = tensorObject(t.name);
        if (t.name == "__metadata__")
            throw Error(path, object, "the name is reserved for metadata");
        if (!names.insert(t.name).second)
            throw Error(path, object, "duplicate tensor name");
        uint64_t bytes = 0;
        if (!byteCount(t.shape, dtypeSize(t.dtype), bytes))
            throw Error(path, object, "shape has a negative dimension or overflows 64 bits");
        if (bytes > 0 && t.data == nullptr)
            throw Error(path, object,
                        "data is null for a tensor of " + std::to_string(bytes) + " bytes");
        header[t.name] = {{"dtype", dtypeName(t.dtype)},
                          {"shape", t.shape},
                          {"data_offsets", {offset, offset + bytes}}};
        sizes.push_back(bytes);
        offset += bytes;
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    return text;
}

void syncParentDir(const std::string& path)
{
    const auto slash = path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) { // best effort: the rename itself is already atomic
        ::fsync(fd);
        ::close(fd);
    }
}

} // namespace

void writeSafetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata)
{
    std::vector<uint64_t> sizes;
    const std::string header = buildHeader(path, tensors, metadata, sizes);
    uint8_t length[8];
    for (int i = 0; i < 8; ++i)
        length[i] = static_cast<uint8_t>(uint64_t(header.size()) >> (8 * i));

    const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        throw Error(path, "", "cannot create " + tmp + ": " + systemError());
    try {
        writeAll(fd, length, 8, path);
        writeAll(fd, header.data(), header.size(), path);
        for (std::size_t i = 0; i < tensors.size(); ++i)
            writeAll(fd, tensors[i].data, sizes[i], path);
        if (::fsync(fd) != 0)
            throw Error(path, "", "fsync failed: " + systemError());
    } catch (...) {
        ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
    if (::close(fd) != 0) {
        const std::string why = systemError();
        ::unlink(tmp.c_str());
        throw Error(path, "", "close failed: " + why);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = systemError();
        ::unlink(tmp.c_str());
        throw Error(path, "", "cannot rename " + tmp + " into place: " + why);
    }
    syncParentDir(path);
}

} // namespace ptq
