// SIMD kernels of QuantMatMulRows. On x86 targets with AVX2 (AVX2, AVX-512) each 32-weight block is
// unpacked to 32 bytes in registers and multiplied with K token blocks by vpmaddubsw/vpmaddwd
// (u8 × s8 → s16 pairs → s32 with the two 16-element scales), then scaled in f32. Highway 1.0
// (Debian 12) has no 8-bit dot-product op, so these few lines use x86 intrinsics inside Highway's
// per-target compilation; every other target uses the scalar reference.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/quant_matmul.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "ops/matmul.h"
#include "ops/quant_blocks.h"
#include "ops/quant_matmul.h"

#include <type_traits>
#include <vector>

// This file is compiled once per Highway target (foreach_target): the switch is set anew each time.
#include "ops/quant_avx2_switch.h"  // NOLINT(build/include): per target pass

HWY_BEFORE_NAMESPACE();
namespace kvpress {
namespace HWY_NAMESPACE {

// Half, Nibbles16, ..., UnpackBlock<t> (included on every target pass: its guard toggles per target).
#include "ops/quant_unpack-inl.h"

#if KVPRESS_QUANT_AVX2

HWY_INLINE float HorizontalSum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 h = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(h, _mm_shuffle_ps(h, h, 1)));
}

// Σ_i a[i] · b[i] over n floats.
HWY_INLINE float DotFloats(const float* a, const float* b, size_t n) {
  __m256 acc = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
  float s = HorizontalSum(acc);
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

// Software prefetch distance of the one-token kernels (one row at a time), in bytes ahead in the
// matrix; tiles of several rows prefetch the same place in the next tile instead.
constexpr size_t kOneRowPrefetchBytes = 2048;

// Register tile: kQM rows × kQN tokens of 8-lane f32 accumulators (AVX-512 targets address 32 ymm
// registers, AVX2 16).
#if HWY_TARGET <= HWY_AVX3
constexpr int kQM = 4, kQN = 4;
#else
constexpr int kQM = 2, kQN = 4;
#endif

// What a token tile's activation blocks contribute besides their bytes, prepared once per tile:
// start[j·nb + b]: -k·Σq per int32 lane (integer offsets); ds[j·2nb + ...]: the block sums the float
// offsets multiply (one per block for uniform blocks, two otherwise).
struct TokenTileScratch {
  int32_t* start;  // [RN, nb, 8]
  float* ds;       // [RN, 2·nb]
  int8_t* q;       // [RN, nb, 32]: the blocks' bytes back to back (512-bit super-block kernel only)
  float* dx;       // [RN, nb, 8]: block b's scale in 8 lanes (512-bit super-block kernel only)
};

// acc[m][j] += (Σ u[m]·q_j + start_j) · scale[m]·d_j over block b of RN tokens' activations: one
// integer dot, a conversion and one multiply-add per (row, token). sign[m]: the weights' signs when
// kSignedWeights without VNNI (multiplied as |w| against sign(w)·q), else unused.
template <DType t, int RM, int RN, bool kVnni>
HWY_INLINE void AccumulateBlock(const __m256i* u, const __m256i* sign, const __m256* scale, const BlockQ8A* const* x,
                                const TokenTileScratch& tok, size_t nb, size_t b, __m256 (&acc)[RM][RN]) {
  constexpr bool kSignTrick = kSignedWeights<t> && !kVnni;
  for (int j = 0; j < RN; ++j) {
    const BlockQ8A& xb = x[j][b];
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb.q));
    const __m256 dx = _mm256_set1_ps(xb.d);
    const __m256i start = kIntegerOffset<t, kVnni> ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(
                                                         tok.start + (static_cast<size_t>(j) * nb + b) * 8))
                                                   : _mm256_setzero_si256();
    for (int m = 0; m < RM; ++m) {
      const __m256i p = DotBytes<kVnni>(start, u[m], kSignTrick ? _mm256_sign_epi8(q, sign[m]) : q);
      acc[m][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_mul_ps(scale[m], dx), acc[m][j]);
    }
  }
}

