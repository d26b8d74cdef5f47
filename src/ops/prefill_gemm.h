// The many-token matrix multiply of prefill: y = x · Wᵀ with activations packed token-major and
// weight rows widened to f32 per task, through an outer-product micro-kernel (no horizontal sums).
#pragma once

#include <cstddef>
#include <cstdint>

#include <hwy/aligned_allocator.h>

#include "ops/matmul.h"

namespace kvpress {

// Tokens per packed f32 activation tile: every target's micro-kernel covers this many tokens
// (AVX-512: one pass of 3 × 16 lanes; AVX2: two passes of 3 × 8).
inline constexpr int kGemmTileTokens = 48;
// Tokens per int8 activation tile of prefill (PackedInt8Activations; 16 for small batches).
inline constexpr int kInt8TileTokens = 32;

// Floats PackActivations writes for n tokens of `cols` values: ceil(n / 48) tiles of [cols, 48].
size_t PackedActivationFloats(int n, size_t cols);

// Packs tiles [tile0, tile1) of x [n, cols] into xp [tiles, cols, kGemmTileTokens] (f32), token
// minor, tokens past n zero. xp must hold PackedActivationFloats(n, cols) floats.
void PackActivations(const float* x, int n, size_t cols, int tile0, int tile1, float* xp);

// y[t, r] = Σ_c wf[r - r0, c] · x[t, c] for rows [r0, r1) and tokens [t0, t1), where wf holds the
// rows [r0, r1) widened to f32 ([r1 - r0, cols], rows padded with zeros to a multiple of 8 —
// GemmRowPadding), xp = PackActivations(x) and t0 is a multiple of kGemmTileTokens.
// y: [n, ldy]. SIMD (Highway, runtime dispatch), one thread.
void PrefillGemmBlock(const float* wf, size_t cols, const float* xp, float* y, size_t ldy, int64_t r0,
                      int64_t r1, int t0, int t1);

// A growable float buffer aligned for SIMD loads (one per thread where used as thread_local).
class AlignedScratch {
 public:
  // A buffer of at least n floats; contents are not kept across growth.
  float* Get(size_t n) {
    if (n > capacity_) {
      data_ = hwy::AllocateAligned<float>(n);
      capacity_ = n;
    }
    return data_.get();
  }

 private:
  hwy::AlignedFreeUniquePtr<float[]> data_;
  size_t capacity_ = 0;
};

// Rows the weight buffer of PrefillGemmBlock is padded to (a multiple of).
inline constexpr int kGemmRowPadding = 8;

// Widens rows [r0, r1) of w to f32 into out ([r1 - r0 rounded up to 8, cols], the pad rows zero):
// f32/f16/bf16 exactly, block-quantized types by the fast dequantizer (DequantizeRowsFast) or, with
// `exact`, the scalar DequantizeRow bit-exact with gguf-py.
void WidenRows(const MatrixView& w, int64_t r0, int64_t r1, bool exact, float* out);

// ---- Int8 path (block-quantized weights, int8 activations; AVX-512 VNNI CPUs) ----

// One token tile of int8 activations, TT = 16 or 32 tokens (PackedInt8Activations::tile_tokens):
// q [nb, 8 quads, TT] int32 words, each the 4 signed bytes of one quad of a token's block;
// start [nb, 3, TT] -128 · Σq over each block's first half, second half and whole (the weights
// enter vpdpbusd as unsigned w + 128, so each sum starts by taking 128 · Σq back); d [nb, TT] the
// blocks' scales; ds [nb, 3, TT] the sums d · Σq over the same parts (what weight offsets
// multiply). Tokens past n are zero throughout.
struct PackedInt8Tile {
  int32_t* q;
  int32_t* start;
  float* d;
  float* ds;
};

// All tiles of one call, in four aligned buffers sized by Words(n) (q) and PartWords(n) (start,
// ds) and DFloats(n) (d).
struct PackedInt8Activations {
  int32_t* q = nullptr;      // [tiles, nb, 8, TT]
  int32_t* start = nullptr;  // [tiles, nb, 3, TT]
  float* d = nullptr;        // [tiles, nb, TT]
  float* ds = nullptr;       // [tiles, nb, 3, TT]
  size_t nb = 0;             // blocks of 32 per token
  // Tokens per tile: 32 (prefill), or 16 for batches of ≤ 16 tokens, which would waste half of a
  // 32-token tile.
  int tile_tokens = kInt8TileTokens;

  static int TileTokensFor(int n) { return n <= 16 ? 16 : kInt8TileTokens; }
  PackedInt8Tile Tile(int tile) const {
    const size_t t = static_cast<size_t>(tile), tt = static_cast<size_t>(tile_tokens);
    return {q + t * nb * 8 * tt, start + t * nb * 3 * tt, d + t * nb * tt, ds + t * nb * 3 * tt};
  }
  size_t Tiles(int n) const { return (static_cast<size_t>(n) + tile_tokens - 1) / static_cast<size_t>(tile_tokens); }
  // 4-byte words each buffer needs for n tokens.
  size_t QWords(int n) const { return Tiles(n) * nb * 8 * static_cast<size_t>(tile_tokens); }
  size_t PartWords(int n) const { return Tiles(n) * nb * 3 * static_cast<size_t>(tile_tokens); }
  size_t DFloats(int n) const { return Tiles(n) * nb * static_cast<size_t>(tile_tokens); }
};

// Whether PrefillGemmInt8Block runs here for weights of type t (a block-quantized type, on a CPU
// with AVX-512 VNNI); otherwise callers widen the rows and take the f32 kernel.
bool Int8GemmSupported(DType t);

// Quantizes the tokens of tile `tile` of x [n, cols] to int8 blocks (the bytes of
// QuantizeActivations, which the decode kernel uses too) and writes blocks [b0, b1) of them into
// the tile (tokens from n to the tile's end as zeros). cols: a multiple of 32. Different threads
// may pack disjoint block ranges at once (each block's words are whole cache lines, so they share
// none). SIMD on the int8 GEMM's targets.
void PackInt8Activations(const float* x, int n, size_t cols, int tile, size_t b0, size_t b1,
                         const PackedInt8Activations& xa);

// The same, scalar (QuantizeActivations, then byte by byte): the reference of tests.
void PackInt8ActivationsReference(const float* x, int n, size_t cols, int tile, size_t b0, size_t b1,
                                  const PackedInt8Activations& xa);

// y[t, r] for rows [r0, r1) of w (block-quantized, Int8GemmSupported) and tokens [t0, t1) (t0 a
// multiple of xa.tile_tokens) from packed int8 activations, in the integer arithmetic of the decode kernel
// (QuantDotReference up to f32 summation order). y: [n, ldy]. One thread.
void PrefillGemmInt8Block(const MatrixView& w, const PackedInt8Activations& xa, float* y, size_t ldy, int64_t r0,
                          int64_t r1, int t0, int t1);

}  // namespace kvpress
