// src/eval/stats.h against scipy/statsmodels (tests/fixtures/stats_goldens.json, written by
// scripts/goldens/make_stats_goldens.py): Wilson, McNemar exact and Holm to 1e-12; SplitMix64 and the
// bootstrap intervals bit for bit on the same resampling indices; and the bootstrap intervals within
// Monte Carlo error of scipy.stats.bootstrap's own (differently seeded) ones.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "eval/stats.h"
#include "test_util.h"

namespace kvpress::eval {
namespace {

using nlohmann::json;

const json& Goldens() {
  static const json doc = json::parse(testing::ReadText(std::string(KVPRESS_FIXTURES) + "/stats_goldens.json"));
  return doc;
}

std::vector<double> Doubles(const json& j) { return j.get<std::vector<double>>(); }

// Relative tolerance for closed forms (statsmodels vs ours differ only in rounding).
void ExpectClose(double got, double want, const std::string& what) {
  EXPECT_NEAR(got, want, 1e-12 * std::max(1.0, std::fabs(want))) << what;
}

TEST(Stats, WilsonMatchesStatsmodels) {
  ASSERT_GE(Goldens()["wilson"].size(), 10u);
  for (const json& c : Goldens()["wilson"]) {
    const Interval ci = WilsonInterval(c["k"].get<int64_t>(), c["n"].get<int64_t>());
    const std::string what = c.dump();
    ExpectClose(ci.lo, c["lo"].get<double>(), what);
    ExpectClose(ci.hi, c["hi"].get<double>(), what);
  }
  const Interval none = WilsonInterval(0, 0);
  EXPECT_EQ(none.lo, 0);
  EXPECT_EQ(none.hi, 0);
}

TEST(Stats, McNemarExactMatchesStatsmodels) {
  ASSERT_GE(Goldens()["mcnemar"].size(), 10u);
  for (const json& c : Goldens()["mcnemar"]) {
    ExpectClose(McNemarExactP(c["b"].get<int64_t>(), c["c"].get<int64_t>()), c["p"].get<double>(), c.dump());
  }
}

TEST(Stats, HolmMatchesStatsmodels) {
  for (const json& c : Goldens()["holm"]) {
    const std::vector<double> got = HolmAdjust(Doubles(c["p"]));
    const std::vector<double> want = Doubles(c["adjusted"]);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) ExpectClose(got[i], want[i], c.dump());
  }
  EXPECT_TRUE(HolmAdjust({}).empty());
}

TEST(Stats, SplitMix64MatchesPython) {
  const json& s = Goldens()["splitmix"];
  SplitMix64 rng(s["seed"].get<uint64_t>());
  for (const json& v : s["next"]) EXPECT_EQ(rng.Next(), std::stoull(v.get<std::string>()));
  SplitMix64 below(s["below_seed"].get<uint64_t>());
  for (const json& c : s["below"]) EXPECT_EQ(below.Below(c["n"].get<uint64_t>()), c["value"].get<uint64_t>()) << c;
}

TEST(Stats, BootstrapReplaysTheReferenceIndices) {
  ASSERT_GE(Goldens()["bootstrap_exact"].size(), 3u);
  for (const json& c : Goldens()["bootstrap_exact"]) {
    BootstrapOptions o;
    o.resamples = c["resamples"].get<int>();
    o.seed = c["seed"].get<uint64_t>();
    o.level = c["level"].get<double>();
    const Interval mean = BootstrapMeanInterval(Doubles(c["x"]), o);
    ExpectClose(mean.lo, c["mean_ci"][0].get<double>(), "mean lo");
    ExpectClose(mean.hi, c["mean_ci"][1].get<double>(), "mean hi");
    const Interval diff = PairedBootstrapDiffInterval(Doubles(c["x"]), Doubles(c["y"]), o);
    ExpectClose(diff.lo, c["diff_ci"][0].get<double>(), "diff lo");
    ExpectClose(diff.hi, c["diff_ci"][1].get<double>(), "diff hi");
  }
}

// scipy draws other indices: the percentile endpoints then differ by Monte Carlo error, which at
// B = 10000 (ours) and 20000 (scipy) on n >= 100 is well under 0.02 (about two lattice steps 1/n).
TEST(Stats, BootstrapAgreesWithScipyStatistically) {
  ASSERT_GE(Goldens()["bootstrap_scipy"].size(), 3u);
  for (const json& c : Goldens()["bootstrap_scipy"]) {
    const std::vector<double> x = Doubles(c["x"]), y = Doubles(c["y"]);
    const Interval mean = BootstrapMeanInterval(x);
    EXPECT_NEAR(mean.lo, c["mean_ci"][0].get<double>(), 0.02);
    EXPECT_NEAR(mean.hi, c["mean_ci"][1].get<double>(), 0.02);
    const Interval diff = PairedBootstrapDiffInterval(x, y);
    EXPECT_NEAR(diff.lo, c["diff_ci"][0].get<double>(), 0.02);
    EXPECT_NEAR(diff.hi, c["diff_ci"][1].get<double>(), 0.02);
    // And both bracket the estimate.
    double m = 0;
    for (double v : x) m += v;
    m /= static_cast<double>(x.size());
    EXPECT_LE(mean.lo, m);
    EXPECT_GE(mean.hi, m);
  }
}

TEST(Stats, QuantileIsNumpyLinear) {
  EXPECT_DOUBLE_EQ(Quantile({3, 1, 2, 4}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(Quantile({3, 1, 2, 4}, 0.0), 1);
  EXPECT_DOUBLE_EQ(Quantile({3, 1, 2, 4}, 1.0), 4);
  EXPECT_DOUBLE_EQ(Quantile({10}, 0.3), 10);
  EXPECT_DOUBLE_EQ(Quantile({0, 10}, 0.25), 2.5);
  EXPECT_EQ(Quantile({}, 0.5), 0);
}

// Wilson cross-checks the bootstrap: for 0.05 < p < 0.95 at n = 100 they agree within 0.03.
TEST(Stats, BootstrapAndWilsonAgreeAwayFromTheEdges) {
  for (int k = 10; k <= 90; k += 10) {
    std::vector<double> x(100, 0.0);
    std::fill(x.begin(), x.begin() + k, 1.0);
    const Interval b = BootstrapMeanInterval(x), w = WilsonInterval(k, 100);
    EXPECT_NEAR(b.lo, w.lo, 0.03) << k;
    EXPECT_NEAR(b.hi, w.hi, 0.03) << k;
  }
}

}  // namespace
}  // namespace kvpress::eval
