// Scaled dot-product attention of one query head over one KV head's ragged slots.
#pragma once

#include <cstdint>

#include "ops/dtype.h"

namespace kvpress {

// Read-only view of one (layer, KV head) of the cache: n slots in ascending position order.
// A thin prefix (ThinK's pruned key channels, KVCache::ThinKeys): slots [0, n_thin) store only the
// key channels kept_channels[0..d_kept) in thin_keys, the others being zero; `keys` then holds the
// slots n_thin..n−1 only. The attention kernels score a thin slot with the query gathered to the
// kept channels (the same q·k as over the zero-filled key). n_thin = 0: every key has head_dim.
struct KVHeadView {
  DType dtype = DType::kF32;         // storage type of keys and values (F32/F16/BF16)
  const void* keys = nullptr;        // [n − n_thin, head_dim], post-RoPE: slots n_thin..n−1
  const void* values = nullptr;      // [n, head_dim]
  const int32_t* positions = nullptr;  // [n] absolute positions
  int n = 0;
  int n_thin = 0;                          // slots with thin keys (a prefix)
  int d_kept = 0;                          // channels a thin key keeps
  const void* thin_keys = nullptr;         // [n_thin, d_kept], post-RoPE
  const int32_t* kept_channels = nullptr;  // [d_kept] ascending, in [0, head_dim)
};

// q[kept_channels[c]] for c < kv.d_kept into out[d_kept]: the query a thin key is scored with.
void GatherKeptChannels(const KVHeadView& kv, const float* q, float* out);

// out[head_dim] = Σ_j p_j v_j with p = softmax(scale · q·k_j) over the slots j visible from q_pos:
// pos_j ≤ q_pos, and pos_j > q_pos − window when window > 0 (sliding window).
// On return probs[0..n) holds p (0 for masked slots). probs: scratch of ≥ n floats.
// Returns false (and zeroes out) when no slot is visible.
bool AttendHead(const float* q, const KVHeadView& kv, int head_dim, int32_t q_pos, int window,
                float scale, float* probs, float* out);

// Scalar double-precision reference of AttendHead, for tests.
bool AttendHeadReference(const float* q, const KVHeadView& kv, int head_dim, int32_t q_pos,
                         int window, float scale, float* probs, float* out);

}  // namespace kvpress
