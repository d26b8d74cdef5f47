// KVCache: per layer × KV head ragged storage of {keys (post-RoPE), values, absolute positions,
// pre-RoPE key norms}. A head that keeps 100 slots holds 100 slots of memory; Retain() is the only
// way slots leave, and kept slots stay in ascending position order.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ops/attention.h"
#include "ops/dtype.h"
#include "ops/rope.h"

namespace kvpress {

class KVCache {
 public:
  // An empty cache for `n_layers` × `n_kv_heads` heads of `head_dim`, K/V stored as `dtype`
  // (f32, f16 or bf16).
  KVCache(int n_layers, int n_kv_heads, int head_dim, DType dtype = DType::kF32);

  int n_layers() const { return n_layers_; }
  int n_kv_heads() const { return n_kv_heads_; }
  int head_dim() const { return head_dim_; }
  DType dtype() const { return dtype_; }

  // Appends one slot to (layer, kv_head). key/value: [head_dim] f32 (converted to the cache dtype).
  // `key_norm` is ‖k‖ before RoPE (RoPE is orthogonal, so it equals the stored key's norm in exact
  // arithmetic; keeping it makes equal tokens tie exactly). Positions must increase per head.
  void Append(int layer, int kv_head, const float* key, const float* value, int32_t position,
              float key_norm);

  // Number of slots held by (layer, kv_head).
  int Size(int layer, int kv_head) const;
  // Largest Size over all heads (of one layer, or of the whole cache).
  int MaxSize() const;
  int MaxSize(int layer) const;

  // Read-only view for attention; invalidated by Append/Retain/Clear on the same head.
  KVHeadView View(int layer, int kv_head) const;
  // Absolute positions [Size] and pre-RoPE key norms [Size] of a head.
  std::span<const int32_t> Positions(int layer, int kv_head) const;
  std::span<const float> KeyNorms(int layer, int kv_head) const;
  // Slot `slot`'s key / value widened to f32 into out[head_dim].
  void KeyAt(int layer, int kv_head, int slot, float* out) const;
  void ValueAt(int layer, int kv_head, int slot, float* out) const;

  // Keeps only the slots whose indices are listed in `keep` (any order, no duplicates); the kept
  // slots stay in ascending position order and memory is shrunk to fit.
  void Retain(int layer, int kv_head, std::span<const int> keep);
  // Retain for several heads of one layer: kv_heads[i] keeps keeps[i] (distinct heads), the
  // heads' slot moves spread over up to `threads` threads. Same result as Retain head by head.
  void RetainHeads(int layer, std::span<const int> kv_heads, std::span<const std::vector<int>> keeps, int threads);

  // ThinK's key-channel pruning with the memory freed: slots [0, n_slots) of (layer, kv_head) keep
  // only the key channels `kept` (ascending, in [0, head_dim)) and become the head's thin prefix
  // (KVHeadView::n_thin): their keys are stored at width |kept|, and read back (KeyAt, attention)
  // as keys whose other channels are zero — exactly upstream's masked keys. n_slots must cover any
  // earlier thin prefix (a second call re-thins it; channels pruned before stay zero). Later slots
  // keep full keys. The recorded key norms follow the thinned keys. Retain keeps a prefix a prefix.
  void ThinKeys(int layer, int kv_head, std::span<const int> kept, int n_slots);
  // Slots of (layer, kv_head) with thin keys (a prefix), and the key channels they keep.
  int ThinSlots(int layer, int kv_head) const;
  std::span<const int32_t> KeptChannels(int layer, int kv_head) const;

  // Re-numbers the slots of (layer, kv_head) to `positions` ([Size], ascending) and rotates each
  // stored key in place by RoPE(new − old position) with `inv_freq` [head_dim/2] and `style`: RoPE
  // angles add, so the key becomes the one computed at its new position (KeyRerotation / FINCH /
  // SinkCache compaction). Values and the pre-RoPE key norms are unchanged.
  // Thin slots (ThinKeys) are widened, rotated and thinned again: the part a rotation moves into a
  // pruned channel is dropped (that channel stays zero, as after upstream's mask).
  void Renumber(int layer, int kv_head, std::span<const int32_t> positions, const float* inv_freq, RopeStyle style);
  // 1 + the highest position any head holds; 0 when the cache is empty.
  int32_t NextPosition() const;
  // Overwrites the value of slot `slot` of (layer, kv_head) in place with value[head_dim] (f32,
  // converted to the cache dtype); key, position and memory unchanged (merging presses fold evicted
  // values into kept ones).
  void SetValue(int layer, int kv_head, int slot, const float* value);

