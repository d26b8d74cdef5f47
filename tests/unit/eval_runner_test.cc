// The harness's run bookkeeping without a model: result-file naming (§5.5), sample selection, the
// crash-safe result file (torn last line), score summaries, and sweep planning / sharding.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "core/file_util.h"
#include "eval/result_file.h"
#include "eval/run_config.h"
#include "eval/runner.h"
#include "eval/score_summary.h"
#include "eval/sweep_plan.h"
#include "test_util.h"

namespace kvpress::eval {
namespace {

using nlohmann::json;
using kvpress::testing::TempDir;

TEST(ResultStem, FollowsTheForkNamingWithChatSuffix) {
  RunConfig c;
  c.dataset = "gsm8k";
  c.model_name = "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B";
  c.press = "h2o";
  c.cache_budget = 128;
  c.max_new_tokens = 2048;
  c.num_samples = 100;
  c.protocol = Protocol::kPaper;
  EXPECT_EQ(ResultStem(c), "gsm8k____deepseek-ai--DeepSeek-R1-Distill-Qwen-7B__h2o__budget128__max_new_tokens2048__num_samples100__seed42");
  c.protocol = Protocol::kChat;
  c.num_samples = 0;
  c.fraction = 0.5;
  c.max_context_length = 4096;
  c.do_sampling = true;
  c.press = "full";
  c.model_name = "/models/tiny-reasoner/";
  EXPECT_EQ(ResultStem(c), "gsm8k____tiny-reasoner__full__budget0__max_new_tokens2048__fraction0.50__max_context4096__sampling__chat__seed42");
  c.press = "snapkv_d:window=8,kernel=3";
  EXPECT_EQ(ResultStem(c).find("snapkv_d-window=8-kernel=3__budget128") != std::string::npos, true);
  c.prefill_chunk = 512;  // chunked prefill changes the results: its own file
  EXPECT_NE(ResultStem(c).find("__max_context4096__prefill_chunk512__sampling__chat__seed42"), std::string::npos);
  c.press = "full";  // nothing is compressed: the chunk size changes nothing
  EXPECT_EQ(ResultStem(c).find("prefill_chunk"), std::string::npos);
}

std::vector<Sample> Numbered(int n) {
  std::vector<Sample> s(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) s[static_cast<size_t>(i)].id = fmt::format("s{}", i);
  return s;
}

TEST(SelectSamples, DeterministicShuffleThenPrefix) {
  RunConfig c;
  c.num_samples = 10;
  const auto a = SelectSamples(Numbered(100), c);
  const auto b = SelectSamples(Numbered(100), c);
  ASSERT_EQ(a.size(), 10u);
  std::set<std::string> ids;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id);
    ids.insert(a[i].id);
  }
  EXPECT_EQ(ids.size(), 10u);
  c.num_samples = 20;  // a larger run starts with the smaller one's samples
  const auto longer = SelectSamples(Numbered(100), c);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(longer[i].id, a[i].id);
  c.seed = 7;
  EXPECT_NE(SelectSamples(Numbered(100), c)[0].id + SelectSamples(Numbered(100), c)[1].id, a[0].id + a[1].id);
  c.num_samples = 0;
  c.fraction = 0.25;
  EXPECT_EQ(SelectSamples(Numbered(10), c).size(), 2u);  // int(10 * 0.25)
  c.fraction = 1.0;
  EXPECT_EQ(SelectSamples(Numbered(10), c).size(), 10u);
}

TEST(ResultFile, AppendsReadsAndRepairsATornLastLine) {
  const std::string path = TempDir("result_file") + "/r.jsonl";
  {
    ResultAppender out;
    ASSERT_TRUE(out.Open(path).ok());
    ASSERT_TRUE(out.Append(json{{kSampleIdKey, "a"}, {"correct", true}}).ok());
    ASSERT_TRUE(out.Append(json{{kSampleIdKey, "b"}, {"correct", false}}).ok());
  }
  {
    std::ofstream torn(path, std::ios::app);
    torn << R"({"sample_id": "c", "resp)";  // a kill -9 in the middle of a write
  }
  auto rows = ReadResultRows(path, /*repair=*/true);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ(RowIds(*rows), (std::set<std::string>{"a", "b"}));
  ResultAppender again;
  ASSERT_TRUE(again.Open(path).ok());
  ASSERT_TRUE(again.Append(json{{kSampleIdKey, "c"}}).ok());
  rows = ReadResultRows(path, true);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 3u);
  EXPECT_EQ(ReadFileToString(path).value().back(), '\n');
  EXPECT_TRUE(ReadResultRows(path + ".missing", false)->empty());
}

