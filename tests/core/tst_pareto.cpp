// Pareto analysis: fronts against a brute-force dominance check on random point sets (ties
// and duplicates included, both directions), run selection and dataset resolution, grouping,
// the size-budget and iso-size queries, and the errors for unknown metrics and NaN values.

#include "analysis/pareto.h"
#include "util/error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>

using namespace ptq;

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

// The definition, checked pair by pair: b is dominated when some a is no larger, no worse
// and differs in x or y. O(n²).
std::vector<size_t> bruteForceFront(const std::vector<ParetoPoint>& pts, Direction d)
{
    const auto y = [d](double v) { return d == Direction::Minimize ? v : -v; };
    std::vector<size_t> front;
    for (size_t b = 0; b < pts.size(); ++b) {
        bool dominated = false;
        for (size_t a = 0; a < pts.size() && !dominated; ++a)
            dominated = pts[a].x <= pts[b].x && y(pts[a].y) <= y(pts[b].y) &&
                        (pts[a].x < pts[b].x || y(pts[a].y) < y(pts[b].y));
        if (!dominated)
            front.push_back(b);
    }
    std::sort(front.begin(), front.end(), [&](size_t a, size_t b) {
        if (pts[a].x != pts[b].x)
            return pts[a].x < pts[b].x;
        return y(pts[a].y) != y(pts[b].y) ? y(pts[a].y) < y(pts[b].y) : a < b;
    });
    return front;
}

RunRecord makeRun(int64_t id, const std::string& model, int64_t params, const std::string& recipe,
                  int wbits, uint64_t bytes, std::vector<MetricValue> metrics,
                  RunStatus status = RunStatus::Done)
{
    RunRecord r;
    r.id = id;
    r.spec.modelFingerprint = "fp-" + model;
    r.modelName = model;
    r.modelParameters = params;
    r.spec.recipeName = recipe;
    r.spec.wbits = wbits;
    r.spec.groupSize = 128;
    r.status = status;
    r.packedBytes = bytes;
    r.bitsPerWeight = params > 0 ? 8.0 * static_cast<double>(bytes) / params : 0;
    r.metrics = std::move(metrics);
    return r;
}

const std::string kWiki(64, 'a');
const std::string kC4(64, 'c');

MetricValue ppl(double v, const std::string& ds = kWiki)
{
    return {"perplexity", ds, v};
}

std::vector<int64_t> runIds(const ParetoGroupFront& g)
{
    std::vector<int64_t> ids;
    for (size_t i : g.front)
        ids.push_back(g.points[i].runId);
    return ids;
}

} // namespace

TEST(Pareto, FrontEqualsBruteForceOnRandomSets)
{
    std::mt19937_64 rng(20240611);
    int sets = 0;
    for (int trial = 0; trial < 240; ++trial) {
        // Half the sets draw from a 6×6 grid, so equal x, equal y and exact duplicates are
        // frequent; the others are continuous with a few copied points.
        const bool grid = trial % 2 == 0;
        const size_t n = std::uniform_int_distribution<size_t>(0, 80)(rng);
        std::uniform_int_distribution<int> cell(0, 5);
        std::uniform_real_distribution<double> real(-3.0, 3.0);
        std::vector<ParetoPoint> pts;
        for (size_t i = 0; i < n; ++i) {
            ParetoPoint p;
            p.x = grid ? cell(rng) : real(rng);
            p.y = grid ? cell(rng) : real(rng);
            if (!grid && i > 0 && i % 7 == 0)
                p = pts[i / 2];
            p.label = "p" + std::to_string(i);
            pts.push_back(p);
        }
        for (Direction d : {Direction::Minimize, Direction::Maximize}) {
            EXPECT_EQ(paretoFront(pts, d), bruteForceFront(pts, d))
                << "trial " << trial << " direction " << static_cast<int>(d);
            ++sets;
        }
    }
    EXPECT_GE(sets, 400);
}

