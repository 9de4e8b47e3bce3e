#pragma once
// Temporary files and folders for tests. Torch-free; every test builds its inputs here at
// run time instead of reading committed binaries.

#include "util/error.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

namespace ptq::test {

// A fresh folder under the system temp dir, removed with everything in it on destruction.
class TempDir {
public:
    explicit TempDir(const std::string& tag = "ptq-test")
    {
        std::random_device rd;
        const auto base = std::filesystem::temp_directory_path();
        for (int attempt = 0; attempt < 100; ++attempt) {
            const auto candidate =
                base / (tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
            if (std::filesystem::create_directory(candidate)) {
                m_path = candidate;
                return;
            }
        }
        throw std::runtime_error("cannot create a temporary folder");
    }
    ~TempDir()
    {
        std::error_code ec;
        std::filesystem::remove_all(m_path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return m_path; }
    std::string file(const std::string& name) const { return (m_path / name).string(); }

private:
    std::filesystem::path m_path;
};

inline void writeFile(const std::string& path, const std::string& bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out)
        throw std::runtime_error("cannot write " + path);
}

inline std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot read " + path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A raw safetensors file: the 8-byte little-endian length, the header text as given (no
// validation, so tests can write broken headers), then the data bytes.
inline std::string safetensorsBytes(const std::string& header, const std::string& data = "")
{
    std::string out(8, '\0');
    const uint64_t n = header.size();
    for (int i = 0; i < 8; ++i)
        out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    return out + header + data;
}

// Runs f and checks that it throws ptq::Error whose message names `file` and contains
// `phrase`. Any other exception, or none, fails the calling test.
template <class F> void expectPtqError(F&& f, const std::string& file, const std::string& phrase)
{
    try {
        f();
    } catch (const ptq::Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find(file), std::string::npos) << "message lacks '" << file << "': " << what;
        EXPECT_NE(what.find(phrase), std::string::npos)
            << "message lacks '" << phrase << "': " << what;
        return;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "expected ptq::Error, got another exception: " << e.what();
        return;
    }
    ADD_FAILURE() << "expected ptq::Error containing '" << phrase << "', nothing was thrown";
}

} // namespace ptq::test
