// Press: the interface every KV-cache compression method implements. A press is a LayerHook the
// forward pass calls after each layer's attention; it prunes the layer's cache with KVCache::Retain.
// Per-layer state lives in the press instance (one instance per sequence being generated).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/config.h"
#include "model/layer_hook.h"

namespace kvpress {

// How many slots each KV head keeps, and when (DESIGN.md "Phases").
struct BudgetPolicy {
  // Fork semantics: tokens per KV head per layer, enforced after the prefill and at every decode
  // step (the new token is appended, attention runs over budget+1 slots, then back to budget).
  int cache_budget = 0;
  // Upstream semantics: fraction of the prefill's slots removed (ratio mode, prefill only).
  // Upstream and --compression-ratio call it compression_ratio; the metric of that name is the
  // fraction retained.
  double removed_fraction = 0.0;
  // Decoding interval: with cache_budget, prune only once the cache reaches budget + interval
  // (R-KV's buffer); with target_size (upstream DecodingPress), prune every `interval` steps.
  int compression_interval = 0;
  int target_size = 0;  // upstream DecodingPress target (used when cache_budget == 0)
};

// Time spent inside press code, per phase (what the fork calls prefill_time/decoding_time).
struct PressTimes {
  double prefill_seconds = 0;
  double decoding_seconds = 0;
};

// Token ids a press that replays its context (KVzip) needs from the tokenizer and chat template.
// The generate layer fills them (BuildPipelinePrompt); a press cannot tokenize.
struct ContextReplayPrompts {
  int prefix_length = 0;              // template tokens before the context text (not replayed)
  std::vector<int32_t> repeat_first;  // instruction before the first chunk
  std::vector<int32_t>
      repeat_next;              // instruction before a later chunk (then its predecessor's tail)
  std::vector<int32_t> suffix;  // template's end of turn + assistant header
};

// What the session offers a press once the context prefill is over (Press::AfterContext): extra
// forwards on top of the context's cache whose slots are dropped again afterwards.
class ContextRunner {
 public:
  virtual ~ContextRunner() = default;
  // The ids just prefilled in kPrefill (positions 0..n-1 of this request's context).
  virtual std::span<const int32_t> context() const = 0;
  // The replay prompts the caller gave the session; null when none were given.
  virtual const ContextReplayPrompts* prompts() const = 0;
  // Forwards `ids` at the positions after the context (after the earlier Forward calls since the
  // last Discard), in phase kQuestion: the press sees every layer through OnQuestion, and nothing
  // else compresses. Their slots stay in the cache until DiscardAfterContext.
  virtual Status Forward(std::span<const int32_t> ids) = 0;
  // Drops every slot whose position is at or after the end of the context, in every layer and
  // KV head, and rewinds the next position to the end of the context.
  virtual void DiscardAfterContext() = 0;
  // The session's cache (the context's slots, plus those of Forward until the discard).
  virtual KVCache& cache() = 0;
};

class Press : public LayerHook {
 public:
  ~Press() override = default;

  // Registered name (e.g. "snapkv_d").
  virtual std::string Name() const = 0;

  // Binds the press to a model before the first forward; resets all per-layer state.
  virtual Status Attach(const ModelConfig& config);
  // Forgets per-layer state (a new, empty cache follows).
  virtual void Reset() {}

  // A deep copy with the same per-layer state, so a compressed context can be snapshotted together
  // with its cache and reused for several questions. nullptr when the press cannot be copied (the
  // pipeline then re-prefills the context for each question).
  virtual std::unique_ptr<Press> Clone() const { return nullptr; }

  // LayerHook: times the press code and dispatches to OnPrefill / OnQuestion / OnDecode.
  void AfterAttention(const LayerHookContext& ctx) final;
  // LayerHook: times OnBeforeAttention (most presses do nothing before attention).
  void BeforeAttention(const LayerHookContext& ctx) final;

  // Whether the session must call AfterContext after each kPrefill prompt (KVzip's replay passes).
  virtual bool ReplaysContext() const { return false; }
  // Called by the session after a kPrefill prompt when ReplaysContext(): the press may run extra
  // forwards through `runner` (they must be discarded before returning) and prune the cache. The
  // session adds the wall time of this call to the press's prefill time. Default: nothing.
  virtual Status AfterContext(ContextRunner& runner) { return Status::Ok(); }

  const PressTimes& times() const { return times_; }
  void ResetTimes() { times_ = {}; }
  void SetTimes(const PressTimes& t) { times_ = t; }

  // Logs every prune to `log` (not owned; null = off). Wrappers pass it on to the presses they wrap.
  virtual void set_eviction_log(class EvictionLog* log) { eviction_log_ = log; }

  // True when the press re-numbers kept slots to contiguous positions (key_rerotation, finch): the
  // caller then takes the next position from the cache (KVCache::NextPosition) after each forward
  // instead of counting tokens, as upstream's pipeline does with cache.get_seq_length().
  virtual bool RenumbersPositions() const { return false; }

  // True when the press scores the context against the user's question inside the same prefill
  // (finch): the caller must give the question's token count with the kPrefill prompt
  // (Session::Prefill's question_tokens; ForwardInfo::question_tokens), else the prefill fails.
  virtual bool NeedsQuestionTokens() const { return false; }

  const BudgetPolicy& budget() const { return budget_; }
  // Wrappers keep the budgets their inner presses were created with (a child spec may carry its own).
  virtual void set_budget(const BudgetPolicy& b) { budget_ = b; }

 protected:
  virtual void OnPrefill(const LayerHookContext& ctx) = 0;
  virtual void OnQuestion(const LayerHookContext& ctx) {}
  virtual void OnDecode(const LayerHookContext& ctx) = 0;
  // Runs before the layer's attention reads the cache (see LayerHook::BeforeAttention).
  virtual void OnBeforeAttention(const LayerHookContext& ctx) {}
  // Whether OnBeforeAttention does anything (spares the timer for every other press).
  virtual bool RewritesBeforeAttention() const { return false; }

  const ModelConfig& config() const { return config_; }

  BudgetPolicy budget_;
  ModelConfig config_;
  class EvictionLog* eviction_log_ = nullptr;

 private:
  PressTimes times_;
};

}  // namespace kvpress
