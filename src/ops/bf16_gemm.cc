// AVX512-BF16 prefill GEMM of bf16_gemm.h: compiled for that extension with a target attribute and
// called only after Bf16DotSupported() (Highway 1.0 has no such target); stubs elsewhere.
#include "ops/bf16_gemm.h"

#include <cstring>

#include "core/check.h"
#include "ops/bf16_dot.h"

namespace kvpress {

int Bf16TileTokens(int n) { return n >= 48 ? 48 : (n + 15) / 16 * 16; }

size_t Bf16PackedWords(int n, size_t cols) {
  const size_t width = static_cast<size_t>(Bf16TileTokens(n));
  const size_t tiles = (static_cast<size_t>(n) + width - 1) / width;
  return tiles * ((cols + 1) / 2) * width;
}

}  // namespace kvpress

#if defined(__x86_64__)
#include <immintrin.h>

#define KVPRESS_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

// GCC 12's AVX-512 headers build some results (the unpacks of Transpose16x16) from
// _mm*_undefined_*() temporaries, which -Wmaybe-uninitialized reports once they are inlined into a
// target-attribute function.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace kvpress {
namespace {

// Micro-tile shapes: 8 rows (a divisor of MatMul's 32-row tasks: a 12-row tile left 8 rows of each
// task to the one-row tail and ran 1.5x slower) × kVectors 16-token vectors, and for batched
// decoding's single vector two column phases (even and odd column pairs accumulate apart, summed at
// the end): 24, 16 and 16 independent accumulator chains, enough to cover the dot-product latency.
constexpr int kRows = 8;
template <int kVectors>
constexpr int kPhasesFor = kVectors == 1 ? 2 : 1;

// acc[m][j] (tokens 16j..16j+15 of the tile, rows r + m) over all column pairs; kVectors (1..3)
// of the tile's three 16-token vectors hold tokens (a batch of 16 takes one). Each weight word
// (two columns of a row) is broadcast against the token vectors; a ragged last pair (odd cols) is
// read as 16 bits. The next micro-tile's rows are prefetched a line at a time into L2, not L1: the
// token tile of a batch of 16 over 1024 columns (32 KB) is already the size of L1, and prefetches
// into it evicted the tokens still to be read (kernels_bench bf16_cold 1024 × 2816 × 16, two
// threads, 350 → 288 µs with the longer tasks of MatMulMany; `kvpress bench --batch 16` 0.35B BF16
// 325 → 346 tokens/s from the hint alone).
template <int RM, int kVectors, int kPhases>
KVPRESS_BF16_TARGET void MicroTile(const MatrixView& w, int64_t r, const uint32_t* tile,
                                   size_t width, size_t pairs, float* y, size_t ldy, int tokens,
                                   bool prefetch) {
  const size_t cols = static_cast<size_t>(w.cols), full_pairs = cols / 2;
  const uint16_t* rows[RM];
  for (int m = 0; m < RM; ++m) rows[m] = static_cast<const uint16_t*>(w.Row(r + m));
  const size_t next_tile = RM * w.row_bytes;
  __m512 acc[kPhases][RM][kVectors];
  for (int ph = 0; ph < kPhases; ++ph)
    for (int m = 0; m < RM; ++m)
      for (int j = 0; j < kVectors; ++j) acc[ph][m][j] = _mm512_setzero_ps();
  auto step = [&](size_t p, int ph, auto word_of) KVPRESS_BF16_TARGET {
    const uint32_t* xw = tile + p * width;
    __m512i xv[kVectors];
    for (int j = 0; j < kVectors; ++j) xv[j] = _mm512_loadu_si512(xw + 16 * j);
    for (int m = 0; m < RM; ++m) {
      const __m512bh wv = reinterpret_cast<__m512bh>(_mm512_set1_epi32(word_of(m)));
      for (int j = 0; j < kVectors; ++j) {
        acc[ph][m][j] = _mm512_dpbf16_ps(acc[ph][m][j], wv, reinterpret_cast<__m512bh>(xv[j]));
      }
    }
  };
  auto full_word = [&](size_t p) {
    return [&rows, p](int m) {
      int word;
      std::memcpy(&word, rows[m] + 2 * p, 4);
      return word;
    };
  };
  size_t p = 0;
  for (; p + kPhases <= full_pairs; p += kPhases) {
    if (prefetch && p % 16 < kPhases) {
      for (int m = 0; m < RM; ++m) {
        _mm_prefetch(reinterpret_cast<const char*>(rows[m] + 2 * p) + next_tile, _MM_HINT_T1);
      }
    }
    for (int ph = 0; ph < kPhases; ++ph) step(p + ph, ph, full_word(p + ph));
  }
  for (; p < full_pairs; ++p) step(p, 0, full_word(p));
  if (full_pairs < pairs) {
    step(full_pairs, 0, [&](int m) { return static_cast<int>(rows[m][2 * full_pairs]); });
  }
  alignas(64) float out[16 * kVectors];
  for (int m = 0; m < RM; ++m) {
    for (int j = 0; j < kVectors; ++j) {
      __m512 sum = acc[0][m][j];
      for (int ph = 1; ph < kPhases; ++ph) sum = _mm512_add_ps(sum, acc[ph][m][j]);
      _mm512_store_ps(out + 16 * j, sum);
    }
    for (int t = 0; t < tokens; ++t) {
      y[static_cast<size_t>(t) * ldy + static_cast<size_t>(r + m)] = out[t];
    }
  }
}

// Rows [r0, r1) of one tile: micro-tiles of kRows rows, then single rows.
template <int kVectors>
KVPRESS_BF16_TARGET void TileRows(const MatrixView& w, const uint32_t* tile, size_t width,
                                  size_t pairs, float* y, size_t ldy, int64_t r0, int64_t r1,
                                  int tokens) {
  constexpr int kPhases = kPhasesFor<kVectors>;
  int64_t r = r0;
  for (; r + kRows <= r1; r += kRows) {
    MicroTile<kRows, kVectors, kPhases>(w, r, tile, width, pairs, y, ldy, tokens,
                                        r + 2 * kRows <= r1);
  }
  for (; r < r1; ++r) MicroTile<1, kVectors, 1>(w, r, tile, width, pairs, y, ldy, tokens, false);
}

}  // namespace

