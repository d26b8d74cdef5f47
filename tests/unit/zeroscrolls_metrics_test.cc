// ZeroSCROLLS's metrics against the benchmark's own scorer modules (tau/zero_scrolls metrics/*.py,
// tests/fixtures/longctx/zeroscrolls_metric_goldens.json, recorded by
// scripts/goldens/make_zeroscrolls_metric_goldens.py with rouge-score 0.1.2 and lifelines 0.30.3),
// the task -> metric table, and the task and benchmark scores of the long-context summary.
#include "eval/zeroscrolls_metrics.h"

#include <gtest/gtest.h>

#include <cmath>

#include "eval/dataset_spec.h"
#include "eval/longctx_metrics.h"
#include "eval/longctx_report.h"
#include "eval/longctx_rows.h"
#include "eval/longctx_summary.h"
#include "eval/report.h"
#include "test_util.h"

namespace kvpress::eval {
namespace {

using nlohmann::json;
using testing::Fixture;
using testing::ReadText;
using testing::TempDir;
using testing::WriteText;

std::vector<std::string> Strings(const json& a) { return a.get<std::vector<std::string>>(); }

TEST(ZeroScrollsMetrics, MatchTheBenchmarksScorerPerSample) {
  const json doc = json::parse(ReadText(Fixture("longctx/zeroscrolls_metric_goldens.json")));
  ASSERT_GE(doc["samples"].size(), 30u);
  for (const json& c : doc["samples"]) {
    const std::string metric = c["metric"], prediction = c["prediction"];
    const std::vector<std::string> refs = Strings(c["references"]);
    SCOPED_TRACE(metric + " | " + prediction);
    const double ours = ZeroScrollsSampleScore(metric, prediction, refs);
    if (metric == "zs_rouge") {
      const ZeroScrollsRouge r = BestRougeScoreF(prediction, refs);
      EXPECT_NEAR(100 * r.rouge1, c["rouge1"].get<double>(), 1e-12);
      EXPECT_NEAR(100 * r.rouge2, c["rouge2"].get<double>(), 1e-12);
      EXPECT_NEAR(100 * r.rouge_l, c["rougeL"].get<double>(), 1e-12);
      EXPECT_NEAR(ours, std::cbrt(r.rouge1 * r.rouge2 * r.rouge_l), 1e-15);
    } else if (c["score"].is_null()) {  // the reference scorer raises on this gold: scored 0 here
      EXPECT_EQ(ours, 0.0) << c["reference_error"];
    } else {
      EXPECT_NEAR(100 * ours, c["score"].get<double>(), 1e-12);
    }
    // The same through the long-context dispatcher the runner calls.
    const Verdict v = ScoreLongContext(metric, prediction, refs);
    EXPECT_EQ(v.score, ours);
    EXPECT_EQ(v.correct, ours == 1.0);
  }
}

TEST(ZeroScrollsMetrics, RougeTaskScoreIsTheGeometricMeanOfTheTaskMeans) {
  const json doc = json::parse(ReadText(Fixture("longctx/zeroscrolls_metric_goldens.json")));
  ASSERT_FALSE(doc["rouge_tasks"].empty());
  for (const json& t : doc["rouge_tasks"]) {
    SCOPED_TRACE(t["name"].get<std::string>());
    std::vector<json> rows;
    for (const json& s : t["samples"]) {
      rows.push_back({{"metric", "zs_rouge"},
                      {"response", s["prediction"]},
                      {"gold_answers", s["references"]}});
    }
    std::vector<const json*> pointers;
    for (const json& r : rows) pointers.push_back(&r);
    const ZeroScrollsTaskScore z = ZeroScrollsTaskScoreOf(pointers);
    ASSERT_TRUE(z.rouge_means.has_value());
    EXPECT_NEAR(z.rouge_means->rouge1, t["rouge1"].get<double>(), 1e-12);
    EXPECT_NEAR(z.rouge_means->rouge2, t["rouge2"].get<double>(), 1e-12);
    EXPECT_NEAR(z.rouge_means->rouge_l, t["rougeL"].get<double>(), 1e-12);
    EXPECT_NEAR(z.score, t["score"].get<double>(), 1e-12);
  }
}

TEST(ZeroScrollsMetrics, TokensPercentagesAndIds) {
  EXPECT_EQ(RougeScoreTokens("It's 5.00 USD\u2014Caf\u00e9!"),
            (std::vector<std::string>{"it", "s", "5", "00", "usd", "caf"}));
  EXPECT_EQ(FirstPercentage("roughly 12.5% or 13%"), 12.5);
  EXPECT_EQ(FirstPercentage("7.%"), 7.0);
  EXPECT_FALSE(FirstPercentage("50 % and 0.5").has_value());
  EXPECT_EQ(ConcordanceIds("Summary 3, Summary 1; 2\n10"), (std::vector<long long>{3, 1, 2, 10}));
  EXPECT_DOUBLE_EQ(ZeroScrollsConcordanceIndex("1 3 2", "1, 2, 3"),
                   2.0 / 3.0);                                      // pairs (1,2) (1,3) alike
  EXPECT_EQ(ZeroScrollsConcordanceIndex("2 3 4", "2, 3, 4"), 0.0);  // the gold must be 1..n
  EXPECT_EQ(ZeroScrollsAccuracy("(c)", "(C) x"), 0.0);              // upper-case letters only
}

TEST(ZeroScrollsMetrics, TasksGetTheirOfficialMetric) {
  const std::map<std::string, std::string> want = {{"gov_report", "zs_rouge"},
                                                   {"summ_screen_fd", "zs_rouge"},
                                                   {"qmsum", "zs_rouge"},
                                                   {"squality", "zs_rouge"},
                                                   {"quality", "zs_accuracy"},
                                                   {"space_digest", "zs_exp_similarity"},
                                                   {"book_sum_sort", "zs_concordance_index"},
                                                   {"narrative_qa", "zs_f1"},
                                                   {"qasper", "zs_f1"},
                                                   {"musique", "zs_f1"}};
  for (const auto& [task, metric] : want) {
    auto row = FormatLongContextRow(DatasetKind::kZeroScrolls,
                                    {{"context", "x"}, {"answer", "45%"}, {"task", task}});
    ASSERT_TRUE(row.ok()) << row.status().message();
    EXPECT_EQ(row->metric, metric) << task;
    EXPECT_TRUE(IsLongContextMetric(metric));
  }
  EXPECT_EQ(ZeroScrollsMetricFor("not_a_task"), "");
  // Unknown tasks and hidden test answers are run for their predictions only.
  EXPECT_EQ(FormatLongContextRow(DatasetKind::kZeroScrolls,
                                 {{"context", "x"}, {"answer", "a"}, {"task", "nope"}})
                ->metric,
            "unscored");
  EXPECT_EQ(FormatLongContextRow(DatasetKind::kZeroScrolls,
                                 {{"context", "x"}, {"answer", json::array()}, {"task", "qmsum"}})
                .status()
                .ok(),
            false);  // an empty answer list is refused
  EXPECT_NEAR(ZeroScrollsSampleScore("zs_f1", "the Paris treaty", {"Treaty of Paris", "London"}),
              0.8, 1e-15);
}

TEST(ZeroScrollsMetrics, SummaryGivesTaskScoresAndTheirMean) {
  std::vector<json> rows;
  auto add = [&rows](const std::string& task, const std::string& metric,
                     const std::string& response, const std::string& gold) {
    const Verdict v = ScoreLongContext(metric, response, {gold});
    rows.push_back({{"task", task},
                    {"metric", metric},
                    {"response", response},
                    {"gold_answers", {gold}},
                    {"score", v.score},
                    {"correct", v.correct}});
  };
  add("qmsum", "zs_rouge", "the cat sat", "the cat sat on the mat");
  add("qmsum", "zs_rouge", "a dog", "the dog ran");
  add("quality", "zs_accuracy", "B", "(B) x");
  add("quality", "zs_accuracy", "C", "(B) x");
  add("space_digest", "zs_exp_similarity", "40%", "50%");
  rows.push_back(
      {{"task", "qmsum"}, {"metric", "unscored"}, {"response", "hidden"}, {"score", 0.0}});
  const nlohmann::ordered_json s = SummarizeLongContext(rows);
  // qmsum: each sample's F-measures -> their means over the task -> the geometric mean of the
  // three.
  const ZeroScrollsRouge a = RougeScoreF("the cat sat", "the cat sat on the mat"),
                         b = RougeScoreF("a dog", "the dog ran");
  const double r1 = 100 * (a.rouge1 + b.rouge1) / 2, r2 = 100 * (a.rouge2 + b.rouge2) / 2,
               rl = 100 * (a.rouge_l + b.rouge_l) / 2;
  const double qmsum = std::pow(r1 * r2 * rl, 1.0 / 3.0);
  EXPECT_NEAR(s["per_task"]["qmsum"]["task_score"].get<double>(), qmsum, 1e-12);
  EXPECT_NEAR(s["per_task"]["qmsum"]["rouge2"].get<double>(), r2, 1e-12);
  EXPECT_EQ(s["per_task"]["qmsum"]["unscored_samples"], 1);
  EXPECT_DOUBLE_EQ(s["per_task"]["quality"]["task_score"].get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(s["per_task"]["space_digest"]["task_score"].get<double>(),
                   100 * std::pow(0.5, 1.0));
  const double mean = (qmsum + 50.0 + 50.0) / 3;
  EXPECT_NEAR(s["zero_scrolls_score"].get<double>(), mean, 1e-12);
  EXPECT_EQ(s["zero_scrolls_tasks"], 3);
  EXPECT_NEAR(s["task_average"].get<double>(), mean, 1e-12);
}

TEST(ZeroScrollsMetrics, ReportShowsTheTaskScore) {
  // A ROUGE task's score (the geometric mean of its mean F-measures) differs from the mean of its
  // per-sample scores: the long-context table shows the former.
  const std::string dir = TempDir("zeroscrolls_report");
  const json doc = {
      {"dataset", "zero-scrolls"},
      {"model_name", "m"},
      {"press_name", "full"},
      {"press_spec", "full"},
      {"cache_budget", 0},
      {"accuracy", 0.0},
      {"num_samples", 2},
      {"task_average", 41.9},
      {"per_task", {{"qmsum", {{"num_samples", 2}, {"avg_score", 0.25}, {"task_score", 41.9}}}}}};
  WriteText(dir + "/a_score.json", doc.dump());
  auto scan = ScanScoreFiles(dir);
  ASSERT_TRUE(scan.ok());
  const std::string md = RenderLongContextMarkdown(GroupScoreRows(scan->rows));
  EXPECT_NE(md.find("| 41.9 (2) | **41.9** |"), std::string::npos) << md;
}

}  // namespace
}  // namespace kvpress::eval
