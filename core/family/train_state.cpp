#include "family/train_state.h"

#include "io/safetensors.h"
#include "util/error.h"
#include "util/file_io.h"

#include <cstring>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace ptq::train {

namespace {

constexpr char kFormat[] = "ptq-train-state";
constexpr int kVersion = 1;
constexpr char kTokenMagic[8] = {'P', 'T', 'Q', 'T', 'O', 'K', '0', '1'};

void writeFileBytes(const std::string& path, const std::string& bytes, const std::string& object)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out)
        throw Error(path, object, "cannot write the file");
}

void renameOrThrow(const fs::path& from, const fs::path& to, const std::string& object)
{
    std::error_code ec;
    fs::rename(from, to, ec);
    if (ec)
        throw Error(to.string(), object, "cannot move it into place: " + ec.message());
}

// Adds prefix/<name> entries; `keep` owns the contiguous fp32 copies until the write ends.
void addTensors(std::vector<TensorToWrite>& entries, std::vector<torch::Tensor>& keep,
                const std::string& prefix, const std::map<std::string, torch::Tensor>& tensors)
{
    for (const auto& [name, t] : tensors) {
        keep.push_back(t.detach().to(torch::kFloat).contiguous());
        entries.push_back(
            {prefix + name, DType::F32, keep.back().sizes().vec(), keep.back().data_ptr()});
    }
}

torch::Tensor readF32(const SafetensorsFile& file, const std::string& name)
{
    const TensorInfo& info = file.at(name);
    if (info.dtype != DType::F32)
        throw Error(file.path(), name,
                    std::string("dtype ") + dtypeName(info.dtype) + ", expected F32");
    auto t = torch::empty(info.shape, torch::kFloat);
    std::memcpy(t.data_ptr(), file.data(info), info.byteSize());
    return t;
}

template <typename T> T jsonField(const nlohmann::json& j, const char* key, const std::string& file)
{
    if (!j.contains(key))
        throw Error(file, key, "missing");
    try {
        return j.at(key).get<T>();
    } catch (const nlohmann::json::exception&) {
        throw Error(file, key, "has the wrong type");
    }
}

void parseStateJson(const std::string& path, TrainState& s)
{
    const nlohmann::json j = readJsonFile(path, "state.json");
    if (!j.is_object() || j.value("format", "") != kFormat)
        throw Error(path, "format", std::string("not a ") + kFormat + " file");
    if (jsonField<int>(j, "version", path) != kVersion)
        throw Error(path, "version", "unsupported version");
    s.step = jsonField<int64_t>(j, "step", path);
    s.tokensSeen = jsonField<int64_t>(j, "tokens_seen", path);
    s.rng = jsonField<std::string>(j, "rng", path);
    s.dataHash = jsonField<std::string>(j, "data_hash", path);
    s.config = jsonField<nlohmann::json>(j, "config", path);
    s.adamSteps = jsonField<std::map<std::string, int64_t>>(j, "adam_steps", path);
    if (s.step < 0)
        throw Error(path, "step", "negative");
}

} // namespace

std::string trainStateDir(const std::string& outDir)
{
    return (fs::path(outDir) / "train_state").string();
}

bool hasTrainState(const std::string& outDir)
{
    return fs::exists(fs::path(outDir) / "train_state") ||
           fs::exists(fs::path(outDir) / "train_state.old");
}

void saveTrainState(const std::string& outDir, const TrainState& s)
{
    const fs::path dir = fs::path(outDir) / "train_state";
    const fs::path tmp = fs::path(outDir) / "train_state.tmp";
    const fs::path old = fs::path(outDir) / "train_state.old";
    std::error_code ec;
    fs::remove_all(tmp, ec);
    fs::create_directories(tmp, ec);
    if (ec)
        throw Error(tmp.string(), "training state", "cannot create the folder: " + ec.message());

    std::vector<TensorToWrite> entries;
    std::vector<torch::Tensor> keep;
    keep.reserve(s.params.size() + s.expAvg.size() + s.expAvgSq.size());
    addTensors(entries, keep, "param/", s.params);
    addTensors(entries, keep, "exp_avg/", s.expAvg);
    addTensors(entries, keep, "exp_avg_sq/", s.expAvgSq);
    writeSafetensors((tmp / "state.safetensors").string(), entries, {{"format", kFormat}});

    const nlohmann::json j = {{"format", kFormat},  {"version", kVersion},
                              {"step", s.step},     {"tokens_seen", s.tokensSeen},
                              {"rng", s.rng},       {"data_hash", s.dataHash},
                              {"config", s.config}, {"adam_steps", s.adamSteps}};
    writeFileBytes((tmp / "state.json").string(), j.dump(2), "state.json");

    fs::remove_all(old, ec);
    if (fs::exists(dir))
        renameOrThrow(dir, old, "training state");
    renameOrThrow(tmp, dir, "training state");
    fs::remove_all(old, ec);
}

