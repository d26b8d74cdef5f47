// Helpers shared by the tests: locating data, running the CLI, comparing logits, local servers.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/model.h"

namespace kvpress::testing {

// Absolute path of `rel` under ../shared/data, or "" when the shared data is absent.
std::string SharedData(const std::string& rel);
// Absolute path of `rel` under tests/fixtures (committed with the repo).
std::string Fixture(const std::string& rel);
// A fresh empty directory under $TMPDIR (default /tmp), removed with its contents when the test
// process exits normally (kept when KVPRESS_KEEP_TEMP is set).
std::string TempDir(const std::string& tag);

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs the built kvpress binary with `args` (shell-quoted by the caller).
CommandResult RunKvpress(const std::string& args);

// Writes `text` to `path` (parent directories created); the whole file as a string ("" when unreadable).
void WriteText(const std::string& path, const std::string& text);
std::string ReadText(const std::string& path);

// The JSON objects of a JSONL file, one per non-empty line (throws on invalid JSON: a test failure).
std::vector<nlohmann::json> ReadJsonLines(const std::string& path);

// The fixed "now" the chat-template goldens were rendered with (FIXED_NOW in
// scripts/goldens/make_template_goldens.py): 2024-07-26 13:05:09, a Friday.
std::tm TemplateGoldensNow();

// max_i |a_i - b_i| / max_i |b_i|.
double RelativeError(const std::vector<float>& a, const std::vector<float>& b);

// The logits of every position of `ids` (positions 0.., a fresh cache), `threads` threads;
// [ids.size(), vocab]. A failed forward fails the test.
std::vector<float> AllLogits(const Model& m, const std::vector<int32_t>& ids, int threads = 2);

// LoadModel(path); on an error the test fails and the result is null.
std::unique_ptr<Model> MustLoad(const std::string& path);

// A local stand-in server for tests: a Python script built on tests/local_server.py (stdlib only),
// run as `python3 <script> --timeout 600 --exit-on-stdin-eof <args...>` with piped stdin/stdout.
// Start() waits up to 30 s for its "PORT <n>" line; the destructor closes its stdin, sends SIGTERM
// and reaps it. One server per object; not copyable.
class LocalServer {
 public:
  LocalServer() = default;
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;
  ~LocalServer();

  // Runs `script_path` with `args`. False with `error` set when python3 cannot run it or it prints
  // no "PORT <n>" line in time (a failing start is meant to fail the test, not skip it).
  bool Start(const std::string& script_path, const std::vector<std::string>& args,
             std::string& error);
  // "http://127.0.0.1:<port>" once started, "" before.
  const std::string& endpoint() const { return endpoint_; }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1, stdout_ = -1;
  std::string endpoint_;
};

}  // namespace kvpress::testing

// Skips the current test with a message when shared data `path` is "" (absent).
#define SKIP_IF_NO_SHARED(path)                                                   \
  if ((path).empty()) GTEST_SKIP() << "../shared/data not found; skipping (needs shared test data)"
