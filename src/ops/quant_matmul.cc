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

// This file is compiled once per Highway target (foreach_target): the switch is set anew each time.
#undef KVPRESS_QUANT_AVX2
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
#include <immintrin.h>
#define KVPRESS_QUANT_AVX2 1
#else
#define KVPRESS_QUANT_AVX2 0
#endif

HWY_BEFORE_NAMESPACE();
namespace kvpress {
namespace HWY_NAMESPACE {

#if KVPRESS_QUANT_AVX2

// f16 bits -> f32 with the F16C instruction (every AVX2 target has it).
HWY_INLINE float Half(uint16_t h) { return _cvtsh_ss(h); }

// 16 packed bytes -> 32 nibbles: low nibbles in bytes 0..15, high in 16..31 (ggml's order).
HWY_INLINE __m256i Nibbles16(const uint8_t* qs) {
  const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i v = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
  return _mm256_and_si256(v, _mm256_set1_epi8(0xF));
}

// 32 bytes >> shift (0..6), masked: selects a bit-plane of packed 2/4-bit values.
HWY_INLINE __m256i Plane32(const uint8_t* p, int shift, int mask) {
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(shift)), _mm256_set1_epi8(static_cast<char>(mask)));
}

// Bit `bit` of each of 32 bytes, moved to value `value` (0 or value per byte).
HWY_INLINE __m256i BitOf32(const uint8_t* p, int bit, int value) {
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  const __m256i m = _mm256_set1_epi8(static_cast<char>(1 << bit));
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, m), m), _mm256_set1_epi8(static_cast<char>(value)));
}

// Bits 0..31 of a little-endian u32 -> 0x10 per byte where set (the fifth bit of Q5_0/Q5_1).
HWY_INLINE __m256i FifthBits(const uint8_t* qh4) {
  uint32_t qh;
  std::memcpy(&qh, qh4, 4);
  const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                         0x0101010101010101, 0x0000000000000000);
  const __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(qh)), shuf);
  const __m256i bits = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(bytes, bits), bits), _mm256_set1_epi8(0x10));
}

HWY_INLINE __m256i Iq4Lookup(__m256i nibbles) {
  const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues));
  return _mm256_shuffle_epi8(_mm256_set_m128i(t, t), nibbles);
}

