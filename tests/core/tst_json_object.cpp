// The strict JSON object reader (util/json_object.h): typed reads with defaults, ranges,
// lists, unknown keys reported with the keys that are known, and every message naming the
// source and the key's path.

#include "util/json_object.h"

#include "test_files.h"

#include <gtest/gtest.h>

using ptq::JsonObject;
using ptq::test::expectPtqError;
using json = nlohmann::json;

TEST(JsonObject, ReadsTypedValuesWithDefaults)
{
    const json j = {{"b", true},   {"i", 7},           {"x", 0.5}, {"s", "text"},
                    {"l", {1, 2}}, {"n", {"a", "bc"}}, {"big", 3}};
    JsonObject o(j, "spec.json");
    EXPECT_TRUE(o.boolean("b", false));
    EXPECT_EQ(o.integer("i", 0, 0, 10), 7);
    EXPECT_EQ(o.number("x", 0.0), 0.5);
    EXPECT_EQ(o.number("i", 0.0), 7.0); // an integer is a number
    EXPECT_EQ(o.string("s", ""), "text");
    EXPECT_EQ(o.integers("l", 0, 5), (std::vector<int64_t>{1, 2}));
    EXPECT_EQ(o.strings("n"), (std::vector<std::string>{"a", "bc"}));
    EXPECT_EQ(o.get<int>("big", 0), 3);
    EXPECT_EQ(o.integer("absent", 42), 42);
    EXPECT_EQ(o.get<std::string>("absent2", "dflt"), "dflt");
    EXPECT_TRUE(o.array("absent3").empty());
    o.finish(); // every key was read
}

TEST(JsonObject, RejectsWrongTypesRangesAndUnknownKeys)
{
    const json j = {{"i", "7"}, {"r", 11}, {"f", 1.5}, {"l", {1, "x"}}, {"flag", 1}};
    expectPtqError([&] { JsonObject(j, "spec.json").integer("i", 0); }, "spec.json",
                   "i: must be an integer, got a string \"7\"");
    expectPtqError([&] { JsonObject(j, "spec.json").integer("r", 0, 0, 10); }, "spec.json",
                   "r: must be in [0, 10], got 11");
    expectPtqError([&] { JsonObject(j, "spec.json").integer("f", 0); }, "spec.json",
                   "must be an integer, got a number 1.5");
    expectPtqError([&] { JsonObject(j, "spec.json", "eval").integers("l", 0, 9); }, "spec.json",
                   "eval.l[1]: must be an integer");
    expectPtqError([&] { JsonObject(j, "spec.json").boolean("flag", false); }, "spec.json",
                   "flag: must be true or false");
    expectPtqError([&] { JsonObject(json::array(), "spec.json"); }, "spec.json",
                   "expected a JSON object");
    JsonObject o(j, "params of x", "", "parameter");
    o.find("i");
    o.find("r");
    expectPtqError([&] { o.finish(); }, "params of x", "unknown parameter (known here: i, r)");
}
