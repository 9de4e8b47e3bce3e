#pragma once
// Reader and writer of the safetensors format (https://huggingface.co/docs/safetensors):
//   [u64 little-endian N][N bytes of JSON header][data bytes]
// The header maps tensor names to {"dtype", "shape", "data_offsets": [begin, end]} with offsets
// relative to the start of the data section, plus an optional "__metadata__" string map.
// The reader maps the file read-only (mmap) and validates every header strictly before any
// tensor is touched. No torch here: the UI reads headers without libtorch.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ptq {

enum class DType {
    Bool,
    U8,
    I8,
    F8_E4M3,
    F8_E5M2,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    I64,
    U64,
    F64
};

std::size_t dtypeSize(DType t);
const char* dtypeName(DType t); // the safetensors spelling: "F32", "BF16", ...
bool parseDType(const std::string& s, DType& out);

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    uint64_t begin = 0; // byte offset inside the data section
    uint64_t end = 0;   // one past the last byte
    int64_t numel() const;
    uint64_t byteSize() const { return end - begin; }
};

class SafetensorsFile {
public:
    // The spec caps the header at 100 MB; larger values are a corrupt or hostile file.
    static constexpr uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;

    // Maps and validates; throws ptq::Error naming the file, the tensor and the problem.
    explicit SafetensorsFile(const std::string& path);
    ~SafetensorsFile();
    SafetensorsFile(const SafetensorsFile&) = delete;
    SafetensorsFile& operator=(const SafetensorsFile&) = delete;
    SafetensorsFile(SafetensorsFile&&) noexcept;
    SafetensorsFile& operator=(SafetensorsFile&&) noexcept;

    const std::string& path() const;
    uint64_t fileSize() const;
    const std::vector<TensorInfo>& tensors() const; // in data-offset order
    const TensorInfo* find(const std::string& name) const;
    const TensorInfo& at(const std::string& name) const; // throws ptq::Error when absent
    const std::map<std::string, std::string>& metadata() const;
    // Pointer to the tensor's first byte inside the read-only mapping.
    const uint8_t* data(const TensorInfo& t) const;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

struct TensorToWrite {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    const void* data = nullptr; // numel * dtypeSize bytes, little-endian
};

// Writes a complete file atomically (temporary file, then rename): a crash never leaves a
// half-written checkpoint under the final name.
void writeSafetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

} // namespace ptq