// y[j, r + m] for m < RM, j < RN: each weight block unpacked once for RN tokens, each activation
// block loaded once for RM rows. Per (row, token, block): one integer dot, a conversion and one
// multiply-add with the block's scale dw·s[h]·dx. x[j]: token j's blocks; cbuf: [RM, 2·nb] scratch.
template <DType t, int RM, int RN, bool kVnni>
HWY_INLINE void QuantTile(const MatrixView& w, int64_t r, const BlockQ8A* const* x, const TokenTileScratch& tok,
                          size_t nb, float* cbuf, float* y, size_t ldy) {
  constexpr size_t kOffsetsPerBlock = kUniformBlock<t> ? 1 : 2;
  constexpr bool kSignTrick = kSignedWeights<t> && !kVnni;
  // One row and one token: two accumulators (even and odd blocks), so that the multiply-add
  // latency does not bound the row.
  constexpr int kSplit = RM * RN == 1 ? 2 : 1;
  __m256 acc[kSplit][RM][RN];
  for (int s = 0; s < kSplit; ++s)
    for (int m = 0; m < RM; ++m)
      for (int j = 0; j < RN; ++j) acc[s][m][j] = _mm256_setzero_ps();
  const void* rows[RM];
  for (int m = 0; m < RM; ++m) rows[m] = w.Row(r + m);
  DecodedBlock wb;
  // Software prefetch of the next row tile (RM rows further) in each row: with one to four tokens
  // (every token tile of the decode kernel) it is bound by memory latency, and rows of ~1 KB (1024
  // Q8_0 weights) are too short for the hardware prefetcher to ramp up on four interleaved streams
  // (0.35B Q8_0 decode, 2 threads: 33–35 → 39–44 tokens/s; batch 4, once tiles of 3–4 tokens
  // prefetched too: 86–98 → 109–142, batch 8 111–118 → 121–130). One row at a time (one token)
  // prefetches a fixed distance ahead in the matrix instead.
  const size_t block_bytes = w.row_bytes / nb;
  const size_t ahead = RM == 1 ? kOneRowPrefetchBytes : static_cast<size_t>(RM) * w.row_bytes;
  const auto accumulate = [&](size_t b, __m256 (&a)[RM][RN]) HWY_ATTR {
    __m256i u[RM], sign[RM];
    __m256 scale[RM];
    for (int m = 0; m < RM; ++m) {
      _mm_prefetch(static_cast<const char*>(rows[m]) + ahead + b * block_bytes, _MM_HINT_T0);
    }
    for (int m = 0; m < RM; ++m) {
      const __m256i v = UnpackBlock<t>(rows[m], b, wb);
      if constexpr (kSignTrick) {
        sign[m] = v;
        u[m] = _mm256_abs_epi8(v);
      } else if constexpr (kSignedWeights<t>) {
        u[m] = _mm256_xor_si256(v, _mm256_set1_epi8(static_cast<char>(0x80)));  // w + 128
      } else {
        u[m] = v;
      }
      if constexpr (kUniformBlock<t>) {
        scale[m] = _mm256_set1_ps(wb.dw * static_cast<float>(wb.s[0]));
      } else {
        scale[m] = _mm256_set_m128(_mm_set1_ps(wb.dw * static_cast<float>(wb.s[1])),
                                   _mm_set1_ps(wb.dw * static_cast<float>(wb.s[0])));
      }
      if constexpr (kFloatOffset<t>) {
        float* c = cbuf + static_cast<size_t>(m) * 2 * nb + kOffsetsPerBlock * b;
        c[0] = wb.c[0];
        if constexpr (!kUniformBlock<t>) c[1] = wb.c[1];
      }
    }
    AccumulateBlock<t, RM, RN, kVnni>(u, sign, scale, x, tok, nb, b, a);
  };
  size_t b = 0;
  if constexpr (kSplit == 2) {
    for (; b + 2 <= nb; b += 2) {
      accumulate(b, acc[0]);
      accumulate(b + 1, acc[kSplit - 1]);
    }
  }
  for (; b < nb; ++b) accumulate(b, acc[0]);
  for (int m = 0; m < RM; ++m) {
    for (int j = 0; j < RN; ++j) {
      __m256 sum = acc[0][m][j];
      if constexpr (kSplit == 2) sum = _mm256_add_ps(sum, acc[kSplit - 1][m][j]);
      float v = HorizontalSum(sum);
      if constexpr (kFloatOffset<t>) {
        v += DotFloats(cbuf + static_cast<size_t>(m) * 2 * nb, tok.ds + static_cast<size_t>(j) * 2 * nb,
                       kOffsetsPerBlock * nb);
      }
      y[static_cast<size_t>(j) * ldy + static_cast<size_t>(r + m)] = v;
    }
  }
}

