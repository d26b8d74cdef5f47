// The sweep files of the bundled model's study (tools/tiny-reasoner/sweeps/*.yaml, run by
// study.sh for models/tiny-reasoner/MODEL_CARD.md) still run: every cell of every file, on 2
// held-out problems instead of 300, finishes without a failed cell (a renamed press, option or
// file would fail here rather than in the hour-long study).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "test_util.h"

namespace kvpress::testing {
namespace {

namespace fs = std::filesystem;

const std::string kRoot = KVPRESS_SOURCE_DIR;

// Number of "_score.json" files under `dir`.
int ScoreFiles(const std::string& dir) {
  int n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 11 && name.compare(name.size() - 11, 11, "_score.json") == 0) ++n;
  }
  return n;
}

// The number of cells `sweep --dry-run` lists (one line per cell, "INDEX<TAB>STEM").
int DryRunCells(const std::string& config) {
  const CommandResult r = RunKvpress("sweep --config " + config + " --dry-run");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  int n = 0;
  for (char c : r.out) n += c == '\n';
  return n;
}

class TinyStudySweeps : public ::testing::TestWithParam<std::string> {};

TEST_P(TinyStudySweeps, EveryCellRuns) {
  const std::string config = kRoot + "/tools/tiny-reasoner/sweeps/" + GetParam() + ".yaml";
  if (!fs::exists(config) || !fs::exists(kRoot + "/models/tiny-reasoner/test.jsonl"))
    GTEST_SKIP() << "tools/tiny-reasoner or models/tiny-reasoner absent";
  // The files name paths relative to the repository root, as study.sh runs them.
  const fs::path before = fs::current_path();
  fs::current_path(kRoot);
  const std::string out = TempDir("tiny-study-" + GetParam());
  const int cells = DryRunCells(config);
  const CommandResult r =
      RunKvpress("sweep --config " + config + " --num-samples 2 --output-dir " + out);
  fs::current_path(before);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find(" 0 failed"), std::string::npos) << r.err;
  EXPECT_GT(cells, 0);
  EXPECT_EQ(ScoreFiles(out), cells);
}

INSTANTIATE_TEST_SUITE_P(Files, TinyStudySweeps,
                         ::testing::Values("core", "budgets", "ratios", "fixed"));

}  // namespace
}  // namespace kvpress::testing
