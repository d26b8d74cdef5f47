// Recent post-RoPE queries per layer and the window attention that R-KV-style presses compute from
// them over the *current* cache (reference §1.7.2, §2.D; porting checklist §10.4).
//
// The fork recomputed the window queries of a decoding step from buffered hidden states, rotated
// all of them with the current token's RoPE and masked keys by the buffer length. Here every query
// is stored after the model rotated it with its own absolute position, and the causal (and sliding
// window) mask compares slot positions with each query's position, as the model's attention does.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/layer_hook.h"

namespace kvpress {

// A per-layer ring of the post-RoPE queries [H*hd] of the last `window` tokens the layer processed
// (any phase, across forward chunks), with their positions.
class RecentQueries {
 public:
  void Reset(int n_layers, int n_heads, int head_dim, int window);
  // Appends the last min(window, ctx.n_tokens) queries of the chunk to ctx.layer's ring.
  void Push(const LayerHookContext& ctx);

  int window() const { return window_; }
  int n_heads() const { return n_heads_; }
  // Queries held for `layer` (≤ window).
  int Count(int layer) const { return count_[static_cast<size_t>(layer)]; }
  // i-th held query of `layer`, oldest first: [H*hd] and its absolute position.
  const float* Query(int layer, int i) const;
  int32_t Position(int layer, int i) const;

 private:
  int Slot(int layer, int i) const;
  int n_heads_ = 0, head_dim_ = 0, window_ = 0;
  std::vector<std::vector<float>> q_;      // [L][min(pushed, window) * H * hd]
  std::vector<std::vector<int32_t>> pos_;  // [L][min(pushed, window)]
  std::vector<int> count_, next_;          // [L]
};

// How window attention is reduced to one importance value per slot of a KV head.
enum class WindowAttention {
  // Official R-KV (Zefan-Cai/R-KV `compute_attention_scores(pooling="max")` then softmax): per
  // query i, m_ij = max over the group's heads g of q_gi·k_j/√hd; p_ij = softmax of m_i· over the
  // *older* visible slots only; importance_j = mean_i p_ij.
  kOfficialMaxLogits,
  // kvpress / reasoning fork (`compute_window_attention`): per head g and query i, softmax of
  // q_gi·k_j/√hd over *all* visible slots; keep the older columns; importance_j =
  // max_g mean_i p_gij.
  kForkMaxProbs,
};

// Importance of the first `n_old` slots of (ctx.layer, kv_head) under the held queries of the
// layer. keys: the head's keys [n, hd] as f32 (post-RoPE, as stored). Slots a query cannot see
// (position after it, or outside the model's sliding window) get probability 0 from it. [n_old].
std::vector<float> WindowImportance(const RecentQueries& queries, const LayerHookContext& ctx,
                                    int kv_head, std::span<const float> keys, int n_old,
                                    WindowAttention mode);

// The head's keys [n, hd] widened to f32.
std::vector<float> LoadKeys(const LayerHookContext& ctx, int kv_head);

}  // namespace kvpress