// QuantTile for the types with 256-weight super-blocks (kSuperBlockScales): each super-block's
// scales decoded once per row for its 8 sub-blocks, and the float offsets (Q4_K, Q5_K: -dmin·m_i
// per sub-block) folded into the accumulators by one 8-lane multiply-add per (row, token,
// super-block) against the token's 8 block sums, instead of per-block scalar bookkeeping.
template <DType t, int RM, int RN, bool kVnni>
HWY_INLINE void QuantTileSuper(const MatrixView& w, int64_t r, const BlockQ8A* const* x, const TokenTileScratch& tok,
                               size_t nb, float* y, size_t ldy) {
  static_assert(kSuperBlockScales<t> && !kSignedWeights<t>, "super-block kernel: Q4_K, Q5_K, Q6_K");
  __m256 acc[RM][RN];
  for (int m = 0; m < RM; ++m)
    for (int j = 0; j < RN; ++j) acc[m][j] = _mm256_setzero_ps();
  const void* rows[RM];
  for (int m = 0; m < RM; ++m) rows[m] = w.Row(r + m);
  SuperBlockScales scales[RM];
  // Software prefetch of the same place in the next row tile (RM rows further): K-type rows are
  // short (576 bytes for 1024 Q4_K weights), so a fixed distance ahead in the row, as QuantTile
  // does, lands in rows this tile is already reading.
  const size_t block_bytes = w.row_bytes / nb;  // average bytes per 32 weights
  const size_t next_tile = static_cast<size_t>(RM) * w.row_bytes;
  for (size_t sup = 0; sup < nb / 8; ++sup) {
    for (int m = 0; m < RM; ++m) DecodeSuperBlockScales<t>(rows[m], sup, scales[m]);
    if constexpr (kFloatOffset<t>) {
      for (int j = 0; j < RN; ++j) {
        // tok.ds holds one sum per block for uniform blocks: the super-block's 8 are contiguous.
        const __m256 sums = _mm256_loadu_ps(tok.ds + static_cast<size_t>(j) * 2 * nb + 8 * sup);
        for (int m = 0; m < RM; ++m) acc[m][j] = _mm256_fmadd_ps(_mm256_load_ps(scales[m].offset), sums, acc[m][j]);
      }
    }
#pragma GCC unroll 8
    for (int sb = 0; sb < 8; ++sb) {
      const size_t b = 8 * sup + static_cast<size_t>(sb);
      for (int m = 0; m < RM; ++m) {
        _mm_prefetch(static_cast<const char*>(rows[m]) + next_tile + b * block_bytes, _MM_HINT_T0);
      }
      __m256i u[RM];
      __m256 scale[RM];
      for (int m = 0; m < RM; ++m) {
        u[m] = UnpackKBits<t>(rows[m], sup, sb);
        if constexpr (kUniformBlock<t>) {
          scale[m] = _mm256_broadcast_ss(scales[m].scale + sb);
        } else {
          scale[m] = _mm256_set_m128(_mm_broadcast_ss(scales[m].scale + 2 * sb + 1),
                                     _mm_broadcast_ss(scales[m].scale + 2 * sb));
        }
      }
      AccumulateBlock<t, RM, RN, kVnni>(u, u, scale, x, tok, nb, b, acc);  // (no signs: unsigned types)
    }
  }
  for (int m = 0; m < RM; ++m) {
    for (int j = 0; j < RN; ++j) y[static_cast<size_t>(j) * ldy + static_cast<size_t>(r + m)] = HorizontalSum(acc[m][j]);
  }
}

