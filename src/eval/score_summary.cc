#include "eval/score_summary.h"

#include <algorithm>

#include "core/file_util.h"

namespace kvpress::eval {

using nlohmann::json;
using nlohmann::ordered_json;

namespace {

double Num(const json& row, const char* key) {
  auto it = row.find(key);
  if (it == row.end()) return 0.0;
  if (it->is_boolean()) return it->get<bool>() ? 1.0 : 0.0;
  return it->is_number() ? it->get<double>() : 0.0;
}

}  // namespace

ordered_json SummarizeRows(const std::vector<json>& rows) {
  const double n = static_cast<double>(rows.size());
  auto mean = [&](const char* key) {
    double s = 0;
    for (const json& r : rows) s += Num(r, key);
    return rows.empty() ? 0.0 : s / n;
  };
  double press_decoding = 0, decoding_tokens = 0, e2e = 0, max_kv = 0;
  for (const json& r : rows) {
    press_decoding += Num(r, "press_decoding_time");
    decoding_tokens += Num(r, "total_decoding_tokens");
    const double t = Num(r, "execution_time");
    e2e += t > 0 ? Num(r, "output_token_count") / t : 0.0;
    max_kv = std::max(max_kv, Num(r, "kv_bytes_peak"));
  }
  ordered_json s;
  s["accuracy"] = mean("correct");
  s["avg_score"] = mean("score");
  s["avg_compression"] = mean("compression_ratio");
  s["num_samples"] = rows.size();
  s["avg_output_tokens"] = mean("output_token_count");
  s["avg_input_tokens"] = mean("input_token_count");
  s["press_ms_per_token"] = decoding_tokens > 0 ? 1000.0 * press_decoding / decoding_tokens : 0.0;
  s["avg_kv_bytes_peak"] = mean("kv_bytes_peak");
  s["max_kv_bytes_peak"] = static_cast<int64_t>(max_kv);
  s["avg_evictions"] = mean("evictions");
  s["avg_execution_time"] = mean("execution_time");
  s["avg_prefill_time"] = mean("prefill_time");
  s["avg_decoding_time"] = mean("decoding_time");
  s["avg_press_prefill_time"] = mean("press_prefill_time");
  s["avg_press_decoding_time"] = mean("press_decoding_time");
  s["avg_press_tokens_per_second"] = mean("press_tokens_per_second");
  s["avg_end_to_end_tokens_per_second"] = rows.empty() ? 0.0 : e2e / n;
  s["avg_total_prefill_tokens"] = mean("total_prefill_tokens");
  s["avg_total_decoding_tokens"] = mean("total_decoding_tokens");
  s["avg_rss_peak_bytes"] = mean("rss_peak_bytes");
  return s;
}

ordered_json RunConfigJson(const RunConfig& c, const std::string& data_split) {
  ordered_json j;
  j["dataset"] = c.dataset;
  j["data_split"] = data_split;
  j["data_dir"] = c.data_config;
  j["data_file"] = c.data_file;
  j["model_name"] = c.model_name;
  j["press_name"] = c.PressName();
  j["press_spec"] = c.press;
  j["cache_budget"] = c.EffectiveBudget();
  j["fraction"] = c.fraction;
  j["requested_num_samples"] = c.num_samples;
  j["max_new_tokens"] = c.max_new_tokens;
  j["max_context_length"] = c.max_context_length;
  j["prefill_chunk"] = c.prefill_chunk;
  j["random_seed"] = c.seed;
  j["protocol"] = ProtocolName(c.protocol);
  j["scoring"] = ScoringModeName(c.EffectiveScoring());
  j["do_sampling"] = c.do_sampling;
  j["kv_dtype"] = c.kv_dtype;
  j["compression_ratio"] = c.RatioMode() ? c.compression_ratio : 0.0;
  j["query_aware"] = c.query_aware;
  if (IsSyntheticRun(c)) {
    j["context_length"] = c.context_length;
    j["tasks"] = c.tasks;
    if (c.dataset == "niah") {
      j["niah_lengths"] = c.niah_lengths;
      j["niah_depths"] = c.niah_depths;
    }
    j["haystack_file"] = c.haystack_file;
  }
  return j;
}

Status WriteScoreFile(const std::string& path, const ordered_json& summary) {
  return WriteFileAtomic(path, summary.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
}

std::string ScorePathFor(const std::string& result_path) {
  std::string stem = result_path;
  if (stem.size() > 6 && stem.compare(stem.size() - 6, 6, ".jsonl") == 0) stem.resize(stem.size() - 6);
  return stem + "_score.json";
}

}  // namespace kvpress::eval
