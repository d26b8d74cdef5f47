#include "serve/engine.h"

#include <algorithm>

#include "core/check.h"
#include "core/log.h"
#include "core/timer.h"
#include "generate/batch_decode.h"
#include "generate/generator.h"
#include "press/registry.h"
#include "serve/stop_text.h"

namespace kvpress::serve {

// A job being prefilled or decoded: its press, session, detokenizer and stop-string filter.
struct Engine::InFlight {
  std::shared_ptr<Job> job;
  std::unique_ptr<Press> press;
  std::unique_ptr<Session> session;
  std::unique_ptr<StreamingDecoder> decoder;
  std::unique_ptr<StopText> stop_text;
  bool timed_out = false;
};

Engine::Engine(Transformer& model, const Tokenizer& tokenizer, std::vector<int32_t> stop_ids,
               EngineOptions options, ServerStats& stats)
    : model_(model), tokenizer_(tokenizer), stop_ids_(std::move(stop_ids)), options_(options), stats_(stats) {}

Engine::~Engine() { Stop(); }

void Engine::Start() {
  CHECK(!thread_.joinable());
  thread_ = std::thread([this] { Loop(); });
}

SubmitResult Engine::Submit(std::shared_ptr<Job> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (draining_ || stopping_) return SubmitResult::kDraining;
    // Full when max_queue requests wait and no place is free for this one (--max-queue 0: only free
    // places are taken).
    const bool free_place = static_cast<int>(queue_.size() + running_.size()) < options_.parallel;
    if (static_cast<int>(queue_.size()) >= options_.max_queue && !free_place) return SubmitResult::kQueueFull;
    queue_.push_back(std::move(job));
    stats_.SetQueueLength(queue_.size());
  }
  cv_.notify_all();
  return SubmitResult::kAccepted;
}

void Engine::BeginDrain() {
  std::lock_guard<std::mutex> lock(mu_);
  draining_ = true;
}

size_t Engine::Pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size() + running_.size();
}

void Engine::Stop() {
  std::deque<std::shared_ptr<Job>> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = draining_ = true;
    dropped.swap(queue_);
    stats_.SetQueueLength(0);
    for (auto& job : running_) job->Cancel();  // they end at their next token (or layer)
  }
  for (auto& job : dropped) job->Fail(Cancelled("the server is shutting down"));
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Engine::PublishKvBytes() {
  size_t live = 0;
  for (const auto& f : in_flight_) live += f->session->cache().LiveBytes();
  stats_.SetKvBytesLive(live);
  stats_.SetActiveSequences(in_flight_.size());
}

void Engine::Forget(const Job* job) {
  std::lock_guard<std::mutex> lock(mu_);
  running_.erase(std::remove_if(running_.begin(), running_.end(),
                                [&](const auto& j) { return j.get() == job; }),
                 running_.end());
}

StatusOr<std::optional<BatchSequence>> Engine::NextSequence() {
  while (true) {
    std::shared_ptr<Job> job;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_ || queue_.empty()) return std::optional<BatchSequence>();
      job = std::move(queue_.front());
      queue_.pop_front();
      stats_.SetQueueLength(queue_.size());
      running_.push_back(job);
    }
    auto uncount = [&] { Forget(job.get()); };
    const JobSpec& spec = job->spec();
    if (job->cancelled()) {
      uncount();
      job->Fail(Cancelled("the client went away while the request was queued"));
      continue;
    }
    if (Clock::now() >= spec.deadline) {
      uncount();
      job->Fail(Cancelled("the request timed out while queued"));
      continue;
    }
    auto f = std::make_unique<InFlight>();
    f->job = job;
    if (spec.press) {
      StatusOr<std::unique_ptr<Press>> press = CreatePress(*spec.press);
      if (!press.ok()) {
        uncount();
        job->Fail(press.status());
        continue;
      }
      f->press = std::move(press).value();
    }
    GenerateOptions o;
    o.max_new_tokens = spec.max_tokens;
    o.sampling = spec.sampling;
    o.stop_ids = stop_ids_;
    o.tokenizer = &tokenizer_;
    o.prefill_chunk = options_.prefill_chunk;
    o.press = f->press.get();
    o.kv_dtype = options_.kv_dtype;
    o.cancel = job->cancel_flag();
    f->session = std::make_unique<Session>(model_, o.press, o.kv_dtype, o.prefill_chunk, 0);
    f->decoder = std::make_unique<StreamingDecoder>(tokenizer_, spec.prompt);
    f->stop_text = std::make_unique<StopText>(spec.stop);
    InFlight* raw = f.get();
    TokenCallback on_token = [raw](int32_t id) {
      const std::string text = raw->stop_text->Push(raw->decoder->Push(id));
      raw->job->PushText(text);
      if (raw->stop_text->stopped() || raw->job->cancelled()) return false;
      if (Clock::now() >= raw->job->spec().deadline) {
        raw->timed_out = true;
        return false;
      }
      return true;
    };
    StatusOr<BatchSequence> seq = StartSequence(*f->session, spec.prompt, o, std::move(on_token));
    if (!seq.ok()) {
      uncount();
      job->Fail(seq.status());
      continue;
    }
    in_flight_.push_back(std::move(f));
    PublishKvBytes();
    job->MarkStarted();
    return std::optional<BatchSequence>(std::move(seq).value());
  }
}

void Engine::Loop() {
  const NextSequenceFn next = [this]() { return NextSequence(); };
  const SequenceDoneFn done = [this](BatchSequence& seq, DecodeResult d) -> Status {
    auto it = std::find_if(in_flight_.begin(), in_flight_.end(),
                           [&](const auto& f) { return f->session.get() == seq.session; });
    CHECK(it != in_flight_.end());
    InFlight& f = **it;
    std::string reason = d.finish_reason;
    if (f.stop_text->stopped()) {
      reason = "stop";
    } else if (f.timed_out) {
      reason = "timeout";
    } else if (reason != "cancelled") {
      // EOS ("stop") or max_tokens ("length"): the held-back text goes out.
      reason = reason == "length" ? "length" : "stop";
      f.job->PushText(f.stop_text->Push(f.decoder->Flush()) + f.stop_text->Flush());
    }
    const GenerateResult r = MakeGenerateResult(*f.session, std::move(d));
    JobOutcome outcome;
    outcome.finish_reason = reason;
    outcome.completion_tokens = static_cast<int64_t>(r.tokens.size());
    outcome.metrics = r.metrics.ToJson();
    // The gauges and the running list are updated before the client can see the end.
    const std::shared_ptr<Job> job = f.job;
    in_flight_.erase(it);
    PublishKvBytes();
    Forget(job.get());
    const double seconds = std::chrono::duration<double>(Clock::now() - job->created()).count();
    stats_.CountGeneration(static_cast<int64_t>(job->spec().prompt.size()), outcome.completion_tokens,
                           seconds, reason);
    job->Finish(std::move(outcome));
    return Status::Ok();
  };
  const StepFn on_step = [this](int batch, double seconds) {
    stats_.CountStep(batch, seconds);
    PublishKvBytes();
  };
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (stopping_ && queue_.empty()) break;
    }
    const Status s = DecodeServing(model_, options_.parallel, next, done, on_step);
    if (!s.ok()) {
      Log(LogLevel::kError, "serve: decoding failed: {}", s.message());
      std::vector<std::unique_ptr<InFlight>> failed;
      failed.swap(in_flight_);
      PublishKvBytes();
      for (auto& f : failed) {
        Forget(f->job.get());
        f->job->Fail(s);
      }
    }
  }
}

}  // namespace kvpress::serve
