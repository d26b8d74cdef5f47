// Timing, token and memory figures of one generation run (DESIGN.md "Metrics"), serialised with
// the same keys everywhere (JSON output, CSV, harness results).
#pragma once

#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

namespace kvpress {

struct Metrics {
  double prefill_time = 0;         // s, model forward time of the prefill
  double decoding_time = 0;        // s, model forward time of decoding steps
  double press_prefill_time = 0;   // s, inside press code during prefill
  double press_decoding_time = 0;  // s, inside press code during decoding
  double ttft = 0;                 // s, start -> first generated token
  double total_time = 0;           // s, wall time of the run
  int64_t total_prefill_tokens = 0;
  int64_t total_decoding_tokens = 0;
  double tokens_per_second = 0;        // decoding tokens / decoding wall time
  double press_tokens_per_second = 0;  // decoding tokens / press decoding time (0 when no press)
  size_t kv_bytes_live = 0;
  size_t kv_bytes_peak = 0;
  int64_t kv_tokens_per_head_max = 0;
  size_t rss_peak_bytes = 0;
  double compression_ratio = 1.0;  // retained fraction = kept / seen
  int64_t evictions = 0;

  nlohmann::json ToJson() const;
};

// Peak resident set size of this process in bytes (getrusage).
size_t PeakRssBytes();

}  // namespace kvpress
