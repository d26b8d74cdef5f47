// The two score kernels of Compactor (Chari & Van Durme, arXiv:2507.08143), shared by the
// `leverage`, `non_causal_attention` and `compactor` presses. Plain functions over dense buffers.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace kvpress {

// Ridge leverage of the rows of X = (K − mean K) Φ: score_j = max(0, x_jᵀ (XᵀX + 0.01 I)⁻¹ x_j).
// keys: [n, d] pre-RoPE keys (row-major). sketch > 0: Φ [d, sketch] Gaussian N(0, 1/sketch) drawn
// from std::mt19937_64(rng_seed); sketch = 0: Φ = I (exact ridge leverage). Returns [n].
std::vector<double> RidgeLeverageScores(std::span<const double> keys, int n, int d, int sketch,
                                        uint64_t rng_seed);

// Column sums of non-causal attention inside chunks of `chunk` consecutive slots (from slot 0),
// unscaled logits q·k, the last short chunk padded as upstream pads it, averaged over the query
// heads [h_begin, h_end). queries: row i at queries + i * q_row_stride, head h at + h * hd
// (post-RoPE); keys: [n, hd] (post-RoPE). Returns A [n].
std::vector<double> NonCausalChunkAttention(const float* queries, size_t q_row_stride,
                                            const float* keys, int n, int hd, int h_begin,
                                            int h_end, int chunk);

}  // namespace kvpress