#include "ops/quant_decode512-inl.h"  // NOLINT(build/include): per target pass

// One row tile: the super-block kernel where the type has one (at 512 bits on AVX-512 VNNI CPUs),
// else the per-block kernel.
template <DType t, int RM, int RN, bool kVnni>
HWY_INLINE void QuantRowTile(const MatrixView& w, int64_t r, const BlockQ8A* const* x, const TokenTileScratch& tok,
                             size_t nb, float* cbuf, float* y, size_t ldy) {
#if HWY_TARGET <= HWY_AVX3
  // (The 512-bit kernel needs VNNI; AVX-512 CPUs without it take the 256-bit one.)
  if constexpr (kVnni && kSuperBlockScales<t>) return QuantTileSuper512<t, RM, RN>(w, r, tok, nb, y, ldy);
#endif
  if constexpr (kSuperBlockScales<t>) {
    QuantTileSuper<t, RM, RN, kVnni>(w, r, x, tok, nb, y, ldy);
  } else {
    QuantTile<t, RM, RN, kVnni>(w, r, x, tok, nb, cbuf, y, ldy);
  }
}

// All row tiles of [r0, r1) for RN tokens starting at token `first`.
template <DType t, int RN, bool kVnni>
HWY_INLINE void QuantTokenTile(const MatrixView& w, const BlockQ8A* xq, int first, float* y, int64_t r0,
                               int64_t r1, const TokenTileScratch& tok, float* cbuf) {
  const size_t nb = static_cast<size_t>(w.cols) / 32, ldy = static_cast<size_t>(w.rows);
  const BlockQ8A* xs[RN];
  for (int j = 0; j < RN; ++j) {
    xs[j] = xq + static_cast<size_t>(first + j) * nb;
    for (size_t b = 0; b < nb; ++b) {
      const BlockQ8A& xb = xs[j][b];
      if constexpr (kIntegerOffset<t, kVnni> != 0) {
        const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb.q));
        // k ≤ 128 against |q| ≤ 127: the 16-bit pair sums stay below 2^15.
        const __m256i k = _mm256_set1_epi8(static_cast<char>(kIntegerOffset<t, kVnni>));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(tok.start + (static_cast<size_t>(j) * nb + b) * 8),
                            _mm256_sub_epi32(_mm256_setzero_si256(), DotBytes<false>(_mm256_setzero_si256(), k, q)));
      }
      if constexpr (kFloatOffset<t>) {
        float* ds = tok.ds + static_cast<size_t>(j) * 2 * nb;
        if constexpr (kUniformBlock<t>) {
          ds[b] = xb.ds[0] + xb.ds[1];
        } else {
          ds[2 * b] = xb.ds[0];
          ds[2 * b + 1] = xb.ds[1];
        }
      }
    }
  }
#if HWY_TARGET <= HWY_AVX3
  if constexpr (kVnni && kSuperBlockScales<t>) {
    for (int j = 0; j < RN; ++j) {
      FillPairTokens(xs[j], nb, tok.q + static_cast<size_t>(j) * nb * 32, tok.dx + static_cast<size_t>(j) * nb * 8);
    }
  }
