// The layering of core/ as docs/ARCHITECTURE.md states it, checked on the source tree: each
// folder includes only itself and the folders below it (so the folders form no cycle), the
// family builder code is reached by nobody in the engine, core/engine/ names no method (what
// the engine asks of a method comes from the method table), and no code outside the
// architectures names a tensor of one.

#include "model/architecture.h"
#include "quant/registry.h"

#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

namespace {

// Folder -> the folders it may include, besides itself. Bottom to top: util; io, text, store;
// model; quant, eval; engine; analysis; family (the bundled models' builder, its own target).
const std::map<std::string, std::set<std::string>>& allowed()
{
    static const std::map<std::string, std::set<std::string>> table = {
        {"util", {}},
        {"io", {"util"}},
        {"text", {"util"}},
        {"store", {"util"}},
        {"model", {"util", "io"}},
        {"quant", {"util", "io", "model"}},
        {"eval", {"util", "io", "model", "text"}},
        {"engine", {"util", "io", "text", "store", "model", "quant", "eval"}},
        {"analysis", {"util", "store"}},
        {"family", {"util", "io", "text", "store", "model", "quant", "eval", "engine", "analysis"}},
    };
    return table;
}

std::string readText(const fs::path& p)
{
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

const fs::path kCore = fs::path(PTQ_SOURCE_DIR) / "core";

} // namespace

TEST(Layering, EachFolderIncludesOnlyTheFoldersBelowIt)
{
    const std::regex include(R"re(#include\s+"([a-z_]+)/[^"]+")re");
    int files = 0;
    for (const auto& dir : fs::directory_iterator(kCore)) {
        if (!dir.is_directory())
            continue;
        const std::string folder = dir.path().filename().string();
        ASSERT_TRUE(allowed().count(folder))
            << "core/" << folder << " has no place in the layer table (docs/ARCHITECTURE.md)";
        for (const auto& f : fs::recursive_directory_iterator(dir.path())) {
            const std::string ext = f.path().extension().string();
            if (ext != ".h" && ext != ".cpp")
                continue;
            ++files;
            const std::string text = readText(f.path());
            for (std::sregex_iterator it(text.begin(), text.end(), include), end; it != end; ++it) {
                const std::string to = (*it)[1];
                EXPECT_TRUE(to == folder || allowed().at(folder).count(to))
                    << fs::relative(f.path(), kCore).string() << " includes " << to << "/: core/"
                    << folder << " may include only "
                    << ::testing::PrintToString(allowed().at(folder));
            }
        }
    }
    EXPECT_GT(files, 50);
}

namespace {

// The text of a source file without its // comments (documentation may show a recipe).
std::string codeOnly(const std::string& text)
{
    std::istringstream in(text);
    std::string out;
    for (std::string line; std::getline(in, line);)
        out += line.substr(0, line.find("//")) + "\n";
    return out;
}

} // namespace

TEST(Layering, TheEngineNamesNoMethod)
{
    std::set<std::string> names;
    for (const auto& m : ptq::weightQuantizers())
        names.insert(m.name);
    for (const auto& t : ptq::blockTransforms())
        names.insert(t.name);
    ASSERT_GE(names.size(), 5u);
    for (const auto& f : fs::directory_iterator(kCore / "engine")) {
        const std::string text = codeOnly(readText(f.path()));
        for (const auto& n : names)
            EXPECT_EQ(text.find("\"" + n + "\""), std::string::npos)
                << "core/engine/" << f.path().filename().string() << " names method " << n;
    }
}

namespace {

// The names an architecture gives its tensors, modules and fold points: every dot-separated
// part with an underscore ("q_proj", "input_layernorm", "self_attn", "attn_qkv", ...), the
// block prefix without its index ("model.layers.") and the head tensors' full names.
std::set<std::string> architectureNames()
{
    std::set<std::string> names;
    for (const auto& row : ptq::architectures()) {
        ptq::ModelConfig c;
        c.modelType = row.modelType;
        c.vocabSize = 32, c.hiddenSize = 16, c.intermediateSize = 24, c.numLayers = 1;
        c.numHeads = 2, c.numKvHeads = 1, c.headDim = 8, c.attentionBias = true;
        c.moe.experts = 2, c.moe.expertsPerToken = 1, c.moe.expertWidth = 8;
        c.moe.sharedWidth = 8, c.moe.sharedGate = row.modelType == "qwen2_moe";
        if (row.modelType == "llama" || row.modelType == "mistral" || row.modelType == "qwen2")
            c.moe = ptq::MoeConfig{};
        c.numLayers = 2, c.moe.firstDenseLayers = 1; // a dense and an MoE block
        const auto arch = ptq::makeArchitecture(c);
        auto parts = [&](const std::string& name) {
            std::istringstream in(name);
            for (std::string part; std::getline(in, part, '.');)
                if (part.find('_') != std::string::npos)
                    names.insert(part);
        };
        for (const auto& layout : arch->distinctLayouts()) {
            for (const auto& t : layout->tensors)
                parts(t.key), parts(t.checkpoint);
            for (const auto& f : layout->folds)
                parts(f.name), parts(f.module);
        }
        const std::string prefix = arch->blockPrefix(0);
        names.insert(prefix.substr(0, prefix.rfind('0')));
        const auto head = arch->headNames();
        for (const auto& n : {head.embedding, head.finalNorm, head.lmHead})
            names.insert(n);
    }
    return names;
}

// `name` in `text` as a whole word: "lm_head" in "the lm_head tensor", not in the recipe key
// "quantize_lm_head".
bool containsName(const std::string& text, const std::string& name)
{
    auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    for (std::size_t at = text.find(name); at != std::string::npos; at = text.find(name, at + 1)) {
        const bool before = at > 0 && word(text[at - 1]) && word(name.front());
        const std::size_t end = at + name.size();
        const bool after = end < text.size() && word(text[end]) && word(name.back());
        if (!before && !after)
            return true;
    }
    return false;
}

} // namespace

// The engine, the evaluation and the methods reach a model's tensors only through its
// architecture (model/architecture.h): no string literal there names a tensor, module or
// fold point of any architecture in the table.
TEST(Layering, OnlyTheArchitecturesNameTensors)
{
    const auto names = architectureNames();
    ASSERT_GE(names.size(), 10u);
    int files = 0;
    for (const char* folder : {"engine", "eval", "quant", "analysis"}) {
        for (const auto& f : fs::directory_iterator(kCore / folder)) {
            const std::string text = codeOnly(readText(f.path()));
            ++files;
            for (std::size_t q = text.find('"'); q != std::string::npos;) {
                const std::size_t end = text.find('"', q + 1);
                if (end == std::string::npos)
                    break;
                const std::string literal = text.substr(q + 1, end - q - 1);
                for (const auto& n : names)
                    EXPECT_FALSE(containsName(literal, n))
                        << "core/" << folder << "/" << f.path().filename().string()
                        << " names the architecture's \"" << n << "\" in \"" << literal << "\"";
                q = text.find('"', end + 1);
            }
        }
    }
    EXPECT_GT(files, 20);
}
