#include "model/checkpoint.h"

#include "util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace ptq {

namespace fs = std::filesystem;

namespace {

using Json = nlohmann::json;

constexpr const char* kIndexName = "model.safetensors.index.json";
constexpr const char* kSingleName = "model.safetensors";

bool isFile(const fs::path& p)
{
    std::error_code ec;
    return fs::is_regular_file(p, ec);
}

// Every *.safetensors / pickle file directly inside dir, sorted by name.
std::vector<std::string> filesWithSuffix(const fs::path& dir, const std::vector<std::string>& ext)
{
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        for (const std::string& e : ext) {
            if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0 &&
                isFile(it->path()))
                out.push_back(name);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

[[noreturn]] void refusePickle(const fs::path& dir, const std::string& file)
{
    throw Error(dir.string(), file,
                "pickle checkpoints are refused because unpickling executes arbitrary code "
                "stored in the file; convert the checkpoint to safetensors (for example with "
                "transformers: model.save_pretrained(dir, safe_serialization=True)) and open "
                "the converted folder");
}

// Shard file name -> tensor names listed for it, from the index's "weight_map".
std::map<std::string, std::vector<std::string>> readIndex(const fs::path& indexPath)
{
    const std::string file = indexPath.string();
    std::ifstream in(indexPath, std::ios::binary);
    if (!in)
        throw Error(file, "", "cannot open the shard index");
    Json index;
    try {
        index = Json::parse(in);
    } catch (const Json::exception& e) {
        throw Error(file, "", std::string("invalid JSON: ") + e.what());
    }
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
        throw Error(file, "weight_map", "missing or not an object mapping tensors to shards");
    std::map<std::string, std::vector<std::string>> shards;
    for (const auto& [tensor, shard] : index["weight_map"].items()) {
        if (!shard.is_string())
            throw Error(file, "weight_map '" + tensor + "'", "shard name is not a string");
        const std::string name = shard.get<std::string>();
        // A shard must sit beside the index: a path could reach files outside the folder.
        if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
            throw Error(file, "weight_map '" + tensor + "'",
                        "shard '" + name + "' is not a plain file name");
        shards[name].push_back(tensor);
    }
    if (shards.empty())
        throw Error(file, "weight_map", "lists no tensors");
    return shards;
}

using IndexEntries = std::vector<std::pair<std::string, std::size_t>>;

// The entry for name in the name-sorted index, or end().
IndexEntries::const_iterator findEntry(const IndexEntries& index, const std::string& name)
{
    const auto it = std::lower_bound(
        index.begin(), index.end(), name,
        [](const IndexEntries::value_type& e, const std::string& n) { return e.first < n; });
    return it != index.end() && it->first == name ? it : index.end();
}

} // namespace

std::shared_ptr<const Checkpoint> Checkpoint::open(const std::string& dirName)
{
    const fs::path dir(dirName);
    std::error_code ec;
    if (!fs::exists(dir, ec))
        throw Error(dirName, "", "checkpoint folder does not exist");
    if (!fs::is_directory(dir, ec))
        throw Error(dirName, "", "not a folder");
    const fs::path configPath = dir / "config.json";
    if (!isFile(configPath))
        throw Error(dirName, "config.json", "missing: a checkpoint folder needs config.json");

    std::shared_ptr<Checkpoint> cp(new Checkpoint());
    cp->m_dir = dirName;
    cp->m_config = ModelConfig::fromFile(configPath.string());

    const fs::path indexPath = dir / kIndexName;
    std::map<std::string, std::vector<std::string>> listed; // shard -> tensors (index only)
    std::vector<std::string> shardNames;
    if (isFile(indexPath)) {
        listed = readIndex(indexPath);
        for (const auto& entry : listed) {
            if (!isFile(dir / entry.first))
                throw Error(indexPath.string(), "shard '" + entry.first + "'",
                            "listed in weight_map but the shard file is missing");
            shardNames.push_back(entry.first);
        }
    } else if (isFile(dir / kSingleName)) {
        shardNames.push_back(kSingleName);
    } else {
        shardNames = filesWithSuffix(dir, {".safetensors"});
        if (shardNames.size() > 1)
            throw Error(dirName, "",
                        "several .safetensors files but no " + std::string(kIndexName) +
                            " saying how they fit");
        if (shardNames.empty()) {
            if (isFile(dir / "pytorch_model.bin.index.json"))
                refusePickle(dir, "pytorch_model.bin.index.json");
            const auto pickles = filesWithSuffix(dir, {".bin", ".pt", ".pth"});
            if (!pickles.empty())
                refusePickle(dir, pickles.front());
            throw Error(dirName, "",
                        std::string("no weights: expected ") + kSingleName + " or " + kIndexName);
        }
    }

    for (const std::string& name : shardNames)
        cp->m_shards.push_back(std::make_unique<SafetensorsFile>((dir / name).string()));
    cp->buildIndex(listed);
    return cp;
}

void Checkpoint::buildIndex(const std::map<std::string, std::vector<std::string>>& listed)
{
    std::map<std::string, std::size_t> where;
    for (std::size_t s = 0; s < m_shards.size(); ++s) {
        const SafetensorsFile& shard = *m_shards[s];
        for (const TensorInfo& t : shard.tensors()) {
            const auto [it, fresh] = where.emplace(t.name, s);
            if (!fresh)
                throw Error(shard.path(), "tensor '" + t.name + "'",
                            "also present in " + m_shards[it->second]->path() +
                                " (tensor names must be unique across shards)");
        }
    }
    // With an index, index and shards must agree exactly: a tensor missing from its shard
    // would fail later mid-run, and an unlisted one means the index does not describe the
    // files it sits beside.
    if (!listed.empty()) {
        std::size_t s = 0;
        for (const auto& [shardName, names] : listed) {
            const SafetensorsFile& shard = *m_shards[s++];
            for (const std::string& name : names) {
                if (!shard.find(name))
                    throw Error(shard.path(), "tensor '" + name + "'",
                                "listed in the index for this shard but absent from it");
            }
            if (names.size() != shard.tensors().size()) {
                const std::set<std::string> expected(names.begin(), names.end());
                for (const TensorInfo& t : shard.tensors()) {
                    if (!expected.count(t.name))
                        throw Error(shard.path(), "tensor '" + t.name + "'",
                                    "present in the shard but not listed in the index");
                }
            }
        }
    }
    m_index.assign(where.begin(), where.end());
}

bool Checkpoint::has(const std::string& tensorName) const
{
    return findEntry(m_index, tensorName) != m_index.end();
}

const SafetensorsFile& Checkpoint::fileOf(const std::string& tensorName) const
{
    const auto it = findEntry(m_index, tensorName);
    if (it == m_index.end())
        throw Error(m_dir, "tensor '" + tensorName + "'", "not in the checkpoint");
    return *m_shards[it->second];
}

const TensorInfo& Checkpoint::info(const std::string& tensorName) const
{
    return fileOf(tensorName).at(tensorName);
}

std::vector<std::string> Checkpoint::tensorNames() const
{
    std::vector<std::string> names;
    names.reserve(m_index.size());
    for (const auto& e : m_index)
        names.push_back(e.first);
    return names;
}

int64_t Checkpoint::parameterCount() const
{
    int64_t n = 0;
    for (const auto& shard : m_shards) {
        for (const TensorInfo& t : shard->tensors())
            n += t.numel();
    }
    return n;
}

uint64_t Checkpoint::bytesOnDisk() const
{
    uint64_t n = 0;
    for (const auto& shard : m_shards)
        n += shard->fileSize();
    return n;
}

std::string Checkpoint::dominantDType() const
{
    std::map<std::string, int64_t> count;
    for (const auto& shard : m_shards) {
        for (const TensorInfo& t : shard->tensors())
            count[dtypeName(t.dtype)] += t.numel();
    }
    std::string best;
    int64_t most = -1;
    for (const auto& [name, n] : count) { // ties go to the alphabetically first name
        if (n > most) {
            best = name;
            most = n;
        }
    }
    return best;
}

std::vector<std::string> Checkpoint::shardPaths() const
{
    std::vector<std::string> paths;
    for (const auto& shard : m_shards)
        paths.push_back(shard->path());
    return paths;
}

CheckpointSummary summarizeCheckpoint(const std::string& dir)
{
    const auto cp = Checkpoint::open(dir);
    const ModelConfig& c = cp->config();
    CheckpointSummary s;
    s.dir = dir;
    s.architecture = c.modelType;
    s.parameters = cp->parameterCount();
    s.layers = c.numLayers;
    s.hiddenSize = c.hiddenSize;
    s.numHeads = c.numHeads;
    s.numKvHeads = c.numKvHeads;
    s.stateSize = c.ssm.stateSize;
    s.innerSize = c.ssm.enabled() ? c.intermediateSize : 0;
    s.vocabSize = c.vocabSize;
    s.dtype = cp->dominantDType();
    s.bytesOnDisk = cp->bytesOnDisk();
    s.shards = static_cast<int>(cp->shardPaths().size());
    s.hasTokenizer = isFile(fs::path(dir) / "tokenizer.json");
    return s;
}

} // namespace ptq
