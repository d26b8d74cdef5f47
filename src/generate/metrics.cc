#include "generate/metrics.h"

#include <sys/resource.h>

namespace kvpress {

nlohmann::json Metrics::ToJson() const {
  return nlohmann::json{
      {"prefill_time", prefill_time},
      {"decoding_time", decoding_time},
      {"press_prefill_time", press_prefill_time},
      {"press_decoding_time", press_decoding_time},
      {"ttft", ttft},
      {"total_time", total_time},
      {"total_prefill_tokens", total_prefill_tokens},
      {"total_decoding_tokens", total_decoding_tokens},
      {"tokens_per_second", tokens_per_second},
      {"press_tokens_per_second", press_tokens_per_second},
      {"kv_bytes_live", kv_bytes_live},
      {"kv_bytes_peak", kv_bytes_peak},
      {"kv_tokens_per_head_max", kv_tokens_per_head_max},
      {"rss_peak_bytes", rss_peak_bytes},
      {"compression_ratio", compression_ratio},
      {"evictions", evictions},
  };
}

size_t PeakRssBytes() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<size_t>(ru.ru_maxrss) * 1024;  // Linux reports KiB
}

}  // namespace kvpress