// The 32 weight integers of block b (as DecodeQuantBlock's u) plus its scales/offsets, which are
// scalar work taken from the reference decoder for all but the hottest types.
template <DType t>
HWY_INLINE __m256i UnpackBlock(const void* row, size_t b, DecodedBlock& w) {
  const size_t sup = b / 8;
  const int sb = static_cast<int>(b % 8);
  switch (t) {
    case DType::kQ4_0: {
      const BlockQ4_0& q = static_cast<const BlockQ4_0*>(row)[b];
      const float d = Half(q.d);
      w.s[0] = w.s[1] = 1;
      w.dw = d;
      w.c[0] = w.c[1] = -8.0f * d;
      w.is_signed = false;
      return Nibbles16(q.qs);
    }
    case DType::kQ4_1: {
      const BlockQ4_1& q = static_cast<const BlockQ4_1*>(row)[b];
      w.s[0] = w.s[1] = 1;
      w.dw = Half(q.d);
      w.c[0] = w.c[1] = Half(q.m);
      w.is_signed = false;
      return Nibbles16(q.qs);
    }
    case DType::kQ8_0: {
      const BlockQ8_0& q = static_cast<const BlockQ8_0*>(row)[b];
      w.s[0] = w.s[1] = 1;
      w.dw = Half(q.d);
      w.c[0] = w.c[1] = 0.0f;
      w.is_signed = true;
      return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q.q));
    }
    case DType::kQ5_0: {
      const BlockQ5_0& q = static_cast<const BlockQ5_0*>(row)[b];
      const float d = Half(q.d);
      w.s[0] = w.s[1] = 1;
      w.dw = d;
      w.c[0] = w.c[1] = -16.0f * d;
      w.is_signed = false;
      return _mm256_or_si256(Nibbles16(q.qs), FifthBits(q.qh));
    }
    case DType::kQ5_1: {
      const BlockQ5_1& q = static_cast<const BlockQ5_1*>(row)[b];
      w.s[0] = w.s[1] = 1;
      w.dw = Half(q.d);
      w.c[0] = w.c[1] = Half(q.m);
      w.is_signed = false;
      return _mm256_or_si256(Nibbles16(q.qs), FifthBits(q.qh));
    }
    case DType::kIQ4_NL: {
      const BlockIQ4_NL& q = static_cast<const BlockIQ4_NL*>(row)[b];
      w.s[0] = w.s[1] = 1;
      w.dw = Half(q.d);
      w.c[0] = w.c[1] = 0.0f;
      w.is_signed = true;
      return Iq4Lookup(Nibbles16(q.qs));
    }
    case DType::kQ4_K: {
      const BlockQ4_K& q = static_cast<const BlockQ4_K*>(row)[sup];
      uint8_t sc, m;
      UnpackScaleMinK4(q.scales, sb, sc, m);
      w.s[0] = w.s[1] = sc;
      w.dw = Half(q.d);
      w.c[0] = w.c[1] = -Half(q.dmin) * static_cast<float>(m);
      w.is_signed = false;
      return Plane32(q.qs + 32 * (sb / 2), 4 * (sb % 2), 0xF);
    }
    case DType::kQ6_K: {
      const BlockQ6_K& q = static_cast<const BlockQ6_K*>(row)[sup];
      const int h = sb / 4, j = sb % 4;
      const float d = Half(q.d);
      w.s[0] = q.scales[2 * sb];
      w.s[1] = q.scales[2 * sb + 1];
      w.dw = d;
      w.c[0] = -32.0f * d * static_cast<float>(w.s[0]);
      w.c[1] = -32.0f * d * static_cast<float>(w.s[1]);
      w.is_signed = false;
      const __m256i low = Plane32(q.ql + 64 * h + 32 * (j % 2), 4 * (j / 2), 0xF);
      const __m256i high = Plane32(q.qh + 32 * h, 2 * j, 3);
      return _mm256_or_si256(low, _mm256_slli_epi16(high, 4));
    }
    case DType::kQ5_K: {
      DecodeQuantBlock(t, row, b, w, /*values=*/false);
      const BlockQ5_K& q = static_cast<const BlockQ5_K*>(row)[sup];
      return _mm256_or_si256(Plane32(q.qs + 32 * (sb / 2), 4 * (sb % 2), 0xF), BitOf32(q.qh, sb, 0x10));
    }
    case DType::kQ2_K: {
      DecodeQuantBlock(t, row, b, w, /*values=*/false);
      const BlockQ2_K& q = static_cast<const BlockQ2_K*>(row)[sup];
      return Plane32(q.qs + 32 * (sb / 4), 2 * (sb % 4), 3);
    }
    case DType::kQ3_K: {
      DecodeQuantBlock(t, row, b, w, /*values=*/false);
      const BlockQ3_K& q = static_cast<const BlockQ3_K*>(row)[sup];
      return _mm256_or_si256(Plane32(q.qs + 32 * (sb / 4), 2 * (sb % 4), 3), BitOf32(q.hmask, sb, 4));
    }
    case DType::kIQ4_XS: {
      DecodeQuantBlock(t, row, b, w, /*values=*/false);
      const BlockIQ4_XS& q = static_cast<const BlockIQ4_XS*>(row)[sup];
      return Iq4Lookup(Nibbles16(q.qs + 16 * sb));
    }
    default:
      DecodeQuantBlock(t, row, b, w);
      return _mm256_load_si256(reinterpret_cast<const __m256i*>(w.u));
  }
}

HWY_INLINE float HorizontalSum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 h = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(h, _mm_shuffle_ps(h, h, 1)));
}

// K tokens against one weight row of type t (a template argument: the block loop has no switch).
template <DType t, int K>
HWY_INLINE void DotRowK(const void* row, const BlockQ8A* const* x, size_t nb, float* out) {
  __m256 acc[K];
  float bias[K];
  for (int k = 0; k < K; ++k) {
    acc[k] = _mm256_setzero_ps();
    bias[k] = 0.0f;
  }
  DecodedBlock w;
  for (size_t b = 0; b < nb; ++b) {
    __m256i u = UnpackBlock<t>(row, b, w);
    __m256i sign_src = u;
    if (w.is_signed) u = _mm256_abs_epi8(u);  // constant per type after inlining
    const __m256i scales = _mm256_set_m128i(_mm_set1_epi16(w.s[1]), _mm_set1_epi16(w.s[0]));
    for (int k = 0; k < K; ++k) {
      const BlockQ8A& xb = x[k][b];
      __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb.q));
      if (w.is_signed) q = _mm256_sign_epi8(q, sign_src);
      const __m256i p32 = _mm256_madd_epi16(_mm256_maddubs_epi16(u, q), scales);
      acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p32), _mm256_set1_ps(w.dw * xb.d), acc[k]);
      bias[k] += w.c[0] * xb.ds[0] + w.c[1] * xb.ds[1];
    }
  }
  for (int k = 0; k < K; ++k) out[k] = HorizontalSum(acc[k]) + bias[k];
}

