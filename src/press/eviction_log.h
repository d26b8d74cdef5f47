// --eviction-log: one CSV row per prune event and KV head, with the reasoning fork's columns
// (reference §3.3): prune_step, layer_idx, head_idx, kv_len_pre, attn_len, diff_indices, attn_loss,
// evicted_positions. attn_loss = attention mass the current (last) query of the forward put on the
// evicted slots (group mean over the KV head's query heads) — what the eviction cost right now.
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <vector>
#include <span>
#include <string>

#include "core/status.h"
#include "model/layer_hook.h"

namespace kvpress {

class EvictionLog {
 public:
  // Creates/truncates `path` and writes the header.
  static StatusOr<std::unique_ptr<EvictionLog>> Open(const std::string& path);

  // Records the prune of (ctx.layer, kv_head) that keeps `keep` (ascending slot indices) out of the
  // slots present now (call before Retain).
  void Record(const LayerHookContext& ctx, int kv_head, std::span<const int> keep);

  int64_t rows() const { return prune_step_; }
  // Number of query heads of the model (the queries row width / head_dim).
  void set_n_heads(int n) { n_heads_hint_ = n; }

 private:
  int n_heads_hint_ = 0;
  std::ofstream out_;
  int64_t prune_step_ = 0;
};

// Group-mean attention of the forward's last query over the slots of (ctx.layer, kv_head): [Size].
std::vector<float> LastQueryAttention(const LayerHookContext& ctx, int kv_head, int n_heads, int head_dim);

}  // namespace kvpress
