// Recipes as values: JSON round trips of the built-in recipes, canonical JSON, and clear
// errors for unknown methods and keys, bad bit widths and groups that do not divide.

#include "core/test_files.h"

#include "quant/recipe.h"
#include "quant/registry.h"
#include "util/error.h"

#include <gtest/gtest.h>

#include <functional>

using namespace ptq;
using nlohmann::json;

namespace {

void expectError(const std::function<void()>& f, const std::vector<std::string>& parts)
{
    try {
        f();
        ADD_FAILURE() << "no ptq::Error thrown";
    } catch (const ptq::Error& e) {
        for (const auto& p : parts)
            EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
                << "'" << e.what() << "' does not mention '" << p << "'";
    }
}

bool transformRegistered(const std::string& name)
{
    for (const auto& t : blockTransforms())
        if (t.name == name)
            return true;
    return false;
}

json minimal()
{
    return {{"name", "r"}, {"weight_quantizer", {{"method", "rtn"}}}};
}

} // namespace

TEST(Recipe, BuiltinsRoundTripOrSayWhyNot)
{
    int built = 0;
    for (const auto& name : Recipe::builtinNames()) {
        try {
            const Recipe r = Recipe::builtin(name);
            ++built;
            const Recipe back = Recipe::fromJson(json::parse(r.canonical()));
            EXPECT_EQ(back.canonical(), r.canonical()) << name;
            EXPECT_EQ(back.name, name);
        } catch (const ptq::Error& e) {
            // Only a recipe whose transform is missing from this build may fail, and it
            // must say so by name.
            const std::string msg = e.what();
            EXPECT_NE(msg.find("is not available in this build"), std::string::npos) << msg;
            bool named = false;
            for (const auto& t : {"awq", "smoothquant", "quarot", "quip", "omniquant"})
                named = named || (msg.find(std::string("'") + t + "'") != std::string::npos &&
                                  !transformRegistered(t));
            EXPECT_TRUE(named) << msg;
        }
    }
    EXPECT_GE(built, 2); // rtn and gptq need no transform
    expectError([] { Recipe::builtin("nope"); }, {"nope", "unknown recipe", "gptq", "quarot-rtn"});
}

TEST(Recipe, CanonicalJsonIgnoresKeyOrderAndFillsDefaults)
{
    const json a = json::parse(R"({"weight_quantizer": {"params": {"actOrder": true},
        "method": "gptq"}, "name": "x", "weight_grid": {"group_size": 128, "bits": 3}})");
    const json b = json::parse(R"({"name": "x", "weight_grid": {"bits": 3, "group_size": 128,
        "symmetric": false, "clip_ratio": 1.0}, "true_sequential": true,
        "weight_quantizer": {"method": "gptq", "params": {"actOrder": true}}})");
    const Recipe ra = Recipe::fromJson(a), rb = Recipe::fromJson(b);
    EXPECT_EQ(ra.canonical(), rb.canonical());
    EXPECT_EQ(ra.weightGrid.bits, 3);
    EXPECT_EQ(ra.weightGrid.groupSize, 128);
    Recipe rc = ra;
    rc.weightGrid.bits = 4;
    EXPECT_NE(rc.canonical(), ra.canonical());
    // Keys come out sorted.
    const std::string s = ra.canonical();
    EXPECT_LT(s.find("\"activations\""), s.find("\"name\""));
    EXPECT_LT(s.find("\"name\""), s.find("\"weight_quantizer\""));
}

TEST(Recipe, ActivationAndKvSpecsRoundTrip)
{
    json j = minimal();
    j["activations"] = {{"bits", 4}, {"dynamic", true}, {"symmetric", false}, {"clip_ratio", 0.9}};
    j["kv"] = {{"bits", 4}, {"group_size", 64}};
    const Recipe r = Recipe::fromJson(j);
    ASSERT_TRUE(r.activations && r.kv);
    EXPECT_EQ(r.activations->bits, 4);
    EXPECT_DOUBLE_EQ(r.activations->clipRatio, 0.9);
    EXPECT_EQ(r.kv->groupSize, 64);
    EXPECT_EQ(Recipe::fromJson(r.toJson()).canonical(), r.canonical());
}

TEST(Recipe, RejectsUnknownMethodsKeysAndBadValues)
{
    json j = minimal();
    j["weight_quantizer"]["method"] = "magic";
    expectError([&] { Recipe::fromJson(j, "my.json"); },
                {"magic", "unknown method", "rtn", "gptq"});

    j = minimal();
    j["transforms"] = json::array({{{"method", "frobnicate"}}});
    expectError([&] { Recipe::fromJson(j); }, {"frobnicate", "unknown transform"});

    j = minimal();
    j["colour"] = "blue";
    expectError([&] { Recipe::fromJson(j, "my.json"); }, {"my.json", "colour", "unknown key"});

    j = minimal();
    j["weight_grid"] = {{"bitz", 4}};
    expectError([&] { Recipe::fromJson(j); }, {"weight_grid.bitz", "unknown key"});

    j = minimal();
    j["weight_quantizer"]["params"] = {{"percdamp", 0.1}}; // rtn has no such parameter
    expectError([&] { Recipe::fromJson(j); }, {"percdamp"});

    for (int bits : {1, 9}) {
        j = minimal();
        j["weight_grid"] = {{"bits", bits}};
        expectError([&] { Recipe::fromJson(j); }, {"weight_grid.bits", std::to_string(bits)});
        j = minimal();
        j["activations"] = {{"bits", bits}};
        expectError([&] { Recipe::fromJson(j); }, {"activations.bits"});
        j = minimal();
        j["kv"] = {{"bits", bits}};
        expectError([&] { Recipe::fromJson(j); }, {"kv.bits"});
    }

    j = minimal();
    j["weight_grid"] = {{"bits", "four"}};
    expectError([&] { Recipe::fromJson(j); }, {"weight_grid.bits", "must be an integer"});

    j = minimal();
    j["activations"] = {{"clip_ratio", 1.5}};
    expectError([&] { Recipe::fromJson(j); }, {"activations.clip_ratio"});

    expectError(
        [] {
            Recipe::fromJson(json{{"weight_quantizer", {{"method", "rtn"}}}});
        },
        {"name"});
    expectError([] { Recipe::fromJson(json{{"name", "x"}}); }, {"weight_quantizer"});
}

TEST(Recipe, GroupMustDivideTheLayer)
{
    json j = minimal();
    j["weight_grid"] = {{"bits", 4}, {"group_size", 96}};
    const Recipe r = Recipe::fromJson(j); // fine on its own
    EXPECT_NO_THROW(r.validate("recipe", 192));
    expectError([&] { r.validate("recipe", 128); }, {"96", "128"});
}

TEST(Recipe, FromNameOrFile)
{
    ptq::test::TempDir dir("recipe");
    const std::string path = dir.file("mine.json");
    json j = minimal();
    j["weight_grid"] = {{"bits", 3}};
    ptq::test::writeFile(path, j.dump());
    EXPECT_EQ(Recipe::fromNameOrFile(path).weightGrid.bits, 3);
    EXPECT_EQ(Recipe::fromNameOrFile("gptq").weightQuantizer.method, "gptq");

    ptq::test::writeFile(dir.file("bad.json"), "{\"name\": ");
    expectError([&] { Recipe::fromNameOrFile(dir.file("bad.json")); }, {"bad.json", "JSON"});
    expectError([&] { Recipe::fromNameOrFile(dir.file("missing.json")); },
                {"missing.json", "cannot open"});
}
