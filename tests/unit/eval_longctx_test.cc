// The long-context benchmarks without a model: metrics against upstream kvpress's reference code
// (tests/fixtures/longctx/metric_goldens.json, scripts/goldens/make_longctx_metric_goldens.py), the
// RULER generator's tasks checked from their definitions (the needles are where the answers say,
// sizes fit, streams are reproducible), the needle grid, the long-context summary, heatmap and
// report section, and the compression-ratio settings of eval and sweep.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <regex>

#include "core/file_util.h"
#include "eval/heatmap_svg.h"
#include "eval/infinitebench.h"
#include "eval/longbench_metrics.h"
#include "eval/longctx_metrics.h"
#include "eval/longctx_report.h"
#include "eval/longctx_rows.h"
#include "eval/longctx_summary.h"
#include "eval/loogle_metrics.h"
#include "eval/niah_grid.h"
#include "eval/report.h"
#include "eval/ruler.h"
#include "eval/run_config.h"
#include "eval/runner.h"
#include "eval/sweep_plan.h"
#include "eval/synth_text.h"
#include "test_util.h"

namespace kvpress::eval {
namespace {

using nlohmann::json;
using testing::Fixture;
using testing::ReadJsonLines;
using testing::ReadText;
using testing::RunKvpress;
using testing::TempDir;
using testing::WriteText;

// A stand-in tokenizer: one token per whitespace-separated word plus one per punctuation mark.
StatusOr<int> CountWords(const std::string& text) {
  int n = 0;
  bool in_word = false;
  for (unsigned char c : text) {
    if (std::isspace(c)) {
      in_word = false;
    } else if (std::ispunct(c)) {
      ++n;
      in_word = false;
    } else if (!in_word) {
      ++n;
      in_word = true;
    }
  }
  return n;
}

// The value of an ok result (a failed one fails the test and gives T{}).
template <typename T>
T Must(StatusOr<T> s) {
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : T{};
}

size_t Occurrences(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

TEST(LongContextMetrics, MatchUpstreamKvpressOnFixedCases) {
  const json doc = json::parse(ReadText(Fixture("longctx/metric_goldens.json")));
  ASSERT_GE(doc["cases"].size(), 45u);
  for (const json& c : doc["cases"]) {
    const std::string bench = c["benchmark"];
    const DatasetKind kind = bench == "ruler"            ? DatasetKind::kRuler
                             : bench == "infinite_bench" ? DatasetKind::kInfiniteBench
                             : bench == "longbench"      ? DatasetKind::kLongBench
                                                         : DatasetKind::kLongBenchV2;
    json row = {{"context", "x"}, {"question", "q"}, {"answer", c["answer"]}, {"task", c["task"]}};
    std::vector<std::string> classes;
    if (bench == "longbench") {
      row["answer"] = c["answer"]["answers"];
      if (c["answer"]["all_classes"].is_array()) classes = c["answer"]["all_classes"].get<std::vector<std::string>>();
    }
    StatusOr<FormattedRow> f = FormatLongContextRow(kind, row);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    const Verdict v = ScoreLongContext(f->metric, c["prediction"].get<std::string>(), f->golds, c["task"], classes);
    const double ours = std::round(v.score * 100.0 * 100.0) / 100.0;  // x100, 2 decimals as RULER rounds
    EXPECT_NEAR(ours, c["score_x100"].get<double>(), 1e-9) << c.dump();
  }
}

// LooGLE's BLEU-1/4, ROUGE-1/2/L recall and cloze exact / partial matches against upstream kvpress's
// loogle/calculate_metrics.py (tests/fixtures/longctx/loogle_metric_goldens.json, recorded by
// scripts/goldens/make_loogle_metric_goldens.py with nltk 3.9.1 and rouge 1.0.1), then through a
// LooGLE row: the task picks the metric and ScoreLongContext gives the per-sample share.
TEST(LoogleMetrics, MatchUpstreamGoldens) {
  const json doc = json::parse(ReadText(Fixture("longctx/loogle_metric_goldens.json")));
  ASSERT_GE(doc["cases"].size(), 23u);
  for (const json& c : doc["cases"]) {
    SCOPED_TRACE(c.dump());
    const std::string task = c["task"], prediction = c["prediction"], answer = c["answer"];
    StatusOr<FormattedRow> f =
        FormatLongContextRow(DatasetKind::kLoogle, {{"context", "x"}, {"answer", answer}, {"task", task}});
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    const double row_score = ScoreLongContext(f->metric, prediction, f->golds, task).score;
    if (task == "shortdep_cloze") {
      const ClozeCount exact = LoogleClozeExact(answer, prediction), partial = LoogleClozePartial(answer, prediction);
      EXPECT_EQ(exact.match, c["exact"][0].get<int>());
      EXPECT_EQ(exact.count, c["exact"][1].get<int>());
      EXPECT_EQ(partial.match, c["partial"][0].get<int>());
      EXPECT_EQ(partial.count, c["partial"][1].get<int>());
      EXPECT_EQ(f->metric, "loogle_cloze_exact");
      EXPECT_DOUBLE_EQ(row_score, c["exact"][0].get<double>() / c["exact"][1].get<double>());
      EXPECT_DOUBLE_EQ(LoogleSampleScore("loogle_cloze_partial", prediction, answer),
                       c["partial"][0].get<double>() / c["partial"][1].get<double>());
    } else {
      // BLEU-4 without a matching 4-gram is ~1e-308 upstream (nltk's smallest-double smoothing).
      EXPECT_NEAR(LoogleBleu(answer, prediction, 1), c["bleu1"].get<double>(), 1e-12);
      EXPECT_NEAR(LoogleBleu(answer, prediction, 4), c["bleu4"].get<double>(), 1e-12);
      EXPECT_NEAR(LoogleSampleScore("loogle_rouge1", prediction, answer), c["rouge-1"].get<double>(), 1e-12);
      EXPECT_NEAR(LoogleSampleScore("loogle_rouge2", prediction, answer), c["rouge-2"].get<double>(), 1e-12);
      EXPECT_NEAR(LoogleSampleScore("loogle_rouge_l", prediction, answer), c["rouge-l"].get<double>(), 1e-12);
      EXPECT_EQ(f->metric, "loogle_rouge_l");
      EXPECT_NEAR(row_score, c["rouge-l"].get<double>(), 1e-12);
    }
  }
  EXPECT_EQ(LoogleMetricFor("longdep_summarization"), "loogle_rouge_l");
  EXPECT_FALSE(FormatLongContextRow(DatasetKind::kLoogle, {{"context", "x"}, {"answer", "a"}, {"task", "nope"}}).ok());
}

TEST(ZeroScrollsRows, HiddenAnswersAreUnscoredAndTasksGetTheirMetric) {
  auto hidden = FormatLongContextRow(DatasetKind::kZeroScrolls,
                                     {{"context", "doc"}, {"question", "q"}, {"answer", ""}, {"task", "qasper"}});
  ASSERT_TRUE(hidden.ok()) << hidden.status().ToString();
  EXPECT_EQ(hidden->metric, "unscored");
  auto qa = FormatLongContextRow(DatasetKind::kZeroScrolls,
                                 {{"context", "doc"}, {"question", "q"}, {"answer", "the ship"}, {"task", "musique"}});
  ASSERT_TRUE(qa.ok());
  EXPECT_EQ(qa->metric, "zs_f1");
  EXPECT_DOUBLE_EQ(ScoreLongContext(qa->metric, "A ship!", qa->golds, "musique").score, 1.0);
  auto summary = FormatLongContextRow(DatasetKind::kZeroScrolls,
                                      {{"context", "doc"}, {"answer", "a summary"}, {"task", "gov_report"}});
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->metric, "zs_rouge");  // the rest: tests/unit/zeroscrolls_metrics_test.cc
  EXPECT_TRUE(FindDataset("zero_scrolls").ok());
  EXPECT_EQ(FindDataset("ZeroSCROLLS")->kind, DatasetKind::kZeroScrolls);
}

TEST(LongBenchMetrics, HelpersOnHandCheckedCases) {
  // Without autojunk (below 200 characters) difflib's ratio is 2 * (sum of the greedy longest-match
  // blocks) / total; check identities and symmetric cases that need no reference.
  EXPECT_DOUBLE_EQ(SequenceMatcherRatio("", ""), 1.0);
  EXPECT_DOUBLE_EQ(SequenceMatcherRatio("abc", "abc"), 1.0);
  EXPECT_DOUBLE_EQ(SequenceMatcherRatio("abc", "xyz"), 0.0);
  EXPECT_DOUBLE_EQ(SequenceMatcherRatio("abcd", "abxd"), 2.0 * 3 / 8);
  EXPECT_EQ(NormalizeAnswer("The  Cat, an apple; A-team!"), "cat apple ateam");
  EXPECT_DOUBLE_EQ(QaF1Score("x b c", "b c d"), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(QaF1Score("a b c", "b c d"), 0.8);  // "a" is an article: dropped
  EXPECT_EQ(LongBenchMetricFor("trec-e"), "classification");
  EXPECT_EQ(LongBenchMetricFor("dureader"), "");
}

TEST(LongContextMetrics, TaskMetricsAndRowErrors) {
  EXPECT_EQ(LongContextMetricFor(DatasetKind::kRuler, "qa_2"), "string_match_part");
  EXPECT_EQ(LongContextMetricFor(DatasetKind::kRuler, "vt"), "string_match_all");
  EXPECT_EQ(LongContextMetricFor(DatasetKind::kInfiniteBench, "longbook_sum_eng"), "");
  EXPECT_FALSE(FormatLongContextRow(DatasetKind::kRuler, json{{"question", "q"}, {"answer", "a"}}).ok());
  EXPECT_FALSE(FormatLongContextRow(DatasetKind::kRuler, json{{"context", "c"}, {"answer", json::array()}}).ok());
  EXPECT_FALSE(FormatLongContextRow(DatasetKind::kInfiniteBench, json{{"context", "c"}, {"answer", "a"}, {"task", "code_run"}}).ok());
  StatusOr<FormattedRow> f = FormatLongContextRow(
      DatasetKind::kRuler, json{{"context", "C "}, {"question", "Q "}, {"answer_prefix", "A"}, {"answer", {"x", "y"}},
                                {"task", "niah_single_1"}, {"max_new_tokens", 128}});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->prompt, "C Q A");
  EXPECT_EQ(f->max_new_tokens, 128);
  EXPECT_EQ(f->gold, "x, y");
}

TEST(SynthText, StreamsAreReproducibleAndHelpersBehave) {
  SynthRng a(7), b(7), c(8);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(a.Next(), b.Next());
  EXPECT_NE(SynthRng(7).Next(), c.Next());
  EXPECT_NE(DeriveSeed(1, "vt", 0), DeriveSeed(1, "vt", 1));
  EXPECT_NE(DeriveSeed(1, "vt", 0), DeriveSeed(1, "cwe", 0));
  const std::vector<size_t> d = a.Distinct(10, 10);
  EXPECT_EQ(std::set<size_t>(d.begin(), d.end()).size(), 10u);
  EXPECT_TRUE(std::regex_match(RandomUuid(a), std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
  EXPECT_EQ(RandomNumber(a, 7).size(), 7u);
  EXPECT_EQ(SplitSentences("One. Two!  Three? four"), (std::vector<std::string>{"One.", "Two!", "Three?", "four"}));
  EXPECT_EQ(SplitWords(" a \n b\tc "), (std::vector<std::string>{"a", "b", "c"}));
  // FitLargest against a brute-force scan of a monotone predicate.
  for (size_t limit : {3u, 5u, 17u, 1000u, 4096u}) {
    auto fits = [limit](size_t n) -> StatusOr<bool> { return n <= limit; };
    EXPECT_EQ(Must(FitLargest(5, 1 << 20, fits)), std::max<size_t>(5, limit));
  }
}

TEST(Ruler, EveryTaskFitsItsLengthAndHoldsItsAnswers) {
  RulerOptions o;
  o.context_length = 2048;
  o.samples_per_task = 2;
  StatusOr<std::vector<Sample>> s = GenerateRuler(o, CountWords);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->size(), 2 * RulerTaskNames().size());
  std::map<std::string, int> per_task;
  for (const Sample& x : *s) {
    const std::string task = x.metadata["task"];
    ++per_task[task];
    const int budget = 2048 - RulerMaxNewTokens(task);
    EXPECT_LE(Must(CountWords(x.prompt)), budget) << x.id;
    EXPECT_GT(Must(CountWords(x.prompt)), budget * 8 / 10) << x.id << ": the haystack should fill the length";
    EXPECT_EQ(x.prompt, x.context + x.question + x.answer_prefix);
    EXPECT_EQ(x.max_new_tokens, RulerMaxNewTokens(task));
    ASSERT_FALSE(x.golds.empty());
    if (task.rfind("niah", 0) == 0) {
      for (const std::string& g : x.golds) {  // each answer sits in a needle sentence of the context
        EXPECT_NE(x.context.find(" is: " + g + "."), std::string::npos) << x.id << " " << g;
      }
      EXPECT_EQ(x.golds.size(), task == "niah_multivalue" || task == "niah_multiquery" ? 4u : 1u) << x.id;
      EXPECT_EQ(x.question.rfind(x.golds.size() == 1 ? "What is the special magic" : "What are all the special magic", 0), 0u);
    } else if (task == "vt") {
      const std::string value = x.question.substr(x.question.find("value ") + 6, 5);
      EXPECT_NE(x.context.find("VAR " + x.golds[0] + " = " + value), std::string::npos);
      for (size_t i = 1; i < x.golds.size(); ++i) {
        EXPECT_NE(x.context.find("VAR " + x.golds[i] + " = VAR " + x.golds[i - 1]), std::string::npos);
      }
      EXPECT_EQ(Occurrences(x.context, "Question: Find all variables"), 1u);  // the few-shot example
    } else if (task == "cwe") {
      const std::string main = x.context.substr(x.context.rfind("Below is a numbered list"));
      // RULER repeats the 10 common words 6 times below 4k tokens (30 from 4k on).
      for (const std::string& g : x.golds) {
        EXPECT_EQ(Occurrences(main, ". " + g + " ") + Occurrences(main, ". " + g + "\n"), 6u) << g;
      }
    } else if (task == "fwe") {
      std::map<std::string, size_t> freq;
      for (const std::string& w : SplitWords(x.context.substr(x.context.find("coded words. ") + 13))) ++freq[w];
      size_t third = freq[x.golds[2]];
      for (const auto& [w, n] : freq) {
        if (w != "..." && std::find(x.golds.begin(), x.golds.end(), w) == x.golds.end()) {
          EXPECT_LT(n, third + 1) << w;
        }
      }
      EXPECT_GE(freq[x.golds[0]], freq[x.golds[1]]);
    }
  }
  for (const std::string& t : RulerTaskNames()) EXPECT_EQ(per_task[t], 2) << t;
}

TEST(Ruler, SamplesAreReproducibleAndIndependentOfTheCount) {
  RulerOptions o;
  o.context_length = 1024;
  o.tasks = {"niah_single_2", "vt"};
  o.samples_per_task = 3;
  auto three = GenerateRuler(o, CountWords);
  o.samples_per_task = 2;
  o.tasks = {"vt", "niah_single_2"};
  auto two = GenerateRuler(o, CountWords);
  ASSERT_TRUE(three.ok() && two.ok());
  EXPECT_EQ((*three)[0].prompt, (*two)[2].prompt);  // niah_single_2 #0
  EXPECT_EQ((*three)[4].prompt, (*two)[1].prompt);  // vt #1
  EXPECT_NE((*three)[0].prompt, (*three)[1].prompt);
  o.seed = 43;
  auto other = GenerateRuler(o, CountWords);
  ASSERT_TRUE(other.ok());
  EXPECT_NE((*other)[0].prompt, (*two)[0].prompt);
  o.tasks = {"niah_single_9"};
  EXPECT_FALSE(GenerateRuler(o, CountWords).ok());
  o.tasks = {};
  o.context_length = 256;
  EXPECT_FALSE(GenerateRuler(o, CountWords).ok());
}

TEST(InfiniteBench, EveryTaskFitsAndItsAnswerFollowsFromTheContext) {
  InfiniteBenchOptions o;
  o.context_length = 1024;
  o.samples_per_task = 8;
  auto s = GenerateInfiniteBench(o, CountWords);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->size(), 32u);
  for (const Sample& x : *s) {
    const std::string task = x.metadata["task"];
    EXPECT_LE(Must(CountWords(x.prompt)), 1024 - x.max_new_tokens) << x.id;
    EXPECT_EQ(x.metadata["metric"], LongContextMetricFor(DatasetKind::kInfiniteBench, task));
    if (task == "passkey") {
      EXPECT_NE(x.context.find("The pass key is " + x.gold + ". Remember it. " + x.gold + " is the pass key."), std::string::npos);
      EXPECT_EQ(x.gold.size(), 5u);
    } else if (task == "number_string") {
      EXPECT_NE(x.context.find("The sequence of digits is " + x.gold + ". Remember it."), std::string::npos);
      EXPECT_EQ(x.gold.size(), 10u);
    } else if (task == "kv_retrieval") {
      const std::string key = x.question.substr(7, 36);
      EXPECT_NE(x.context.find("\"" + key + "\": \"" + x.gold + "\""), std::string::npos) << x.id;
    } else {  // math_find: recompute the asked statistic from the list (brute force)
      const size_t a = x.context.find('['), e = x.context.find(']');
      std::vector<int> v;
      for (const std::string& w : SplitWords(x.context.substr(a + 1, e - a - 1))) v.push_back(std::stoi(w));
      std::vector<int> d(v);
      std::sort(d.begin(), d.end());
      const std::string q = x.context.substr(0, x.context.find(" in the following list"));
      double want = 0;
      if (q.find("median") != std::string::npos) {
        want = d.size() % 2 ? d[d.size() / 2] : (d[d.size() / 2] + d[d.size() / 2 - 1]) / 2.0;
      } else {
        d.erase(std::unique(d.begin(), d.end()), d.end());
        const size_t rank = q.find("second") != std::string::npos ? 1 : q.find("third") != std::string::npos ? 2 : 0;
        want = q.find("largest") != std::string::npos ? d[d.size() - 1 - rank] : d[rank];
      }
      EXPECT_DOUBLE_EQ(std::stod(x.gold), want) << x.id << " " << q;
      EXPECT_EQ(ScoreLongContext("first_number_match", " " + x.gold + ".", x.golds).score, 1.0);
    }
  }
  o.tasks = {"code_run"};
  EXPECT_FALSE(GenerateInfiniteBench(o, CountWords).ok());
}

TEST(NiahGrid, ParsesTheGridAndPlacesTheNeedleAtItsDepth) {
  EXPECT_EQ(Must(ParseNiahLengths("1k, 2K,3000")), (std::vector<int>{1024, 2048, 3000}));
  EXPECT_FALSE(ParseNiahLengths("").ok());
  EXPECT_FALSE(ParseNiahLengths("4x").ok());
  EXPECT_FALSE(ParseNiahLengths("100").ok());
  EXPECT_EQ(Must(ParseNiahDepths("0:100:25")), (std::vector<int>{0, 25, 50, 75, 100}));
  EXPECT_EQ(Must(ParseNiahDepths("10,90")), (std::vector<int>{10, 90}));
  EXPECT_FALSE(ParseNiahDepths("0:100:0").ok());
  EXPECT_FALSE(ParseNiahDepths("0,101").ok());
  NiahGridOptions o;
  o.lengths = {512, 1024};
  o.depths = {0, 50, 100};
  auto s = GenerateNiahGrid(o, CountWords);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->size(), 6u);
  for (const Sample& x : *s) {
    const int length = x.metadata["niah_length"], depth = x.metadata["niah_depth"];
    EXPECT_LE(Must(CountWords(x.prompt)), length - kNiahMaxNewTokens);
    const size_t at = x.context.find("is: " + x.gold + ".");
    ASSERT_NE(at, std::string::npos);
    const size_t start = x.context.find('\n') + 1;  // the haystack: after the instruction line
    const double where = static_cast<double>(at - start) / static_cast<double>(x.context.size() - start);
    EXPECT_NEAR(where, depth / 100.0, 0.05) << x.id;
  }
  o.haystack_text = "Just one sentence here.";  // a short file repeats
  EXPECT_TRUE(GenerateNiahGrid(o, CountWords).ok());
}

TEST(LongContextSummary, PerTaskAndGrid) {
  std::vector<json> rows = {
      {{"task", "niah"}, {"score", 1.0}, {"correct", true}, {"niah_length", 1024}, {"niah_depth", 0}},
      {{"task", "niah"}, {"score", 0.0}, {"correct", false}, {"niah_length", 1024}, {"niah_depth", 50}},
      {{"task", "niah"}, {"score", 0.5}, {"correct", false}, {"niah_length", 1024}, {"niah_depth", 50}},
      {{"task", "vt"}, {"score", 0.4}, {"correct", false}},
  };
  const auto s = SummarizeLongContext(rows);
  EXPECT_EQ(s["per_task"]["niah"]["num_samples"], 3);
  EXPECT_NEAR(s["per_task"]["niah"]["avg_score"].get<double>(), 0.5, 1e-12);
  EXPECT_NEAR(s["task_average"].get<double>(), 100.0 * (0.5 + 0.4) / 2, 1e-9);
  ASSERT_EQ(s["niah_grid"].size(), 2u);
  EXPECT_EQ(s["niah_grid"][1]["depth"], 50);
  EXPECT_NEAR(s["niah_grid"][1]["avg_score"].get<double>(), 0.25, 1e-12);
}

TEST(Heatmap, ColoursAndCells) {
  EXPECT_EQ(HeatColor(0.0), "#d73027");
  EXPECT_EQ(HeatColor(0.5), "#fee08b");
  EXPECT_EQ(HeatColor(1.0), "#1a9850");
  EXPECT_EQ(HeatColor(7.0), HeatColor(1.0));
  Heatmap h;
  h.title = "t <&>";
  h.columns = {"0", "50"};
  h.rows = {"1024", "2048"};
  h.values = {{1.0, 0.25}, {std::nullopt, 0.0}};
  const std::string svg = RenderSvgHeatmap(h);
  EXPECT_NE(svg.find("t &lt;&amp;&gt;"), std::string::npos);
  EXPECT_NE(svg.find(">0.25<"), std::string::npos);
  EXPECT_NE(svg.find("#dddddd"), std::string::npos);  // the empty cell
  EXPECT_EQ(RenderSvgHeatmap(h), svg);
}

TEST(LongContextReport, TableAndHeatmapFromScoreFiles) {
  const std::string dir = TempDir("longctx_report");
  auto write = [&](const std::string& name, const std::string& press, double ratio, double s0) {
    json doc = {{"dataset", "niah"}, {"model_name", "m"}, {"press_name", press}, {"press_spec", press},
                {"cache_budget", 0}, {"accuracy", s0}, {"num_samples", 2}, {"max_kv_bytes_peak", 2048},
                {"compression_ratio", ratio}, {"task_average", 100 * s0},
                {"per_task", {{"niah", {{"num_samples", 2}, {"avg_score", s0}, {"accuracy", s0}}}}},
                {"niah_grid", {{{"length", 1024}, {"depth", 0}, {"num_samples", 1}, {"avg_score", s0}},
                               {{"length", 1024}, {"depth", 100}, {"num_samples", 1}, {"avg_score", 1.0}}}}};
    WriteText(dir + "/" + name + "_score.json", doc.dump());
  };
  write("a", "full", 0.0, 1.0);
  write("b", "streaming_llm", 0.5, 0.0);
  auto scan = ScanScoreFiles(dir);
  ASSERT_TRUE(scan.ok());
  const auto groups = GroupScoreRows(scan->rows);
  const std::string md = RenderLongContextMarkdown(groups);
  EXPECT_NE(md.find("| full | full | 2 | 100.0 (2) | **100.0** | 2.0 KiB |"), std::string::npos) << md;
  EXPECT_NE(md.find("| streaming_llm | ratio 0.50 | 2 | 0.0 (2) | **0.0** |"), std::string::npos) << md;
  const auto svgs = RenderLongContextPlots(groups);
  std::set<std::string> names;
  for (const SvgFile& f : svgs) names.insert(f.name);
  EXPECT_TRUE(names.count("niah__m__task_average_vs_ratio.svg"));
  EXPECT_TRUE(names.count("niah__m__full__full__niah_heatmap.svg"));
  EXPECT_TRUE(names.count("niah__m__streaming_llm__ratio0.50__niah_heatmap.svg"));
}

TEST(CompressionRatio, StemValidationAndSweepCells) {
  RunConfig c;
  c.dataset = "ruler";
  c.model_name = "m";
  c.press = "snapkv";
  c.compression_ratio = 0.5;
  c.tasks = {"vt"};
  EXPECT_TRUE(c.RatioMode());
  EXPECT_EQ(c.EffectiveBudget(), 0);
  EXPECT_EQ(ResultStem(c), "ruler__4096-vt__m__snapkv__ratio0.50__max_new_tokens2048__chat__seed42");
  EXPECT_TRUE(ValidateRunConfig(c).ok());
  c.prefill_chunk = 512;
  EXPECT_FALSE(ValidateRunConfig(c).ok());  // a ratio applies to the whole context
  c.prefill_chunk = 0;
  c.compression_ratio = 1.0;
  EXPECT_FALSE(ValidateRunConfig(c).ok());
  c.compression_ratio = 0.0;
  c.cache_budget = 0;
  EXPECT_FALSE(ValidateRunConfig(c).ok());  // neither a budget nor a ratio
  c.dataset = "niah";
  c.query_aware = true;
  c.cache_budget = 64;
  EXPECT_EQ(ResultStem(c), "niah__len1k-2k-4k-8k_depth0-100-10__m__snapkv__budget64__max_new_tokens2048__query_aware__chat__seed42");

  SweepPlan plan;
  plan.models = {"m"};
  plan.datasets = {{"ruler", ""}};
  plan.presses = {"full", "knorm"};
  plan.budgets = {64};
  plan.compression_ratios = {0.25, 0.5};
  auto cells = ExpandSweep(plan);
  ASSERT_TRUE(cells.ok());
  ASSERT_EQ(cells->size(), 4u);
  EXPECT_FALSE((*cells)[1].config.RatioMode());
  EXPECT_EQ((*cells)[1].config.cache_budget, 64);
  EXPECT_DOUBLE_EQ((*cells)[3].config.compression_ratio, 0.5);
  plan.budgets.clear();
  plan.compression_ratios = {1.5};
  EXPECT_FALSE(ExpandSweep(plan).ok());
  const std::string yaml = TempDir("longctx_sweep") + "/s.yaml";
  WriteText(yaml, "compression_ratios: [0.1, 0.9]\ncontext_length: 2048\ntasks: [vt, cwe]\nlengths: 1k\n");
  SweepPlan from_file;
  ASSERT_TRUE(LoadSweepFile(yaml, from_file).ok());
  EXPECT_EQ(from_file.compression_ratios, (std::vector<double>{0.1, 0.9}));
  EXPECT_EQ(from_file.base.context_length, 2048);
  EXPECT_EQ(from_file.base.tasks, (std::vector<std::string>{"vt", "cwe"}));
  EXPECT_EQ(from_file.base.niah_lengths, "1k");
}

// End to end on the bundled tiny-reasoner (no data needed): RULER in ratio mode and the needle grid in
// budget mode with chunked prefill, a sweep over ratios, and the report's heatmaps.
TEST(LongContextCli, EvalSweepAndReport) {
  const std::string dir = TempDir("longctx_cli");
  auto r = RunKvpress("eval --dataset ruler --context-length 2048 --task niah_single_1,vt --num-samples 1 --press snapkv "
                      "--compression-ratio 0.5 --output-dir " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string stem = dir + "/ruler__2048-niah_single_1-vt__tiny-reasoner__snapkv__ratio0.50__max_new_tokens2048__num_samples1__chat__seed42";
  const json score = json::parse(ReadText(stem + "_score.json"));
  EXPECT_EQ(score["per_task"].size(), 2u);
  EXPECT_DOUBLE_EQ(score["compression_ratio"].get<double>(), 0.5);
  EXPECT_EQ(score["cache_budget"], 0);
  for (const json& row : ReadJsonLines(stem + ".jsonl")) {
    EXPECT_GT(row["question_tokens"].get<int>(), 0);  // the question went in uncompressed, after the context
    // The tiny model's trained positions cut the context (with a warning); half of it is removed,
    // the question is kept: the cache holds well under 80% of the prompt.
    EXPECT_GT(row["context_tokens"].get<int>(), 200);
    EXPECT_LT(row["compression_ratio"].get<double>(), 0.8);
    EXPECT_LE(row["output_token_count"].get<int>(), row["task"] == "vt" ? 30 : 128);
  }
  r = RunKvpress("eval --dataset niah --lengths 512 --depths 0,100 --press streaming_llm --cache-budget 64 "
                 "--prefill-chunk 128 --output-dir " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunKvpress("eval --dataset niah --lengths 512 --depths 0,100 --press full --output-dir " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunKvpress("sweep --datasets ruler --presses full,knorm --compression-ratios 0.25,0.5 --budgets 32 --dry-run");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("__knorm__ratio0.25__"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("__knorm__budget32__"), std::string::npos) << r.out;
  r = RunKvpress("eval --dataset ruler --press knorm --compression-ratio 0.5 --prefill-chunk 64 --output-dir " + dir);
  EXPECT_NE(r.exit_code, 0);  // a ratio does not combine with chunked prefill
  r = RunKvpress("report " + dir + " --output-dir " + dir + "/report");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("## Long context: ruler"), std::string::npos) << r.out;
  EXPECT_TRUE(FileExists(dir + "/report/niah__tiny-reasoner__streaming_llm__budget64__niah_heatmap.svg"));
  EXPECT_TRUE(FileExists(dir + "/report/niah__tiny-reasoner__full__full__niah_heatmap.svg"));
}

}  // namespace
}  // namespace kvpress::eval
