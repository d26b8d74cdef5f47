// The statistics of kvpress report (src/eval/report_stats.h, report_plots.h): intervals on every
// accuracy, paired comparisons against the full cache on real result files, Holm across a table,
// row order, the Pareto frontier and the efficiency plots, and `kvpress report --compare`. The
// numbers are recomputed here from the per-sample outcomes the test wrote (stats.h itself is checked
// against scipy/statsmodels in stats_test).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "eval/report.h"
#include "eval/report_plots.h"
#include "eval/report_stats.h"
#include "test_util.h"

namespace kvpress::eval {
namespace {

using nlohmann::json;
using testing::ReadText;
using testing::RunKvpress;
using testing::TempDir;
using testing::WriteText;

constexpr int kN = 40;

// Per-sample outcomes of each run of the study, keyed by sample id ("s00".."s39").
using Outcomes = std::map<std::string, bool>;

std::string Id(int i) { return fmt::format("s{:02d}", i); }

struct Study {
  std::string dir;
  std::map<std::string, Outcomes> runs;  // "full", "a16", "a32", "b16", "b32"
};

// full: all right but 2; a16: right on 10; a32: full with 3 flips (one to right); b16: no result file;
// b32: right on 25 of its 30 samples (ids 10..39). Score files carry the run's accuracy and n.
Study MakeStudy() {
  Study s;
  s.dir = TempDir("report-stats");
  for (int i = 0; i < kN; ++i) {
    s.runs["full"][Id(i)] = i != 3 && i != 17;
    s.runs["a16"][Id(i)] = i < 10;
    s.runs["a32"][Id(i)] = i == 5 || i == 6 || i == 7 ? false : i == 3 ? true : s.runs["full"][Id(i)];
    s.runs["b16"][Id(i)] = i % 2 == 0;
    if (i >= 10) s.runs["b32"][Id(i)] = i < 35;
  }
  const std::map<std::string, std::pair<std::string, int>> spec = {
      {"full", {"full", 0}}, {"a16", {"presa", 16}}, {"a32", {"presa", 32}}, {"b16", {"presb", 16}}, {"b32", {"presb", 32}}};
  for (const auto& [run, outcomes] : s.runs) {
    const auto& [press, budget] = spec.at(run);
    std::string jsonl;
    int correct = 0;
    for (const auto& [id, ok] : outcomes) {
      jsonl += json{{"sample_id", id}, {"correct", ok}, {"response", "x"}}.dump() + "\n";
      correct += ok;
    }
    const int n = static_cast<int>(outcomes.size());
    const json score = {{"dataset", "synthetic"},
                        {"model_name", "m"},
                        {"press_name", press},
                        {"cache_budget", budget},
                        {"accuracy", static_cast<double>(correct) / n},
                        {"num_samples", n},
                        {"avg_kv_bytes_peak", 1000.0 * (budget == 0 ? 64 : budget)},
                        {"avg_end_to_end_tokens_per_second", 100.0 + budget},
                        {"result_file", run + ".jsonl"}};
    WriteText(fmt::format("{}/{}_score.json", s.dir, run), score.dump());
    if (run != "b16") WriteText(fmt::format("{}/{}.jsonl", s.dir, run), jsonl);
  }
  return s;
}

std::vector<ReportGroup> Groups(const Study& s) {
  auto scan = ScanScoreFiles(s.dir);
  EXPECT_TRUE(scan.ok());
  EXPECT_EQ(scan->rows.size(), 5u);
  return GroupScoreRows(scan->rows);
}

const ScoreRow& Row(const ReportGroup& g, const std::string& press, int64_t budget) {
  for (const ScoreRow& r : g.rows) {
    if (r.press_name == press && (r.IsFull() || r.cache_budget == budget)) return r;
  }
  ADD_FAILURE() << "no row " << press << " " << budget;
  return g.rows.front();
}

TEST(ReportStats, IntervalsOnEveryRow) {
  std::vector<ReportGroup> groups = Groups(MakeStudy());
  BootstrapOptions o;
  o.resamples = 2000;
  AddAccuracyIntervals(groups, o);
  ASSERT_TRUE(groups[0].bootstrap.has_value());
  for (const ScoreRow& r : groups[0].rows) {
    ASSERT_TRUE(r.stats.has_value()) << r.score_file;
    const int64_t n = r.Number("num_samples").value();
    const int64_t k = std::llround(r.accuracy * n);
    EXPECT_EQ(r.stats->n, n);
    EXPECT_EQ(r.stats->correct, k);
    const Interval w = WilsonInterval(k, n);
    EXPECT_EQ(r.stats->wilson.lo, w.lo);
    EXPECT_EQ(r.stats->wilson.hi, w.hi);
    std::vector<double> x(static_cast<size_t>(n), 0.0);
    std::fill(x.begin(), x.begin() + k, 1.0);
    const Interval b = BootstrapMeanInterval(x, o);
    EXPECT_EQ(r.stats->bootstrap.lo, b.lo);
    EXPECT_EQ(r.stats->bootstrap.hi, b.hi);
    EXPECT_LE(r.stats->bootstrap.lo, r.accuracy);
    EXPECT_GE(r.stats->bootstrap.hi, r.accuracy);
  }
  const std::string md = RenderMarkdown(groups, 0);
  EXPECT_NE(md.find("| full | \u2014 | 40 | 0.950 ["), std::string::npos) << md;
  EXPECT_NE(md.find("percentile bootstrap over samples (2000 resamples, seed 20260101)"), std::string::npos) << md;
  EXPECT_NE(md.find("Accuracy [95% CI] by cache budget"), std::string::npos) << md;
}

// A score file claiming a billion samples must not make the report resample a billion values.
TEST(ReportStats, HugeRunsUseWilson) {
  auto row = ParseScoreRow(json{{"dataset", "d"}, {"model_name", "m"}, {"press_name", "h2o"}, {"cache_budget", 8},
                                {"accuracy", 0.25}, {"num_samples", 1000000000}},
                           "huge_score.json");
  ASSERT_TRUE(row.ok());
  std::vector<ReportGroup> groups = GroupScoreRows({*row});
  AddAccuracyIntervals(groups, {});
  const AccuracyStats& s = *groups[0].rows[0].stats;
  EXPECT_EQ(s.correct, 250000000);
  EXPECT_EQ(s.bootstrap.lo, s.wilson.lo);
  EXPECT_EQ(s.bootstrap.hi, s.wilson.hi);
  EXPECT_LT(s.wilson.hi - s.wilson.lo, 1e-4);
}

TEST(ReportStats, PairedComparisonsAgainstFull) {
  const Study s = MakeStudy();
  std::vector<ReportGroup> groups = Groups(s);
  BootstrapOptions o;
  o.resamples = 2000;
  AddComparisons(groups, "full", o, 0.05);
  const ReportGroup& g = groups[0];
  EXPECT_EQ(g.compare_to, "full");
  EXPECT_FALSE(Row(g, "full", 0).comparison.has_value());  // the baseline itself
  std::vector<double> p;
  std::vector<const ScoreRow*> computed;
  for (const auto& [run, press, budget] : {std::tuple<std::string, std::string, int>{"a16", "presa", 16},
                                          {"a32", "presa", 32}, {"b32", "presb", 32}}) {
    const ScoreRow& r = Row(g, press, budget);
    ASSERT_TRUE(r.comparison.has_value()) << run;
    const Comparison& c = *r.comparison;
    ASSERT_TRUE(c.unavailable.empty()) << run << ": " << c.unavailable;
    // Recount from the outcomes written, on the shared ids in id order.
    std::vector<double> base, mine;
    int64_t b = 0, cc = 0;
    for (const auto& [id, ok] : s.runs.at(run)) {
      const bool ref = s.runs.at("full").at(id);
      base.push_back(ref);
      mine.push_back(ok);
      b += ref && !ok;
      cc += !ref && ok;
    }
    EXPECT_EQ(c.n_paired, static_cast<int64_t>(base.size())) << run;
    EXPECT_EQ(c.b, b) << run;
    EXPECT_EQ(c.c, cc) << run;
    EXPECT_DOUBLE_EQ(c.delta, static_cast<double>(cc - b) / static_cast<double>(base.size())) << run;
    EXPECT_EQ(c.p, McNemarExactP(b, cc)) << run;
    const Interval ci = PairedBootstrapDiffInterval(base, mine, o);
    EXPECT_EQ(c.delta_ci.lo, ci.lo) << run;
    EXPECT_EQ(c.delta_ci.hi, ci.hi) << run;
    EXPECT_EQ(c.baseline_label, "full");
    p.push_back(c.p);
    computed.push_back(&r);
  }
  EXPECT_EQ(Row(g, "presb", 32).comparison->n_paired, 30);  // b32 holds 30 of the 40 samples
  EXPECT_EQ(Row(g, "presa", 32).comparison->b, 3);
  EXPECT_EQ(Row(g, "presa", 32).comparison->c, 1);
  // Holm over exactly the three computed comparisons (b16 has no result file).
  const std::vector<double> holm = HolmAdjust(p);
  for (size_t i = 0; i < computed.size(); ++i) {
    EXPECT_EQ(computed[i]->comparison->p_holm, holm[i]);
    EXPECT_EQ(computed[i]->comparison->significant, holm[i] < 0.05);
  }
  EXPECT_TRUE(Row(g, "presa", 16).comparison->significant);   // 30 losses, 0 wins
  EXPECT_FALSE(Row(g, "presa", 32).comparison->significant);  // 3 losses, 1 win
  const Comparison& missing = *Row(g, "presb", 16).comparison;
  EXPECT_NE(missing.unavailable.find("b16.jsonl: result file not found"), std::string::npos) << missing.unavailable;

  const std::string md = RenderMarkdown(groups, 0);
  EXPECT_NE(md.find("| \u0394 vs full [95% CI] p |"), std::string::npos) << md;
  EXPECT_NE(md.find("| -0.700 ["), std::string::npos) << md;  // a16: 10/40 vs 38/40
  EXPECT_NE(md.find("p<0.001 * |"), std::string::npos) << md;
  EXPECT_NE(md.find("(n=30) |"), std::string::npos) << md;
  EXPECT_NE(md.find("n/a: "), std::string::npos) << md;
  EXPECT_NE(md.find("after Holm correction over the 3 comparisons"), std::string::npos) << md;
  const json j = RenderJson(groups);
  bool seen = false;
  for (const json& row : j) {
    if (row["result_file"] != "a32.jsonl") continue;
    seen = true;
    EXPECT_EQ(row["mcnemar_b"], 3);
    EXPECT_EQ(row["mcnemar_c"], 1);
    EXPECT_EQ(row["significant"], false);
    EXPECT_EQ(row["compare_to"], "full");
  }
  EXPECT_TRUE(seen);
}

TEST(ReportStats, RowOrder) {
  std::vector<ReportGroup> groups = Groups(MakeStudy());
  auto presses = [&] {
    std::string order;
    for (const ScoreRow& r : groups[0].rows) order += fmt::format("{}{} ", r.press_name, r.IsFull() ? 0 : r.cache_budget);
    return order;
  };
  // presa mean (0.25 + 0.9) / 2 = 0.575; presb mean (0.5 + 0.833) / 2 = 0.667: presb first.
  OrderRows(groups, {}, false);
  EXPECT_EQ(presses(), "full0 presb16 presb32 presa16 presa32 ");
  OrderRows(groups, {}, true);
  EXPECT_EQ(presses(), "full0 presa16 presa32 presb16 presb32 ");
  OrderRows(groups, {"presb", "full"}, false);
  EXPECT_EQ(presses(), "full0 presb16 presb32 presa16 presa32 ");
}

// Brute force: a point is on the frontier iff no other point is at least as good on both axes.
TEST(ReportStats, ParetoFrontierIsTheUndominatedSet) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  for (bool higher_x_better : {false, true}) {
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<std::pair<double, double>> pts(15);
      for (auto& p : pts) p = {u(rng), u(rng)};
      std::vector<std::pair<double, double>> want;
      for (const auto& p : pts) {
        bool dominated = false;
        for (const auto& q : pts) {
          const bool x_ok = higher_x_better ? q.first >= p.first : q.first <= p.first;
          if (q != p && x_ok && q.second >= p.second) dominated = true;
        }
        if (!dominated) want.push_back(p);
      }
      std::sort(want.begin(), want.end());
      EXPECT_EQ(ParetoFrontier(pts, higher_x_better), want);
    }
  }
}

