// What one eval run is (reference §5.1, flags in kebab-case on the CLI), how its result files are
// named (§5.5) and which samples it takes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "eval/dataset.h"
#include "eval/scoring.h"

namespace kvpress::eval {

// paper: §5 exactly (raw prompt + BOS, no chat template, the fork's extraction and exact match);
// chat: the same prompt in the model's chat template (raw when it has none), normalized scoring.
enum class Protocol { kPaper, kChat };
StatusOr<Protocol> ParseProtocol(std::string_view name);
const char* ProtocolName(Protocol p);

struct RunConfig {
  std::string dataset;            // dataset key (eval/dataset_spec.h)
  std::string data_file;          // local rows file ("" = the dataset's Hugging Face id)
  std::string data_config;        // the fork's data_dir: HF config override ("" = table)
  std::string data_split;         // HF split override ("" = table)
  std::string model_name;         // as the user gave it (path or org/name); names the files
  std::string press = "knorm";    // press spec (NAME[:k=v,...]); "full" = no compression
  int cache_budget = 512;         // slots per KV head per layer (forced to 0 for full)
  double fraction = 1.0;          // shuffle(seed), keep int(N * fraction) (when num_samples == 0)
  int num_samples = 0;            // shuffle(seed), keep the first n (0 = use fraction)
  uint64_t seed = 42;             // shuffle seed (and sampling seed)
  int max_new_tokens = 2048;
  int max_context_length = 0;     // keep the first N prompt tokens (0 = all)
  int prefill_chunk = 0;          // > 0: compress after every N prompt tokens (chunked prefill)
  bool do_sampling = false;       // top_p 0.9, temperature 0.7, repetition penalty 1.2
  std::string output_dir = "results";
  bool resume = false;            // continue an unfinished result file
  bool latency = false;           // accepted for compatibility: timings are always recorded
  Protocol protocol = Protocol::kChat;
  std::optional<ScoringMode> scoring;  // default: exact for paper, normalized for chat
  int batch_size = 1;             // samples in flight at once
  int threads = 0;                // worker threads in all (0 = physical cores)
  std::string kv_dtype = "f32";
  // Upstream kvpress's compression semantics (reference §6): the fraction of the context's KV pairs
  // removed once, after its prefill (0 = the fork's --cache-budget mode). Long-context datasets
  // keep the question out of compression in both modes (eval/longctx_rows.h).
  double compression_ratio = 0.0;
  bool query_aware = false;       // long-context: the question is appended to the context and compressed too
  // Synthetic long-context datasets (generated with the model's tokenizer; --num-samples counts per
  // task / per grid cell there, default 10 / 1).
  int context_length = 4096;      // ruler, infinitebench: input + generation tokens per sample
  std::vector<std::string> tasks; // ruler / infinitebench tasks ("" = all)
  std::string niah_lengths = "1k,2k,4k,8k";  // niah grid: prompt lengths (k = 1024 tokens)
  std::string niah_depths = "0:100:10";      // niah grid: needle depths in %, START:STOP:STEP or a list
  std::string haystack_file;      // niah / ruler essay haystack: any text file ("" = built-in text)

  // The press name without parameters ("h2o" for "h2o:window=4").
  std::string PressName() const;
  bool IsFull() const { return PressName() == "full"; }
  // Ratio mode: a compressing press with compression_ratio > 0 (the budget is then unused).
  bool RatioMode() const { return !IsFull() && compression_ratio > 0; }
  int EffectiveBudget() const { return IsFull() || RatioMode() ? 0 : cache_budget; }
  ScoringMode EffectiveScoring() const {
    return scoring.value_or(protocol == Protocol::kPaper ? ScoringMode::kExact : ScoringMode::kNormalized);
  }
};

// The result-file stem of §5.5:
// <dataset>__<data_dir>__<model, '/' -> '--'>__<press>__budget<B>__max_new_tokens<N>
//   [__num_samples<n>|__fraction<f.2f>][__max_context<M>][__prefill_chunk<C>][__sampling]__seed<S>
// with "ratio<r .2f>" in place of "budget<B>" in ratio mode, "__query_aware" before the seed when set,
// for the synthetic datasets the data_dir part made of their settings (ruler: the context length and
// the tasks asked; niah: lengths and depths; plus the haystack file's name),
// with the model's last path component for a local path, press parameters folded into the press
// part, and "__chat" before the seed under the chat protocol (the paper protocol keeps the fork's name).
std::string ResultStem(const RunConfig& c);

// True when the run's samples are generated here (ruler, niah, infinitebench without --data-file).
bool IsSyntheticRun(const RunConfig& c);

// The samples a run takes, in run order: a deterministic shuffle of `all` by `seed` (Fisher-Yates
// on splitmix64), then the first num_samples, else the first int(N * fraction).
std::vector<Sample> SelectSamples(const std::vector<Sample>& all, const RunConfig& c);

}  // namespace kvpress::eval