#endif
  float* yt = y + static_cast<size_t>(first) * ldy;
  int64_t r = r0;
  // One token: one row at a time (QuantTileSuper512 says why).
  if constexpr (RN == 1) {
    for (; r < r1; ++r) QuantRowTile<t, 1, RN, kVnni>(w, r, xs, tok, nb, cbuf, yt, ldy);
  }
  for (; r + kQM <= r1; r += kQM) QuantRowTile<t, kQM, RN, kVnni>(w, r, xs, tok, nb, cbuf, yt, ldy);
  for (; r < r1; ++r) QuantRowTile<t, 1, RN, kVnni>(w, r, xs, tok, nb, cbuf, yt, ldy);
}

// Rows [r0, r1) for all n tokens: token tiles of kQN outermost (their blocks stay in L1 while
// they meet every row of the range).
template <DType t, bool kVnni>
void QuantRowsTyped(const MatrixView& w, const BlockQ8A* xq, int n, float* y, int64_t r0, int64_t r1) {
  const size_t nb = static_cast<size_t>(w.cols) / 32;
  // (int32 lanes, not a vector of __m256i: GCC drops the type's alignment in template arguments)
  static thread_local std::vector<int32_t> starts;  // [kQN, nb, 8]
  static thread_local std::vector<float> floats;    // ds [kQN, 2·nb], cbuf [kQM, 2·nb], dx [kQN, nb, 8]
  static thread_local std::vector<int32_t> bytes;   // q [kQN, nb, 32] as int32 (its alignment)
  starts.resize(static_cast<size_t>(kQN) * nb * 8);
  floats.resize(static_cast<size_t>(kQN + kQM) * 2 * nb + static_cast<size_t>(kQN) * nb * 8);
  bytes.resize(static_cast<size_t>(kQN) * nb * 8);
  float* cbuf = floats.data() + static_cast<size_t>(kQN) * 2 * nb;
  const TokenTileScratch tok{starts.data(), floats.data(), reinterpret_cast<int8_t*>(bytes.data()),
                             cbuf + static_cast<size_t>(kQM) * 2 * nb};
  int first = 0;
  for (; first + kQN <= n; first += kQN) QuantTokenTile<t, kQN, kVnni>(w, xq, first, y, r0, r1, tok, cbuf);
  switch (n - first) {
    case 0: break;
    case 1: QuantTokenTile<t, 1, kVnni>(w, xq, first, y, r0, r1, tok, cbuf); break;
    case 2: QuantTokenTile<t, 2, kVnni>(w, xq, first, y, r0, r1, tok, cbuf); break;
    default: QuantTokenTile<t, 3, kVnni>(w, xq, first, y, r0, r1, tok, cbuf); break;
  }
}

template <DType t>
void QuantRowsDispatch(const MatrixView& w, const BlockQ8A* xq, int n, float* y, int64_t r0, int64_t r1) {
#if HWY_TARGET <= HWY_AVX3
  static const bool vnni = __builtin_cpu_supports("avx512vnni");
  if (vnni) return QuantRowsTyped<t, true>(w, xq, n, y, r0, r1);
#endif
  QuantRowsTyped<t, false>(w, xq, n, y, r0, r1);
}

// 8 bytes (from the low half of `v`) widened to f32, as signed or unsigned integers.
template <bool kSigned>
HWY_INLINE __m256 BytesToFloats(__m128i v) {
  return _mm256_cvtepi32_ps(kSigned ? _mm256_cvtepi8_epi32(v) : _mm256_cvtepu8_epi32(v));
}

