// Dataset rows by Hugging Face id against a local stand-in of the datasets-server
// (tests/hf_rows_server.py on 127.0.0.1): paging, the rows cache (hit, offline, truncated entry
// refetched), config resolution through /splits, 401 / 404 / 429, truncated cells, and options
// from the environment.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "core/file_util.h"
#include "eval/dataset_spec.h"
#include "eval/hf_rows.h"
#include "eval/longctx_metrics.h"
#include "eval/longctx_summary.h"
#include "hub/http_client.h"
#include "test_util.h"

namespace kvpress::eval {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* kToken = "hf_rows_secret";

// The datasets-server stand-in, one per test suite. Fails loudly (not a skip) without python3.
class RowsServer {
 public:
  bool Start(const std::vector<std::string>& extra, std::string& error) {
    std::vector<std::string> args = {"--token", kToken};
    args.insert(args.end(), extra.begin(), extra.end());
    return server_.Start(std::string(KVPRESS_SOURCE_DIR) + "/tests/hf_rows_server.py", args, error);
  }

  const std::string& endpoint() const { return server_.endpoint(); }

  json Control(const std::string& path) const {
    hub::HttpClient http({});
    auto r = http.Get(endpoint() + path, 64 << 20);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok() || r->status != 200) return json::object();
    return json::parse(r->body);
  }
  json Log() const { return Control("/_stats")["log"]; }
  int Requests() const { return Control("/_stats").value("requests", -1); }

 private:
  testing::LocalServer server_;
};

std::vector<json> ReadRows(const std::string& path) {
  std::vector<json> rows;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(json::parse(line));
  return rows;
}

void WriteRows(const std::string& path, const std::vector<json>& rows) {
  std::ofstream out(path);
  for (const json& r : rows) out << r.dump() << "\n";
}

class HfRowsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_dir_ = new std::string(testing::TempDir("hfrows-data"));
    const std::string& d = *data_dir_;
    std::vector<json> gsm8k, small, longrows;
    for (int i = 0; i < 250; ++i)
      gsm8k.push_back({{"question", "What is " + std::to_string(i) + " + 1?"},
                       {"answer", "Add one.\n#### " + std::to_string(i + 1)}});
    for (int i = 0; i < 7; ++i)
      small.push_back({{"question", "Q" + std::to_string(i)}, {"answer", "#### 7"}});
    for (int i = 0; i < 5; ++i)
      longrows.push_back({{"id", i}, {"problem", std::string(300, static_cast<char>('a' + i))}});
    WriteRows(d + "/gsm8k.jsonl", gsm8k);
    WriteRows(d + "/small.jsonl", small);
    WriteRows(d + "/long.jsonl", longrows);
    WriteRows(d + "/first.jsonl", {json{{"question", "from first"}, {"answer", "#### 1"}}});
    // Long-context rows in upstream kvpress's layouts (its create_huggingface_dataset.py scripts).
    WriteRows(d + "/loogle_cloze.jsonl",
              {json{{"context", "Please fill in the clozes ... Bob met Alice in Paris."},
                    {"question", "\n Question: <mask-0> met Alice in <mask-1>. What are the masked entities?\n"},
                    {"answer_prefix", "Answer:"},
                    {"answer", json({{"<mask-0>", "Bob"}, {"<mask-1>", "Paris"}}).dump()},
                    {"task", "shortdep_cloze"},
                    {"max_new_tokens", 50}},
               json{{"context", "Please answer the question based on the long texts below. \nIt rained."},
                    {"question", "\nQuestion: What happened?\n"},
                    {"answer_prefix", "Answer: "},
                    {"answer", "It rained all day."},
                    {"task", "shortdep_qa"},
                    {"max_new_tokens", 300}}});
    WriteRows(d + "/zero_scrolls.jsonl",
              {json{{"id", "a1"}, {"context", "Story: the ship sank."}, {"question", "\nQuestion: What sank?\n"},
                    {"answer_prefix", "Answer:"}, {"answer", ""}, {"task", "narrative_qa"}, {"max_new_tokens", 64}},
               json{{"id", "a2"}, {"context", "Story: the ship sank."}, {"question", "\nQuestion: What sank?\n"},
                    {"answer_prefix", "Answer:"}, {"answer", "the ship"}, {"task", "narrative_qa"},
                    {"max_new_tokens", 64}}});
    WriteRows(d + "/longbench_hotpotqa.jsonl",
              {json{{"context", "Passage 1: The tower is in Paris."}, {"question", "Where is the tower?"},
                    {"answer_prefix", "Answer:"}, {"answers", {"Paris"}}, {"all_classes", nullptr},
                    {"task", "hotpotqa"}, {"max_new_tokens", 32}}});
    WriteRows(d + "/longbench_v2.jsonl",
              {json{{"context", "A long document."}, {"question", "Which? (A) x (B) y"},
                    {"answer_prefix", "The correct answer is"}, {"answer", "B"}, {"task", "longbench_v2"},
                    {"max_new_tokens", 16}}});
    server_ = new RowsServer();
    if (!server_->Start({"--dataset", "openai/gsm8k:main:test=" + d + "/gsm8k.jsonl", "--dataset",
                         "test/multi:first:train=" + d + "/first.jsonl", "--dataset",
                         "test/multi:second:test=" + d + "/small.jsonl", "--dataset",
                         "test/long:default:test=" + d + "/long.jsonl", "--dataset",
                         "simonjegou/loogle:shortdep_cloze:test=" + d + "/loogle_cloze.jsonl", "--dataset",
                         "simonjegou/zero_scrolls:default:test=" + d + "/zero_scrolls.jsonl", "--dataset",
                         "Xnhyacinth/LongBench:hotpotqa:test=" + d + "/longbench_hotpotqa.jsonl", "--dataset",
                         "simonjegou/LongBench-v2:default:test=" + d + "/longbench_v2.jsonl", "--gated",
                         "test/gated:default:test=" + d + "/small.jsonl"},
                        *start_error_)) {
      delete server_;
      server_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    fs::remove_all(*data_dir_);
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr) << *start_error_;
    cache_ = testing::TempDir("hfrows-cache");
    ASSERT_FALSE(cache_.empty());
  }
  void TearDown() override {
    server_->Control("/_set?fail_429=0&max_page_bytes=0");
    fs::remove_all(cache_);
  }

  HfRowsOptions Options() const {
    HfRowsOptions o;
    o.datasets_server = server_->endpoint();
    o.cache_dir = cache_;
    o.timeout_s = 10;
    o.retry_backoff_s = 0.01;
    return o;
  }
  std::vector<json> FileRows(const std::string& name) const {
    return ReadRows(*data_dir_ + "/" + name);
  }
  std::string Gsm8kCache() const { return HfRowsCachePath(cache_, "openai/gsm8k", "main", "test"); }

  static RowsServer* server_;
  static std::string* start_error_;
  static std::string* data_dir_;
  std::string cache_;
};
RowsServer* HfRowsTest::server_ = nullptr;
std::string* HfRowsTest::start_error_ = new std::string();
std::string* HfRowsTest::data_dir_ = nullptr;

TEST(HfRowsPath, CacheLayout) {
  EXPECT_EQ(HfRowsCachePath("/c/", "openai/gsm8k", "main", "test"),
            "/c/openai--gsm8k/main/test.jsonl");
  EXPECT_EQ(HfRowsCachePath("/c", "math-ai/aime24", "", "test"),
            "/c/math-ai--aime24/default/test.jsonl");
}

TEST(HfRowsPath, OptionsFromEnvironment) {
  const char* names[] = {"HF_HOME",        "HF_DATASETS_CACHE",   "KVPRESS_DATASETS_SERVER",
                         "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_TOKEN"};
  std::vector<std::pair<std::string, std::optional<std::string>>> saved;
  for (const char* n : names) {
    const char* v = std::getenv(n);
    saved.emplace_back(n, v ? std::optional<std::string>(v) : std::nullopt);
    ::unsetenv(n);
  }
  ::setenv("HF_HOME", "/hfhome", 1);
  ::setenv("HF_TOKEN", "tok", 1);
  HfRowsOptions o = HfRowsOptionsFromEnvironment();
  EXPECT_EQ(o.cache_dir, "/hfhome/datasets/kvpress-rows");
  EXPECT_EQ(o.datasets_server, "https://datasets-server.huggingface.co");
  EXPECT_EQ(o.token, "tok");
  EXPECT_FALSE(o.offline);
  ::setenv("HF_DATASETS_OFFLINE", "1", 1);
  ::setenv("KVPRESS_DATASETS_SERVER", "http://mirror:8080/", 1);
  ::setenv("HF_DATASETS_CACHE", "/dscache", 1);
  o = HfRowsOptionsFromEnvironment();
  EXPECT_TRUE(o.offline);
  EXPECT_EQ(o.datasets_server, "http://mirror:8080");
  EXPECT_EQ(o.cache_dir, "/dscache/kvpress-rows");
  ::unsetenv("HF_DATASETS_OFFLINE");
  ::setenv("HF_HUB_OFFLINE", "true", 1);
  EXPECT_TRUE(HfRowsOptionsFromEnvironment().offline);
  for (const auto& [n, v] : saved) {
    if (v)
      ::setenv(n.c_str(), v->c_str(), 1);
    else
      ::unsetenv(n.c_str());
  }
}

