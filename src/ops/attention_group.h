// Decoding attention of a whole GQA group at once: the query heads that share a KV head read
// each key and value row once between them.
#pragma once

#include <cstdint>

#include "ops/attention.h"

namespace kvpress {

// For g < groups (≤ 8): out[g, :] = AttendHead(q[g, :], kv, ...) and probs[g, 0..kv.n) its
// probabilities (0 for masked slots), equal up to f32 rounding (the softmax sum is accumulated in
// f32 here, in double by AttendHead). q: [groups, head_dim] (consecutive query heads);
// probs: scratch of ≥ groups · kv.n floats; out: [groups, head_dim]. Returns false (and zeroes out)
// when no slot is visible. SIMD (Highway), one thread.
bool AttendGroup(const float* q, int groups, const KVHeadView& kv, int head_dim, int32_t q_pos, int window,
                 float scale, float* probs, float* out);

// The largest group AttendGroup takes.
constexpr int kMaxAttendGroup = 8;

}  // namespace kvpress