TEST(Pareto, DuplicatesAreAllKeptAndDominatedTiesDropped)
{
    std::vector<ParetoPoint> pts = {{2, 5, "a"}, {1, 9, "b"}, {2, 5, "c"}, {2, 6, "d"},
                                    {3, 5, "e"}, {4, 1, "f"}, {1, 9, "g"}};
    // (1,9) twice, then (2,5) twice; (2,6) loses to (2,5), (3,5) to (2,5); (4,1) wins on y.
    EXPECT_EQ(paretoFront(pts, Direction::Minimize), (std::vector<size_t>{1, 6, 0, 2, 5}));
    // Maximizing y: (1,9) twice dominates everything of larger size.
    EXPECT_EQ(paretoFront(pts, Direction::Maximize), (std::vector<size_t>{1, 6}));
    EXPECT_TRUE(paretoFront({}, Direction::Minimize).empty());
}

TEST(Pareto, NonFinitePointsNameThePoint)
{
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    expectError(
        [&] {
            paretoFront({{1, 2, "ok"}, {2, nan, "run 9"}}, Direction::Minimize);
        },
        {"run 9", "NaN"});
    expectError(
        [&] {
            paretoFront({{inf, 2, "run 4"}}, Direction::Maximize, "x.db");
        },
        {"x.db", "run 4", "infinite"});
}

TEST(Pareto, MetricDirections)
{
    for (const char* m : {"perplexity", "perplexity_fp", "kl_mean", "kl_max"})
        EXPECT_EQ(metricDirection(m), Direction::Minimize) << m;
    for (const char* m : {"acc", "acc_norm", "top1_agreement"})
        EXPECT_EQ(metricDirection(m), Direction::Maximize) << m;
    for (const auto& m : knownMetricNames())
        EXPECT_NO_THROW(metricDirection(m)) << m; // every stored metric has a direction
    expectError([] { metricDirection("perplexty"); }, {"perplexty", "perplexity"});
}

TEST(Pareto, PointsTakeDoneRunsWithTheMetricOnly)
{
    std::vector<RunRecord> runs = {
        makeRun(1, "m", 1000, "rtn", 4, 600, {ppl(12)}),
        makeRun(2, "m", 1000, "rtn", 3, 450, {ppl(15)}, RunStatus::Failed),
        makeRun(3, "m", 1000, "gptq", 3, 450, {{"kl_mean", kWiki, 0.1}}),
        makeRun(4, "m", 1000, "gptq", 2, 0, {ppl(30)}), // no recorded size
        makeRun(5, "m", 1000, "gptq", 4, 600, {ppl(11)})};
    ParetoQuery q{"perplexity", "", SizeAxis::Bytes, "t.db"};
    const ParetoPointSet set = paretoPoints(runs, q);
    EXPECT_EQ(set.datasetSha256, kWiki);
    ASSERT_EQ(set.points.size(), 2u);
    EXPECT_EQ(set.points[0].runId, 1);
    EXPECT_EQ(set.points[1].runIndex, 4u);
    EXPECT_DOUBLE_EQ(set.points[1].x, 600);
    ASSERT_EQ(set.warnings.size(), 1u);
    EXPECT_NE(set.warnings[0].find("run 4"), std::string::npos) << set.warnings[0];

    q.x = SizeAxis::BitsPerWeight;
    EXPECT_DOUBLE_EQ(paretoPoints(runs, q).points[0].x, 8.0 * 600 / 1000);

    runs[4].metrics[0].value = std::nan("");
    expectError([&] { paretoPoints(runs, q); }, {"t.db", "run 5", "perplexity", "NaN"});
    expectError(
        [&] {
            paretoPoints(runs, {"acc", "", SizeAxis::Bytes, "t.db"});
        },
        {"t.db", "acc", "no finished run"});
    expectError(
        [&] {
            paretoPoints(runs, {"accuracy", "", SizeAxis::Bytes, "t.db"});
        },
        {"accuracy"});
}

