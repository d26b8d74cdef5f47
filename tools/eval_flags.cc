#include "ops/matmul.h"
#include "tools/eval_flags.h"

#include <fmt/format.h>

#include <cstdio>

#include "core/timer.h"
#include "tools/cli_common.h"
#include "tools/default_model.h"
#include "tools/flag_checks.h"

namespace kvpress::cli {

StatusOr<eval::RunConfig> EvalRunFlags::Resolve() const {
  ASSIGN_OR_RETURN(eval::RunConfig c, ResolveSettings());
  if (c.model_name.empty()) c.model_name = BundledModelLabel();  // loaded through ResolveModelArg
  return c;
}

StatusOr<eval::RunConfig> EvalRunFlags::ResolveSettings() const {
  eval::RunConfig c = config;
  ASSIGN_OR_RETURN(c.protocol, eval::ParseProtocol(protocol));
  if (!scoring.empty()) {
    ASSIGN_OR_RETURN(eval::ScoringMode mode, eval::ParseScoringMode(scoring));
    c.scoring = mode;
  }
  return c;
}

void AddEvalRunFlags(CLI::App* cmd, EvalRunFlags& f, bool sweep) {
  eval::RunConfig& c = f.config;
  if (!sweep) {
    cmd->add_option("--dataset", c.dataset, "Dataset key (gsm8k, math500, aime24, aime25, amc23, folio, strategyqa, "
                                            "drop, reclor, logiqa, commonsenseqa, openbookqa, lsat-lr, jsonl; "
                                            "long-context: ruler, niah, infinitebench)");
    cmd->add_option("--data-file", c.data_file, "Local rows file (JSONL/JSON) instead of the Hugging Face dataset");
    cmd->add_option("--model,-m", c.model_name, "HF model directory, GGUF, llama2.c .bin or org/name (default: the bundled tiny-reasoner)");
    cmd->add_option("--press", c.press, "Press spec NAME[:k=v,...] or full (default knorm)");
    cmd->add_option("--cache-budget", c.cache_budget, "Slots kept per KV head per layer (default 512; 0 for full)")
        ->check(NonNegative());
    cmd->add_flag("--resume", c.resume, "Continue an unfinished result file (rows already there are kept)");
    cmd->add_option("--compression-ratio", c.compression_ratio,
                    "Upstream kvpress semantics: remove this fraction of the context's KV pairs after its prefill "
                    "(0 = --cache-budget mode; long-context datasets keep the question out of compression)")
        ->check(CLI::Range(0.0, 0.999999));
  }
  cmd->add_flag("--query-aware", c.query_aware,
                "Long-context datasets: append the question to the context and compress it too (upstream query_aware)");
  cmd->add_option("--context-length", c.context_length,
                  "ruler / infinitebench: tokens per sample, input + generation (default 4096)")
      ->check(Positive());
  cmd->add_option("--task", c.tasks, "ruler / infinitebench: tasks to generate, comma-separated (default all)")
      ->delimiter(',');
  cmd->add_option("--lengths", c.niah_lengths, "niah: prompt lengths of the grid (default 1k,2k,4k,8k)");
  cmd->add_option("--depths", c.niah_depths, "niah: needle depths in %, START:STOP:STEP or a list (default 0:100:10)");
  cmd->add_option("--haystack-file", c.haystack_file, "niah / ruler essay haystack: any text file (default: built-in text)");
  cmd->add_option("--tokenizer", f.tokenizer, "Tokenizer (default: found with the model)");
  cmd->add_flag("--no-check", f.no_check, "Skip the load-time check that the weights hold no NaN/Inf");
  AddMmapFlag(cmd, f.mmap);
  cmd->add_option("--data-dir", c.data_config, "Hugging Face dataset config (the fork's data_dir)");
  cmd->add_option("--data-split", c.data_split, "Hugging Face dataset split (default: the dataset's table)");
  cmd->add_option("--fraction", c.fraction, "Shuffle by --seed, keep this fraction of the rows")
      ->check(InRange(0, 1, /*exclude_lo=*/true));
  cmd->add_option("--num-samples", c.num_samples,
                  "Shuffle by --seed, keep the first N rows (0 = all); ruler/niah/infinitebench: samples generated "
                  "per task / grid cell (default 10 / 1)")
      ->check(NonNegative());
  cmd->add_option("--seed,--random-seed", c.seed, "Shuffle and sampling seed (default 42)")->check(NonNegative());
  cmd->add_option("--max-new-tokens", c.max_new_tokens, "Generation limit per sample (default 2048)")
      ->check(Positive());
  cmd->add_option("--max-context-length", c.max_context_length, "Keep the first N prompt tokens (0 = all)")
      ->check(NonNegative());
  AddPrefillChunkFlag(cmd, c.prefill_chunk);
  cmd->add_flag("--do-sampling", c.do_sampling, "Sample (top-p 0.9, temperature 0.7, repetition penalty 1.2)");
  cmd->add_option("--output-dir", c.output_dir, "Where result files go (default results)");
  cmd->add_flag("--latency", c.latency, "Accepted for compatibility: timings and memory are always recorded");
  cmd->add_option("--protocol", f.protocol, "chat (default: the model's chat template) or paper (raw prompt + BOS)")
      ->check(CLI::IsMember({"paper", "chat"}));
  cmd->add_option("--scoring", f.scoring, "exact (the fork's) or normalized (default: by protocol)")
      ->check(CLI::IsMember({"exact", "normalized"}));
  cmd->add_option("--batch-size", c.batch_size, "Samples decoded together, one batched forward per step (default 1)")
      ->check(Positive());
  cmd->add_option("--threads", c.threads, "Worker threads in all (default: physical cores)")->check(ThreadCount());
  cmd->add_flag_callback("--f32-activations", [] { SetQuantizedActivations(false); },
                         "Quantized weights: f32 activations against dequantized rows (exact, slower) "
                         "instead of int8-rounded activation blocks; bf16 weights on AVX512-BF16 CPUs: "
                         "f32 instead of bf16-rounded activations");
  cmd->add_option("--kv-dtype", c.kv_dtype, "KV cache storage: f32 (default), f16, bf16")
      ->check(CLI::IsMember({"f32", "f16", "bf16"}));
}

EvalProgressBar::EvalProgressBar(bool tty, std::string label) : tty_(tty), label_(std::move(label)), start_(NowSeconds()) {}

void EvalProgressBar::Update(const eval::EvalProgress& p) {
  const double now = NowSeconds();
  const double acc = p.done > 0 ? static_cast<double>(p.correct) / static_cast<double>(p.done) : 0.0;
  const size_t decile = p.total > 0 ? 10 * p.done / p.total : 10;
  const std::string line = fmt::format("{} {}/{} acc {:.3f} | {:.1f} tok/s | {:.0f}s", label_, p.done, p.total, acc,
                                       p.tokens_per_second, now - start_);
  if (tty_) {
    if (now - last_draw_ < 0.1 && p.done < p.total) return;
    constexpr int kWidth = 20;
    const int filled = p.total > 0 ? static_cast<int>(kWidth * p.done / p.total) : kWidth;
    std::fprintf(stderr, "\r[%s%s] %s\x1b[K", std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, '.').c_str(), line.c_str());
    std::fflush(stderr);
    last_draw_ = now;
    drawn_ = true;
  } else if (decile > last_decile_ || p.done == p.total) {
    std::fprintf(stderr, "%s\n", line.c_str());
    last_decile_ = decile;
  }
}

void EvalProgressBar::Finish() {
  if (tty_ && drawn_) std::fprintf(stderr, "\r\x1b[K");
}

std::string HumanBytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, units[u]);
}

void PrintScoreLine(const nlohmann::ordered_json& s, const std::string& result_path) {
  const int64_t n = s.value("num_samples", int64_t{0});
  const double acc = s.value("accuracy", 0.0);
  std::fprintf(stderr, "%s\n",
               fmt::format("accuracy {:.3f} ({}/{}) | {:.1f} output tokens | press {:.4f} ms/token | KV peak {} -> {}",
                           acc, static_cast<int64_t>(acc * static_cast<double>(n) + 0.5), n,
                           s.value("avg_output_tokens", 0.0), s.value("press_ms_per_token", 0.0),
                           HumanBytes(s.value("max_kv_bytes_peak", 0.0)), result_path)
                   .c_str());
  std::printf("%s\n", s.dump(2).c_str());
  std::fflush(stdout);
}

}  // namespace kvpress::cli
