// The many-token (prefill, batched decoding) product of bf16 weights on CPUs with AVX512-BF16:
// activations rounded to bf16 and packed as pairs of neighbouring columns per token (one 32-bit
// word), each weight word (two neighbouring columns of a row) broadcast against 16 tokens' words by
// vdpbf16ps, an outer-product micro-kernel of 8 rows × 48 tokens (8 × 32, and 8 rows × 16 tokens ×
// 2 column phases for a batch of 16). The weights are read where they are stored (no widening). The
// error this adds is that of rounding the activations to bf16, as bf16_dot.h; MatMul takes it
// under the same switch.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ops/matmul.h"

namespace kvpress {

// Tokens per packed tile for a product of n tokens: 48 (three 16-lane vectors) from 48 tokens,
// else n rounded up to 16 (batched decoding: one or two vectors, packed without idle lanes).
int Bf16TileTokens(int n);

// 32-bit words PackBf16Activations writes for n tokens of `cols` values.
size_t Bf16PackedWords(int n, size_t cols);

// Tiles [tile0, tile1) of x [n, cols] rounded to bf16 (nearest even) into xp [tiles, ceil(cols /
// 2), Bf16TileTokens(n)] words: word (p, t) holds token t's columns 2p (low half) and 2p + 1 (high
// half; 0 past cols); tokens past n are zero. Requires Bf16DotSupported().
void PackBf16Activations(const float* x, int n, size_t cols, int tile0, int tile1, uint32_t* xp);

// y[t, r] = Σ_c W[r, c] · x[t, c] for rows [r0, r1) of a bf16 w and tokens [t0, t1) of the n, t0 a
// multiple of Bf16TileTokens(n), from xp = PackBf16Activations(x, n). y: [n, ldy]. One thread.
// Requires Bf16DotSupported().
void Bf16GemmBlock(const MatrixView& w, const uint32_t* xp, int n, float* y, size_t ldy, int64_t r0,
                   int64_t r1, int t0, int t1);

}  // namespace kvpress