TEST(Pareto, SeveralDatasetsNeedAChoice)
{
    std::vector<RunRecord> runs = {makeRun(1, "m", 1000, "rtn", 4, 600, {ppl(12), ppl(20, kC4)}),
                                   makeRun(2, "m", 1000, "rtn", 3, 450, {ppl(15, kC4)})};
    expectError(
        [&] {
            paretoPoints(runs, {"perplexity", "", SizeAxis::Bytes, "t.db"});
        },
        {"several datasets", kWiki, kC4});
    const auto set = paretoPoints(runs, {"perplexity", "CCCC", SizeAxis::Bytes, "t.db"});
    EXPECT_EQ(set.datasetSha256, kC4);
    ASSERT_EQ(set.points.size(), 2u);
    EXPECT_DOUBLE_EQ(set.points[0].y, 20);
    expectError(
        [&] {
            paretoPoints(runs, {"perplexity", "beef", SizeAxis::Bytes, "t.db"});
        },
        {"beef", kWiki, kC4});
}

TEST(Pareto, GroupsPerModelAndPerRecipe)
{
    std::vector<RunRecord> runs = {
        makeRun(1, "small", 1000, "rtn", 4, 600, {ppl(14)}),
        makeRun(2, "small", 1000, "gptq", 4, 600, {ppl(13)}),
        makeRun(3, "small", 1000, "gptq", 3, 450, {ppl(16)}),
        makeRun(4, "large", 3000, "gptq", 2, 900, {ppl(15)}),
        makeRun(5, "large", 3000, "rtn", 4, 1600, {ppl(9)}),
        makeRun(6, "large", 3000, "rtn", 3, 1300, {ppl(10)}),
    };
    const ParetoQuery q{"perplexity", "", SizeAxis::Bytes, "t.db"};
    const auto all = paretoFronts(runs, q, ParetoGrouping::All);
    ASSERT_EQ(all.groups.size(), 1u);
    EXPECT_EQ(runIds(all.groups[0]), (std::vector<int64_t>{3, 2, 6, 5}));

    const auto perModel = paretoFronts(runs, q, ParetoGrouping::PerModel);
    ASSERT_EQ(perModel.groups.size(), 2u);
    EXPECT_EQ(perModel.groups[0].label, "large"); // keys sorted: "fp-large" < "fp-small"
    EXPECT_EQ(runIds(perModel.groups[0]), (std::vector<int64_t>{4, 6, 5}));
    EXPECT_EQ(runIds(perModel.groups[1]), (std::vector<int64_t>{3, 2}));

    const auto perRecipe = paretoFronts(runs, q, ParetoGrouping::PerRecipe);
    ASSERT_EQ(perRecipe.groups.size(), 2u);
    EXPECT_EQ(perRecipe.groups[0].key, "gptq");
    EXPECT_EQ(runIds(perRecipe.groups[0]), (std::vector<int64_t>{3, 2}));
    EXPECT_EQ(runIds(perRecipe.groups[1]), (std::vector<int64_t>{1, 6, 5}));
}

TEST(Pareto, BestUnderBudget)
{
    std::vector<RunRecord> runs = {
        makeRun(1, "small", 1000, "rtn", 4, 600, {ppl(14)}),
        makeRun(2, "small", 1000, "gptq", 4, 600, {ppl(13)}),
        makeRun(3, "small", 1000, "gptq", 3, 450, {ppl(16)}),
        makeRun(4, "large", 3000, "gptq", 2, 900, {ppl(13)}),
        makeRun(5, "large", 3000, "rtn", 4, 1600, {ppl(9)}),
        makeRun(6, "large", 3000, "rtn", 4, 500, {ppl(50)}, RunStatus::Failed),
    };
    const ParetoQuery q{"perplexity", "", SizeAxis::BitsPerWeight, "t.db"};
    EXPECT_FALSE(bestUnderBudget(runs, q, 449).has_value());
    EXPECT_EQ(bestUnderBudget(runs, q, 450)->runId, 3); // the budget is inclusive
    EXPECT_EQ(bestUnderBudget(runs, q, 899)->runId, 2);
    // Runs 2 and 4 tie at 13: the smaller one wins.
    const auto pick = bestUnderBudget(runs, q, 1000);
    ASSERT_TRUE(pick.has_value());
    EXPECT_EQ(pick->runId, 2);
    EXPECT_EQ(pick->runIndex, 1u);
    EXPECT_EQ(pick->packedBytes, 600u);
    EXPECT_DOUBLE_EQ(pick->value, 13);
    EXPECT_EQ(bestUnderBudget(runs, q, 1u << 30)->runId, 5);

    // Accuracy is maximized.
    for (auto& r : runs)
        r.metrics.push_back({"acc", "task", 1.0 / r.packedBytes});
    EXPECT_EQ(bestUnderBudget(runs, {"acc", "", SizeAxis::Bytes, "t.db"}, 1000)->runId, 3);
}