namespace {

// Transposes 16 × 16 words in place: r[j] lane p becomes r[p] lane j (unpack 32 / 64, then two
// rounds of 128-bit block shuffles).
KVPRESS_BF16_TARGET inline void Transpose16x16(__m512i (&r)[16]) {
  __m512i t[16], u[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {  // u[4i + k], block L: rows 4i .. 4i + 3 at word 4L + k
    u[4 * i + 0] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  for (int k = 0; k < 4;
       ++k) {  // word 4L + k of all rows: block L of u[k], u[4 + k], u[8 + k], u[12 + k]
    const __m512i x0 = _mm512_shuffle_i32x4(u[k], u[4 + k], 0x44),
                  x1 = _mm512_shuffle_i32x4(u[k], u[4 + k], 0xEE);
    const __m512i y0 = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0x44),
                  y1 = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0xEE);
    r[k] = _mm512_shuffle_i32x4(x0, y0, 0x88);
    r[4 + k] = _mm512_shuffle_i32x4(x0, y0, 0xDD);
    r[8 + k] = _mm512_shuffle_i32x4(x1, y1, 0x88);
    r[12 + k] = _mm512_shuffle_i32x4(x1, y1, 0xDD);
  }
}

}  // namespace

KVPRESS_BF16_TARGET void PackBf16Activations(const float* x, int n, size_t cols, int tile0,
                                             int tile1, uint32_t* xp) {
  const size_t pairs = (cols + 1) / 2, width = static_cast<size_t>(Bf16TileTokens(n));
  const size_t full_cols = cols / 32 * 32;
  for (int tile = tile0; tile < tile1; ++tile) {
    uint32_t* out = xp + static_cast<size_t>(tile) * pairs * width;
    // Whole 32-column chunks, 16 tokens at a time: 16 tokens' 16 words each, transposed in
    // registers into 16 pairs' 16 tokens each, stored whole (one word at a time, 16 strided stores
    // per token and chunk, took ~2 % of a 0.35B batch-16 step).
    for (size_t g = 0; g < width; g += 16) {
      const size_t t0 = static_cast<size_t>(tile) * width + g;
      for (size_t c = 0; c < full_cols; c += 32) {
        __m512i r[16];
        for (size_t j = 0; j < 16; ++j) {
          const size_t t = t0 + j;
          // vcvtne2ps2bf16 puts its second operand's 16 values in the low half of each word pair.
          r[j] =
              t < static_cast<size_t>(n)
                  ? reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(
                        _mm512_loadu_ps(x + t * cols + c + 16), _mm512_loadu_ps(x + t * cols + c)))
                  : _mm512_setzero_si512();
        }
        Transpose16x16(r);
        for (size_t p = 0; p < 16; ++p) _mm512_storeu_si512(out + (c / 2 + p) * width + g, r[p]);
      }
    }
    for (size_t j = 0; j < width; ++j) {  // the columns past the last whole chunk
      const size_t t = static_cast<size_t>(tile) * width + j;
      if (t >= static_cast<size_t>(n)) {
        for (size_t p = full_cols / 2; p < pairs; ++p) out[p * width + j] = 0;
        continue;
      }
      const float* xt = x + t * cols;
      size_t c = full_cols;
      for (; c < cols; c += 2) {
        const uint32_t lo = F32ToBF16(xt[c]);
        const uint32_t hi = c + 1 < cols ? F32ToBF16(xt[c + 1]) : 0u;
        out[(c / 2) * width + j] = lo | (hi << 16);
      }
    }
  }
}

void Bf16GemmBlock(const MatrixView& w, const uint32_t* xp, int n, float* y, size_t ldy, int64_t r0,
                   int64_t r1, int t0, int t1) {
  const int width = Bf16TileTokens(n);
  CHECK(w.dtype == DType::kBF16 && t0 % width == 0);
  const size_t pairs = (static_cast<size_t>(w.cols) + 1) / 2;
  for (int t = t0; t < t1; t += width) {
    const uint32_t* tile = xp + static_cast<size_t>(t / width) * pairs * static_cast<size_t>(width);
    float* yt = y + static_cast<size_t>(t) * ldy;
    const int tokens = t1 - t < width ? t1 - t : width;
    const size_t wd = static_cast<size_t>(width);
    switch ((tokens + 15) / 16) {
      case 1:
        TileRows<1>(w, tile, wd, pairs, yt, ldy, r0, r1, tokens);
        break;
      case 2:
        TileRows<2>(w, tile, wd, pairs, yt, ldy, r0, r1, tokens);
        break;
      default:
        TileRows<3>(w, tile, wd, pairs, yt, ldy, r0, r1, tokens);
        break;
    }
  }
}

}  // namespace kvpress

#else  // not x86-64: never supported, never called

namespace kvpress {
void PackBf16Activations(const float*, int, size_t, int, int, uint32_t*) { CHECK(false); }
void Bf16GemmBlock(const MatrixView&, const uint32_t*, int, float*, size_t, int64_t, int64_t, int,
                   int) {
  CHECK(false);
}
}  // namespace kvpress

#endif