TEST(ResultFile, DamageBeforeTheLastLineIsAnError) {
  const std::string path = TempDir("result_file_bad") + "/r.jsonl";
  ASSERT_TRUE(WriteFileAtomic(path, "{\"sample_id\": \"a\"}\nnot json\n{\"sample_id\": \"b\"}\n").ok());
  auto rows = ReadResultRows(path, true);
  ASSERT_FALSE(rows.ok());
  EXPECT_NE(rows.status().message().find(":2:"), std::string::npos) << rows.status().message();
}

TEST(ScoreSummary, AveragesRowsAndCountsWhatIsThere) {
  std::vector<json> rows = {
      {{"correct", true}, {"score", 1.0}, {"compression_ratio", 0.5}, {"output_token_count", 10},
       {"press_decoding_time", 0.01}, {"total_decoding_tokens", 10}, {"kv_bytes_peak", 1000}, {"execution_time", 2.0}},
      {{"correct", false}, {"score", 0.5}, {"compression_ratio", 1.0}, {"output_token_count", 30},
       {"press_decoding_time", 0.03}, {"total_decoding_tokens", 30}, {"kv_bytes_peak", 3000}, {"execution_time", 3.0}},
  };
  const auto s = SummarizeRows(rows);
  EXPECT_DOUBLE_EQ(s["accuracy"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(s["avg_score"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(s["avg_compression"].get<double>(), 0.75);
  EXPECT_EQ(s["num_samples"].get<int>(), 2);
  EXPECT_DOUBLE_EQ(s["avg_output_tokens"].get<double>(), 20.0);
  EXPECT_DOUBLE_EQ(s["press_ms_per_token"].get<double>(), 1.0);  // 1000 * 0.04 s / 40 tokens
  EXPECT_DOUBLE_EQ(s["avg_kv_bytes_peak"].get<double>(), 2000.0);
  EXPECT_EQ(s["max_kv_bytes_peak"].get<int64_t>(), 3000);
  EXPECT_DOUBLE_EQ(s["avg_end_to_end_tokens_per_second"].get<double>(), (10.0 / 2 + 30.0 / 3) / 2);
  EXPECT_EQ(ScorePathFor("/d/x__seed42.jsonl"), "/d/x__seed42_score.json");
}

SweepPlan SmallPlan() {
  SweepPlan p;
  p.models = {"m"};
  p.datasets = {{"gsm8k", ""}, {"math500", "m.jsonl"}};
  p.presses = {"full", "knorm", "h2o"};
  p.budgets = {16, 32};
  return p;
}

TEST(Sweep, ExpandsInOrderWithOneFullCellPerDataset) {
  auto cells = ExpandSweep(SmallPlan());
  ASSERT_TRUE(cells.ok());
  ASSERT_EQ(cells->size(), 10u);  // 2 datasets x (1 full + 2 presses x 2 budgets)
  EXPECT_EQ((*cells)[0].config.press, "full");
  EXPECT_EQ((*cells)[0].config.EffectiveBudget(), 0);
  EXPECT_EQ((*cells)[1].config.press, "knorm");
  EXPECT_EQ((*cells)[1].config.cache_budget, 16);
  EXPECT_EQ((*cells)[2].config.cache_budget, 32);
  EXPECT_EQ((*cells)[5].config.dataset, "math500");
  EXPECT_EQ((*cells)[5].config.data_file, "m.jsonl");
  for (size_t i = 0; i < cells->size(); ++i) {
    EXPECT_EQ((*cells)[i].index, i);
    EXPECT_TRUE((*cells)[i].config.resume);
  }
  SweepPlan bad = SmallPlan();
  bad.budgets = {0};
  EXPECT_FALSE(ExpandSweep(bad).ok());
  bad = SmallPlan();
  bad.presses.clear();
  EXPECT_FALSE(ExpandSweep(bad).ok());
}

TEST(Sweep, ShardsAreDisjointAndComplete) {
  auto cells = ExpandSweep(SmallPlan()).value();
  for (int n : {1, 2, 3, 7, 20}) {
    std::multiset<size_t> seen;
    for (int i = 1; i <= n; ++i) {
      for (const SweepCell& c : ShardCells(cells, i, n)) seen.insert(c.index);
    }
    ASSERT_EQ(seen.size(), cells.size()) << n;
    for (size_t i = 0; i < cells.size(); ++i) EXPECT_EQ(seen.count(i), 1u);
  }
  EXPECT_EQ(ParseShard("2/3").value(), std::make_pair(2, 3));
  for (const char* bad : {"0/2", "3/2", "1/0", "1", "a/b", "1/2x", ""}) EXPECT_FALSE(ParseShard(bad).ok()) << bad;
}

TEST(Sweep, ReadsYamlAndJsonFiles) {
  const std::string dir = TempDir("sweep_file");
  ASSERT_TRUE(WriteFileAtomic(dir + "/s.yaml",
                              "models: [a, b]\n"
                              "datasets:\n  - gsm8k\n  - {name: math500, data_file: m.jsonl}\n  - folio=f.jsonl\n"
                              "presses: [full, \"snapkv_d:window=8\"]\n"
                              "budgets: 64\n"
                              "num_samples: 3\nmax_new_tokens: 100\nprotocol: paper\nscoring: normalized\n"
                              "prefill_chunk: 256\n")
                  .ok());
  SweepPlan p;
  ASSERT_TRUE(LoadSweepFile(dir + "/s.yaml", p).ok());
  EXPECT_EQ(p.models, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(p.datasets.size(), 3u);
  EXPECT_EQ(p.datasets[1].data_file, "m.jsonl");
  EXPECT_EQ(p.datasets[2].key, "folio");
  EXPECT_EQ(p.datasets[2].data_file, "f.jsonl");
  EXPECT_EQ(p.presses[1], "snapkv_d:window=8");
  EXPECT_EQ(p.budgets, (std::vector<int>{64}));
  EXPECT_EQ(p.base.num_samples, 3);
  EXPECT_EQ(p.base.max_new_tokens, 100);
  EXPECT_EQ(p.base.prefill_chunk, 256);
  EXPECT_EQ(p.base.protocol, Protocol::kPaper);
  EXPECT_EQ(p.base.EffectiveScoring(), ScoringMode::kNormalized);
  EXPECT_EQ(ExpandSweep(p)->size(), 12u);  // 2 models x 3 datasets x (full + 1 x 1)

  ASSERT_TRUE(WriteFileAtomic(dir + "/s.json", R"({"models": ["a"], "datasets": ["gsm8k"], "presses": ["knorm"], "budgets": [8, 16]})").ok());
  SweepPlan j;
  ASSERT_TRUE(LoadSweepFile(dir + "/s.json", j).ok());
  EXPECT_EQ(ExpandSweep(j)->size(), 2u);

  ASSERT_TRUE(WriteFileAtomic(dir + "/bad.yaml", "modles: [a]\n").ok());
  SweepPlan b;
  const Status s = LoadSweepFile(dir + "/bad.yaml", b);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("modles"), std::string::npos);
  ASSERT_TRUE(WriteFileAtomic(dir + "/bad2.yaml", "budgets: [x]\n").ok());
  EXPECT_FALSE(LoadSweepFile(dir + "/bad2.yaml", b).ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/bad3.yaml", "protocol: poem\n").ok());
  EXPECT_FALSE(LoadSweepFile(dir + "/bad3.yaml", b).ok());
}

TEST(ValidateRunConfig, CatchesBadCellsBeforeAnyRun) {
  RunConfig c;
  c.press = "snapkv_d:window=8";
  c.cache_budget = 64;
  EXPECT_TRUE(ValidateRunConfig(c).ok());
  c.press = "snapkv_d:windw=8";
  EXPECT_FALSE(ValidateRunConfig(c).ok());
  c.press = "nosuch";
  EXPECT_FALSE(ValidateRunConfig(c).ok());
  c.press = "knorm";
  c.cache_budget = 0;
  EXPECT_FALSE(ValidateRunConfig(c).ok());
  c.press = "full";  // budget ignored
  EXPECT_TRUE(ValidateRunConfig(c).ok());
  c.kv_dtype = "f8";
  EXPECT_FALSE(ValidateRunConfig(c).ok());
  c.kv_dtype = "bf16";
  c.batch_size = 0;
  EXPECT_FALSE(ValidateRunConfig(c).ok());
  c.batch_size = 1;
  c.prefill_chunk = -1;
  EXPECT_FALSE(ValidateRunConfig(c).ok());
}

}  // namespace
}  // namespace kvpress::eval