  // Drops every slot (statistics too).
  void Clear();

  // Bytes of key+value storage held now (live slots, not spare capacity) and the peak since
  // construction or ResetPeak().
  size_t LiveBytes() const { return live_bytes_; }
  size_t PeakBytes() const { return peak_bytes_; }
  void ResetPeak() { peak_bytes_ = live_bytes_; }
  // Raises the peak figures to at least these (used when a snapshot replaces the cache).
  void KeepPeakAtLeast(size_t bytes, int head_slots) {
    peak_bytes_ = std::max(peak_bytes_, bytes);
    peak_head_slots_ = std::max(peak_head_slots_, head_slots);
  }
  // Bytes a press holds on this cache's behalf outside its slots (ShadowKV's low-rank key factors,
  // values and landmarks): replaces the previous figure; counted in LiveBytes and the peak.
  void SetSideBytes(size_t bytes);
  size_t SideBytes() const { return side_bytes_; }

  // Bytes of K+V one slot with a full key takes (a thin slot: RowBytes(dtype, |kept|) + the value).
  size_t SlotBytes() const { return 2 * RowBytes(dtype_, static_cast<size_t>(head_dim_)); }

  // Most slots any single head has held at once since construction (includes the transient +1 of a
  // decode step before pruning).
  int PeakHeadSlots() const { return peak_head_slots_; }

  // Slots evicted, summed over all heads.
  int64_t EvictedSlots() const { return evicted_; }
  // Live slots / appended slots (1.0 when nothing was evicted or nothing appended).
  double RetainedFraction() const;

 private:
  // Slot i lives at storage row `start + i`: rows before `start` are dead space left by evictions
  // near the front (moving the few slots before an evicted one is cheaper than the many after it).
  // A thin prefix (ThinKeys) keeps start 0: its slots' keys live in thin_keys, the later slots' in
  // keys, slot i ≥ n_thin at keys row start + i − n_thin.
  struct Head {
    size_t start = 0;
    std::vector<uint8_t> keys;       // [start + n − n_thin, head_dim] in dtype_
    std::vector<uint8_t> values;     // [start + n, head_dim] in dtype_
    std::vector<int32_t> positions;  // [start + n]
    std::vector<float> key_norms;    // [start + n]
    int n_thin = 0;                      // slots [0, n_thin) have thin keys
    std::vector<int32_t> kept_channels;  // [d_kept] the channels thin keys keep
    std::vector<uint8_t> thin_keys;      // [n_thin, d_kept] in dtype_
  };
  // Slot `slot`'s full key row (slot ≥ n_thin).
  uint8_t* FullKeyRow(Head& h, int slot) {
    return h.keys.data() + (h.start + static_cast<size_t>(slot) - static_cast<size_t>(h.n_thin)) * RowSize();
  }
  // What a Retain removed: bytes of K+V and slots (for live_bytes_ / evicted_).
  struct Removal {
    size_t bytes = 0;
    int64_t slots = 0;
  };
  // Retain's work on one head's storage; touches nothing shared, so distinct heads may run at once.
  Removal RetainStorage(Head& h, std::span<const int> keep) const;
  // Retain for a head with a thin prefix: forward compaction in place, then shrink.
  Removal RetainThin(Head& h, std::span<const int> idx) const;
  Head& At(int layer, int kv_head) { return heads_[static_cast<size_t>(layer * n_kv_heads_ + kv_head)]; }
  const Head& At(int layer, int kv_head) const {
    return heads_[static_cast<size_t>(layer * n_kv_heads_ + kv_head)];
  }
  size_t RowSize() const { return RowBytes(dtype_, static_cast<size_t>(head_dim_)); }

  int n_layers_;
  int n_kv_heads_;
  int head_dim_;
  DType dtype_;
  std::vector<Head> heads_;  // [n_layers * n_kv_heads]
  size_t live_bytes_ = 0;  // slots + side_bytes_
  size_t side_bytes_ = 0;
  size_t peak_bytes_ = 0;
  int64_t appended_ = 0;
  int64_t evicted_ = 0;
  int peak_head_slots_ = 0;
};

}  // namespace kvpress
