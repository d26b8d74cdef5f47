// Server-wide counters and gauges, rendered as Prometheus text (GET /metrics). The engine thread
// and the HTTP threads update them concurrently.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

namespace kvpress::serve {

class ServerStats {
 public:
  // A request was answered with HTTP `status` (all endpoints but /metrics and /health).
  void CountResponse(int status);
  // A generation ended: its tokens and its wall time from acceptance to the last token.
  void CountGeneration(int64_t prompt_tokens, int64_t completion_tokens, double seconds,
                       const std::string& finish_reason);
  // Decoded tokens of one batched step and its duration (aggregate throughput).
  void CountStep(int64_t tokens, double seconds);
  // KV bytes held by all live sequences now (the peak is kept).
  void SetKvBytesLive(size_t bytes);
  void SetQueueLength(size_t n) { queue_length_ = n; }
  void SetActiveSequences(size_t n) { active_ = n; }

  size_t kv_bytes_live() const { return kv_live_; }
  size_t kv_bytes_peak() const { return kv_peak_; }

  // Prometheus text exposition format 0.0.4.
  std::string RenderPrometheus(const std::string& model_name, int parallel) const;

 private:
  mutable std::mutex mu_;
  int64_t responses_2xx_ = 0, responses_4xx_ = 0, responses_429_ = 0, responses_5xx_ = 0;
  int64_t generations_ = 0, prompt_tokens_ = 0, completion_tokens_ = 0;
  int64_t finish_stop_ = 0, finish_length_ = 0, finish_cancelled_ = 0, finish_timeout_ = 0;
  double request_seconds_ = 0;
  int64_t step_tokens_ = 0;
  double step_seconds_ = 0;
  double recent_tokens_per_second_ = 0;  // exponential moving average over steps
  std::atomic<size_t> kv_live_{0}, kv_peak_{0}, queue_length_{0}, active_{0};
};

}  // namespace kvpress::serve
