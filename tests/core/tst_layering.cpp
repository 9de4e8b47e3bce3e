// The layering of core/ as docs/ARCHITECTURE.md states it, checked on the source tree: each
// folder includes only itself and the folders below it (so the folders form no cycle), the
// family builder code is reached by nobody in the engine, and core/engine/ names no method:
// what the engine asks of a method comes from the method table.

#include "quant/registry.h"

#include <gtest/gtest.h>

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