TEST_F(HfRowsTest, FetchesPagesThenBuildsGsm8k) {
  const int before = server_->Requests();
  auto rows = FetchHfRows("openai/gsm8k", "main", "test", Options());
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(server_->Requests() - before, 3);
  EXPECT_EQ(*rows, FileRows("gsm8k.jsonl"));
  const json log = server_->Log();
  ASSERT_GE(log.size(), 3u);
  EXPECT_EQ(log[log.size() - 3]["query"],
            "dataset=openai%2Fgsm8k&config=main&split=test&offset=0&length=100");
  EXPECT_EQ(log[log.size() - 1]["query"],
            "dataset=openai%2Fgsm8k&config=main&split=test&offset=200&length=50");  // the rest only
  EXPECT_EQ(log[log.size() - 1]["auth"], "");
  EXPECT_TRUE(FileExists(Gsm8kCache()));
  EXPECT_TRUE(FileExists(Gsm8kCache() + ".complete"));

  Dataset ds = BuildDataset(SpecFor(DatasetKind::kGsm8k), *rows);
  ASSERT_EQ(ds.samples.size(), 250u);
  EXPECT_EQ(ds.skipped, 0u);
  EXPECT_EQ(ds.samples[41].gold, "42");
  EXPECT_NE(ds.samples[41].prompt.find("What is 41 + 1?"), std::string::npos);

  // The dataset's spec names the same coordinates: served from the cache.
  auto loaded = LoadDatasetFromHub(SpecFor(DatasetKind::kGsm8k), Options());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->samples.size(), 250u);
  EXPECT_EQ(loaded->samples[249].gold, "250");
  EXPECT_EQ(server_->Requests() - before, 3);
}

TEST_F(HfRowsTest, CacheHitAndOfflineNeedNoRequest) {
  ASSERT_TRUE(FetchHfRows("openai/gsm8k", "main", "test", Options()).ok());
  const int before = server_->Requests();
  auto again = FetchHfRows("openai/gsm8k", "main", "test", Options());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->size(), 250u);
  HfRowsOptions offline = Options();
  offline.offline = true;
  offline.datasets_server = "http://127.0.0.1:1";  // would fail if used
  auto off = FetchHfRows("openai/gsm8k", "main", "test", offline);
  ASSERT_TRUE(off.ok()) << off.status().ToString();
  EXPECT_EQ(*off, FileRows("gsm8k.jsonl"));
  offline.max_rows = 10;  // a prefix of a complete entry
  auto prefix = FetchHfRows("openai/gsm8k", "main", "test", offline);
  ASSERT_TRUE(prefix.ok()) << prefix.status().ToString();
  EXPECT_EQ(prefix->size(), 10u);
  EXPECT_EQ(server_->Requests(), before);
}

TEST_F(HfRowsTest, OfflineWithoutCacheIsNotFound) {
  const int before = server_->Requests();
  HfRowsOptions o = Options();
  o.offline = true;
  auto rows = FetchHfRows("openai/gsm8k", "main", "test", o);
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().code(), StatusCode::kNotFound);
  const std::string& m = rows.status().message();
  EXPECT_NE(m.find("openai/gsm8k"), std::string::npos) << m;
  EXPECT_NE(m.find(Gsm8kCache()), std::string::npos) << m;
  EXPECT_NE(m.find("--data-file"), std::string::npos) << m;
  EXPECT_NE(m.find("HF_HUB_OFFLINE"), std::string::npos) << m;
  EXPECT_EQ(server_->Requests(), before);
}

