// kvpress report --evictions (src/eval/eviction_report.h): parsing the --eviction-log CSV, the derived
// sequence lengths, the raster's cells on a hand-made log whose answer is worked out below, the
// errors on damaged logs, and the CLI. The end-to-end run on a real log of the bundled model is in
// tests/model/eviction_report_cli_test.cc.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "eval/eviction_report.h"
#include "test_util.h"

namespace kvpress::eval {
namespace {

using testing::ReadText;
using testing::RunKvpress;
using testing::TempDir;
using testing::WriteText;

constexpr const char* kHeader =
    "prune_step,layer_idx,head_idx,kv_len_pre,attn_len,diff_indices,attn_loss,evicted_positions\n";

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

// One layer, two KV heads, budget 3 on a 4-token prompt, then one token per step:
// head 0 evicts 1, then 0, then 4; head 1 evicts 3, then 4, then 5 (keeps the prompt's start).
std::string SmallLog() {
  std::string csv = kHeader;
  csv += "0,0,0,4,3,1,0.250000,\"1\"\n";
  csv += "1,0,1,4,3,1,0.100000,\"3\"\n";
  csv += "2,0,0,4,3,1,0.050000,\"0\"\n";
  csv += "3,0,1,4,3,1,,\"4\"\n";  // attn_loss unknown
  csv += "4,0,0,4,3,1,0.500000,\"4\"\n";
  csv += "5,0,1,4,3,1,0.200000,\"5\"\n";
  return csv;
}

TEST(EvictionReport, ParsesAndDerivesSequenceLengths) {
  const std::string path = TempDir("evlog") + "/ev.csv";
  WriteText(path, SmallLog());
  auto log = ReadEvictionLog(path);
  ASSERT_TRUE(log.ok()) << log.status().message();
  EXPECT_EQ(log->events.size(), 6u);
  EXPECT_EQ(log->n_layers, 1);
  EXPECT_EQ(log->n_heads, 2);
  EXPECT_EQ(log->max_seen, 6);
  const auto h0 = log->Of(0, 0), h1 = log->Of(0, 1);
  ASSERT_EQ(h0.size(), 3u);
  ASSERT_EQ(h1.size(), 3u);
  // 4 slots before each prune plus what was evicted before: 4, 5, 6 tokens.
  EXPECT_EQ(h0[0]->seen, 4);
  EXPECT_EQ(h0[1]->seen, 5);
  EXPECT_EQ(h0[2]->seen, 6);
  EXPECT_EQ(h1[2]->evicted, std::vector<int64_t>{5});
  EXPECT_FALSE(h1[1]->attn_loss.has_value());
  EXPECT_DOUBLE_EQ(*h0[2]->attn_loss, 0.5);

  const std::string md = RenderEvictionSummary(*log);
  EXPECT_NE(md.find("6 prune events over 1 layers x 2 KV heads; the sequence reached 6 tokens"), std::string::npos) << md;
  EXPECT_NE(md.find("| 0 | 0 | 3 | 3 | 3 | 0.8000 | 0.5000 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 0 | 1 | 3 | 3 | 3 | 0.3000 | 0.2000 |"), std::string::npos) << md;
}

TEST(EvictionReport, RasterCells) {
  const std::string path = TempDir("evlog") + "/ev.csv";
  WriteText(path, SmallLog());
  auto log = ReadEvictionLog(path);
  ASSERT_TRUE(log.ok());
  const std::vector<SvgFile> files = RenderEvictionPlots(*log);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].name, "evictions__raster.svg");
  EXPECT_EQ(files[1].name, "evictions__attention_loss.svg");
  const std::string& svg = files[0].svg;
  EXPECT_EQ(Count(svg, "class=\"panel\""), 2u);
  // Cells per prune (K kept, E evicted now, g evicted before, . not generated yet), rows 0..5:
  //   head 0: K E K K . .  |  E g K K K .  |  g g K K E K
  //   head 1: K K K E . .  |  K K K g E .  |  K K K g g E
  // Each run of positions with one life is drawn as kept / evicted-now / evicted-before rectangles:
  //   head 0: {0}: K E g  {1}: E g  {2,3}: K  {4}: K E  {5}: K   -> kept 4, red 3, grey 2
  //   head 1: {0..2}: K  {3}: E g  {4}: E g  {5}: E            -> kept 1, red 3, grey 2
  // plus one legend swatch each.
  EXPECT_EQ(Count(svg, "fill=\"#1f4e79\""), 4u + 1u + 1u);
  EXPECT_EQ(Count(svg, "fill=\"#d62728\""), 3u + 3u + 1u);
  EXPECT_EQ(Count(svg, "fill=\"#d9d9d9\""), 2u + 2u + 1u);
  EXPECT_EQ(Count(files[1].svg, "<polyline"), 1u);  // one layer
}

TEST(EvictionReport, DamagedLogsAreDataLoss) {
  const std::string dir = TempDir("evlog");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty file"},
      {"a,b\n", "not an eviction log"},
      {std::string(kHeader) + "0,0,0,4,3,1,0.1\n", "expected 8 fields"},
      {std::string(kHeader) + "0,x,0,4,3,1,0.1,\"1\"\n", "must be integers"},
      {std::string(kHeader) + "0,0,99999,4,3,1,0.1,\"1\"\n", "head_idx must lie in"},
      {std::string(kHeader) + "0,0,0,4,5,1,0.1,\"1\"\n", "attn_len <= kv_len_pre"},
      {std::string(kHeader) + "0,0,0,4,3,1,nan,\"1\"\n", "attn_loss is not a number"},
      {std::string(kHeader) + "0,0,0,4,3,1,0.1,\"1 -2\"\n", "evicted position '-2'"},
      {std::string(kHeader) + "0,0,0,4,3,1,0.1,\"1\n", "expected 8 fields, the last one quoted"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string path = fmt::format("{}/bad{}.csv", dir, i);
    WriteText(path, cases[i].first);
    auto log = ReadEvictionLog(path);
    ASSERT_FALSE(log.ok()) << cases[i].first;
    EXPECT_NE(log.status().message().find(cases[i].second), std::string::npos) << log.status().message();
  }
  EXPECT_FALSE(ReadEvictionLog(dir + "/missing.csv").ok());
  // A press that never pruned: a valid, empty log.
  WriteText(dir + "/empty.csv", kHeader);
  auto empty = ReadEvictionLog(dir + "/empty.csv");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->events.empty());
  EXPECT_EQ(RenderEvictionPlots(*empty).size(), 2u);
}

TEST(EvictionReport, Cli) {
  const std::string dir = TempDir("evcli");
  WriteText(dir + "/ev.csv", SmallLog());
  auto r = RunKvpress("report --evictions " + dir + "/ev.csv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("wrote 3 eviction files"), std::string::npos) << r.err;
  for (const char* f : {"evictions.md", "evictions__raster.svg", "evictions__attention_loss.svg"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + f)) << f;
  EXPECT_EQ(std::system(("xmllint --noout " + dir + "/evictions__raster.svg").c_str()), 0);
  r = RunKvpress("report");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("name a results DIR, or --evictions FILE"), std::string::npos) << r.err;
  WriteText(dir + "/bad.csv", "nope\n");
  r = RunKvpress("report --evictions " + dir + "/bad.csv");
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

}  // namespace
}  // namespace kvpress::eval