#endif  // KVPRESS_QUANT_AVX2

#if KVPRESS_QUANT_AVX2
// Rows [r0, r1) for all n tokens, 4 tokens per pass over a weight row.
template <DType t>
void QuantRowsTyped(const MatrixView& w, const BlockQ8A* xq, int n, float* y, int64_t r0, int64_t r1) {
  const size_t nb = static_cast<size_t>(w.cols) / 32;
  float out[8];
  for (int tok = 0; tok < n;) {
    // 8 tokens per pass when there are that many (AVX-512 has the registers), else 4 or fewer.
    const int k = n - tok >= 8 ? 8 : (n - tok >= 4 ? 4 : n - tok);
    const BlockQ8A* xs[8];
    for (int j = 0; j < k; ++j) xs[j] = xq + static_cast<size_t>(tok + j) * nb;
    for (int64_t r = r0; r < r1; ++r) {
      const void* row = w.Row(r);
      switch (k) {
        case 8: DotRowK<t, 8>(row, xs, nb, out); break;
        case 4: DotRowK<t, 4>(row, xs, nb, out); break;
        case 3: DotRowK<t, 3>(row, xs, nb, out); break;
        case 2: DotRowK<t, 2>(row, xs, nb, out); break;
        default: DotRowK<t, 1>(row, xs, nb, out); break;
      }
      for (int j = 0; j < k; ++j) y[static_cast<size_t>(tok + j) * w.rows + r] = out[j];
    }
    tok += k;
  }
}
#endif

void QuantMatMulRowsImpl(const MatrixView& w, const BlockQ8A* xq, int n, float* y, int64_t r0,
                         int64_t r1) {
#if KVPRESS_QUANT_AVX2
  switch (w.dtype) {
    case DType::kQ8_0: return QuantRowsTyped<DType::kQ8_0>(w, xq, n, y, r0, r1);
    case DType::kQ4_0: return QuantRowsTyped<DType::kQ4_0>(w, xq, n, y, r0, r1);
    case DType::kQ4_1: return QuantRowsTyped<DType::kQ4_1>(w, xq, n, y, r0, r1);
    case DType::kQ5_0: return QuantRowsTyped<DType::kQ5_0>(w, xq, n, y, r0, r1);
    case DType::kQ5_1: return QuantRowsTyped<DType::kQ5_1>(w, xq, n, y, r0, r1);
    case DType::kQ2_K: return QuantRowsTyped<DType::kQ2_K>(w, xq, n, y, r0, r1);
    case DType::kQ3_K: return QuantRowsTyped<DType::kQ3_K>(w, xq, n, y, r0, r1);
    case DType::kQ4_K: return QuantRowsTyped<DType::kQ4_K>(w, xq, n, y, r0, r1);
    case DType::kQ5_K: return QuantRowsTyped<DType::kQ5_K>(w, xq, n, y, r0, r1);
    case DType::kQ6_K: return QuantRowsTyped<DType::kQ6_K>(w, xq, n, y, r0, r1);
    case DType::kIQ4_NL: return QuantRowsTyped<DType::kIQ4_NL>(w, xq, n, y, r0, r1);
    case DType::kIQ4_XS: return QuantRowsTyped<DType::kIQ4_XS>(w, xq, n, y, r0, r1);
    default: break;
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

}  // namespace HWY_NAMESPACE
}  // namespace kvpress
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace kvpress {

HWY_EXPORT(QuantMatMulRowsImpl);

void QuantMatMulRows(const MatrixView& w, const BlockQ8A* xq, int n, float* y, int64_t r0,
                     int64_t r1) {
  HWY_DYNAMIC_DISPATCH(QuantMatMulRowsImpl)(w, xq, n, y, r0, r1);
}

}  // namespace kvpress
#endif  // HWY_ONCE
