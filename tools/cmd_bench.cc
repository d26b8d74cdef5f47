// kvpress bench: prefill/decode speed against the memory-bandwidth roofline, KV bytes, peak RSS.
#include <cstdio>

#include "core/log.h"
#include "core/thread_pool.h"
#include "generate/benchmark.h"
#include "kv/kv_dtype.h"
#include "model/random_model.h"
#include "ops/matmul.h"
#include "press/press_from_text.h"
#include "press/registry.h"
#include "tools/cli_common.h"
#include "tools/commands.h"
#include "tools/flag_checks.h"

namespace kvpress::cli {
namespace {

struct BenchFlags {
  std::string model;
  std::string random;
  std::string dtype = "bf16";
  uint64_t seed = 1;
  BenchmarkOptions options;
  int bandwidth_mb = 1024;
  bool no_bandwidth = false;
  bool no_check = false;  // --no-check: skip the NaN/Inf weight check of --model
  bool mmap = false;      // --mmap: weights stay in the file mapping (LoadOptions::huge_pages off)
  std::string press;
  int cache_budget = 0;
  std::string kv_dtype = "f32";
};

int RunBench(BenchFlags f) {
  std::unique_ptr<Model> model;
  if (!f.random.empty()) {
    auto cfg = RandomModelPreset(f.random);
    if (!cfg.ok()) return ReportError("bench", cfg.status());
    DType dt = DType::kBF16;
    if (f.dtype == "f32") dt = DType::kF32;
    else if (f.dtype == "f16") dt = DType::kF16;
    else if (f.dtype == "q8_0") dt = DType::kQ8_0;
    else if (f.dtype != "bf16") return ReportError("bench", InvalidArgument("--dtype: '" + f.dtype + "' is not one of f32, f16, bf16, q8_0"));
    std::fprintf(stderr, "kvpress bench: building random %s model in %s...\n", f.random.c_str(), f.dtype.c_str());
    model = MakeRandomModel(*cfg, dt, f.seed);
    if (!f.mmap) model->placement = MoveWeightsToHugePages(model->weights, DefaultThreadCount());
  } else if (!f.model.empty()) {
    auto loaded = LoadModel(f.model, LoadOptions{.check_weights = !f.no_check, .huge_pages = !f.mmap});
    if (!loaded.ok()) return ReportError("bench", loaded.status());
    model = std::move(loaded).value();
  } else {
    return ReportError("bench", InvalidArgument("pass --model or --random PRESET"));
  }
  if (f.options.press_chunk > 0 && f.press.empty()) {
    return ReportError("bench", InvalidArgument("--prefill-chunk needs --press NAME and --cache-budget N"));
  }
  std::unique_ptr<Press> press;
  if (!f.press.empty()) {
    auto created = CreatePressFromText(f.press, BudgetPolicy{.cache_budget = f.cache_budget});
    if (!created.ok()) return ReportError("bench", created.status());
    press = std::move(created).value();
    f.options.press = press.get();
  }
  auto kv_dtype = ParseKvDtype(f.kv_dtype, "--kv-dtype");
  if (!kv_dtype.ok()) return ReportError("bench", kv_dtype.status());
  f.options.kv_dtype = *kv_dtype;
  f.options.measure_bandwidth = !f.no_bandwidth;
  f.options.bandwidth_bytes = static_cast<size_t>(f.bandwidth_mb) << 20;
  auto result = RunBenchmark(*model, f.options);
  if (!result.ok()) return ReportError("bench", result.status());
  std::printf("%s\n", result->dump(2).c_str());
  return kExitOk;
}

}  // namespace

void RegisterBench(CLI::App& app, RunFn& run) {
  auto f = std::make_shared<BenchFlags>();
  CLI::App* cmd = app.add_subcommand("bench", "Benchmark prefill/decode speed and memory (JSON on stdout)");
  auto* m = cmd->add_option("--model,-m", f->model, "Model to benchmark");
  auto* r = cmd->add_option("--random", f->random, "Random-weight preset instead of a file: tiny, 0.35b, 0.5b");
  m->excludes(r);
  cmd->add_option("--dtype", f->dtype, "Weight dtype of --random models: f32, f16, bf16, q8_0");
  cmd->add_option("--seed", f->seed, "Seed of --random weights")->check(NonNegative());
  cmd->add_option("--prompt-tokens", f->options.prompt_tokens, "Prefill length")->check(Positive());
  cmd->add_option("--decode-tokens", f->options.decode_tokens, "Timed decode steps")->check(Positive());
  cmd->add_option("--prefill-reps", f->options.prefill_reps,
                  "Timed prefills after one warm-up; the median is reported (default 3)")
      ->check(CLI::Range(1, 100));
  cmd->add_option("--threads", f->options.threads, "Worker threads (default: physical cores)")->check(ThreadCount());
  cmd->add_flag_callback("--f32-activations", [] { SetQuantizedActivations(false); },
                         "Quantized weights: f32 activations against dequantized rows (exact, slower) "
                         "instead of int8-rounded activation blocks; bf16 weights on AVX512-BF16 CPUs: "
                         "f32 instead of bf16-rounded activations");
  cmd->add_option("--bandwidth-mb", f->bandwidth_mb, "Buffer size of the read-bandwidth probe")->check(Positive());
  cmd->add_flag("--no-bandwidth", f->no_bandwidth, "Skip the bandwidth probe");
  cmd->add_flag("--no-check", f->no_check, "Skip the load-time check that the --model weights hold no NaN/Inf");
  AddMmapFlag(cmd, f->mmap);
  cmd->add_option("--press", f->press, "Measure this press's overhead per decode step (NAME[:k=v,...])");
  cmd->add_option("--cache-budget", f->cache_budget, "Budget for --press (slots per KV head per layer)");
  AddPrefillChunkFlag(cmd, f->options.press_chunk);
  cmd->add_option("--kv-dtype", f->kv_dtype, "KV cache storage: f32, f16, bf16");
  cmd->add_option("--batch", f->options.batch, "Sequences decoded together (tokens/s counts all of them)")
      ->check(Positive());
  cmd->callback([f, &run] { run = [f] { return RunBench(*f); }; });
}

}  // namespace kvpress::cli
