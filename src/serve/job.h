// One accepted request on its way through the engine: what to generate (prompt ids and settings),
// and the channel between the engine thread (which produces text) and the HTTP thread (which
// sends it). All methods are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "generate/sampler.h"
#include "press/press_spec.h"

namespace kvpress::serve {

using Clock = std::chrono::steady_clock;

// What the engine needs to run a request.
struct JobSpec {
  std::vector<int32_t> prompt;            // token ids, BOS/template included
  int max_tokens = 256;
  SamplerParams sampling;
  std::vector<std::string> stop;          // OpenAI stop strings (cut before, never sent)
  std::optional<PressSpec> press;         // none: full cache
  Clock::time_point deadline;             // the request is cancelled when it passes
};

// How a job ended.
struct JobOutcome {
  std::string finish_reason;              // stop, length, cancelled, timeout
  int64_t completion_tokens = 0;
  nlohmann::json metrics;                 // Metrics::ToJson() of the run
};

// One event for the HTTP side: text to send, then the end (outcome or error).
struct JobEvent {
  std::string text;                       // may be empty
  bool finished = false;                  // the job is over: outcome or error is set
  std::optional<JobOutcome> outcome;
  Status error;                           // not ok: the job failed (never started, or failed)
};

class Job {
 public:
  explicit Job(JobSpec spec) : spec_(std::move(spec)), created_(Clock::now()) {}

  const JobSpec& spec() const { return spec_; }
  Clock::time_point created() const { return created_; }

  // --- engine side ---
  void MarkStarted();                     // prefill done, decoding begins
  void PushText(const std::string& text);
  void Finish(JobOutcome outcome);
  void Fail(Status error);

  // --- HTTP side ---
  // Raised when the client went away (or the server cancels): the engine stops the job at its
  // next token (or before its prefill).
  void Cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_.load(); }
  const std::atomic<bool>* cancel_flag() const { return &cancelled_; }
  // The error of a job that failed (ok while it runs or when it finished normally).
  Status error() const;
  // Waits until the job started or ended, or `until` passed (then false).
  bool WaitStarted(Clock::time_point until);
  // Waits up to `timeout` for text or the end; returns what arrived since the last call (empty
  // text and !finished when nothing did).
  JobEvent Next(std::chrono::milliseconds timeout);

 private:
  JobSpec spec_;
  Clock::time_point created_;
  std::atomic<bool> cancelled_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;
  bool finished_ = false;
  std::string text_;  // produced, not yet taken
  std::optional<JobOutcome> outcome_;
  Status error_;
};

}  // namespace kvpress::serve
