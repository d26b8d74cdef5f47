// AVX512-BF16 kernels of bf16_dot.h. Highway 1.0 (Debian 12) has no target with AVX512-BF16, so
// these functions are compiled for it with a target attribute and only called after a CPUID check
// (Bf16DotSupported); other architectures get stubs that are never called.
#include "ops/bf16_dot.h"

#include "core/check.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define KVPRESS_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

// GCC 12's AVX-512 headers build some results from _mm*_undefined_*() temporaries, which
// -Wmaybe-uninitialized reports once they are inlined into a target-attribute function.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace kvpress {
namespace {

constexpr int kTileRows = 4, kTileTokens = 4;

// 32 bf16 values from p, the lanes at or past `left` zero (a row's ragged tail).
KVPRESS_BF16_TARGET inline __m512i Load32(const uint16_t* p, size_t left) {
  if (left >= 32) return _mm512_loadu_si512(p);
  return _mm512_maskz_loadu_epi16(static_cast<__mmask32>((uint64_t{1} << left) - 1), p);
}

KVPRESS_BF16_TARGET inline __m512 Dot(__m512 acc, __m512i a, __m512i b) {
  return _mm512_dpbf16_ps(acc, reinterpret_cast<__m512bh>(a), reinterpret_cast<__m512bh>(b));
}

// One row against one token: four accumulators (vectors i, i + 32, ... round robin) so that the
// dot-product latency does not bound the row. No software prefetch: one forward stream per thread
// is what the hardware prefetcher follows best (kernels_bench bf16_cold 2816 × 1024, one token,
// two threads, min of 3 interleaved rounds: 193 µs with a prefetch 2 KB ahead, 182 µs without;
// kvpress bench 0.35B BF16 decode, 4 interleaved rounds: 41–45 tokens/s without, 38–41 with a
// prefetch one 4 KB page ahead).
KVPRESS_BF16_TARGET float RowDot(const uint16_t* row, const uint16_t* x, size_t cols) {
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                   _mm512_setzero_ps()};
  size_t i = 0;
  for (; i + 128 <= cols; i += 128) {
    for (int s = 0; s < 4; ++s) {
      acc[s] =
          Dot(acc[s], _mm512_loadu_si512(row + i + 32 * s), _mm512_loadu_si512(x + i + 32 * s));
    }
  }
  for (; i < cols; i += 32)
    acc[0] = Dot(acc[0], Load32(row + i, cols - i), Load32(x + i, cols - i));
  return _mm512_reduce_add_ps(
      _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

// y[j, r + m] for m < RM, j < RN: each weight vector loaded once for RN tokens, each activation
// vector once for RM rows; tiles prefetch the same place in the next row tile.
template <int RM, int RN>
KVPRESS_BF16_TARGET void Tile(const MatrixView& w, int64_t r, const uint16_t* x, size_t cols,
                              float* y, size_t ldy) {
  __m512 acc[RM][RN];
  for (int m = 0; m < RM; ++m)
    for (int j = 0; j < RN; ++j) acc[m][j] = _mm512_setzero_ps();
  const uint16_t* rows[RM];
  for (int m = 0; m < RM; ++m) rows[m] = static_cast<const uint16_t*>(w.Row(r + m));
  const size_t next_tile = RM * w.row_bytes;
  for (size_t i = 0; i < cols; i += 32) {
    const size_t left = cols - i;
    __m512i wv[RM];
    for (int m = 0; m < RM; ++m) {
      _mm_prefetch(reinterpret_cast<const char*>(rows[m] + i) + next_tile, _MM_HINT_T0);
      wv[m] = Load32(rows[m] + i, left);
    }
    for (int j = 0; j < RN; ++j) {
      const __m512i xv = Load32(x + static_cast<size_t>(j) * cols + i, left);
      for (int m = 0; m < RM; ++m) acc[m][j] = Dot(acc[m][j], wv[m], xv);
    }
  }
  for (int m = 0; m < RM; ++m)
    for (int j = 0; j < RN; ++j)
      y[static_cast<size_t>(j) * ldy + static_cast<size_t>(r + m)] =
          _mm512_reduce_add_ps(acc[m][j]);
}

template <int RN>
KVPRESS_BF16_TARGET void TokenTile(const MatrixView& w, const uint16_t* x, float* y, int64_t r0,
                                   int64_t r1) {
  const size_t cols = static_cast<size_t>(w.cols), ldy = static_cast<size_t>(w.rows);
  int64_t r = r0;
  for (; r + kTileRows <= r1; r += kTileRows) Tile<kTileRows, RN>(w, r, x, cols, y, ldy);
  for (; r < r1; ++r) Tile<1, RN>(w, r, x, cols, y, ldy);
}

}  // namespace

bool Bf16DotSupported() {
  static const bool supported =
      __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw");
  return supported;
}

KVPRESS_BF16_TARGET void RoundToBf16(const float* x, size_t n, uint16_t* out) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                        reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_loadu_ps(x + i))));
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm256_mask_storeu_epi16(
        out + i, m, reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, x + i))));
  }
}

KVPRESS_BF16_TARGET void Bf16DotRows(const MatrixView& w, const uint16_t* xb, int n, float* y,
                                     int64_t r0, int64_t r1) {
  CHECK(w.dtype == DType::kBF16);
  const size_t cols = static_cast<size_t>(w.cols), ldy = static_cast<size_t>(w.rows);
  if (n == 1) {
    for (int64_t r = r0; r < r1; ++r)
      y[r] = RowDot(static_cast<const uint16_t*>(w.Row(r)), xb, cols);
    return;
  }
  int t = 0;
  for (; t + kTileTokens <= n; t += kTileTokens)
    TokenTile<kTileTokens>(w, xb + t * cols, y + t * ldy, r0, r1);
  const uint16_t* xt = xb + t * cols;
  float* yt = y + t * ldy;
  switch (n - t) {
    case 0:
      break;
    case 1:
      TokenTile<1>(w, xt, yt, r0, r1);
      break;
    case 2:
      TokenTile<2>(w, xt, yt, r0, r1);
      break;
    default:
      TokenTile<3>(w, xt, yt, r0, r1);
      break;
  }
}

}  // namespace kvpress

#else  // not x86-64: never supported, never called

namespace kvpress {
bool Bf16DotSupported() { return false; }
void RoundToBf16(const float*, size_t, uint16_t*) { CHECK(false); }
void Bf16DotRows(const MatrixView&, const uint16_t*, int, float*, int64_t, int64_t) {
  CHECK(false);
}
}  // namespace kvpress

#endif
