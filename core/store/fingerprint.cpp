// Identity and provenance: what makes two runs "the same run", and when and by which build a
// run was made. (What makes two checkpoint folders the same model: model/checkpoint_fingerprint.h.)

#include "store/results_store.h"
#include "store/schema.h"

#include "util/error.h"
#include "util/file_io.h"
#include "util/sha256.h"

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
    return sha256Hex(record.dump());
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
