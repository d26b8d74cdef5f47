// A generation session: one model, one KV cache, an optional press, the next absolute position, and
// the timing/counters behind Metrics. Generate() and the pipeline are built from it.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "generate/metrics.h"
#include "generate/sampler.h"
#include "generate/stop_criteria.h"
#include "model/transformer.h"
#include "press/press.h"
#include "tokenizer/tokenizer.h"

namespace kvpress {

// Called with each generated id as soon as it is chosen; return false to stop early.
using TokenCallback = std::function<bool(int32_t id)>;

struct DecodeLoopOptions {
  int max_new_tokens = 256;
  SamplerParams sampling;
  StopOptions stop;
  const Tokenizer* tokenizer = nullptr;  // needed for stop strings
  std::span<const int32_t> context;      // ids before the answer (repetition penalty, decoding)
  // Called after every decode step with the cache as it is then (progress display); may be empty.
  std::function<void(const KVCache&)> on_cache;
};

struct DecodeResult {
  std::vector<int32_t> tokens;  // generated ids (EOS excluded)
  std::string finish_reason;
};

class Session;

// Forwards a prefill of `ids` at `positions` into `cache` with `options`. With press_chunk > 0 and
// a hook the prompt goes in as separate forwards of at most press_chunk tokens, so the hook
// compresses after each: the queries of a piece attend to the cache as compressed after the
// previous pieces plus the piece itself, and a budgeted cache never holds more than
// budget + press_chunk slots per KV head (README "Chunked prefill"). press_chunk <= 0: one forward.
// `logits` receives the last token's logits. InvalidArgument for a ratio-mode press (its fraction
// applies to a whole prompt) and for what Forward rejects.
Status ForwardPrefill(Transformer& model, std::span<const int32_t> ids, std::span<const int32_t> positions,
                      KVCache& cache, const ForwardOptions& options, int press_chunk, std::vector<float>& logits);

// The per-sequence state of a decode loop (sampler, stop criteria, text so far), shared by
// Session::Decode and the batched decoder so both run exactly the same steps.
class DecodeState {
 public:
  DecodeState(const DecodeLoopOptions& options, const TokenCallback& on_token);
  // Picks the next token from `logits` [V] (scratch) for `session`. Returns true when the token
  // must be forwarded (generation goes on): next_token() then holds it. False when finished
  // (result().finish_reason says why).
  bool Advance(std::span<float> logits, Session& session);
  int32_t next_token() const { return next_token_; }
  DecodeResult& result() { return result_; }

 private:
  const DecodeLoopOptions& options_;
  const TokenCallback& on_token_;
  Sampler sampler_;
  StopCriteria stop_;
  std::vector<int32_t> history_;
  std::unique_ptr<StreamingDecoder> text_;
  std::string text_so_far_;
  DecodeResult result_;
  int32_t next_token_ = -1;
};

class Session {
 public:
  // `press` may be null; it is not owned and is Attach()ed to the model here. `prefill_chunk`:
  // tokens per internal forward chunk (activation memory; the press compresses at the end of the
  // prompt); `press_chunk` > 0: the prompt is prefilled in pieces of that many tokens with the
  // press compressing after each (ForwardPrefill).
  Session(Transformer& model, Press* press, DType kv_dtype, int prefill_chunk = 256, int press_chunk = 0);

  // Forwards `ids` at the next positions in `phase` (kPrefill compresses, kQuestion does not);
  // `logits` receives the last token's logits. Cancelled when the flag of set_cancel() is raised
  // meanwhile (checked before every layer): the session must then be discarded.
  // `question_tokens` (kPrefill only): the last that many ids are the user's question, compressed
  // with the context (a query-aware prompt; ForwardInfo::question_tokens). A press that needs them
  // (Press::NeedsQuestionTokens, finch) fails a kPrefill without them with FailedPrecondition;
  // InvalidArgument when they are not fewer than `ids`.
  Status Prefill(std::span<const int32_t> ids, ForwardPhase phase, std::vector<float>& logits,
                 int question_tokens = 0);
  // Samples from `logits` and decodes until a stop criterion fires or max_new_tokens.
  StatusOr<DecodeResult> Decode(std::vector<float> logits, const DecodeLoopOptions& options,
                                const TokenCallback& on_token = {});

  // The cache, press state and position, to answer several questions from one compressed context.
  struct Snapshot {
    std::unique_ptr<KVCache> cache;
    std::unique_ptr<Press> press;  // null when the press cannot be cloned
    int32_t next_position = 0;
  };
  // False when the press cannot be cloned (the caller must re-prefill instead).
  bool CanSnapshot() const { return press_ == nullptr || press_->Clone() != nullptr; }
  Snapshot Save() const;
  void Restore(const Snapshot& s);

  // Token ids a context-replaying press (kvzip) needs (Press::ReplaysContext); kept by copy.
  // Without them such a press fails the kPrefill Prefill with FailedPrecondition.
  void set_replay_prompts(const ContextReplayPrompts& p) {
    replay_prompts_ = p;
    has_replay_prompts_ = true;
  }

  // The flag Prefill polls (may be null: never cancelled); not owned.
  void set_cancel(const std::atomic<bool>* cancel) { cancel_ = cancel; }

  const KVCache& cache() const { return *cache_; }
  int32_t next_position() const { return next_position_; }
  // Run-level metrics so far (timings, token counts, cache and press figures).
  Metrics CurrentMetrics() const;
  // Per-layer slots of KV head 0..KV-1, max over heads: [L].
  std::vector<int> KeptPerLayer() const;

 private:
  Transformer& model_;
  Press* press_;
  std::unique_ptr<Press> restored_press_;  // owns press_ after a Restore
  std::unique_ptr<KVCache> cache_;
  int prefill_chunk_;
  const std::atomic<bool>* cancel_ = nullptr;
  int press_chunk_;
  Status attach_status_;  // what press_->Attach said; Prefill reports it
  int32_t next_position_ = 0;
  ContextReplayPrompts replay_prompts_;
  bool has_replay_prompts_ = false;
  friend class DecodeState;
  friend class SessionContextRunner;
  friend class BatchDecoder;
  // Moves the next position past `n_tokens` just forwarded; after a press that re-numbers the kept
  // slots (key_rerotation, finch) it follows the cache instead: 1 + its highest position.
  void AdvancePosition(int32_t n_tokens);
  // Forwards `id` as the next decode token; adds the forward time.
  Status ForwardDecodeToken(int32_t id, std::vector<float>& logits);
  // Marks the first sampled token (time to first token).
  void NoteFirstToken();

  Metrics metrics_;  // timings and token counts; cache/press figures filled by CurrentMetrics()
  double start_ = 0;
  double decode_wall_ = 0;  // wall time inside Decode loops
  bool first_token_seen_ = false;
};

}  // namespace kvpress
