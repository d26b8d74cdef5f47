// Per-target helpers that unpack one 32-weight block of any block-quantized type into 32 bytes in an
// AVX2 register (plus its scales and offsets), shared by the decode kernel (quant_matmul.cc) and the
// int8 prefill kernel (prefill_gemm_int8.cc). Included once per Highway target from inside
// `namespace kvpress::HWY_NAMESPACE` of a file that defines KVPRESS_QUANT_AVX2; the include guard
// toggles per target as Highway's -inl.h convention requires.
#if defined(KVPRESS_OPS_QUANT_UNPACK_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef KVPRESS_OPS_QUANT_UNPACK_INL_H_
#undef KVPRESS_OPS_QUANT_UNPACK_INL_H_
#else
#define KVPRESS_OPS_QUANT_UNPACK_INL_H_
#endif

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

// The 32 weight integers (bit planes only, no scales) of sub-block sb (0..7) of super-block `sup`
// of a Q4_K, Q5_K or Q6_K row, in DecodeQuantBlock's order.
template <DType t>
HWY_INLINE __m256i UnpackKBits(const void* row, size_t sup, int sb) {
  if constexpr (t == DType::kQ4_K) {
    const BlockQ4_K& q = static_cast<const BlockQ4_K*>(row)[sup];
    return Plane32(q.qs + 32 * (sb / 2), 4 * (sb % 2), 0xF);
  } else if constexpr (t == DType::kQ5_K) {
    const BlockQ5_K& q = static_cast<const BlockQ5_K*>(row)[sup];
    return _mm256_or_si256(Plane32(q.qs + 32 * (sb / 2), 4 * (sb % 2), 0xF), BitOf32(q.qh, sb, 0x10));
  } else {
    static_assert(t == DType::kQ6_K, "UnpackKBits: Q4_K, Q5_K or Q6_K");
    const BlockQ6_K& q = static_cast<const BlockQ6_K*>(row)[sup];
    const int h = sb / 4, j = sb % 4;
    const __m256i low = Plane32(q.ql + 64 * h + 32 * (j % 2), 4 * (j / 2), 0xF);
    const __m256i high = Plane32(q.qh + 32 * h, 2 * j, 3);
    return _mm256_or_si256(low, _mm256_slli_epi16(high, 4));
  }
}

// The f32 scales of one super-block of a Q4_K, Q5_K or Q6_K row, decoded once for its 8 sub-blocks
// (decoding them per sub-block, as UnpackBlock does, dominated one-token decoding: 0.35× llama.cpp's
// Q4_K_M decode speed). Q4_K/Q5_K: scale[i] = d·sc_i and offset[i] = -dmin·m_i for sub-block i < 8
// (DecodeQuantBlock's dw·s and c); Q6_K: scale[i] = d·scales[i] for each 16-weight half i < 16, no
// offsets (its -32 is an integer offset).
struct SuperBlockScales {
  alignas(32) float scale[16];
  alignas(32) float offset[8];
};

// UnpackScaleMinK4 for all 8 sub-blocks of a Q4_K/Q5_K super-block at once: bytes 0..7 the scales
// sc_0..7, bytes 8..15 the mins m_0..7, from the 16 bytes at `scales` (its 12, then 4 bytes of
// qh/qs that are never used). i < 4: sc = b[i] & 63, m = b[i + 4] & 63; i ≥ 4: sc = (b[i + 4] & 15)
// | (b[i - 4] >> 6) << 4, m = (b[i + 4] >> 4) | (b[i] >> 6) << 4.
HWY_INLINE __m128i ScaleMinBytesK4(const uint8_t* scales) {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(scales));
  const __m128i low_src = _mm_shuffle_epi8(b, _mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11));
  // Lanes 12..15 take the high nibbles of b[8..11]: that dword shifted right by 4.
  const __m128i low = _mm_and_si128(_mm_blend_epi32(low_src, _mm_srli_epi16(low_src, 4), 0x8),
                                    _mm_setr_epi8(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 15, 15, 15, 15));
  // Lanes 4..7 and 12..15 take bits 6..7 of b[0..3] and b[4..7] as bits 4..5 (-1: zero lanes).
  const __m128i top = _mm_shuffle_epi8(b, _mm_setr_epi8(-1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1, -1, 4, 5, 6, 7));
  return _mm_or_si128(low, _mm_and_si128(_mm_srli_epi16(top, 2), _mm_set1_epi8(0x30)));
}

