// ptqbench end to end: real processes, real files. Every bad input exits non-zero with a
// message naming the problem; a good run prints the perplexity report.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <sys/wait.h>

namespace fs = std::filesystem;

namespace {

struct RunResult {
    int status = -1;
    std::string output; // stdout and stderr together
};

RunResult run(const std::string& args)
{
    const std::string cmd = std::string(PTQBENCH_EXE) + " " + args + " 2>&1";
    RunResult r;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p)
        return r;
    std::array<char, 4096> buf{};
    while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p))
        r.output.append(buf.data(), n);
    const int raw = pclose(p);
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    return r;
}

class CliTest : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        s_dir = fs::temp_directory_path() / ("ptq_cli_" + std::to_string(::getpid()));
        fs::create_directories(s_dir);
        const std::string text = std::string(PTQ_SOURCE_DIR) + "/resources/data/sample_text.txt";
        const RunResult r =
            run("make-default --out " + (s_dir / "model").string() + " --text " + text);
        ASSERT_EQ(r.status, 0) << r.output;
    }
    static void TearDownTestSuite() { fs::remove_all(s_dir); }
    static std::string model() { return (s_dir / "model").string(); }
    static std::string sample()
    {
        return std::string(PTQ_SOURCE_DIR) + "/resources/data/sample_text.txt";
    }
    static fs::path s_dir;
};
fs::path CliTest::s_dir;

TEST_F(CliTest, NoArgumentsPrintsUsage)
{
    const RunResult r = run("");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("usage: ptqbench"), std::string::npos);
}

TEST_F(CliTest, UnknownCommandAndOption)
{
    RunResult r = run("frobnicate");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("unknown command 'frobnicate'"), std::string::npos) << r.output;
    r = run("eval --model " + model() + " --text " + sample() + " --bogus 3");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("unknown option --bogus"), std::string::npos) << r.output;
}

TEST_F(CliTest, MissingAndMalformedValues)
{
    RunResult r = run("eval --model " + model());
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("missing required option --text"), std::string::npos) << r.output;
    r = run("eval --model " + model() + " --text " + sample() + " --seqlen abc");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("--seqlen expects an integer"), std::string::npos) << r.output;
    r = run("eval --model " + model() + " --text " + sample() + " --dtype fp8");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("--dtype must be fp32 or bf16"), std::string::npos) << r.output;
}

TEST_F(CliTest, MissingModelFolderNamesIt)
{
    const std::string missing = (s_dir / "no_such_model").string();
    const RunResult r = run("eval --model " + missing + " --text " + sample());
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find(missing), std::string::npos) << r.output;
}

TEST_F(CliTest, MissingTextFileNamesIt)
{
    const std::string missing = (s_dir / "no_such_text.txt").string();
    const RunResult r = run("eval --model " + model() + " --text " + missing);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find(missing), std::string::npos) << r.output;
}

TEST_F(CliTest, PickleCheckpointIsRefused)
{
    const fs::path dir = s_dir / "pickle";
    fs::create_directories(dir);
    fs::copy_file(fs::path(model()) / "config.json", dir / "config.json");
    std::ofstream(dir / "pytorch_model.bin") << "\x80\x02}q\x00.";
    const RunResult r = run("info --model " + dir.string());
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("pickle"), std::string::npos) << r.output;
}

TEST_F(CliTest, WindowLongerThanTextIsAnError)
{
    const RunResult r =
        run("eval --model " + model() + " --text " + sample() + " --seqlen 1000000 --quiet");
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find("error:"), std::string::npos) << r.output;
}

