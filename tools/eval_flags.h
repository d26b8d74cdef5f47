// Flags shared by `kvpress eval` and `kvpress sweep` (the reference §5.1 flags in kebab-case), the
// progress bar over samples, and the closing summary line.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"
#include "eval/runner.h"

namespace kvpress::cli {

struct EvalRunFlags {
  eval::RunConfig config;
  std::string protocol = "chat";
  std::string scoring;    // "" = the protocol's default
  std::string tokenizer;  // "" = found with the model
  bool no_check = false;  // --no-check: skip the NaN/Inf weight check
  bool mmap = false;      // --mmap: weights stay in the file mapping

  // The run configuration with protocol/scoring parsed and the default model filled in.
  StatusOr<eval::RunConfig> Resolve() const;
  // The same without the model (a sweep takes its models from a list).
  StatusOr<eval::RunConfig> ResolveSettings() const;
};

// Adds the flags to `cmd`. With `sweep`, the per-cell flags (--dataset, --data-file, --model,
// --press, --cache-budget) are left to the sweep, which takes lists of them.
void AddEvalRunFlags(CLI::App* cmd, EvalRunFlags& f, bool sweep);

// Progress over the samples of one run, on stderr: redrawn in place on a terminal, else one line
// every 10% (for batch jobs' logs).
class EvalProgressBar {
 public:
  EvalProgressBar(bool tty, std::string label);
  void Update(const eval::EvalProgress& p);
  void Finish();

 private:
  bool tty_;
  std::string label_;
  double start_;
  double last_draw_ = 0;
  size_t last_decile_ = 0;
  bool drawn_ = false;
};

// "accuracy 0.600 (3/5) | 41.2 output tokens | press 0.012 ms/token | KV peak 1.5 MiB -> FILE" on
// stderr, and the score JSON on stdout.
void PrintScoreLine(const nlohmann::ordered_json& summary, const std::string& result_path);

// "1.5 MiB"-style size.
std::string HumanBytes(double bytes);

}  // namespace kvpress::cli
