// `kvpress generate` as users run it (stories260K): --json output in both forms validates against
// docs/schemas/generate.schema.json (with python3-jsonschema: a missing validator fails the test),
// and SIGINT during a streaming run exits 130 with the partial text (or, with --json, one complete
// object whose finish_reason is "cancelled").
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "test_util.h"

namespace kvpress {
namespace {

using nlohmann::json;

std::string Stories() { return testing::SharedData("models/stories260K/stories260K.bin"); }
std::string Schema() {
  return std::string(KVPRESS_SOURCE_DIR) + "/docs/schemas/generate.schema.json";
}

// Runs a shell command; exit code and combined stdout+stderr.
std::pair<int, std::string> Shell(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, "popen failed"};
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

// Validates the JSON files with tests/validate_json.py: 0 valid, 1 invalid, 2 cannot validate.
std::pair<int, std::string> Validate(const std::vector<std::string>& files) {
  std::string cmd =
      "python3 '" + std::string(KVPRESS_SOURCE_DIR) + "/tests/validate_json.py' '" + Schema() + "'";
  for (const std::string& f : files) cmd += " '" + f + "'";
  return Shell(cmd);
}

std::string WriteTemp(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(GenerateJson, BothFormsValidateAgainstTheSchema) {
  const std::string model = Stories();
  SKIP_IF_NO_SHARED(model);
  const std::string dir = testing::TempDir("gen-json");
  const std::vector<std::pair<std::string, std::string>> runs = {
      {"plain.json", "--prompt 'Once upon a time' --max-new-tokens 24"},
      {"plain_press.json",
       "--prompt 'Once upon a time' --max-new-tokens 40 --press knorm --cache-budget 12"},
      {"plain_ids.json",
       "--prompt-ids 1,403,407,261 --max-new-tokens 8 --temperature 0.8 --seed 3"},
      {"pipeline.json",
       "--context 'Once upon a time, there was a little girl named Lily. She loved to play "
       "outside.' "
       "--question ' Lily wanted' --question ' Her mom said' --max-new-tokens 16 --press snapkv_d "
       "--cache-budget 12"},
      {"pipeline_one.json", "--context 'Once upon a time, there was a dog.' --max-new-tokens 8"},
  };
  std::vector<std::string> files;
  for (const auto& [name, args] : runs) {
    const testing::CommandResult r =
        testing::RunKvpress("generate --model '" + model + "' --json " + args);
    ASSERT_EQ(r.exit_code, 0) << args << "\n" << r.err;
    files.push_back(WriteTemp(dir, name, r.out));
    const json j = json::parse(r.out);  // exactly one object on stdout
    EXPECT_TRUE(j.is_object());
    if (name.rfind("pipeline", 0) == 0) {
      EXPECT_TRUE(j.contains("answers")) << r.out;
    } else {
      EXPECT_TRUE(j.contains("text")) << r.out;
    }
  }
  const auto [rc, out] = Validate(files);
  EXPECT_EQ(rc, 0) << out;

  // The validator really checks: a document without a metrics key, or with an unknown
  // finish_reason, is rejected.
  json broken = json::parse(
      testing::RunKvpress("generate --model '" + model + "' --json --prompt Hi -n 4").out);
  broken["metrics"].erase("ttft");
  json broken_reason = json::parse(
      testing::RunKvpress("generate --model '" + model + "' --json --prompt Hi -n 4").out);
  broken_reason["finish_reason"] = "bored";
  for (const json& b : {broken, broken_reason}) {
    const auto [brc, bout] = Validate({WriteTemp(dir, "broken.json", b.dump())});
    EXPECT_EQ(brc, 1) << bout;  // 2 would mean the validator could not run
  }
  std::filesystem::remove_all(dir);
}

// A `kvpress generate` child process with stdout on a pipe.
class Child {
 public:
  explicit Child(const std::vector<std::string>& args) {
    int out[2];
    if (::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      const int devnull = ::open("/dev/null", O_RDWR);
      ::dup2(devnull, STDIN_FILENO);
      ::dup2(devnull, STDERR_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      std::vector<std::string> a = {KVPRESS_BIN};
      a.insert(a.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (std::string& s : a) argv.push_back(s.data());
      argv.push_back(nullptr);
      ::execv(KVPRESS_BIN, argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    fd_ = out[0];
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }
  bool started() const { return pid_ > 0 && fd_ >= 0; }

  // Reads stdout until `min_bytes` have arrived (or EOF / timeout). False on timeout or EOF first.
  bool ReadAtLeast(size_t min_bytes, int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (out_.size() < min_bytes) {
      const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            deadline - std::chrono::steady_clock::now())
                                            .count());
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, left) <= 0) return false;
      char buf[4096];
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) return false;
      out_.append(buf, static_cast<size_t>(n));
    }
    return true;
  }
  // Reads to EOF (bounded), then reaps: the exit code, or 128 + signal; -1 on timeout.
  int Finish(int timeout_ms) {
    while (ReadAtLeast(out_.size() + 1, timeout_ms)) {
    }
    for (int waited = 0; waited < timeout_ms; waited += 10) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        reaped_ = true;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }
  bool Running() {
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      reaped_ = true;
      return false;
    }
    return true;
  }
  void Interrupt() { ::kill(pid_, SIGINT); }
  const std::string& out() const { return out_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  bool reaped_ = false;
  std::string out_;
};

// A generation that runs for minutes unless interrupted. Every stories260K story ends with BOS
// (where llama2.c models stop) within a few hundred tokens, so this uses the random-weight fixture
// llama_mha_tied_f32, whose greedy output settles into " do do do ..." and never reaches EOS, with
// the stories260K vocabulary (same size, 512) so that text streams; streaming_llm with a small
// budget keeps each step cheap.
std::vector<std::string> LongRunArgs(const std::string& tokenizer, bool json) {
  std::vector<std::string> a = {
      "generate",    "--model",          testing::Fixture("models/llama_mha_tied_f32"),
      "--tokenizer", tokenizer,          "--prompt-ids",
      "1,300,400",   "--max-new-tokens", "1000000",
      "--press",     "streaming_llm",    "--cache-budget",
      "64",          "--threads",        "1"};
  if (json) a.push_back("--json");
  return a;
}

std::string Tok512() { return testing::SharedData("models/stories260K/tok512.bin"); }

TEST(GenerateSigint, StreamingRunStopsCleanlyWithPartialText) {
  const std::string tokenizer = Tok512();
  SKIP_IF_NO_SHARED(tokenizer);
  Child child(LongRunArgs(tokenizer, false));
  ASSERT_TRUE(child.started());
  ASSERT_TRUE(child.ReadAtLeast(200, 30000))
      << "no streamed text within 30 s: '" << child.out() << "'";
  child.Interrupt();
  const int rc = child.Finish(30000);
  EXPECT_EQ(rc, 130) << "output: " << child.out();
  EXPECT_GE(child.out().size(), 200u);
  EXPECT_NE(child.out().find(" do do do"), std::string::npos) << child.out().substr(0, 200);
}

TEST(GenerateSigint, JsonRunPrintsOneCompleteObjectWithCancelled) {
  const std::string tokenizer = Tok512();
  SKIP_IF_NO_SHARED(tokenizer);
  Child child(LongRunArgs(tokenizer, true));
  ASSERT_TRUE(child.started());
  // --json prints nothing until the end: give it time to be deep in decoding.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ASSERT_TRUE(child.Running()) << "generation ended before SIGINT: " << child.out();
  child.Interrupt();
  const int rc = child.Finish(30000);
  EXPECT_EQ(rc, 130);
  json j;
  ASSERT_NO_THROW(j = json::parse(child.out())) << child.out();
  EXPECT_EQ(j.value("finish_reason", ""), "cancelled");
  ASSERT_TRUE(j.contains("metrics"));
  EXPECT_GT(j["metrics"].value("total_decoding_tokens", 0), 0);
  EXPECT_GT(j["tokens"].size(), 0u);
  EXPECT_FALSE(j.value("text", "").empty());
  const std::string dir = testing::TempDir("gen-sigint");
  const auto [vrc, vout] = Validate({WriteTemp(dir, "cancelled.json", child.out())});
  EXPECT_EQ(vrc, 0) << vout;
  std::filesystem::remove_all(dir);
}

// --prefill-chunk on the bundled tiny-reasoner: the cache never holds more than budget + chunk
// slots per head (the whole prompt without it); ratio mode is a usage error.
TEST(GeneratePrefillChunk, BoundsTheCacheAndRejectsRatioMode) {
  const std::string prompt =
      "--prompt 'g=4, c=9, m=1, a=7, k=0, e=5, b=3, d=8, f=2, h=6. Find c+a+e, then b+d+f, then h+g+m.'";
  const testing::CommandResult whole =
      testing::RunKvpress("generate --json -n 2 --press knorm --cache-budget 16 " + prompt);
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  const testing::CommandResult chunked =
      testing::RunKvpress("generate --json -n 2 --press knorm --cache-budget 16 --prefill-chunk 8 " + prompt);
  ASSERT_EQ(chunked.exit_code, 0) << chunked.err;
  const nlohmann::json w = nlohmann::json::parse(whole.out), c = nlohmann::json::parse(chunked.out);
  ASSERT_GT(c["prompt_tokens"].get<int>(), 24);
  EXPECT_EQ(w["metrics"]["kv_tokens_per_head_max"].get<int>(), w["prompt_tokens"].get<int>());
  EXPECT_LE(c["metrics"]["kv_tokens_per_head_max"].get<int>(), 24);
  EXPECT_LT(c["metrics"]["kv_bytes_peak"].get<int64_t>(), w["metrics"]["kv_bytes_peak"].get<int64_t>());
  const testing::CommandResult ratio =
      testing::RunKvpress("generate -n 2 --press knorm --compression-ratio 0.5 --prefill-chunk 8 " + prompt);
  EXPECT_EQ(ratio.exit_code, 1) << ratio.err;  // a flag combination: usage error
  EXPECT_NE(ratio.err.find("--cache-budget"), std::string::npos) << ratio.err;
  const testing::CommandResult no_press = testing::RunKvpress("generate -n 2 --prefill-chunk 8 " + prompt);
  EXPECT_EQ(no_press.exit_code, 1) << no_press.err;  // nothing would be compressed
}

// A context-replaying press through `generate --context`: the pipeline prompt's replay ids reach
// the session (kvzip used to fail there with "needs the context-replay prompts"), and the bundled
// tiny-reasoner still recalls both facts it is asked for with half the context evicted.
TEST(GenerateContextReplay, KvzipRunsOnTheBundledModel) {
  const testing::CommandResult r = testing::RunKvpress(
      "generate --json -n 12 --context 'g=4, c=9, m=1, a=7, k=0, e=5.' --question 'Find c+a.'"
      " --press kvzip --compression-ratio 0.5");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["answers"].size(), 1u);
  EXPECT_EQ(j["answers"][0]["text"].get<std::string>().rfind("c=9, a=7.", 0), 0u) << r.out;
}

}  // namespace
}  // namespace kvpress
