// The serving engine: one thread that owns the model and decodes every accepted request with
// continuous batching (DecodeServing): up to `parallel` sequences decode together, each with its
// own KV cache, press and budget; a finished one is replaced by the next waiting request at once.
// HTTP threads Submit() jobs and read their text from the job (serve/job.h).
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/status.h"
#include "generate/batch_decode.h"
#include "model/transformer.h"
#include "ops/dtype.h"
#include "serve/job.h"
#include "serve/server_stats.h"
#include "tokenizer/tokenizer.h"

namespace kvpress::serve {

struct EngineOptions {
  int parallel = 4;        // sequences decoding together
  int max_queue = 64;      // requests waiting for a slot; beyond (and no free slot): kQueueFull
  DType kv_dtype = DType::kF32;
  int prefill_chunk = 256;  // tokens per prefill forward (activation memory)
};

enum class SubmitResult { kAccepted, kQueueFull, kDraining };

class Engine {
 public:
  // `model`, `tokenizer` and `stats` must outlive the engine; `stop_ids` end every generation.
  Engine(Transformer& model, const Tokenizer& tokenizer, std::vector<int32_t> stop_ids,
         EngineOptions options, ServerStats& stats);
  ~Engine();  // Stop()s

  // Starts the decoding thread.
  void Start();
  // Queues `job` unless the queue is full or the engine is draining.
  SubmitResult Submit(std::shared_ptr<Job> job);
  // Refuses new jobs from now on; accepted ones go on.
  void BeginDrain();
  // Jobs accepted and not finished (queued + decoding).
  size_t Pending() const;
  // Cancels every job (queued ones fail at once, decoding ones stop at their next token), waits
  // for the thread to end.
  void Stop();

  const EngineOptions& options() const { return options_; }

 private:
  struct InFlight;
  void Loop();
  // Pops the next runnable job and prefills it; nullopt when none waits (see DecodeServing).
  StatusOr<std::optional<BatchSequence>> NextSequence();
  // Removes `job` from running_ (it finished or failed).
  void Forget(const Job* job);
  void PublishKvBytes();

  Transformer& model_;
  const Tokenizer& tokenizer_;
  std::vector<int32_t> stop_ids_;
  EngineOptions options_;
  ServerStats& stats_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::vector<std::shared_ptr<Job>> running_;  // popped from the queue and not finished
  bool draining_ = false;
  bool stopping_ = false;
  std::thread thread_;

  std::vector<std::unique_ptr<InFlight>> in_flight_;  // engine thread only
};

}  // namespace kvpress::serve
