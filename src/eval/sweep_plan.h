// A sweep: the grid models x datasets x presses x budgets of eval runs (reference §5.6), from flags
// or a YAML/JSON file, expanded into cells in a fixed order and split into shards for array jobs.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "eval/run_config.h"

namespace kvpress::eval {

struct SweepDataset {
  std::string key;        // dataset key
  std::string data_file;  // "" = the dataset's Hugging Face id
};

struct SweepPlan {
  std::vector<std::string> models;
  std::vector<SweepDataset> datasets;
  std::vector<std::string> presses;  // specs; "full" is one cell per (model, dataset), budget 0
  std::vector<int> budgets;
  std::vector<double> compression_ratios;  // upstream ratio mode: one cell per ratio (in [0, 1)) per press
  RunConfig base;                    // every other setting, shared by all cells
};

// One eval run of the grid; `index` is its position in the full (unsharded) order.
struct SweepCell {
  size_t index = 0;
  RunConfig config;
};

// Reads a YAML (or JSON, a YAML subset) sweep file into `plan`, on top of what `plan` holds:
//   models: [...]; datasets: [gsm8k, {name: math500, data_file: m.jsonl}, "folio=f.jsonl"];
//   presses: [full, knorm, "snapkv_d:window=8"]; budgets: [64, 128]; compression_ratios: [0.25, 0.5];
//   and any of num_samples, fraction, seed, max_new_tokens, max_context_length, prefill_chunk, do_sampling,
//   output_dir, protocol, scoring, batch_size, threads, kv_dtype, data_dir, data_split, query_aware,
//   context_length, tasks, lengths, depths, haystack_file.
// A scalar where a list is expected is a one-element list. Unknown keys, ill-typed values and
// values out of range (num_samples < 0, fraction outside (0, 1], seed < 0, threads above
// MaxThreads()) are FailedPrecondition (bad input, exit 2) naming the file and key.
Status LoadSweepFile(const std::string& path, SweepPlan& plan);

// "gsm8k" or "gsm8k=path/to/rows.jsonl".
SweepDataset ParseSweepDataset(const std::string& text);

// The cells in order: models, then datasets, then presses, then budgets (outermost first);
// "full" contributes one cell (budget 0) per model and dataset; a compressing press one cell per
// budget, then one per compression ratio. Errors: an empty axis; neither budgets nor ratios for a
// compressing press; a budget <= 0; a ratio outside (0, 1).
StatusOr<std::vector<SweepCell>> ExpandSweep(const SweepPlan& plan);

// "I/N" with 1 <= I <= N -> {I, N}; InvalidArgument otherwise.
StatusOr<std::pair<int, int>> ParseShard(const std::string& text);

// The cells of shard I of N: those whose index % N == I - 1 (deterministic, disjoint, complete).
std::vector<SweepCell> ShardCells(const std::vector<SweepCell>& cells, int shard, int num_shards);

}  // namespace kvpress::eval
