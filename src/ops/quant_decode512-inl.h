// The few-token (decode) kernel of the super-block types (Q4_K, Q5_K, Q6_K) at 512 bits: two
// 32-weight sub-blocks per vector. Included by quant_matmul.cc inside its per-target namespace,
// after QuantTileSuper, on AVX-512 targets only. (The same pairing for the per-block kernel of
// Q8_0/Q4_0 was slower: 38 → 47 and 44 → 58 µs one token, 1024 × 1024 — its per-block scalar
// decoding, not the dot products, bounds it.)
//
// Why: at one token the 256-bit kernel spends four vector instructions per (row, sub-block) — the
// integer dot, its conversion, the scale product and the multiply-add — for 32 multiply-adds, and
// one-token decoding is bound by them, not by memory (0.35B Q4_K_M: 52 % of the bandwidth
// roofline). The reference machine (Ice Lake server) runs 512-bit vpdpbusd and FMA at more than one
// per cycle (1.47× and 1.7× the multiply-adds of 256 bits, measured), so pairing sub-blocks halves
// the instruction count per weight. The arithmetic per sub-block is that of QuantTileSuper (same
// integer sums, same f32 products); only the order in which the per-lane f32 partial sums are
// finally added differs.
//
// (No include guard: compiled once per Highway target, like quant_unpack-inl.h.)

#if HWY_TARGET <= HWY_AVX3

// acc += Σ over each 4-byte group of u (unsigned) × q (signed), 16 int32 lanes: vpdpbusd (these
// kernels run only where the CPU has AVX-512 VNNI; inline asm because the Highway target this
// file compiles for does not enable it).
HWY_INLINE __m512i DotBytes512(__m512i acc, __m512i u, __m512i q) {
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(q));
  return acc;
}

HWY_INLINE __m512i Join256(__m256i lo, __m256i hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

// Lanes 0–7 s[0], 8–15 s[1] (uniform sub-blocks); or lanes 4i..4i+3 s[i] (Q6_K's 16-weight halves).
template <bool kUniform>
HWY_INLINE __m512 PairScales(const float* s) {
  const __m512i idx = kUniform ? _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0)
                               : _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
  return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(_mm_loadu_ps(s)));
}

// QuantTileSuper with sub-blocks (2k, 2k+1) of each super-block in one 512-bit vector.
template <DType t, int RM, int RN>
HWY_INLINE void QuantTileSuper512(const MatrixView& w, int64_t r, const BlockQ8A* const* x,
                                  const TokenTileScratch& tok, size_t nb, float* y, size_t ldy) {
  static_assert(kSuperBlockScales<t> && !kSignedWeights<t>, "super-block kernel: Q4_K, Q5_K, Q6_K");
  constexpr bool kStart = kIntegerOffset<t, true> != 0;
  __m512 acc[RM][RN];
  for (int m = 0; m < RM; ++m)
    for (int j = 0; j < RN; ++j) acc[m][j] = _mm512_setzero_ps();
  const void* rows[RM];
  for (int m = 0; m < RM; ++m) rows[m] = w.Row(r + m);
  SuperBlockScales scales[RM];
  // Prefetch as QuantTileSuper: the same place in the next row tile.
  const size_t block_bytes = w.row_bytes / nb, next_tile = static_cast<size_t>(RM) * w.row_bytes;
  for (size_t sup = 0; sup < nb / 8; ++sup) {
    for (int m = 0; m < RM; ++m) DecodeSuperBlockScales<t>(rows[m], sup, scales[m]);
    if constexpr (kFloatOffset<t>) {
      for (int j = 0; j < RN; ++j) {
        const __m512 sums = _mm512_zextps256_ps512(
            _mm256_loadu_ps(tok.ds + static_cast<size_t>(j) * 2 * nb + 8 * sup));
        for (int m = 0; m < RM; ++m) {
          acc[m][j] = _mm512_fmadd_ps(_mm512_zextps256_ps512(_mm256_load_ps(scales[m].offset)),
                                      sums, acc[m][j]);
        }
      }
    }
#pragma GCC unroll 4
    for (int pair = 0; pair < 4; ++pair) {
      const int sb = 2 * pair;
      const size_t b = 8 * sup + static_cast<size_t>(sb);
      for (int m = 0; m < RM; ++m) {
        _mm_prefetch(static_cast<const char*>(rows[m]) + next_tile + b * block_bytes, _MM_HINT_T0);
      }
      __m512i u[RM];
      __m512 scale[RM];
      for (int m = 0; m < RM; ++m) {
        u[m] = Join256(UnpackKBits<t>(rows[m], sup, sb), UnpackKBits<t>(rows[m], sup, sb + 1));
        scale[m] = kUniformBlock<t> ? PairScales<true>(scales[m].scale + sb)
                                    : PairScales<false>(scales[m].scale + 2 * sb);
      }
      for (int j = 0; j < RN; ++j) {
        const BlockQ8A& x0 = x[j][b];
        const BlockQ8A& x1 = x[j][b + 1];
        const __m512i q = Join256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x0.q)),
                                  _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x1.q)));
        const __m512 dx = _mm512_insertf32x8(_mm512_set1_ps(x0.d), _mm256_set1_ps(x1.d), 1);
        // tok.start is [RN, nb, 8]: blocks b and b + 1 are 16 contiguous lanes.
        const __m512i start =
            kStart ? _mm512_loadu_si512(tok.start + (static_cast<size_t>(j) * nb + b) * 8)
                   : _mm512_setzero_si512();
        for (int m = 0; m < RM; ++m) {
          const __m512i p = DotBytes512(start, u[m], q);
          acc[m][j] =
              _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(scale[m], dx), acc[m][j]);
        }
      }
    }
  }
  for (int m = 0; m < RM; ++m) {
    for (int j = 0; j < RN; ++j)
      y[static_cast<size_t>(j) * ldy + static_cast<size_t>(r + m)] =
          _mm512_reduce_add_ps(acc[m][j]);
  }
}

#endif  // HWY_TARGET <= HWY_AVX3