TEST_F(HfRowsTest, IncompleteCacheIsRefetched) {
  // A rows file without its completion marker (a crash mid-write): never used.
  fs::create_directories(fs::path(Gsm8kCache()).parent_path());
  std::vector<json> partial = FileRows("gsm8k.jsonl");
  partial.resize(120);
  WriteRows(Gsm8kCache(), partial);
  HfRowsOptions offline = Options();
  offline.offline = true;
  EXPECT_EQ(FetchHfRows("openai/gsm8k", "main", "test", offline).status().code(),
            StatusCode::kNotFound);
  int before = server_->Requests();
  auto rows = FetchHfRows("openai/gsm8k", "main", "test", Options());
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->size(), 250u);
  EXPECT_EQ(server_->Requests() - before, 3);

  // A rows file cut short under a valid marker: its size no longer matches, refetched.
  const std::string full = ReadFileToString(Gsm8kCache()).value();
  ASSERT_TRUE(WriteFileAtomic(Gsm8kCache(), full.substr(0, full.size() / 2)).ok());
  before = server_->Requests();
  rows = FetchHfRows("openai/gsm8k", "main", "test", Options());
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows, FileRows("gsm8k.jsonl"));
  EXPECT_EQ(server_->Requests() - before, 3);
  EXPECT_EQ(ReadFileToString(Gsm8kCache()).value(), full);
}

TEST_F(HfRowsTest, MaxRowsFetchesAPrefix) {
  HfRowsOptions o = Options();
  o.max_rows = 30;
  int before = server_->Requests();
  auto rows = FetchHfRows("openai/gsm8k", "main", "test", o);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 30u);
  EXPECT_EQ((*rows)[29], FileRows("gsm8k.jsonl")[29]);
  EXPECT_EQ(server_->Requests() - before, 1);
  EXPECT_EQ(server_->Log().back()["query"],
            "dataset=openai%2Fgsm8k&config=main&split=test&offset=0&length=30");
  before = server_->Requests();
  ASSERT_TRUE(FetchHfRows("openai/gsm8k", "main", "test", o).ok());  // the prefix is cached
  EXPECT_EQ(server_->Requests(), before);
  rows = FetchHfRows("openai/gsm8k", "main", "test", Options());  // the whole split is not
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->size(), 250u);
  EXPECT_EQ(server_->Requests() - before, 3);
}

TEST_F(HfRowsTest, GatedDatasetNeedsToken) {
  auto denied = FetchHfRows("test/gated", "default", "test", Options());
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), StatusCode::kFailedPrecondition);
  const std::string& m = denied.status().message();
  EXPECT_NE(m.find("HTTP 401"), std::string::npos) << m;
  EXPECT_NE(m.find("/rows?dataset=test%2Fgated"), std::string::npos) << m;
  EXPECT_NE(m.find("gated"), std::string::npos) << m;
  EXPECT_NE(m.find("HF_TOKEN"), std::string::npos) << m;
  EXPECT_FALSE(FileExists(HfRowsCachePath(cache_, "test/gated", "default", "test")));

  HfRowsOptions o = Options();
  o.token = kToken;
  auto rows = FetchHfRows("test/gated", "default", "test", o);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows, FileRows("small.jsonl"));
  EXPECT_EQ(server_->Log().back()["auth"], std::string("Bearer ") + kToken);
}

TEST_F(HfRowsTest, UnknownDatasetOrSplitIsNotFound) {
  auto rows = FetchHfRows("test/no-such-dataset", "default", "test", Options());
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().code(), StatusCode::kNotFound);
  EXPECT_NE(rows.status().message().find("test/no-such-dataset"), std::string::npos)
      << rows.status().message();
  EXPECT_NE(rows.status().message().find("HF_TOKEN"), std::string::npos) << rows.status().message();
  rows = FetchHfRows("openai/gsm8k", "main", "validation", Options());
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().code(), StatusCode::kNotFound);
  EXPECT_NE(rows.status().message().find("split 'validation'"), std::string::npos)
      << rows.status().message();
  EXPECT_EQ(FetchHfRows("../etc", "x", "test", Options()).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(HfRowsTest, RateLimitIsRetried) {
  server_->Control("/_set?fail_429=1");
  int before = server_->Requests();
  auto rows = FetchHfRows("test/gated", "default", "test", [&] {
    HfRowsOptions o = Options();
    o.token = kToken;
    return o;
  }());
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->size(), 7u);
  EXPECT_EQ(server_->Requests() - before, 2);

  server_->Control("/_set?fail_429=100");
  HfRowsOptions o = Options();
  o.max_retries = 2;
  before = server_->Requests();
  auto limited = FetchHfRows("openai/gsm8k", "main", "test", o);
  ASSERT_FALSE(limited.ok());
  EXPECT_NE(limited.status().message().find("429"), std::string::npos)
      << limited.status().message();
  EXPECT_EQ(server_->Requests() - before, 3);
}

