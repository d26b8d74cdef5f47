// KVCache: per layer × KV head ragged storage of {keys (post-RoPE), values, absolute positions}.
// A head that keeps 100 slots holds 100 slots of memory; Retain() is the only way slots leave.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ops/attention.h"

namespace kvpress {

class KVCache {
 public:
  // An empty cache for `n_layers` × `n_kv_heads` heads of `head_dim` (f32 storage).
  KVCache(int n_layers, int n_kv_heads, int head_dim);

  int n_layers() const { return n_layers_; }
  int n_kv_heads() const { return n_kv_heads_; }
  int head_dim() const { return head_dim_; }

  // Appends one slot to (layer, kv_head). key/value: [head_dim]. Positions must increase.
  void Append(int layer, int kv_head, const float* key, const float* value, int32_t position);

  // Number of slots held by (layer, kv_head).
  int Size(int layer, int kv_head) const;
  // Largest Size over all heads.
  int MaxSize() const;

  // Read-only view for attention; invalidated by Append/Retain/Clear on the same head.
  KVHeadView View(int layer, int kv_head) const;

  // Keeps only the slots whose indices are listed in `keep` (any order, no duplicates); the kept
  // slots stay in ascending position order and memory is shrunk to fit.
  void Retain(int layer, int kv_head, std::span<const int> keep);

  // Drops every slot.
  void Clear();

  // Bytes of key+value storage held now (the slots, not spare capacity) and the peak since
  // construction or ResetPeak().
  size_t LiveBytes() const { return live_bytes_; }
  size_t PeakBytes() const { return peak_bytes_; }
  void ResetPeak() { peak_bytes_ = live_bytes_; }

 private:
  struct Head {
    std::vector<float> keys;        // [n, head_dim]
    std::vector<float> values;      // [n, head_dim]
    std::vector<int32_t> positions;  // [n]
  };
  Head& At(int layer, int kv_head) { return heads_[static_cast<size_t>(layer * n_kv_heads_ + kv_head)]; }
  const Head& At(int layer, int kv_head) const {
    return heads_[static_cast<size_t>(layer * n_kv_heads_ + kv_head)];
  }
  size_t SlotBytes() const { return 2 * sizeof(float) * static_cast<size_t>(head_dim_); }

  int n_layers_;
  int n_kv_heads_;
  int head_dim_;
  std::vector<Head> heads_;  // [n_layers * n_kv_heads]
  size_t live_bytes_ = 0;
  size_t peak_bytes_ = 0;
};

}  // namespace kvpress