TEST(ReportStats, EfficiencyPlotHasBarsFrontierAndCounts) {
  std::vector<ReportGroup> groups = Groups(MakeStudy());
  AddAccuracyIntervals(groups, {});
  const LinePlot kv = EfficiencyPlot(groups[0], "avg_kv_bytes_peak", "KV", 1.0, false);
  ASSERT_EQ(kv.series.size(), 4u);  // full, presa, presb, frontier
  EXPECT_EQ(kv.series.back().name, "Pareto frontier");
  EXPECT_EQ(kv.footnote, "n = 30\u201340 samples per run; bars / band: 95% bootstrap CI over samples");
  const std::string svg = RenderSvgLinePlot(kv);
  size_t bars = 0;
  for (size_t p = svg.find("class=\"error-bar\""); p != std::string::npos; p = svg.find("class=\"error-bar\"", p + 1))
    ++bars;
  EXPECT_EQ(bars, 5u);  // one per run
  EXPECT_NE(svg.find(">Pareto frontier</text>"), std::string::npos);
  const LinePlot budget = BudgetPlot(groups[0], "accuracy", "accuracy");
  ASSERT_EQ(budget.references.size(), 1u);
  ASSERT_TRUE(budget.references[0].band.has_value());
  EXPECT_NE(RenderSvgLinePlot(budget).find("class=\"band\""), std::string::npos);
}