// Rows [r0, r1) of w as f32 (out: [r1 - r0, cols]): each block unpacked as the integer kernel does,
// then dw·s[h]·v + c[h] by multiply-add (the scalar DequantizeRow rounds the product and the sum
// separately, so the two differ in the last bit of some values).
template <DType t>
void DequantizeRowsTyped(const MatrixView& w, int64_t r0, int64_t r1, float* out) {
  const size_t cols = static_cast<size_t>(w.cols), nb = cols / 32;
  DecodedBlock wb;
  for (int64_t r = r0; r < r1; ++r) {
    const void* row = w.Row(r);
    float* o = out + static_cast<size_t>(r - r0) * cols;
    for (size_t b = 0; b < nb; ++b) {
      const __m256i v = UnpackBlock<t>(row, b, wb);
      const __m128i halves[2] = {_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)};
      for (int h = 0; h < 2; ++h) {
        const __m256 scale = _mm256_set1_ps(wb.dw * static_cast<float>(wb.s[h]));
        const __m256 offset = _mm256_set1_ps(wb.c[h]);
        float* dst = o + 32 * b + 16 * h;
        _mm256_storeu_ps(dst, _mm256_fmadd_ps(BytesToFloats<kSignedWeights<t>>(halves[h]), scale, offset));
        _mm256_storeu_ps(dst + 8, _mm256_fmadd_ps(BytesToFloats<kSignedWeights<t>>(_mm_srli_si128(halves[h], 8)),
                                                  scale, offset));
      }
    }
  }
}

#endif  // KVPRESS_QUANT_AVX2

void QuantMatMulRowsImpl(const MatrixView& w, const BlockQ8A* xq, int n, float* y, int64_t r0,
                         int64_t r1) {
#if KVPRESS_QUANT_AVX2
  if (VisitQuantType(w.dtype, [&](auto type) { QuantRowsDispatch<decltype(type)::value>(w, xq, n, y, r0, r1); })) {
    return;
  }
#endif
  const size_t nb = static_cast<size_t>(w.cols) / 32;
  for (int t = 0; t < n; ++t) {
    for (int64_t r = r0; r < r1; ++r) {
      y[static_cast<size_t>(t) * w.rows + r] =
          QuantDotReference(w.dtype, w.Row(r), xq + static_cast<size_t>(t) * nb, static_cast<size_t>(w.cols));
    }
  }
}

void QuantizeActivationsImpl(const float* x, size_t cols, BlockQ8A* out) {
#if KVPRESS_QUANT_AVX2
  for (size_t b = 0; b < cols / 32; ++b) {
    const QuantizedBlock32 qb = QuantizeBlock32(x + b * 32);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[b].q), qb.bytes);
    out[b].d = qb.d;
    out[b].ds[0] = qb.d * static_cast<float>(qb.sum[0]);
    out[b].ds[1] = qb.d * static_cast<float>(qb.sum[1]);
  }
#else
  QuantizeActivations(x, cols, out);
#endif
}

void DequantizeRowsImpl(const MatrixView& w, int64_t r0, int64_t r1, float* out) {
#if KVPRESS_QUANT_AVX2
  if (VisitQuantType(w.dtype, [&](auto type) { DequantizeRowsTyped<decltype(type)::value>(w, r0, r1, out); })) {
    return;
  }
#endif
  const size_t cols = static_cast<size_t>(w.cols);
  for (int64_t r = r0; r < r1; ++r) DequantizeRow(w.dtype, w.Row(r), out + static_cast<size_t>(r - r0) * cols, cols);
}

}  // namespace HWY_NAMESPACE
}  // namespace kvpress
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace kvpress {

HWY_EXPORT(QuantMatMulRowsImpl);
HWY_EXPORT(DequantizeRowsImpl);
HWY_EXPORT(QuantizeActivationsImpl);

void QuantizeActivationsFast(const float* x, size_t cols, BlockQ8A* out) {
  HWY_DYNAMIC_DISPATCH(QuantizeActivationsImpl)(x, cols, out);
}

void DequantizeRowsFast(const MatrixView& w, int64_t r0, int64_t r1, float* out) {
  HWY_DYNAMIC_DISPATCH(DequantizeRowsImpl)(w, r0, r1, out);
}

void QuantMatMulRows(const MatrixView& w, const BlockQ8A* xq, int n, float* y, int64_t r0,
                     int64_t r1) {
  HWY_DYNAMIC_DISPATCH(QuantMatMulRowsImpl)(w, xq, n, y, r0, r1);
}

}  // namespace kvpress
#endif  // HWY_ONCE
