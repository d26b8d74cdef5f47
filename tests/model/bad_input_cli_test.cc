// Issue 13 end to end: every crash, hang and silently accepted input the issue lists, run through
// the kvpress binary on real files (the bundled tiny-reasoner and files written here). Each case
// checks the exit code, that the message names the input and its limit, and that nothing was
// written half-way. SIGINT/SIGTERM during a long prefill stop it with the partial results intact.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "test_util.h"

namespace kvpress::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string Source(const std::string& rel) { return std::string(KVPRESS_SOURCE_DIR) + "/" + rel; }

// The error line is short and free of library tags and 300-digit numbers.
void ExpectCleanMessage(const CommandResult& r, const std::string& needle) {
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_LT(r.err.size(), 600u) << r.err;
  EXPECT_EQ(r.err.find("json.exception"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("179769313486"), std::string::npos) << r.err;
}

TEST(BadFlags, NonFiniteAndOutOfRangeNumbersAreUsageErrors) {
  const struct {
    std::string args, needle;
  } cases[] = {
      {"generate --prompt hi --temperature nan", "--temperature: 'nan' is not a finite number"},
      {"generate --prompt hi --temperature inf", "--temperature: 'inf' is not a finite number"},
      {"generate --prompt hi --repetition-penalty nan", "--repetition-penalty: 'nan'"},
      {"generate --prompt hi --top-p 1e308", "--top-p: '1e308' is out of range (expected a number in [0, 1])"},
      {"generate --prompt hi --seed -1", "--seed: '-1' is out of range (expected a number >= 0)"},
      {"generate --prompt hi --threads 100000", "--threads: 100000 is outside [0, "},
      {"generate --prompt hi --threads 2147483647", "--threads: 2147483647 is outside [0, "},
      {"eval --dataset jsonl --fraction nan", "--fraction: 'nan' is not a finite number"},
      {"eval --dataset jsonl --fraction 7", "--fraction: '7' is out of range (expected a number in (0, 1])"},
      {"eval --dataset jsonl --num-samples -4", "--num-samples: '-4' is out of range"},
      {"sweep --presses full --datasets jsonl --threads 100000", "--threads: 100000 is outside"},
  };
  for (const auto& c : cases) {
    const CommandResult r = RunKvpress(c.args);
    EXPECT_EQ(r.exit_code, 1) << c.args << "\n" << r.err;
    ExpectCleanMessage(r, c.needle);
  }
}

TEST(BadFlags, GenerateWithoutAnyPromptIsAUsageError) {
  const CommandResult r = RunKvpress("generate --max-new-tokens 4");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  ExpectCleanMessage(r, "no prompt: give --prompt TEXT, --prompt-ids IDS or --context");
}

TEST(BadFlags, PressParametersBeyondTheirCapAreRefused) {
  for (const std::string spec : {"rkv_lsh:window=2147483647", "rkv:window=100000000", "lagkv:lag=2147483647"}) {
    const CommandResult r = RunKvpress("generate --prompt hi --max-new-tokens 2 --cache-budget 4 --press " + spec);
    EXPECT_EQ(r.exit_code, 2) << spec << "\n" << r.err;
    ExpectCleanMessage(r, "is outside [");
    EXPECT_NE(r.err.find("1048576]"), std::string::npos) << r.err;
  }
  const CommandResult nan = RunKvpress("generate --prompt hi --press rkv:lambda=nan --cache-budget 4");
  EXPECT_EQ(nan.exit_code, 2) << nan.err;
  ExpectCleanMessage(nan, "lambda=nan is not a finite number");
  // A window as large as the cap costs memory only for the tokens seen.
  const CommandResult big = RunKvpress("generate --prompt hi --max-new-tokens 2 --cache-budget 4 --press rkv:window=1048576");
  EXPECT_EQ(big.exit_code, 0) << big.err;
}

TEST(BadInput, EvalFractionKeepingNoSampleWritesNothing) {
  const std::string dir = TempDir("frac") + "/out";
  const CommandResult r = RunKvpress("eval --dataset jsonl --data-file " + Source("models/tiny-reasoner/test.jsonl") +
                                     " --press full --fraction 1e-9 --output-dir " + dir);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  ExpectCleanMessage(r, "--fraction 1e-09 keeps 0 of the 300 rows");
  EXPECT_FALSE(fs::exists(dir) && !fs::is_empty(dir));
}

TEST(BadInput, SweepFileValuesOutOfRangeNameFileAndKey) {
  const std::string dir = TempDir("sweepfile");
  const struct {
    std::string line, needle;
  } cases[] = {{"num_samples: -4", "key 'num_samples': -4 is below 0 (0 = all rows)"},
               {"fraction: 7", "key 'fraction': 7 is outside (0, 1]"},
               {"seed: -1", "key 'seed': a seed is >= 0"},
               {"threads: 100000", "key 'threads': 100000 is outside [0, "}};
  for (const auto& c : cases) {
    const std::string path = dir + "/grid.yaml";
    WriteText(path, "presses: [full]\ndatasets: [jsonl]\n" + c.line + "\n");
    const CommandResult r = RunKvpress("sweep --config " + path + " --dry-run");
    EXPECT_EQ(r.exit_code, 2) << c.line << "\n" << r.err;
    ExpectCleanMessage(r, c.needle);
    EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
  }
}

TEST(BadInput, ReportSkipsDeeplyNestedScoreFilesWithoutCrashing) {
  const std::string dir = TempDir("deep");
  const std::string head = R"({"dataset":"d","model_name":"m","cache_budget":1,"accuracy":0.5,)";
  WriteText(dir + "/a_score.json", head + R"("press_name":"full"})");
  WriteText(dir + "/b_score.json", head + R"("press_name":"x","protocol":)" + std::string(100000, '[') +
                                       std::string(100000, ']') + "}");
  WriteText(dir + "/c_score.json", head + R"("press_name":"y","protocol":)" + std::string(30000, '[') +
                                       std::string(30000, ']') + "}");
  WriteText(dir + "/d_score.json", head + R"("press_name":"z","protocol":[[[1]]]})");
  const CommandResult r = RunKvpress("report " + dir + " --no-plots");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("b_score.json: JSON nested deeper than 256 levels"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("c_score.json: JSON nested deeper than 256 levels"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("d_score.json: 'protocol' holds an array, expected a string or number"), std::string::npos);
  EXPECT_LT(fs::file_size(dir + "/report.json"), 4096u);
}

// A finished eval of 2 samples on the bundled model: its result file.
std::string SmallEvalResult(const std::string& dir) {
  const CommandResult r = RunKvpress("eval --dataset jsonl --data-file " + Source("models/tiny-reasoner/test.jsonl") +
                                     " --press full --num-samples 2 --max-new-tokens 8 --threads 1 --output-dir " + dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".jsonl") return e.path().string();
  }
  return "";
}

TEST(BadInput, RescoreAndResumeRefuseWronglyTypedRowFields) {
  const std::string dir = TempDir("typed");
  const std::string result = SmallEvalResult(dir);
  ASSERT_FALSE(result.empty());
  const std::string original = ReadText(result);
  const std::vector<json> rows = ReadJsonLines(result);
  ASSERT_EQ(rows.size(), 2u);
  for (const std::string field : {"response", "gt_answer", "correct"}) {
    std::vector<json> edited = rows;
    edited[1][field] = 5;
    const std::string text = edited[0].dump() + "\n" + edited[1].dump() + "\n";
    WriteText(result, text);
    const CommandResult rescore = RunKvpress("eval --rescore " + result + " --dataset jsonl");
    EXPECT_EQ(rescore.exit_code, 2) << field << "\n" << rescore.err;
    ExpectCleanMessage(rescore, ":2: field '" + field + "' holds a number, expected ");
    EXPECT_EQ(ReadText(result), text) << "the result file must be left as it was";
    // --resume of an unfinished run reads the same rows.
    fs::remove(result.substr(0, result.size() - 6) + "_score.json");
    const CommandResult resume = RunKvpress("eval --dataset jsonl --data-file " + Source("models/tiny-reasoner/test.jsonl") +
                                            " --press full --num-samples 2 --max-new-tokens 8 --threads 1 --resume "
                                            "--output-dir " + dir);
    EXPECT_EQ(resume.exit_code, 2) << field << "\n" << resume.err;
    ExpectCleanMessage(resume, "field '" + field + "'");
  }
  WriteText(result, original);
}

TEST(BadInput, RunawayChatTemplatesStopAtTheirCaps) {
  const std::string dir = TempDir("jinja");
  WriteText(dir + "/m.json", R"([{"role": "user", "content": "hi"}])");
  WriteText(dir + "/double.jinja",
            "{% set s = namespace(v='ab') %}{% for i in range(100) %}{% set s.v = s.v.replace('a', s.v) %}"
            "{% endfor %}{{ s.v|length }}");
  std::string nested, close;
  for (char v = 'a'; v < 'a' + 12; ++v) {
    nested += std::string("{% for ") + v + " in range(10) %}";
    close += "{% endfor %}";
  }
  WriteText(dir + "/loops.jinja", nested + "x" + close);
  const std::string base = "template --tokenizer " + Source("models/tiny-reasoner") + " --messages " + dir + "/m.json --template ";
  const CommandResult doubled = RunKvpress(base + dir + "/double.jinja");
  EXPECT_EQ(doubled.exit_code, 2) << doubled.err;
  ExpectCleanMessage(doubled, "double.jinja:1: str.replace(): result larger than 67108864 bytes");
  const CommandResult loops = RunKvpress(base + dir + "/loops.jinja");
  EXPECT_EQ(loops.exit_code, 2) << loops.err;
  ExpectCleanMessage(loops, "loops.jinja:1: more than 1000000 loop iterations and macro calls");
}

// Found by fuzz_jinja: a slice inside a tuple subscript had no object to slice (null dereference).
TEST(BadInput, SliceInsideATupleSubscriptIsUnsupported) {
  const std::string dir = TempDir("slice");
  WriteText(dir + "/m.json", R"([{"role": "user", "content": "hi"}])");
  WriteText(dir + "/t.jinja", "{{ messages[0, :1] }}");
  const CommandResult r = RunKvpress("template --tokenizer " + Source("models/tiny-reasoner") + " --messages " + dir +
                                     "/m.json --template " + dir + "/t.jinja");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  ExpectCleanMessage(r, "t.jinja:1: unsupported construct: a slice inside a tuple subscript");
}

TEST(BadInput, TokenizerJsonErrorsNameTheFileWithoutLibraryText) {
  const std::string dir = TempDir("tokjson");
  json tok = json::parse(ReadText(Source("models/tiny-reasoner/tokenizer.json")));
  tok["added_tokens"] = json::array({5});
  WriteText(dir + "/tokenizer.json", tok.dump());
  const CommandResult r = RunKvpress("tokenize --tokenizer " + dir + "/tokenizer.json hi");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  ExpectCleanMessage(r, dir + "/tokenizer.json: added_tokens: expected an object or array, found a number");
  tok = json::parse(ReadText(Source("models/tiny-reasoner/tokenizer.json")));
  tok["decoder"] = {{"type", "Replace"}, {"pattern", 5}, {"content", 1}};
  WriteText(dir + "/tokenizer.json", tok.dump());
  const CommandResult d = RunKvpress("tokenize --tokenizer " + dir + "/tokenizer.json hi");
  EXPECT_EQ(d.exit_code, 2) << d.err;
  ExpectCleanMessage(d, dir + "/tokenizer.json: decoder Replace:");
}

// Found by fuzz_tokenizer_bin: a llama2.c vocabulary without the 256 byte tokens read past its end
// when text fell back to bytes.
TEST(BadInput, SmallLlama2cVocabularyWithoutByteTokens) {
  const std::string dir = TempDir("tokbin");
  std::string bin(4, '\0');  // max_token_length (unused)
  for (const std::string piece : {"<unk>", "<s>", "</s>", "a", "b"}) {
    const float score = 0;
    const int32_t len = static_cast<int32_t>(piece.size());
    bin.append(reinterpret_cast<const char*>(&score), 4).append(reinterpret_cast<const char*>(&len), 4) += piece;
  }
  WriteText(dir + "/tokenizer.bin", bin);
  const CommandResult r = RunKvpress("tokenize --tokenizer " + dir + "/tokenizer.bin xyz");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  ExpectCleanMessage(r, "byte 0x78 has no token: the 5-token llama2.c vocabulary lacks the byte tokens");
  const CommandResult ok = RunKvpress("tokenize --tokenizer " + dir + "/tokenizer.bin ab");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

// The bundled model's files with max_position_embeddings raised, so that a 140k-token prompt is
// allowed and its prefill takes minutes: only a signal ends it early.
std::string LongContextModel() {
  const std::string dir = TempDir("bigctx");
  for (const char* f : {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                        "model.safetensors"}) {
    fs::copy_file(Source(std::string("models/tiny-reasoner/") + f), dir + "/" + f);
  }
  json config = json::parse(ReadText(dir + "/config.json"));
  config["max_position_embeddings"] = 1000000;
  WriteText(dir + "/config.json", config.dump());
  return dir;
}

std::string LongPrompt() {
  std::string s;
  for (int i = 0; i < 20000; ++i) s += "g=4, c=9 ";
  return s;
}

TEST(PositionLimit, GeneratePromptBeyondTrainedPositionsIsAnError) {
  const std::string dir = TempDir("maxpos");
  WriteText(dir + "/ctx.txt", LongPrompt().substr(0, 6000));
  const CommandResult r = RunKvpress("generate --context @" + dir + "/ctx.txt --max-new-tokens 2");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  ExpectCleanMessage(r, "was trained on 512 positions; pass --max-context-length N");
  const CommandResult cut = RunKvpress("generate --context @" + dir + "/ctx.txt --max-new-tokens 2 --max-context-length 300");
  EXPECT_EQ(cut.exit_code, 0) << cut.err;
  EXPECT_NE(cut.err.find("context truncated to --max-context-length 300 tokens"), std::string::npos) << cut.err;
}

// eval keeps the first 512 tokens (the bundled model's trained positions) of a longer sample, or
// the first --max-context-length tokens, warns, and marks exactly those rows "truncated": true.
TEST(PositionLimit, EvalMarksTruncatedRows) {
  const std::string dir = TempDir("eval_trunc");
  std::string rows = json{{"id", "short"}, {"question", "g=4, c=9. Find g+c."}, {"answer", "13"}}.dump() + "\n";
  rows += json{{"id", "long"}, {"question", LongPrompt().substr(0, 6000)}, {"answer", "13"}}.dump() + "\n";
  WriteText(dir + "/rows.jsonl", rows);
  const std::string args = "eval --dataset jsonl --data-file " + dir + "/rows.jsonl --max-new-tokens 1 --output-dir ";
  const CommandResult r = RunKvpress(args + dir + "/out");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("truncated to the model's 512 trained positions"), std::string::npos) << r.err;
  const CommandResult cut = RunKvpress(args + dir + "/cut --max-context-length 64");
  ASSERT_EQ(cut.exit_code, 0) << cut.err;
  for (const std::string out : {"/out", "/cut"}) {
    size_t seen = 0;
    for (const auto& e : fs::directory_iterator(dir + out)) {
      if (e.path().extension() != ".jsonl") continue;
      for (const json& row : ReadJsonLines(e.path().string())) {
        ++seen;
        const bool long_row = row["sample_id"] == "long";
        EXPECT_EQ(row["truncated"], long_row) << out << " " << row["sample_id"];
        if (long_row) {
          EXPECT_EQ(row["input_token_count"], out == "/out" ? 512 : 64);
        }
      }
    }
    EXPECT_EQ(seen, 2u) << out;
    for (const auto& e : fs::directory_iterator(dir + out)) {
      if (e.path().string().find("_score.json") == std::string::npos) continue;
      EXPECT_EQ(json::parse(ReadText(e.path().string()))["truncated_rows"], 1) << e.path();
    }
  }
}

// The bundled model's files with one value of model.layers.0.mlp.up_proj.weight (row 7) set to NaN.
std::string NanModel() {
  const std::string dir = TempDir("nanmodel");
  for (const char* f : {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                        "model.safetensors"}) {
    fs::copy_file(Source(std::string("models/tiny-reasoner/") + f), dir + "/" + f);
  }
  std::string bytes = ReadText(dir + "/model.safetensors");
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  const json header = json::parse(bytes.substr(8, header_len));
  const json& t = header["model.layers.0.mlp.up_proj.weight"];
  EXPECT_EQ(t["dtype"], "F32");
  const uint64_t cols = t["shape"][1].get<uint64_t>();
  const size_t at = 8 + header_len + t["data_offsets"][0].get<uint64_t>() + 7 * cols * 4;
  const uint32_t nan_bits = 0x7fc00000u;
  std::memcpy(&bytes[at], &nan_bits, 4);
  WriteText(dir + "/model.safetensors", bytes);
  return dir;
}

TEST(BadInput, NonFiniteWeightsAreRefusedOnLoadUnlessNoCheck) {
  const std::string model = NanModel();
  const CommandResult r = RunKvpress("generate --model " + model + " --prompt hi --max-new-tokens 4");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  ExpectCleanMessage(r, "tensor 'layers.0.w_up (up_proj)' holds a non-finite value (NaN or Inf) at row 7");
  EXPECT_TRUE(r.out.empty());
  const CommandResult eval = RunKvpress("eval --model " + model + " --dataset jsonl --data-file " +
                                        Source("models/tiny-reasoner/test.jsonl") + " --num-samples 1 --output-dir " +
                                        TempDir("nan_eval") + "/out");
  EXPECT_EQ(eval.exit_code, 2) << eval.err;
  const CommandResult unchecked = RunKvpress("generate --model " + model + " --prompt hi --max-new-tokens 2 --no-check");
  EXPECT_EQ(unchecked.exit_code, 0) << unchecked.err;
  const std::string bench_args = "bench --model " + model + " --prompt-tokens 4 --decode-tokens 2 --no-bandwidth";
  const CommandResult bench = RunKvpress(bench_args);
  EXPECT_EQ(bench.exit_code, 2) << bench.err;
  ExpectCleanMessage(bench, "holds a non-finite value (NaN or Inf) at row 7");
  const CommandResult bench_unchecked = RunKvpress(bench_args + " --no-check");
  EXPECT_EQ(bench_unchecked.exit_code, 0) << bench_unchecked.err;
  EXPECT_TRUE(json::accept(bench_unchecked.out)) << bench_unchecked.out;
}

// Runs kvpress with `args` (to `dir`/stdout and `dir`/stderr), waits until it has installed its
// SIGINT handler (/proc/<pid>/status SigCgt), sends `sig`, and returns the exit code.
int RunAndSignal(const std::vector<std::string>& args, const std::string& dir, int sig) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::freopen((dir + "/stdout").c_str(), "w", stdout);
    std::freopen((dir + "/stderr").c_str(), "w", stderr);
    std::vector<char*> argv = {const_cast<char*>(KVPRESS_BIN)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(KVPRESS_BIN, argv.data());
    ::_exit(127);
  }
  for (int i = 0; i < 6000; ++i) {  // the handler is installed just before the prefill starts
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    bool caught = false;
    while (std::getline(status, line)) {
      if (line.rfind("SigCgt:", 0) == 0) caught = (std::stoull(line.substr(7), nullptr, 16) >> (SIGINT - 1)) & 1;
    }
    if (caught) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // into the prefill
  ::kill(pid, sig);
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

TEST(Cancellation, SigintStopsAGeneratePrefill) {
  const std::string model = LongContextModel(), dir = TempDir("sigint");
  WriteText(dir + "/ctx.txt", LongPrompt());
  const int code = RunAndSignal({"generate", "--model", model, "--context", "@" + dir + "/ctx.txt",
                                 "--max-new-tokens", "4", "--threads", "1"},
                                dir, SIGINT);
  EXPECT_EQ(code, 130) << ReadText(dir + "/stderr");
  EXPECT_NE(ReadText(dir + "/stderr").find("cancelled during the prefill after"), std::string::npos)
      << ReadText(dir + "/stderr");
}

TEST(Cancellation, SigtermDuringAnEvalPrefillKeepsTheFinishedRows) {
  const std::string model = LongContextModel(), dir = TempDir("sigterm");
  std::string rows;
  for (int i = 0; i < 3; ++i) rows += json{{"id", std::string("s") + std::to_string(i)}, {"question", "g=4, c=9. Find g+c."}, {"answer", "13"}}.dump() + "\n";
  rows += json{{"id", "long"}, {"question", LongPrompt()}, {"answer", "13"}}.dump() + "\n";
  WriteText(dir + "/rows.jsonl", rows);
  const int code = RunAndSignal({"eval", "--model", model, "--dataset", "jsonl", "--data-file", dir + "/rows.jsonl",
                                 "--press", "full", "--max-new-tokens", "4", "--threads", "1", "--batch-size", "2",
                                 "--output-dir", dir + "/out"},
                                dir, SIGTERM);
  EXPECT_EQ(code, 130) << ReadText(dir + "/stderr");
  size_t results = 0;
  for (const auto& e : fs::directory_iterator(dir + "/out")) {
    const std::string p = e.path().string();
    EXPECT_EQ(p.find("_score.json"), std::string::npos) << "an interrupted run writes no score file";
    if (e.path().extension() == ".jsonl") {
      ++results;
      for (const json& row : ReadJsonLines(p)) EXPECT_NE(row["sample_id"], "long");
    }
  }
  EXPECT_EQ(results, 1u);
}

}  // namespace
}  // namespace kvpress::testing
