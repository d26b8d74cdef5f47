// Blocked (flash-style) causal attention of a chunk of queries over ragged KV heads: tiles of
// queries × tiles of keys with an online softmax, so no n×n score matrix is ever built. All query
// heads of a GQA group share each key/value tile; tiles wholly in the future (or out of the sliding
// window) are skipped and only the tiles crossing the mask boundary are masked element by element.
#pragma once

#include <cstdint>
#include <span>

#include "ops/attention.h"

namespace kvpress {

// The queries of one forward chunk.
struct AttentionQueries {
  const float* q = nullptr;            // [n, n_heads, head_dim] post-RoPE queries
  const int32_t* positions = nullptr;  // [n] absolute positions, increasing
  int n = 0;
  int n_heads = 0;   // query heads; a multiple of the number of KV heads
  int head_dim = 0;
};

// Per-key attention mass presses ask for, added into rows the caller zeroed. Row h belongs to
// query head h and has one entry per slot of KV head h / group.
struct AttentionColumnSums {
  float* const* all = nullptr;     // [n_heads] rows [slots] or null: += Σ_{t < n} p(t, h, j)
  float* const* window = nullptr;  // [n_heads] rows [slots] or null: += Σ_{t ≥ n − last} p(t, h, j)
  int last = 0;                    // queries summed into `window` (clamped to n)
};

// out[t, h, :] = Σ_j p(t, h, j) v_j with p = softmax(scale · q(t, h)·k_j) over the slots of
// kv[h / group] visible from positions[t] (the masks of AttendHead: pos_j ≤ q_pos and, when
// window > 0, pos_j > q_pos − window); a query that sees no slot gets zeros. Equal to AttendHead
// per (t, h) up to f32 rounding; when `sums` is not null its rows get the same per-key sums the
// probs of AttendHead would give. kv: [n_kv_heads] views with the same dtype (F32/F16/BF16).
// out: [n, n_heads, head_dim]. SIMD (Highway), parallel over (KV head, query tile) on `threads`
// OpenMP threads.
void AttendBlocked(const AttentionQueries& queries, std::span<const KVHeadView> kv, int window,
                   float scale, const AttentionColumnSums* sums, float* out, int threads);

// Whether AttendBlocked beats one AttendHead per (query, head) for `n` queries of `group` heads
// per KV head (it needs about a SIMD vector's worth of query rows per KV head).
bool PreferBlockedAttention(int n, int group);

}  // namespace kvpress