TEST_F(CliTest, EvalReportsPerplexityAsJson)
{
    const RunResult r =
        run("eval --model " + model() + " --text " + sample() + " --seqlen 256 --json");
    ASSERT_EQ(r.status, 0) << r.output;
    const auto j = nlohmann::json::parse(r.output);
    const double ppl = j.at("perplexity").get<double>();
    const int64_t windows = j.at("windows").get<int64_t>();
    // The text is ~5.1 KB of bytes plus BOS: floor(tokens / 256) windows, 255 scored each.
    EXPECT_EQ(windows, j.at("tokens_in_text").get<int64_t>() / 256);
    EXPECT_EQ(j.at("tokens_scored").get<int64_t>(), windows * 255);
    // A bigram model evaluated on its own training text is far better than uniform (260 tokens)
    // and no better than the 1-byte-per-token entropy floor of English (> 2).
    EXPECT_GT(ppl, 2.0);
    EXPECT_LT(ppl, 30.0);
    EXPECT_NEAR(std::log(ppl), j.at("mean_nll").get<double>(), 1e-9);
}

// The bundled Mixture of Experts on a short text: every window token of every layer makes k = 2
// choices, so each layer's expert counts add up to 2 * windows * seqlen and its shares to 1.
TEST_F(CliTest, EvalReportsTheExpertLoadOfAMixtureOfExperts)
{
    const std::string moe = std::string(PTQ_SOURCE_DIR) + "/resources/models/ptq-mixtral-11m";
    const RunResult r =
        run("eval --model " + moe + " --text " + sample() + " --seqlen 64 --windows 3 --json");
    ASSERT_EQ(r.status, 0) << r.output;
    const auto j = nlohmann::json::parse(r.output);
    ASSERT_EQ(j.at("expert_load").size(), 4u); // one entry per layer
    for (const auto& layer : j.at("expert_load")) {
        int64_t tokens = 0;
        double share = 0;
        for (const auto& n : layer.at("tokens"))
            tokens += n.get<int64_t>();
        for (const auto& s : layer.at("share"))
            share += s.get<double>();
        EXPECT_EQ(layer.at("tokens").size(), 8u);
        EXPECT_EQ(tokens, 2 * 3 * 64);
        EXPECT_NEAR(share, 1.0, 1e-12);
    }
    const RunResult dense =
        run("eval --model " + model() + " --text " + sample() + " --seqlen 64 --windows 3 --json");
    EXPECT_FALSE(nlohmann::json::parse(dense.output).contains("expert_load"));
}

TEST_F(CliTest, InfoShowsTheArchitecture)
{
    const RunResult r = run("info --model " + model());
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("architecture  llama"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("layers        1"), std::string::npos) << r.output;
}

} // namespace

// ptqbench list prints the engine's tables: every architecture row, every weight quantizer
// and transform with what it needs, and every built-in strategy.
TEST_F(CliTest, ListPrintsTheArchitectureAndMethodTables)
{
    const RunResult r = run("list --json");
    ASSERT_EQ(r.status, 0) << r.output;
    const auto j = nlohmann::json::parse(r.output);
    std::set<std::string> types, quantizers, transforms;
    for (const auto& a : j.at("architectures"))
        types.insert(a.at("model_type").get<std::string>());
    for (const auto& m : j.at("weight_quantizers"))
        quantizers.insert(m.at("name").get<std::string>());
    for (const auto& t : j.at("transforms")) {
        transforms.insert(t.at("name").get<std::string>());
        EXPECT_GT(t.at("relative_cost").get<double>(), 0.0);
    }
    EXPECT_EQ(types, (std::set<std::string>{"llama", "mistral", "qwen2", "mixtral", "deepseek",
                                            "qwen2_moe", "mamba"}));
    EXPECT_TRUE(quantizers.count("rtn") && quantizers.count("gptq") && quantizers.count("quip"));
    EXPECT_TRUE(transforms.count("awq") && transforms.count("quarot"));
    for (const auto& t : j.at("transforms"))
        if (t.at("name") == "awq") { // the norm fold; v->o and up->down where present
            EXPECT_EQ(t.at("needs"), nlohmann::json::array({"norm fold"}));
        }
    EXPECT_GE(j.at("strategies").size(), 10u);
    const RunResult text = run("list");
    ASSERT_EQ(text.status, 0);
    EXPECT_NE(text.output.find("quarot-gptq"), std::string::npos);
    EXPECT_NE(text.output.find("v->o fold"), std::string::npos);
}