TEST_F(HfRowsTest, EmptyConfigIsResolvedWithSplits) {
  const int before = server_->Requests();
  auto rows = FetchHfRows("test/multi", "", "test", Options());
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows, FileRows("small.jsonl"));
  const json log = server_->Log();
  ASSERT_EQ(server_->Requests() - before, 2);
  EXPECT_EQ(log[log.size() - 2]["path"], "/splits");
  EXPECT_EQ(log[log.size() - 1]["query"],
            "dataset=test%2Fmulti&config=second&split=test&offset=0&length=100");
  EXPECT_TRUE(FileExists(HfRowsCachePath(cache_, "test/multi", "", "test") + ".complete"));
  auto none = FetchHfRows("test/multi", "", "validation", Options());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_NE(none.status().message().find("first/train"), std::string::npos)
      << none.status().message();
}

TEST_F(HfRowsTest, TruncatedCellsAreFetchedInSmallerPages) {
  server_->Control("/_set?max_page_bytes=700");  // 2 rows of ~320 bytes fit, 5 do not
  auto rows = FetchHfRows("test/long", "default", "test", Options());
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows, FileRows("long.jsonl"));
  server_->Control("/_set?max_page_bytes=100");  // not even one row fits
  fs::remove_all(cache_ + "/test--long");
  auto lost = FetchHfRows("test/long", "default", "test", Options());
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(lost.status().message().find("--data-file"), std::string::npos)
      << lost.status().message();
}

TEST_F(HfRowsTest, NetworkErrorAndJsonlSpec) {
  HfRowsOptions o = Options();
  o.datasets_server = "http://127.0.0.1:1";
  auto rows = FetchHfRows("openai/gsm8k", "main", "test", o);
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(rows.status().message().find("--data-file"), std::string::npos)
      << rows.status().message();

  auto jsonl = LoadDatasetFromHub(SpecFor(DatasetKind::kJsonl), Options());
  ASSERT_FALSE(jsonl.ok());
  EXPECT_EQ(jsonl.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(jsonl.status().message().find("--data-file"), std::string::npos);
}

}  // namespace
}  // namespace kvpress::eval

