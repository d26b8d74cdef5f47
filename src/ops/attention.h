// Scaled dot-product attention of one query head over one KV head's ragged slots.
#pragma once

#include <cstdint>

#include "ops/dtype.h"

namespace kvpress {

// Read-only view of one (layer, KV head) of the cache: n slots in ascending position order.
struct KVHeadView {
  DType dtype = DType::kF32;         // storage type of keys and values (F32/F16/BF16)
  const void* keys = nullptr;        // [n, head_dim], post-RoPE
  const void* values = nullptr;      // [n, head_dim]
  const int32_t* positions = nullptr;  // [n] absolute positions
  int n = 0;
};

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
