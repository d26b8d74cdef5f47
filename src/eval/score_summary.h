// The run summary written to `<stem>_score.json` (reference §5.5): accuracy and averages over the
// per-sample rows, plus the run's configuration. Computed from the result rows alone, so a resumed
// or re-scored run summarises exactly what its file holds.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "eval/run_config.h"

namespace kvpress::eval {

// Averages over `rows`: accuracy (mean of `correct`), avg_score (mean of `score`: F1 for DROP),
// avg_compression, num_samples (= rows.size(): the fork's bug of writing the CLI value is not
// kept), avg_output_tokens, press_ms_per_token (1000 x sum press_decoding_time / sum decoding
// tokens), avg_kv_bytes_peak, max_kv_bytes_peak, and the fork's latency averages
// (avg_execution_time, avg_prefill_time, avg_decoding_time, avg_press_tokens_per_second,
// avg_end_to_end_tokens_per_second, avg_total_prefill_tokens, avg_total_decoding_tokens) plus
// avg_rss_peak_bytes. Rows lacking a key count as 0 for it.
nlohmann::ordered_json SummarizeRows(const std::vector<nlohmann::json>& rows);

// The configuration keys of the score file: dataset, data_split, data_dir, model_name, press_name,
// press_spec, cache_budget, fraction, requested_num_samples, max_new_tokens, max_context_length,
// random_seed, protocol, scoring, do_sampling, kv_dtype.
nlohmann::ordered_json RunConfigJson(const RunConfig& c, const std::string& data_split);

// Writes `summary` to `path` atomically (pretty-printed).
Status WriteScoreFile(const std::string& path, const nlohmann::ordered_json& summary);

// `<dir>/<stem>.jsonl` -> `<dir>/<stem>_score.json`.
std::string ScorePathFor(const std::string& result_path);

}  // namespace kvpress::eval
