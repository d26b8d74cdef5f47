// Tokenizer speed: encoding ~1 MB of mixed-language text with the Llama-3 and Qwen3 tokenizers
// (one thread), decoding it back, and loading the tokenizer files. Needs ../shared/data.
//
// The corpus interleaves English/math/LaTeX text from ../shared/data/datasets (GSM8K, MATH-500,
// AIME, LogiQA, LSAT-LR, FOLIO) with the 427 multilingual test strings of
// tests/fixtures/tokenizer_goldens/strings.json (CJK, Arabic, Hindi, Thai, Cyrillic, emoji, code,
// whitespace runs, ...): about 3 KB of the former, then 1 KB of the latter, up to 1 MiB.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/file_util.h"
#include "tokenizer/load_tokenizer.h"
#include "tokenizer/unicode_util.h"

namespace kvpress {
namespace {

const std::string kShared = KVPRESS_SHARED_DATA;
const std::string kFixtures = KVPRESS_FIXTURES;

void CollectStrings(const nlohmann::json& j, std::vector<std::string>& out) {
  if (j.is_string()) {
    if (j.get<std::string>().size() > 20) out.push_back(j.get<std::string>());
  } else if (j.is_structured()) {
    for (const auto& v : j) CollectStrings(v, out);
  }
}

const std::string& Corpus() {
  static const std::string corpus = [] {
    std::vector<std::string> english, multi;
    for (const char* rel :
         {"gsm8k/test.jsonl", "math500/test.jsonl", "aime2024/test.jsonl", "logiqa/logiqa-en.jsonl",
          "lsat-lr/lsat-lr.jsonl", "folio/folio-validation.jsonl"}) {
      std::ifstream in(kShared + "/datasets/" + rel);
      std::string line;
      while (std::getline(in, line)) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (!j.is_discarded()) CollectStrings(j, english);
      }
    }
    auto strings = ReadJsonFile(kFixtures + "/tokenizer_goldens/strings.json");
    if (strings.ok()) multi = strings->get<std::vector<std::string>>();
    std::string text;
    const size_t target = 1 << 20;
    size_t e = 0, m = 0;
    while (text.size() < target && !english.empty() && !multi.empty()) {
      const size_t start = text.size();
      while (text.size() - start < 3072) text += english[e++ % english.size()] + "\n\n";
      const size_t mid = text.size();
      while (text.size() - mid < 1024) text += multi[m++ % multi.size()] + "\n";
    }
    // Cut at a character boundary.
    size_t cut = std::min(text.size(), target);
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
    return text;
  }();
  return corpus;
}

std::unique_ptr<Tokenizer> Load(const std::string& rel) {
  auto tok = LoadTokenizer(kShared + "/" + rel);
  if (!tok.ok()) {
    std::fprintf(stderr, "%s\n", tok.status().ToString().c_str());
    return nullptr;
  }
  return std::move(tok).value();
}

// Steady state: the tokenizer (and its pre-token cache) is reused across iterations.
void BM_Encode(benchmark::State& state, const char* rel) {
  auto tok = Load(rel);
  const std::string& text = Corpus();
  if (!tok || text.empty()) return state.SkipWithError("needs ../shared/data");
  size_t n = 0;
  for (auto _ : state) {
    auto ids = tok->Encode(text, false);
    n = ids.ok() ? ids->size() : 0;
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(n);
  state.counters["bytes_per_token"] = static_cast<double>(text.size()) / std::max<size_t>(n, 1);
}

// Cold: a freshly loaded tokenizer for every pass (empty cache; loading is not timed).
void BM_EncodeCold(benchmark::State& state, const char* rel) {
  const std::string& text = Corpus();
  for (auto _ : state) {
    state.PauseTiming();
    auto tok = Load(rel);
    state.ResumeTiming();
    if (!tok || text.empty()) return state.SkipWithError("needs ../shared/data");
    auto ids = tok->Encode(text, false);
    benchmark::DoNotOptimize(ids);
    state.PauseTiming();
    tok.reset();
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void BM_Decode(benchmark::State& state, const char* rel) {
  auto tok = Load(rel);
  const std::string& text = Corpus();
  if (!tok || text.empty()) return state.SkipWithError("needs ../shared/data");
  const std::vector<int32_t> ids = tok->Encode(text, false).value();
  for (auto _ : state) benchmark::DoNotOptimize(tok->Decode(ids));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void BM_Load(benchmark::State& state, const char* rel) {
  for (auto _ : state) {
    auto tok = Load(rel);
    if (!tok) return state.SkipWithError("needs ../shared/data");
    state.PauseTiming();
    tok.reset();  // destruction is not part of loading
    state.ResumeTiming();
  }
}

BENCHMARK_CAPTURE(BM_Encode, llama3_json, "tokenizers/llama3/tokenizer.json")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeCold, llama3_json, "tokenizers/llama3/tokenizer.json")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, llama3_tiktoken, "tokenizers/llama3/tokenizer.model")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, qwen3_json, "tokenizers/qwen3/tokenizer.json")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, llama2_gguf, "tokenizers/llama2/ggml-vocab-llama-spm.gguf")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Decode, llama3_json, "tokenizers/llama3/tokenizer.json")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Load, qwen3_json, "tokenizers/qwen3/tokenizer.json")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Load, llama3_json, "tokenizers/llama3/tokenizer.json")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Load, llama3_tiktoken, "tokenizers/llama3/tokenizer.model")
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kvpress

BENCHMARK_MAIN();