TrainState loadTrainState(const std::string& outDir)
{
    fs::path dir = fs::path(outDir) / "train_state";
    if (!fs::exists(dir) && fs::exists(fs::path(outDir) / "train_state.old"))
        dir = fs::path(outDir) / "train_state.old"; // interrupted between the two renames
    if (!fs::exists(dir))
        throw Error(dir.string(), "training state", "missing: nothing to resume");
    TrainState s;
    parseStateJson((dir / "state.json").string(), s);
    const SafetensorsFile file((dir / "state.safetensors").string());
    for (const TensorInfo& info : file.tensors()) {
        const auto slash = info.name.find('/');
        const std::string group = info.name.substr(0, slash);
        const std::string name = slash == std::string::npos ? "" : info.name.substr(slash + 1);
        std::map<std::string, torch::Tensor>* target = group == "param"        ? &s.params
                                                       : group == "exp_avg"    ? &s.expAvg
                                                       : group == "exp_avg_sq" ? &s.expAvgSq
                                                                               : nullptr;
        if (!target || name.empty())
            throw Error(file.path(), info.name, "unexpected tensor in a training state");
        (*target)[name] = readF32(file, info.name);
    }
    for (const auto& [name, step] : s.adamSteps)
        if (!s.expAvg.count(name) || !s.expAvgSq.count(name))
            throw Error(file.path(), "exp_avg/" + name, "AdamW moments missing");
    return s;
}

void copyTokenizerFiles(const std::string& tokenizerDir, const std::string& outDir)
{
    for (const char* name : {"tokenizer.json", "tokenizer_config.json"}) {
        const fs::path src = fs::path(tokenizerDir) / name;
        if (!fs::exists(src)) {
            if (std::string(name) == "tokenizer.json")
                throw Error(src.string(), name, "missing");
            continue;
        }
        const fs::path dst = fs::path(outDir) / name;
        if (fs::exists(dst) && fs::equivalent(src, dst))
            continue;
        const std::string tmp = dst.string() + ".tmp";
        writeFileBytes(tmp, readFileBytes(src.string(), name), name);
        renameOrThrow(tmp, dst, name);
    }
}

bool readTokenCache(const std::string& path, uint64_t key, std::vector<int32_t>& tokens)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return false;
    char magic[8];
    uint64_t fileKey = 0, count = 0;
    in.read(magic, 8);
    in.read(reinterpret_cast<char*>(&fileKey), 8);
    in.read(reinterpret_cast<char*>(&count), 8);
    if (!in || std::memcmp(magic, kTokenMagic, 8) != 0 || fileKey != key)
        return false;
    const auto expected = static_cast<uintmax_t>(24 + count * 4);
    std::error_code ec;
    if (fs::file_size(path, ec) != expected || ec)
        return false;
    tokens.resize(count);
    in.read(reinterpret_cast<char*>(tokens.data()), static_cast<std::streamsize>(count * 4));
    return static_cast<bool>(in);
}

void writeTokenCache(const std::string& path, uint64_t key, const std::vector<int32_t>& tokens)
{
    const uint64_t count = tokens.size();
    std::string bytes(kTokenMagic, 8);
    bytes.append(reinterpret_cast<const char*>(&key), 8);
    bytes.append(reinterpret_cast<const char*>(&count), 8);
    bytes.append(reinterpret_cast<const char*>(tokens.data()), count * 4);
    const std::string tmp = path + ".tmp";
    writeFileBytes(tmp, bytes, "token cache");
    renameOrThrow(tmp, path, "token cache");
}

} // namespace ptq::train
