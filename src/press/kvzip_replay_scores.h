// The scoring kernel of kvzip's context replay (kvzip_press.cc): softmax rows of replay-query
// logits and a running maximum of the attention they put on the context's slots.
#pragma once

#include <cstddef>

namespace kvpress {

// For each row r < rows of `logits` ([rows, stride] f32, already scaled by 1/sqrt(head_dim)):
//   a_r(j) = exp(l_rj - max_k l_rk) / sum_k exp(l_rk - max_k l_rk)   over j, k < visible[r]
//   best[j - lo] = max(best[j - lo], a_r(j))                          for lo <= j < hi
// Requires 0 < visible[r] <= stride and hi <= visible[r] for every row (the context slots
// [lo, hi) are visible to every replay query). Overwrites the visible logits with exp(l - max).
// SIMD (Highway's Exp, within a few ulp of std::exp; sums in f32 lanes).
void AccumulateReplayMaxAttention(float* logits, size_t stride, int rows, const int* visible,
                                  int lo, int hi, float* best);

}  // namespace kvpress
