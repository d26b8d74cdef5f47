// `kvpress eval`, `sweep` and `report` end to end on stories260K (../shared/data): the issue's
// must-show runs — every §5.5 key in both files, kill -9 + --resume with exactly N rows, --rescore,
// a 2 x 3 x 2 sweep as two shard processes, then the report's tables and SVGs.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/file_util.h"
#include "test_util.h"

namespace kvpress::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct Stories {
  std::string model, tokenizer, gsm8k, math500;
};

Stories Paths() {
  return Stories{SharedData("models/stories260K/stories260K.bin"), SharedData("models/stories260K/tok512.bin"),
                 SharedData("datasets/gsm8k/test.jsonl"), SharedData("datasets/math500/test.jsonl")};
}

std::string EvalArgs(const Stories& s, const std::string& out_dir) {
  return "eval --dataset gsm8k --data-file " + s.gsm8k + " --model " + s.model + " --tokenizer " + s.tokenizer +
         " --press h2o --cache-budget 64 --num-samples 5 --max-new-tokens 32 --threads 1 --output-dir " + out_dir;
}

std::vector<std::string> FilesEnding(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string p = e.path().string();
    if (p.size() >= suffix.size() && p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0) out.push_back(p);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(EvalCli, WritesEveryKeyOfBothFiles) {
  const Stories s = Paths();
  SKIP_IF_NO_SHARED(s.model);
  const std::string dir = TempDir("eval_keys");
  const CommandResult r = RunKvpress(EvalArgs(s, dir));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto results = FilesEnding(dir, ".jsonl");
  const auto scores = FilesEnding(dir, "_score.json");
  ASSERT_EQ(results.size(), 1u);
  ASSERT_EQ(scores.size(), 1u);
  EXPECT_EQ(fs::path(results[0]).filename().string(),
            "gsm8k____stories260K.bin__h2o__budget64__max_new_tokens32__num_samples5__chat__seed42.jsonl");
  const auto rows = ReadJsonLines(results[0]);
  ASSERT_EQ(rows.size(), 5u);
  for (const json& row : rows) {
    // §5.5 per-sample keys, the dataset's own fields, metrics, and our verdict.
    for (const char* key : {"question", "answer", "input_text", "response", "extracted_answer", "gt_answer",
                            "input_token_count", "output_token_count", "total_token_count", "cache_budget",
                            "compression_ratio", "prefill_time", "decoding_time", "total_time", "total_prefill_tokens",
                            "total_decoding_tokens", "output_tokens_per_second", "execution_time", "press_prefill_time",
                            "press_decoding_time", "kv_bytes_peak", "kv_bytes_live", "rss_peak_bytes", "evictions",
                            "correct", "score", "sample_id", "finish_reason", "truncated"}) {
      EXPECT_TRUE(row.contains(key)) << key;
    }
    EXPECT_EQ(row["cache_budget"], 64);
    EXPECT_LE(row["output_token_count"].get<int>(), 32);
    EXPECT_EQ(row["total_token_count"], row["input_token_count"].get<int>() + row["output_token_count"].get<int>());
    EXPECT_TRUE(row["correct"].is_boolean());
    EXPECT_LT(row["compression_ratio"].get<double>(), 1.0);  // prompts are > 64 tokens: h2o evicted
  }
  const json score = json::parse(ReadFileToString(scores[0]).value());
  for (const char* key : {"accuracy", "avg_compression", "num_samples", "dataset", "data_split", "data_dir",
                          "model_name", "press_name", "cache_budget", "fraction", "max_new_tokens",
                          "max_context_length", "random_seed", "avg_execution_time", "avg_prefill_time",
                          "avg_decoding_time", "avg_press_tokens_per_second", "avg_end_to_end_tokens_per_second",
                          "avg_total_prefill_tokens", "avg_total_decoding_tokens", "avg_output_tokens",
                          "press_ms_per_token", "avg_kv_bytes_peak", "max_kv_bytes_peak", "protocol", "scoring"}) {
    EXPECT_TRUE(score.contains(key)) << key;
  }
  EXPECT_EQ(score["num_samples"], 5);
  EXPECT_EQ(score["press_name"], "h2o");
  EXPECT_EQ(score["scoring"], "normalized");
  // The stdout is the score JSON; a second run finds it and does nothing.
  EXPECT_EQ(json::parse(r.out)["num_samples"], 5);
  const CommandResult again = RunKvpress(EvalArgs(s, dir));
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_EQ(ReadJsonLines(results[0]).size(), 5u);
}

// Starts kvpress with `args` in the background; returns its pid.
pid_t Spawn(const std::string& args) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string cmd = std::string("exec ") + KVPRESS_BIN + " " + args + " >/dev/null 2>&1 </dev/null";
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

TEST(EvalCli, ResumeAfterKill9LosesAndDuplicatesNothing) {
  const Stories s = Paths();
  SKIP_IF_NO_SHARED(s.model);
  const std::string clean_dir = TempDir("eval_clean"), dir = TempDir("eval_kill");
  ASSERT_EQ(RunKvpress(EvalArgs(s, clean_dir)).exit_code, 0);
  std::map<std::string, std::string> clean;
  for (const json& row : ReadJsonLines(FilesEnding(clean_dir, ".jsonl").at(0))) clean[row["sample_id"]] = row["response"];

  // Kill -9 as soon as the first row is on disk (the run is then mid-way through sample 2).
  const pid_t pid = Spawn(EvalArgs(s, dir));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::string result;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto files = FilesEnding(dir, ".jsonl");
    const auto text = files.empty() ? StatusOr<std::string>(std::string()) : ReadFileToString(files[0]);
    if (text.ok() && text->find('\n') != std::string::npos) {
      result = files[0];
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_FALSE(result.empty()) << "no row appeared";
  const size_t before = ReadJsonLines(result).size();
  if (WIFSIGNALED(status)) {
    EXPECT_LT(before, 5u);
    EXPECT_TRUE(FilesEnding(dir, "_score.json").empty());  // only a finished run has a score file
    // Without --resume an unfinished file is refused, untouched.
    const CommandResult refused = RunKvpress(EvalArgs(s, dir));
    EXPECT_EQ(refused.exit_code, 2);
    EXPECT_NE(refused.err.find("--resume"), std::string::npos) << refused.err;
  }
  // Simulate the worst case as well: a torn half-written row at the end.
  { std::ofstream(result, std::ios::app) << R"({"sample_id": "gsm8k-1", "respo)"; }
  const CommandResult resumed = RunKvpress(EvalArgs(s, dir) + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const auto rows = ReadJsonLines(result);
  ASSERT_EQ(rows.size(), 5u);
  std::set<std::string> ids;
  for (const json& row : rows) {
    ids.insert(row["sample_id"]);
    EXPECT_EQ(row["response"], clean.at(row["sample_id"])) << "greedy output differs after resume";
  }
  EXPECT_EQ(ids.size(), 5u);
  ASSERT_EQ(FilesEnding(dir, "_score.json").size(), 1u);
}

TEST(EvalCli, BatchSizeDecodesTogetherWithTheSameAnswers) {
  const Stories s = Paths();
  SKIP_IF_NO_SHARED(s.model);
  const std::string one = TempDir("eval_batch1"), three = TempDir("eval_batch3");
  ASSERT_EQ(RunKvpress(EvalArgs(s, one)).exit_code, 0);
  const CommandResult r = RunKvpress(EvalArgs(s, three) + " --batch-size 3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, json> single;
  for (const json& row : ReadJsonLines(FilesEnding(one, ".jsonl").at(0))) single[row["sample_id"]] = row;
  const auto rows = ReadJsonLines(FilesEnding(three, ".jsonl").at(0));
  ASSERT_EQ(rows.size(), 5u);
  for (const json& row : rows) {
    const json& a = single.at(row["sample_id"]);
    EXPECT_EQ(row["response"], a["response"]);
    EXPECT_EQ(row["kv_bytes_peak"], a["kv_bytes_peak"]);
    EXPECT_EQ(row["evictions"], a["evictions"]);
    EXPECT_EQ(row["batch_size"], 3);
  }
}

TEST(EvalCli, ASecondProcessOnTheSameRunIsRefused) {
  const Stories s = Paths();
  SKIP_IF_NO_SHARED(s.model);
  const std::string dir = TempDir("eval_lock");
  // Hold the run's lock as a concurrent kvpress would.
  const std::string lock = dir + "/gsm8k____stories260K.bin__h2o__budget64__max_new_tokens32__num_samples5__chat__seed42.lock";
  const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  const CommandResult busy = RunKvpress(EvalArgs(s, dir));
  EXPECT_EQ(busy.exit_code, 2);
  EXPECT_NE(busy.err.find("another kvpress process"), std::string::npos) << busy.err;
  EXPECT_TRUE(FilesEnding(dir, ".jsonl").empty());
  ::close(fd);  // released: the run proceeds
  EXPECT_EQ(RunKvpress(EvalArgs(s, dir)).exit_code, 0);
  EXPECT_EQ(FilesEnding(dir, "_score.json").size(), 1u);
  EXPECT_TRUE(FilesEnding(dir, ".lock").empty()) << "a finished run leaves no lock file";
  EXPECT_EQ(RunKvpress(EvalArgs(s, dir)).exit_code, 0);  // already finished: no lock file either
  EXPECT_TRUE(FilesEnding(dir, ".lock").empty());
}

TEST(EvalCli, RescoreRewritesVerdictsAndScoreFile) {
  const Stories s = Paths();
  SKIP_IF_NO_SHARED(s.model);
  const std::string dir = TempDir("eval_rescore");
  ASSERT_EQ(RunKvpress(EvalArgs(s, dir)).exit_code, 0);
  const std::string result = FilesEnding(dir, ".jsonl").at(0);
  // Make one response correct by hand: rescoring must see it.
  auto rows = ReadJsonLines(result);
  rows[0]["response"] = "so the answer is \\boxed{" + rows[0]["gt_answer"].get<std::string>() + ".0}";
  std::string text;
  for (const json& r : rows) text += r.dump() + "\n";
  ASSERT_TRUE(WriteFileAtomic(result, text).ok());
  CommandResult r = RunKvpress("eval --rescore " + result);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  rows = ReadJsonLines(result);
  EXPECT_EQ(rows[0]["correct"], true);  // normalized: "7.0" == "7"
  json score = json::parse(ReadFileToString(FilesEnding(dir, "_score.json").at(0)).value());
  EXPECT_DOUBLE_EQ(score["accuracy"].get<double>(), 0.2);
  EXPECT_EQ(score["press_name"], "h2o");  // configuration kept
  r = RunKvpress("eval --rescore " + result + " --scoring exact");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadJsonLines(result)[0]["correct"], false);  // the fork's string match: "7.0" != "7"
  score = json::parse(ReadFileToString(FilesEnding(dir, "_score.json").at(0)).value());
  EXPECT_EQ(score["scoring"], "exact");
  EXPECT_EQ(RunKvpress("eval --rescore " + dir + "/missing.jsonl").exit_code, 2);
}

TEST(EvalCli, BadInputsExitTwoWithoutFiles) {
  const Stories s = Paths();
  SKIP_IF_NO_SHARED(s.model);
  const std::string dir = TempDir("eval_bad");
  const std::string base = "eval --dataset gsm8k --data-file " + s.gsm8k + " --model " + s.model + " --tokenizer " +
                           s.tokenizer + " --num-samples 1 --output-dir " + dir;
  CommandResult r = RunKvpress(base + " --press nosuchpress");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("nosuchpress"), std::string::npos);
  r = RunKvpress("eval --dataset nosuchset --data-file " + s.gsm8k + " --model " + s.model + " --output-dir " + dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("nosuchset"), std::string::npos);
  r = RunKvpress("eval --dataset gsm8k --data-file /nonexistent.jsonl --model " + s.model + " --output-dir " + dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(FilesEnding(dir, ".jsonl").empty());
}

TEST(SweepCli, TwoShardProcessesThenReport) {
  const Stories s = Paths();
  SKIP_IF_NO_SHARED(s.model);
  SKIP_IF_NO_SHARED(s.math500);
  const std::string dir = TempDir("sweep");
  const std::string args = "sweep --models " + s.model + " --tokenizer " + s.tokenizer + " --datasets gsm8k=" + s.gsm8k +
                           ",math500=" + s.math500 + " --presses streaming_llm,knorm,h2o --budgets 16,32" +
                           " --num-samples 2 --max-new-tokens 16 --threads 1 --output-dir " + dir;
  // Dry runs: the two shards split the 12 cells.
  const CommandResult d1 = RunKvpress(args + " --shard 1/2 --dry-run"), d2 = RunKvpress(args + " --shard 2/2 --dry-run");
  ASSERT_EQ(d1.exit_code, 0) << d1.err;
  EXPECT_EQ(std::count(d1.out.begin(), d1.out.end(), '\n') + std::count(d2.out.begin(), d2.out.end(), '\n'), 12);
  // The shards as two concurrent processes.
  const pid_t p1 = Spawn(args + " --shard 1/2"), p2 = Spawn(args + " --shard 2/2");
  int st1 = 0, st2 = 0;
  ::waitpid(p1, &st1, 0);
  ::waitpid(p2, &st2, 0);
  ASSERT_TRUE(WIFEXITED(st1) && WEXITSTATUS(st1) == 0);
  ASSERT_TRUE(WIFEXITED(st2) && WEXITSTATUS(st2) == 0);
  ASSERT_EQ(FilesEnding(dir, "_score.json").size(), 12u);
  for (const std::string& f : FilesEnding(dir, "__seed42.jsonl")) EXPECT_EQ(ReadJsonLines(f).size(), 2u) << f;
  // Rerunning a shard finds its cells finished.
  const CommandResult again = RunKvpress(args + " --shard 1/2");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("0 cells run, 6 already finished, 0 busy elsewhere"), std::string::npos) << again.err;

  const std::string out = TempDir("sweep_report");
  const CommandResult rep = RunKvpress("report " + dir + " --output-dir " + out);
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  for (const char* f : {"/report.md", "/report.csv", "/report.json"}) EXPECT_TRUE(fs::exists(out + f)) << f;
  EXPECT_NE(rep.out.find("gsm8k"), std::string::npos);
  EXPECT_NE(rep.out.find("math500"), std::string::npos);
  const json table = json::parse(ReadFileToString(out + "/report.json").value());
  EXPECT_EQ(table.size(), 12u);
  const auto svgs = FilesEnding(out, ".svg");
  ASSERT_EQ(svgs.size(), 8u);  // accuracy, output length, accuracy vs KV bytes and vs tokens/s, per dataset
  for (const std::string& svg : svgs) {
    EXPECT_EQ(std::system(("xmllint --noout " + svg).c_str()), 0) << svg;
  }
}

}  // namespace
}  // namespace kvpress::testing
