// ScorerPress: score every slot of a KV head, protect some, keep the top k (DESIGN.md, reference
// §1.3–1.4). Subclasses implement Score() and, for accumulating presses, Observe()/OnRetain().
//
// When pruning happens (per layer, every KV head the same target):
//   prefill (last chunk of the context)  cache_budget B: n > B → keep B;  ratio r: keep ⌊n(1−r)⌋
//   decode step                          cache_budget B: n > B (+interval) → keep B;
//                                        target_size T: every `interval` steps, n > T → keep T
//   question tokens (pipeline)           target_size T only, as upstream DecodingPress: the question's
//                                        forward counts as one decoding step, and prunes when
//                                        q_len ≥ T; otherwise never
// Ties in score keep the more recent slot (higher position).
#pragma once

#include <span>
#include <vector>

#include "press/layer_compressor.h"
#include "press/press.h"

namespace kvpress {

class ScorerPress : public Press, public LayerCompressor {
 public:
  // Slots of (layer, kv_head) that will be kept by TopK for `scores`: the `k` highest, ties to the
  // higher position; returned in ascending slot order.
  static std::vector<int> TopK(std::span<const float> scores, std::span<const int32_t> positions, int k);

  void Reset() override;

  // LayerCompressor: every head of ctx.layer to n_kept slots (by TopK of Score).
  void ObserveChunk(const LayerHookContext& ctx) override { Observe(ctx); }
  void CompressLayer(const LayerHookContext& ctx, int n_kept, double, bool decoding) override {
    PruneLayer(ctx, n_kept, decoding);
  }
  bool ScoreHead(const LayerHookContext& ctx, int kv_head, bool decoding, std::vector<float>& scores) override {
    scores.assign(static_cast<size_t>(ctx.cache->Size(ctx.layer, kv_head)), 0.0f);
    Score(ctx, kv_head, decoding, scores);
    return true;
  }
  void RetainHead(const LayerHookContext& ctx, int kv_head, std::span<const int> keep) override;

 protected:
  // Scores [Size(layer, kv_head)] for the current cache of ctx.layer (higher = keep). `decoding`
  // tells the phase. Protected slots should get +infinity.
  virtual void Score(const LayerHookContext& ctx, int kv_head, bool decoding, std::vector<float>& scores) = 0;
  // Sees every forward chunk of every phase before any pruning (accumulators).
  virtual void Observe(const LayerHookContext& ctx) {}
  // Called after (layer, kv_head) kept `keep` (ascending old slot indices): gather per-slot state.
  virtual void OnRetain(int layer, int kv_head, std::span<const int> keep) {}
  // Decoding interval this press uses when the budget policy gives none (compression_interval 0),
  // e.g. R-KV's 64-step buffer; 0 = prune at every step (cache_budget) / 512 steps (target_size).
  virtual int DefaultInterval() const { return 0; }

  void OnPrefill(const LayerHookContext& ctx) override;
  void OnQuestion(const LayerHookContext& ctx) override;
  void OnDecode(const LayerHookContext& ctx) override;

  // Prunes every KV head of ctx.layer to `target` slots (no-op for heads at or below it).
  void PruneLayer(const LayerHookContext& ctx, int target, bool decoding);

 private:
  // target_size policy: counts one step for this forward and prunes when upstream DecodingPress
  // would (steps ≥ interval or the forward has ≥ target tokens).
  void TargetSizeStep(const LayerHookContext& ctx);

  std::vector<int> decode_steps_;  // [L] decode steps since the last prune (interval policies)
};

// Number of queries of this forward chunk that could see each slot of (layer, kv_head) under the
// causal (and sliding-window) mask: [Size].
std::vector<float> VisibleQueryCounts(const LayerHookContext& ctx, int kv_head);

// 1-D average pooling, stride 1, zero padding kernel/2 on both ends, divided by `kernel`
// everywhere (SnapKV's F.avg_pool1d with count_include_pad).
std::vector<float> AvgPool1d(std::span<const float> x, int kernel);
// 1-D max pooling, stride 1, padding kernel/2 (padding ignored).
std::vector<float> MaxPool1d(std::span<const float> x, int kernel);

}  // namespace kvpress
