// AVX512-BF16 prefill GEMM of bf16_gemm.h: compiled for that extension with a target attribute and
// called only after Bf16DotSupported() (Highway 1.0 has no such target); stubs elsewhere.
#include "ops/bf16_gemm.h"

#include <cstring>

#include "core/check.h"
#include "ops/bf16_dot.h"

namespace kvpress {

size_t Bf16PackedWords(int n, size_t cols) {
  const size_t tiles = (static_cast<size_t>(n) + kBf16GemmTileTokens - 1) / kBf16GemmTileTokens;
  return tiles * ((cols + 1) / 2) * kBf16GemmTileTokens;
}

}  // namespace kvpress

#if defined(__x86_64__)
#include <immintrin.h>

#define KVPRESS_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

namespace kvpress {
namespace {

constexpr int kRows = 8;  // rows per micro-tile: 8 × 3 accumulators + 3 activation vectors

// Weight word p of a bf16 row of `cols` columns: columns 2p and 2p + 1, the second 0 past cols
// (read as 16 bits only: the next 2 bytes may be another row or past the matrix).
inline uint32_t WeightWord(const uint16_t* row, size_t p, size_t cols) {
  if (2 * p + 1 < cols) {
    uint32_t word;
    std::memcpy(&word, row + 2 * p, 4);
    return word;
  }
  return row[2 * p];
}

// acc[m][j] (tokens 16j..16j+15 of the tile, rows r + m) over all column pairs; kVectors (1..3)
// of the tile's three 16-token vectors hold tokens (a batch of 16 takes one).
template <int RM, int kVectors>
KVPRESS_BF16_TARGET void MicroTile(const MatrixView& w, int64_t r, const uint32_t* tile,
                                   size_t pairs, float* y, size_t ldy, int tokens) {
  const size_t cols = static_cast<size_t>(w.cols);
  const uint16_t* rows[RM];
  for (int m = 0; m < RM; ++m) rows[m] = static_cast<const uint16_t*>(w.Row(r + m));
  __m512 acc[RM][kVectors];
  for (int m = 0; m < RM; ++m)
    for (int j = 0; j < kVectors; ++j) acc[m][j] = _mm512_setzero_ps();
  for (size_t p = 0; p < pairs; ++p) {
    const uint32_t* xw = tile + p * kBf16GemmTileTokens;
    __m512i xv[kVectors];
    for (int j = 0; j < kVectors; ++j) xv[j] = _mm512_loadu_si512(xw + 16 * j);
    for (int m = 0; m < RM; ++m) {
      const uint32_t word = WeightWord(rows[m], p, cols);  // (the last pair may be ragged)
      const __m512bh wv = reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(word)));
      for (int j = 0; j < kVectors; ++j) {
        acc[m][j] = _mm512_dpbf16_ps(acc[m][j], wv, reinterpret_cast<__m512bh>(xv[j]));
      }
    }
  }
  alignas(64) float out[kBf16GemmTileTokens];
  for (int m = 0; m < RM; ++m) {
    for (int j = 0; j < kVectors; ++j) _mm512_store_ps(out + 16 * j, acc[m][j]);
    for (int t = 0; t < tokens; ++t) {
      y[static_cast<size_t>(t) * ldy + static_cast<size_t>(r + m)] = out[t];
    }
  }
}

// Rows [r0, r1) of one tile: micro-tiles of kRows rows, then single rows.
template <int kVectors>
KVPRESS_BF16_TARGET void TileRows(const MatrixView& w, const uint32_t* tile, size_t pairs, float* y,
                                  size_t ldy, int64_t r0, int64_t r1, int tokens) {
  int64_t r = r0;
  for (; r + kRows <= r1; r += kRows) MicroTile<kRows, kVectors>(w, r, tile, pairs, y, ldy, tokens);
  for (; r < r1; ++r) MicroTile<1, kVectors>(w, r, tile, pairs, y, ldy, tokens);
}

}  // namespace

KVPRESS_BF16_TARGET void PackBf16Activations(const float* x, int n, size_t cols, int tile0,
                                             int tile1, uint32_t* xp) {
  const size_t pairs = (cols + 1) / 2;
  for (int tile = tile0; tile < tile1; ++tile) {
    uint32_t* out = xp + static_cast<size_t>(tile) * pairs * kBf16GemmTileTokens;
    for (int j = 0; j < kBf16GemmTileTokens; ++j) {
      const int t = tile * kBf16GemmTileTokens + j;
      if (t >= n) {
        for (size_t p = 0; p < pairs; ++p)
          out[p * kBf16GemmTileTokens + static_cast<size_t>(j)] = 0;
        continue;
      }
      const float* xt = x + static_cast<size_t>(t) * cols;
      size_t c = 0;
      // 32 columns -> 16 words: vcvtne2ps2bf16 puts its second operand's 16 values in the low half.
      alignas(64) uint32_t words[16];
      for (; c + 32 <= cols; c += 32) {
        const __m512bh b =
            _mm512_cvtne2ps_pbh(_mm512_loadu_ps(xt + c + 16), _mm512_loadu_ps(xt + c));
        _mm512_store_si512(words, reinterpret_cast<__m512i>(b));
        for (int i = 0; i < 16; ++i)
          out[(c / 2 + static_cast<size_t>(i)) * kBf16GemmTileTokens + static_cast<size_t>(j)] =
              words[i];
      }
      for (; c < cols; c += 2) {
        const uint32_t lo = F32ToBF16(xt[c]);
        const uint32_t hi = c + 1 < cols ? F32ToBF16(xt[c + 1]) : 0u;
        out[(c / 2) * kBf16GemmTileTokens + static_cast<size_t>(j)] = lo | (hi << 16);
      }
    }
  }
}

void Bf16GemmBlock(const MatrixView& w, const uint32_t* xp, float* y, size_t ldy, int64_t r0,
                   int64_t r1, int t0, int t1) {
  CHECK(w.dtype == DType::kBF16 && t0 % kBf16GemmTileTokens == 0);
  const size_t pairs = (static_cast<size_t>(w.cols) + 1) / 2;
  for (int t = t0; t < t1; t += kBf16GemmTileTokens) {
    const uint32_t* tile =
        xp + static_cast<size_t>(t / kBf16GemmTileTokens) * pairs * kBf16GemmTileTokens;
    float* yt = y + static_cast<size_t>(t) * ldy;
    const int tokens = t1 - t < kBf16GemmTileTokens ? t1 - t : kBf16GemmTileTokens;
    switch ((tokens + 15) / 16) {
      case 1:
        TileRows<1>(w, tile, pairs, yt, ldy, r0, r1, tokens);
        break;
      case 2:
        TileRows<2>(w, tile, pairs, yt, ldy, r0, r1, tokens);
        break;
      default:
        TileRows<3>(w, tile, pairs, yt, ldy, r0, r1, tokens);
        break;
    }
  }
}

}  // namespace kvpress

#else  // not x86-64: never supported, never called

namespace kvpress {
void PackBf16Activations(const float*, int, size_t, int, int, uint32_t*) { CHECK(false); }
void Bf16GemmBlock(const MatrixView&, const uint32_t*, float*, size_t, int64_t, int64_t, int, int) {
  CHECK(false);
}
}  // namespace kvpress

#endif
