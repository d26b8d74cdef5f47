#include "serve/server_stats.h"

#include <fmt/format.h>

namespace kvpress::serve {

void ServerStats::CountResponse(int status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (status == 429) ++responses_429_;
  else if (status >= 500) ++responses_5xx_;
  else if (status >= 400) ++responses_4xx_;
  else ++responses_2xx_;
}

void ServerStats::CountGeneration(int64_t prompt_tokens, int64_t completion_tokens, double seconds,
                                  const std::string& finish_reason) {
  std::lock_guard<std::mutex> lock(mu_);
  ++generations_;
  prompt_tokens_ += prompt_tokens;
  completion_tokens_ += completion_tokens;
  request_seconds_ += seconds;
  if (finish_reason == "stop") ++finish_stop_;
  else if (finish_reason == "length") ++finish_length_;
  else if (finish_reason == "timeout") ++finish_timeout_;
  else ++finish_cancelled_;
}

void ServerStats::CountStep(int64_t tokens, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  step_tokens_ += tokens;
  step_seconds_ += seconds;
  if (seconds > 0) {
    const double rate = static_cast<double>(tokens) / seconds;
    recent_tokens_per_second_ =
        recent_tokens_per_second_ == 0 ? rate : 0.9 * recent_tokens_per_second_ + 0.1 * rate;
  }
}

void ServerStats::SetKvBytesLive(size_t bytes) {
  kv_live_ = bytes;
  size_t peak = kv_peak_.load();
  while (bytes > peak && !kv_peak_.compare_exchange_weak(peak, bytes)) {
  }
}

std::string ServerStats::RenderPrometheus(const std::string& model_name, int parallel) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  metric("kvpress_requests_total", "counter", "HTTP responses of the API endpoints by status class.");
  out += fmt::format("kvpress_requests_total{{code=\"2xx\"}} {}\n", responses_2xx_);
  out += fmt::format("kvpress_requests_total{{code=\"4xx\"}} {}\n", responses_4xx_);
  out += fmt::format("kvpress_requests_total{{code=\"429\"}} {}\n", responses_429_);
  out += fmt::format("kvpress_requests_total{{code=\"5xx\"}} {}\n", responses_5xx_);
  metric("kvpress_generations_total", "counter", "Finished generations by finish reason.");
  out += fmt::format("kvpress_generations_total{{finish_reason=\"stop\"}} {}\n", finish_stop_);
  out += fmt::format("kvpress_generations_total{{finish_reason=\"length\"}} {}\n", finish_length_);
  out += fmt::format("kvpress_generations_total{{finish_reason=\"cancelled\"}} {}\n", finish_cancelled_);
  out += fmt::format("kvpress_generations_total{{finish_reason=\"timeout\"}} {}\n", finish_timeout_);
  metric("kvpress_prompt_tokens_total", "counter", "Prompt tokens prefilled.");
  out += fmt::format("kvpress_prompt_tokens_total {}\n", prompt_tokens_);
  metric("kvpress_completion_tokens_total", "counter", "Tokens generated.");
  out += fmt::format("kvpress_completion_tokens_total {}\n", completion_tokens_);
  metric("kvpress_request_seconds_total", "counter", "Wall time of finished generations, acceptance to last token.");
  out += fmt::format("kvpress_request_seconds_total {:.6f}\n", request_seconds_);
  metric("kvpress_decode_seconds_total", "counter", "Time spent in batched decode steps.");
  out += fmt::format("kvpress_decode_seconds_total {:.6f}\n", step_seconds_);
  metric("kvpress_tokens_per_second", "gauge", "Aggregate decode throughput of all sequences (moving average over steps).");
  out += fmt::format("kvpress_tokens_per_second {:.3f}\n", recent_tokens_per_second_);
  metric("kvpress_tokens_per_second_mean", "gauge", "Aggregate decode throughput since start (tokens / decode seconds).");
  out += fmt::format("kvpress_tokens_per_second_mean {:.3f}\n",
                     step_seconds_ > 0 ? static_cast<double>(step_tokens_) / step_seconds_ : 0.0);
  metric("kvpress_kv_bytes_live", "gauge", "KV-cache bytes held by all live sequences.");
  out += fmt::format("kvpress_kv_bytes_live {}\n", kv_live_.load());
  metric("kvpress_kv_bytes_peak", "gauge", "Largest kvpress_kv_bytes_live seen since start.");
  out += fmt::format("kvpress_kv_bytes_peak {}\n", kv_peak_.load());
  metric("kvpress_queue_length", "gauge", "Requests accepted and waiting for a decoding slot.");
  out += fmt::format("kvpress_queue_length {}\n", queue_length_.load());
  metric("kvpress_active_sequences", "gauge", "Sequences decoding now.");
  out += fmt::format("kvpress_active_sequences {}\n", active_.load());
  metric("kvpress_parallel", "gauge", "Decoding slots (--parallel).");
  out += fmt::format("kvpress_parallel {}\n", parallel);
  metric("kvpress_model_info", "gauge", "The served model.");
  std::string escaped;
  for (char c : model_name) {
    if (c == '\\' || c == '"') escaped += '\\';
    if (c == '\n') { escaped += "\\n"; continue; }
    escaped += c;
  }
  out += fmt::format("kvpress_model_info{{model=\"{}\"}} 1\n", escaped);
  return out;
}

}  // namespace kvpress::serve