template <DType t>
HWY_INLINE void DecodeSuperBlockScales(const void* row, size_t sup, SuperBlockScales& out) {
  if constexpr (t == DType::kQ6_K) {
    const BlockQ6_K& q = static_cast<const BlockQ6_K*>(row)[sup];
    const __m256 d = _mm256_set1_ps(Half(q.d));
    const __m128i s = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q.scales));
    _mm256_store_ps(out.scale, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(s))));
    _mm256_store_ps(out.scale + 8, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(s, 8)))));
  } else {
    static_assert(t == DType::kQ4_K || t == DType::kQ5_K, "DecodeSuperBlockScales: Q4_K, Q5_K or Q6_K");
    using Block = std::conditional_t<t == DType::kQ4_K, BlockQ4_K, BlockQ5_K>;
    const Block& q = static_cast<const Block*>(row)[sup];
    const __m128i sc = ScaleMinBytesK4(q.scales), mn = _mm_srli_si128(sc, 8);
    _mm256_store_ps(out.scale, _mm256_mul_ps(_mm256_set1_ps(Half(q.d)), _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(sc))));
    _mm256_store_ps(out.offset,
                    _mm256_mul_ps(_mm256_set1_ps(-Half(q.dmin)), _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(mn))));
  }
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
      return UnpackKBits<DType::kQ4_K>(row, sup, sb);
    }
    case DType::kQ6_K: {
      const BlockQ6_K& q = static_cast<const BlockQ6_K*>(row)[sup];
      const float d = Half(q.d);
      w.s[0] = q.scales[2 * sb];
      w.s[1] = q.scales[2 * sb + 1];
      w.dw = d;
      w.c[0] = -32.0f * d * static_cast<float>(w.s[0]);
      w.c[1] = -32.0f * d * static_cast<float>(w.s[1]);
      w.is_signed = false;
      return UnpackKBits<DType::kQ6_K>(row, sup, sb);
    }
    case DType::kQ5_K: {
      DecodeQuantBlock(t, row, b, w, /*values=*/false);
      return UnpackKBits<DType::kQ5_K>(row, sup, sb);
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

// acc + per int32 lane i, Σ of u8 u[4i..4i+3] × s8 q[4i..4i+3]. With VNNI one vpdpbusd (written
// as inline assembly: Highway 1.0's AVX3_DL target string names the VEX-only `avxvnni`, which Ice
// Lake lacks, so the EVEX instruction is emitted directly and chosen by a CPUID check at run time);
// otherwise vpmaddubsw + vpmaddwd + vpaddd, whose 16-bit pair sums cannot saturate: weights are
// ≤ 63, or |w| ≤ 128 against |q| ≤ 127 for the signed types.
template <bool kVnni>
HWY_INLINE __m256i DotBytes(__m256i acc, __m256i u, __m256i q) {
  if constexpr (kVnni) {
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(q));
    return acc;
  } else {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, q), _mm256_set1_epi16(1)));
  }
}

// How each type's offset c enters the product (DecodeQuantBlock's weight = dw·s[h]·v + c[h]).
// Signed bytes (Q8_0, IQ4_NL, IQ4_XS): no offset; multiplied as |w| against sign(w)·q.
template <DType t>
constexpr bool kSignedWeights = t == DType::kQ8_0 || t == DType::kIQ4_NL || t == DType::kIQ4_XS;
// An integer offset k (c = -k·dw·s): Σ (u - k)·q = Σ u·q - k·Σ q, the second term computed once
// per activation block and used as the accumulator's starting value. With VNNI the signed types
// take this route too, as w + 128 in u8 (one xor per weight block instead of a sign per token).
template <DType t, bool kVnni>
constexpr int kIntegerOffset = t == DType::kQ4_0 ? 8 : t == DType::kQ5_0 ? 16 : t == DType::kQ3_K ? 4
                               : t == DType::kQ6_K ? 32 : (kSignedWeights<t> && kVnni) ? 128 : 0;
// A float offset (Q4_1, Q5_1, Q4_K, Q5_K, Q2_K): Σ_b c·ds, one dot product per (row, token).
template <DType t>
constexpr bool kFloatOffset = !kSignedWeights<t> && kIntegerOffset<t, false> == 0;
// Whether both 16-element halves of a block share their scale and offset (all but Q2_K, Q3_K, Q6_K).
template <DType t>
constexpr bool kUniformBlock = !(t == DType::kQ2_K || t == DType::kQ3_K || t == DType::kQ6_K);
// Types whose kernels decode scales once per 256-weight super-block (DecodeSuperBlockScales).
template <DType t>
constexpr bool kSuperBlockScales = t == DType::kQ4_K || t == DType::kQ5_K || t == DType::kQ6_K;

// One block of 32 activations rounded to int8 with the scalar QuantizeActivations' operations in
// the same order (max |x|, d = amax / 127, id = 1 / d, q = round-half-even(x · id)), so bytes and
// scale are identical: the 32 bytes in order, the scale d and the integer sums of each half of 16.
// Shared by the decode kernel's quantizer and the int8 GEMM's packing.
struct QuantizedBlock32 {
  __m256i bytes;
  float d;
  int32_t sum[2];
};
HWY_INLINE QuantizedBlock32 QuantizeBlock32(const float* xb) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 v[4];
  for (int i = 0; i < 4; ++i) v[i] = _mm256_loadu_ps(xb + 8 * i);
  const __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v[0], abs_mask), _mm256_and_ps(v[1], abs_mask)),
                                 _mm256_max_ps(_mm256_and_ps(v[2], abs_mask), _mm256_and_ps(v[3], abs_mask)));
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
  QuantizedBlock32 out;
  out.d = _mm_cvtss_f32(h) / 127.0f;
  const float id = out.d != 0.0f ? 1.0f / out.d : 0.0f;
  const __m256 vid = _mm256_set1_ps(id);
  __m256i q[4];
  for (int i = 0; i < 4; ++i) q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], vid));
  const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
  out.bytes = _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  const __m256i half0 = _mm256_add_epi32(q[0], q[1]), half1 = _mm256_add_epi32(q[2], q[3]);
  // Both halves' sums at once: lanes [h0(0+1+2+3), h1(0+1+2+3), 0, 0 | h0(4+5+6+7), h1(4+5+6+7), 0, 0]
  const __m256i pair = _mm256_hadd_epi32(_mm256_hadd_epi32(half0, half1), _mm256_setzero_si256());
  const __m128i sums = _mm_add_epi32(_mm256_castsi256_si128(pair), _mm256_extracti128_si256(pair, 1));
  out.sum[0] = _mm_cvtsi128_si32(sums);
  out.sum[1] = _mm_extract_epi32(sums, 1);
  return out;
}

#endif  // KVPRESS_QUANT_AVX2
#endif  // include guard