namespace kvpress::eval {
namespace {

// LooGLE, ZeroSCROLLS, LongBench and LongBench-v2 by their upstream Hugging Face ids (the config as
// --data-dir names it), and the same rows from a local file: same samples, the task's metric, the
// question kept apart from the context.
TEST_F(HfRowsTest, LongContextBenchmarksByIdAndFromFile) {
  struct Case {
    DatasetKind kind;
    std::string config, file;
    size_t samples;
    std::vector<std::string> metrics;
    std::string prediction;
    std::vector<double> scores;
  };
  const std::vector<Case> cases = {
      {DatasetKind::kLoogle, "shortdep_cloze", "loogle_cloze.jsonl", 2, {"loogle_cloze_exact", "loogle_rouge_l"},
       "{'<mask-0>': 'Bob', '<mask-1>': 'London'}", {0.5, 0.0}},
      {DatasetKind::kZeroScrolls, "", "zero_scrolls.jsonl", 2, {"unscored", "zs_f1"}, "The ship.", {0.0, 1.0}},
      {DatasetKind::kLongBench, "hotpotqa", "longbench_hotpotqa.jsonl", 1, {"qa_f1"}, "In Paris.", {2.0 / 3.0}},
      {DatasetKind::kLongBenchV2, "", "longbench_v2.jsonl", 1, {"longbench_v2"}, "The correct answer is (B)", {1.0}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(SpecFor(c.kind).key);
    DatasetSpec spec = SpecFor(c.kind);
    spec.hf_config = c.config;  // what --data-dir sets
    auto hub = LoadDatasetFromHub(spec, Options());
    ASSERT_TRUE(hub.ok()) << hub.status().ToString();
    auto file = LoadDatasetFile(spec, *data_dir_ + "/" + c.file);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    ASSERT_EQ(hub->samples.size(), c.samples);
    ASSERT_EQ(file->samples.size(), c.samples);
    std::vector<json> rows;
    for (size_t i = 0; i < c.samples; ++i) {
      const Sample& s = hub->samples[i];
      const json row = FileRows(c.file)[i];
      EXPECT_EQ(s.prompt, file->samples[i].prompt);
      EXPECT_EQ(s.golds, file->samples[i].golds);
      EXPECT_EQ(s.metadata["metric"], c.metrics[i]);
      EXPECT_EQ(s.prompt, row["context"].get<std::string>() + row["question"].get<std::string>() +
                              row["answer_prefix"].get<std::string>());
      const Verdict v = ScoreLongContext(c.metrics[i], c.prediction, s.golds, s.metadata.value("task", ""));
      EXPECT_NEAR(v.score, c.scores[i], 1e-12) << c.prediction;
      json scored = s.metadata;
      scored["score"] = v.score;
      rows.push_back(scored);
    }
    if (c.kind == DatasetKind::kZeroScrolls) {  // the hidden-answer row is counted, not averaged
      const auto summary = SummarizeLongContext(rows);
      EXPECT_EQ(summary["per_task"]["narrative_qa"]["unscored_samples"], 1);
      EXPECT_DOUBLE_EQ(summary["per_task"]["narrative_qa"]["avg_score"].get<double>(), 1.0);
      EXPECT_DOUBLE_EQ(summary["task_average"].get<double>(), 100.0);
      // ZeroSCROLLS's own task score (F1 x 100), averaged into the benchmark's score.
      EXPECT_DOUBLE_EQ(summary["zero_scrolls_score"].get<double>(), 100.0);
    }
  }
}

// `kvpress eval` without --data-file: rows by Hugging Face id from the server, cached under
// $HF_HOME, then the same run offline from the cache (the bundled model answers; accuracy is not
// the point here).
TEST_F(HfRowsTest, EvalCliFetchesByDatasetIdThenRunsOffline) {
  if (!FileExists(std::string(KVPRESS_SOURCE_DIR) + "/models/tiny-reasoner/model.safetensors")) {
    GTEST_SKIP() << "no bundled model";
  }
  const std::string home = testing::TempDir("hfrows-cli-home"), out = testing::TempDir("hfrows-cli-out");
  ::setenv("KVPRESS_DATASETS_SERVER", server_->endpoint().c_str(), 1);
  ::setenv("HF_HOME", home.c_str(), 1);
  ::unsetenv("HF_DATASETS_CACHE");
  ::unsetenv("HF_HUB_OFFLINE");
  ::unsetenv("HF_DATASETS_OFFLINE");
  const std::string args = "eval --dataset gsm8k --press knorm --cache-budget 16 --num-samples 3 --max-new-tokens 8 --threads 1";
  const int before = server_->Requests();
  const testing::CommandResult online = testing::RunKvpress(args + " --output-dir " + out + "/a");
  ASSERT_EQ(online.exit_code, 0) << online.err;
  EXPECT_EQ(server_->Requests() - before, 3);  // 250 rows in pages of 100
  EXPECT_EQ(json::parse(online.out)["num_samples"], 3);
  EXPECT_TRUE(FileExists(home + "/datasets/kvpress-rows/openai--gsm8k/main/test.jsonl"));

  ::setenv("HF_HUB_OFFLINE", "1", 1);
  const testing::CommandResult offline = testing::RunKvpress(args + " --output-dir " + out + "/b");
  ::unsetenv("HF_HUB_OFFLINE");
  ::unsetenv("KVPRESS_DATASETS_SERVER");
  ::unsetenv("HF_HOME");
  ASSERT_EQ(offline.exit_code, 0) << offline.err;
  EXPECT_EQ(server_->Requests() - before, 3);  // no new request
  EXPECT_EQ(json::parse(offline.out)["num_samples"], 3);
}

}  // namespace
}  // namespace kvpress::eval