TEST(Pareto, IsoSizeComparison)
{
    std::vector<RunRecord> runs = {
        makeRun(1, "small", 1000, "gptq", 4, 600, {ppl(13)}),
        makeRun(2, "large", 2400, "gptq", 2, 630, {ppl(21)}), // 5% above run 1: small wins
        makeRun(3, "large", 2400, "quip", 2, 580, {ppl(12)}), // a pair, the large model wins
        makeRun(4, "large", 2400, "gptq", 3, 900, {ppl(11)}), // 50% larger: no pair
        makeRun(5, "small", 1000, "rtn", 3, 590, {ppl(13)}),  // same model as run 1: no pair
        makeRun(6, "mid", 1000, "rtn", 4, 600, {ppl(13)}),    // same parameter count: no pair
        makeRun(7, "large", 2400, "rtn", 2, 600, {ppl(13)}),  // tie with runs 1 and 5
        makeRun(8, "large", 2400, "rtn", 2, 600, {ppl(9)}, RunStatus::Cancelled),
    };
    // Run 2 is 6.8% larger than run 5: outside the 6% tolerance.
    const ParetoQuery q{"perplexity", "", SizeAxis::Bytes, "t.db"};
    const auto pairs = isoSizeComparison(runs, q, 0.06);
    struct Expected {
        int64_t larger, smaller;
        IsoSizeWinner winner;
    };
    // Sorted by the smaller run's size (590 < 600), then ids.
    const std::vector<Expected> want = {
        {3, 5, IsoSizeWinner::Larger}, {7, 5, IsoSizeWinner::Tie}, {2, 1, IsoSizeWinner::Smaller},
        {3, 1, IsoSizeWinner::Larger}, {7, 1, IsoSizeWinner::Tie}, {2, 6, IsoSizeWinner::Smaller},
        {3, 6, IsoSizeWinner::Larger}, {7, 6, IsoSizeWinner::Tie}};
    ASSERT_EQ(pairs.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(pairs[i].largerRunId, want[i].larger) << i;
        EXPECT_EQ(pairs[i].smallerRunId, want[i].smaller) << i;
        EXPECT_EQ(pairs[i].winner, want[i].winner) << i;
    }
    EXPECT_DOUBLE_EQ(pairs[2].relativeSizeGap, 30.0 / 600);
    EXPECT_DOUBLE_EQ(pairs[2].largerValue, 21);
    EXPECT_DOUBLE_EQ(pairs[2].smallerValue, 13);
    EXPECT_EQ(pairs[2].largerBytes, 630u);
    EXPECT_EQ(isoSizeWinnerName(pairs[2].winner), "smaller");

    // Tolerance 0 keeps only equal sizes: runs 7 and 1, 7 and 6.
    EXPECT_EQ(isoSizeComparison(runs, q, 0).size(), 2u);
    expectError([&] { isoSizeComparison(runs, q, -0.1); }, {"t.db", "tolerance"});
    expectError([&] { isoSizeComparison(runs, q, std::nan("")); }, {"tolerance"});
}

TEST(Pareto, SizeAxisNames)
{
    EXPECT_EQ(parseSizeAxis("bytes"), SizeAxis::Bytes);
    EXPECT_EQ(parseSizeAxis("bpw"), SizeAxis::BitsPerWeight);
    EXPECT_EQ(sizeAxisName(SizeAxis::BitsPerWeight), "bpw");
    expectError([] { parseSizeAxis("mb", "--x"); }, {"--x", "mb"});
}
