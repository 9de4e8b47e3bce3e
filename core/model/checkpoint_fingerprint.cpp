#include "model/checkpoint_fingerprint.h"

#include "model/checkpoint.h"
#include "util/file_io.h"
#include "util/sha256.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <string_view>
#include <vector>

namespace ptq {

using json = nlohmann::json;

namespace {

// The folder and what `ls -l --time-style=full-iso` would show of the files a checkpoint is
// read from; "" when the folder cannot be listed (the full computation reports why).
std::string checkpointFileStamp(const std::string& modelDir)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path dir = fs::canonical(modelDir, ec);
    if (ec)
        return {};
    std::vector<std::string> lines;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const fs::path p = it->path();
        const std::string ext = p.extension().string();
        if (ext != ".json" && ext != ".safetensors")
            continue;
        const auto size = fs::file_size(p, ec);
        const auto time = fs::last_write_time(p, ec);
        if (ec)
            return {};
        lines.push_back(p.filename().string() + " " + std::to_string(size) + " " +
                        std::to_string(time.time_since_epoch().count()));
    }
    if (ec)
        return {};
    std::sort(lines.begin(), lines.end());
    std::string stamp = dir.string() + "\n";
    for (const auto& l : lines)
        stamp += l + "\n";
    return stamp;
}

std::string computeCheckpointFingerprint(const std::string& modelDir)
{
    const auto checkpoint = Checkpoint::open(modelDir);
    const std::string configPath = modelDir + "/config.json";
    const json config = readJsonFile(configPath);
    // One line per tensor, in name order; the bytes are hashed straight from the mapping.
    std::string manifest =
        "ptq-checkpoint-fingerprint 1\nconfig " + sha256Hex(config.dump()) + "\n";
    for (const auto& name : checkpoint->tensorNames()) {
        const TensorInfo& info = checkpoint->info(name);
        const SafetensorsFile& file = checkpoint->fileOf(name);
        const std::string_view bytes(reinterpret_cast<const char*>(file.data(info)),
                                     size_t(info.byteSize()));
        std::string shape;
        for (int64_t d : info.shape)
            shape += (shape.empty() ? "" : ",") + std::to_string(d);
        manifest +=
            name + " " + dtypeName(info.dtype) + " [" + shape + "] " + sha256Hex(bytes) + "\n";
    }
    return sha256Hex(manifest);
}

} // namespace

std::string checkpointFingerprint(const std::string& modelDir)
{
    static std::mutex mutex;
    static std::map<std::string, std::string> cache; // file stamp -> fingerprint
    const std::string stamp = checkpointFileStamp(modelDir);
    if (!stamp.empty()) {
        std::lock_guard<std::mutex> lock(mutex);
        if (const auto it = cache.find(stamp); it != cache.end())
            return it->second;
    }
    const std::string fingerprint = computeCheckpointFingerprint(modelDir);
    if (!stamp.empty()) {
        std::lock_guard<std::mutex> lock(mutex);
        cache[stamp] = fingerprint;
    }
    return fingerprint;
}

} // namespace ptq