TEST(ReportStats, CliCompareAndOrder) {
  const Study s = MakeStudy();
  const std::string out = TempDir("report-stats-out");
  const auto r = RunKvpress(fmt::format("report {} -o {} --compare full --order presa --bootstrap-resamples 500",
                                        s.dir, out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\u0394 vs full [95% CI] p"), std::string::npos) << r.out;
  EXPECT_LT(r.out.find("| presa | 16 |"), r.out.find("| presb | 16 |")) << r.out;
  EXPECT_NE(r.err.find("no paired comparison for"), std::string::npos) << r.err;  // b16: no result file
  const std::string csv = ReadText(out + "/report.csv");
  EXPECT_NE(csv.find(",p_holm,significant,score_file\n"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(out + "/synthetic__m__accuracy_vs_kv_bytes.svg"));
  EXPECT_TRUE(std::filesystem::exists(out + "/synthetic__m__accuracy_vs_tokens_per_s.svg"));
  const auto bad = RunKvpress(fmt::format("report {} --bootstrap-resamples 5", s.dir));
  EXPECT_EQ(bad.exit_code, 1) << bad.err;
  const auto typo = RunKvpress(fmt::format("report {} --compare ful", s.dir));
  EXPECT_EQ(typo.exit_code, 1) << typo.err;
  EXPECT_NE(typo.err.find("--compare: no run of press 'ful'"), std::string::npos) << typo.err;
  EXPECT_NE(typo.err.find("found: full, presa, presb"), std::string::npos) << typo.err;
}

}  // namespace
}  // namespace kvpress::eval
