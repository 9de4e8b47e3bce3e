// Identity and provenance: what makes two runs "the same run" and two checkpoint folders "the
// same model", and where, when and by which build a run was made.

#include "store/results_store.h"
#include "store/schema.h"

#include "data/corpus.h"
#include "io/checkpoint.h"
#include "util/error.h"
#include "util/file_io.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string_view>
#include <vector>

namespace ptq {

namespace {

using nlohmann::json;

// JSON text in canonical form (keys sorted, no whitespace), so that formatting never changes
// a fingerprint. Text that is not JSON is kept verbatim: it cannot equal a canonical dump.
std::string canonicalJson(const std::string& text)
{
    if (text.empty())
        return text;
    const json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
    return parsed.is_discarded() ? text : parsed.dump();
}

} // namespace

std::string runFingerprint(const RunSpec& spec)
{
    // A versioned record: a change of what defines a run changes "format" and so every
    // fingerprint, instead of silently matching runs defined differently.
    const json record = {{"format", 1},
                         {"model", spec.modelFingerprint},
                         {"recipe_name", spec.recipeName},
                         {"recipe", canonicalJson(spec.recipeJson)},
                         {"wbits", spec.wbits},
                         {"group_size", spec.groupSize},
                         {"abits", spec.abits},
                         {"kvbits", spec.kvbits},
                         {"seed", spec.seed},
                         {"calib", canonicalJson(spec.calibJson)},
                         {"eval", canonicalJson(spec.evalJson)}};
    return data::sha256Hex(record.dump());
}

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
        "ptq-checkpoint-fingerprint 1\nconfig " + data::sha256Hex(config.dump()) + "\n";
    for (const auto& name : checkpoint->tensorNames()) {
        const TensorInfo& info = checkpoint->info(name);
        const SafetensorsFile& file = checkpoint->fileOf(name);
        const std::string_view bytes(reinterpret_cast<const char*>(file.data(info)),
                                     size_t(info.byteSize()));
        std::string shape;
        for (int64_t d : info.shape)
            shape += (shape.empty() ? "" : ",") + std::to_string(d);
        manifest += name + " " + dtypeName(info.dtype) + " [" + shape + "] " +
                    data::sha256Hex(bytes) + "\n";
    }
    return data::sha256Hex(manifest);
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

namespace store {

std::string nowIso8601()
{
    const auto now = std::chrono::system_clock::now();
    const std::time_t secs = std::chrono::system_clock::to_time_t(now);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm utc{};
    gmtime_r(&secs, &utc);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
    char out[48];
    std::snprintf(out, sizeof out, "%s.%03dZ", buf, int(ms));
    return out;
}

std::string engineVersion()
{
#ifdef PTQ_VERSION
    return PTQ_VERSION;
#else
    return "";
#endif
}

std::string engineCommit()
{
#ifdef PTQ_GIT_COMMIT
    return PTQ_GIT_COMMIT;
#else
    return "";
#endif
}

} // namespace store

} // namespace ptq
