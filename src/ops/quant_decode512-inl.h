// The few-token (decode) kernel of the super-block types (Q4_K, Q5_K, Q6_K) at 512 bits: two
// 32-weight sub-blocks (a "pair") per vector. Included by quant_matmul.cc inside its per-target
// namespace, after QuantTileSuper, on AVX-512 targets only. (The same pairing for the per-block
// kernel of Q8_0/Q4_0 was slower: 38 → 47 and 44 → 58 µs one token, 1024 × 1024 — its per-block
// scalar decoding, not the dot products, bounds it.)
//
// Why: in cache, these kernels are bound by vector instructions (a 512-bit instruction costs one
// issue slot of Ice Lake's ports 0/5, two of Zen 4's 256-bit pipes), so the count per weight is
// what matters. Per (row, pair):
//  - the weights of a pair are unpacked from where they already sit together — Q4_K's sub-blocks
//    2p and 2p+1 are the low and high nibbles of the same 32 bytes (one broadcast load, one masked
//    shift, one and), Q6_K's two low-nibble planes are 64 contiguous bytes — instead of two 256-bit
//    unpacks and a join (17 → 5 instructions for Q6_K, 7 → 2 for Q4_K);
//  - the pair's scale vector is one permute of the super-block's scales, kept in registers;
//  - per token: vpdpbusd, a conversion, the scale product and the multiply-add, with the token's
//    64 bytes and 16 block scales read from a pair-contiguous copy made once per token tile
//    (TokenTileScratch's q and dx) as memory operands.
// The arithmetic per sub-block is that of QuantTileSuper (same integer sums, same f32 products);
// only the order in which the per-lane f32 partial sums are finally added differs.
//
// (No include guard: compiled once per Highway target, like quant_unpack-inl.h.)

#if HWY_TARGET <= HWY_AVX3

// acc += Σ over each 4-byte group of u (unsigned) × q (signed), 16 int32 lanes: vpdpbusd (these
// kernels run only where the CPU has AVX-512 VNNI; inline asm because the Highway target this
// file compiles for does not enable it). q may be read from memory.
HWY_INLINE __m512i DotBytes512(__m512i acc, __m512i u, const void* q) {
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "m"(*static_cast<const __m512i*>(q)));
  return acc;
}

// The 32 bytes at p in both 256-bit halves.
HWY_INLINE __m512i Broadcast256(const uint8_t* p) {
  return _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// The 64 weight integers of sub-blocks 2·pair and 2·pair + 1 of super-block `sup` (bit planes only,
// in DecodeQuantBlock's order: sub-block 2·pair in bytes 0..31).
template <DType t, int kPair>
HWY_INLINE __m512i UnpackKPair(const void* row, size_t sup) {
  constexpr __mmask32 kHighWords = 0xFFFF0000u;  // the 16-bit lanes of the upper 256 bits
  if constexpr (t == DType::kQ4_K || t == DType::kQ5_K) {
    using Block = std::conditional_t<t == DType::kQ4_K, BlockQ4_K, BlockQ5_K>;
    const Block& q = static_cast<const Block*>(row)[sup];
    // Sub-block 2p is the low nibbles of qs[32p ..], 2p + 1 their high nibbles.
    const __m512i v = Broadcast256(q.qs + 32 * kPair);
    __m512i u =
        _mm512_and_si512(_mm512_mask_srli_epi16(v, kHighWords, v, 4), _mm512_set1_epi8(0xF));
    if constexpr (t == DType::kQ5_K) {  // bit sb of qh[l] is 16 in element l of sub-block sb
      const __m512i bits =
          _mm512_inserti64x4(_mm512_set1_epi8(static_cast<char>(1 << (2 * kPair))),
                             _mm256_set1_epi8(static_cast<char>(1 << (2 * kPair + 1))), 1);
      const __mmask64 fifth = _mm512_test_epi8_mask(Broadcast256(q.qh), bits);
      u = _mm512_mask_add_epi8(u, fifth, u, _mm512_set1_epi8(16));
    }
    return u;
  } else {
    static_assert(t == DType::kQ6_K, "UnpackKPair: Q4_K, Q5_K or Q6_K");
    const BlockQ6_K& q = static_cast<const BlockQ6_K*>(row)[sup];
    // Sub-blocks 2p, 2p + 1 (h = p / 2, j = 2(p % 2) and j + 1): low 4 bits from the 64 bytes
    // ql[64h ..] shifted by 4(p % 2); high 2 bits from qh[32h + l] bits 2j (first 32) and 2j + 2.
    constexpr int h = kPair / 2, j = 2 * (kPair % 2);
    __m512i low = _mm512_loadu_si512(q.ql + 64 * h);
    if constexpr (j == 2) low = _mm512_srli_epi16(low, 4);
    const __m512i qh = Broadcast256(q.qh + 32 * h);
    // Bits (2j, 2j + 1) of each byte to bits (4, 5): a shift by 4 - 2j, left or right (16-bit
    // lanes: bits crossing into the neighbour byte land outside 0x30 and are masked off).
    __m512i high;
    if constexpr (j == 0) {
      high = _mm512_mask_slli_epi16(_mm512_slli_epi16(qh, 4), kHighWords, qh, 2);
    } else {
      high = _mm512_mask_srli_epi16(qh, kHighWords, qh, 2);
    }
    // (low & 0x0F) | (high & 0x30): vpternlogd's bitwise select under the mask 0x0F, high
    // pre-masked.
    return _mm512_ternarylogic_epi32(_mm512_set1_epi8(0xF), low,
                                     _mm512_and_si512(high, _mm512_set1_epi8(0x30)), 0xCA);
  }
}

// The f32 scales of one super-block in registers: Q4_K/Q5_K lanes 0..7 d·sc_i and lanes 8..15 the
// offsets -dmin·m_i; Q6_K lanes 0..15 d·scales[i] (the 16-weight halves). The values of
// DecodeSuperBlockScales, decoded without leaving vector registers: through memory (scalar
// unpacking, stored f32 arrays) it was 31 % of the Q4_K kernel's time.
template <DType t>
HWY_INLINE __m512 SuperBlockScales512(const void* row, size_t sup) {
  if constexpr (t == DType::kQ6_K) {
    const BlockQ6_K& q = static_cast<const BlockQ6_K*>(row)[sup];
    const __m128i s = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q.scales));
    return _mm512_mul_ps(_mm512_set1_ps(Half(q.d)), _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(s)));
  } else {
    static_assert(t == DType::kQ4_K || t == DType::kQ5_K,
                  "SuperBlockScales512: Q4_K, Q5_K or Q6_K");
    using Block = std::conditional_t<t == DType::kQ4_K, BlockQ4_K, BlockQ5_K>;
    const Block& q = static_cast<const Block*>(row)[sup];
    const __m128i sc_m = ScaleMinBytesK4(q.scales);
    // [d, dmin] -> [d ×8, -dmin ×8]
    uint32_t d_dmin;
    std::memcpy(&d_dmin, &q.d, 4);
    const __m128 dd =
        _mm_xor_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(d_dmin))),
                   _mm_castsi128_ps(_mm_setr_epi32(0, static_cast<int>(0x80000000u), 0, 0)));
    const __m512 factors =
        _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                              _mm512_castps128_ps512(dd));
    return _mm512_mul_ps(factors, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(sc_m)));
  }
}

// The scale vector of pair p: lanes 0–7 scale[2p], 8–15 scale[2p + 1] (uniform sub-blocks), or
// lanes 4i..4i+3 scale[4p + i] (Q6_K's 16-weight halves).
template <DType t, int kPair>
HWY_INLINE __m512 PairScale(__m512 scales) {
  constexpr int a = kPair * 2;
  const __m512i idx = kUniformBlock<t>
                          ? _mm512_set_epi32(a + 1, a + 1, a + 1, a + 1, a + 1, a + 1, a + 1, a + 1,
                                             a, a, a, a, a, a, a, a)
                          : _mm512_set_epi32(2 * a + 3, 2 * a + 3, 2 * a + 3, 2 * a + 3, 2 * a + 2,
                                             2 * a + 2, 2 * a + 2, 2 * a + 2, 2 * a + 1, 2 * a + 1,
                                             2 * a + 1, 2 * a + 1, 2 * a, 2 * a, 2 * a, 2 * a);
  return _mm512_permutexvar_ps(idx, scales);
}

// One token's activations for the pair kernel (TokenTileScratch's q and dx), filled once per token
// tile: q [nb, 32] bytes (a pair's 64 contiguous), dx [nb, 8] (block b's scale d in lanes
// 8b..8b+7).
HWY_INLINE void FillPairTokens(const BlockQ8A* x, size_t nb, int8_t* q, float* dx) {
  for (size_t b = 0; b < nb; ++b) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 32 * b),
                        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].q)));
    _mm256_storeu_ps(dx + 8 * b, _mm256_set1_ps(x[b].d));
  }
}

// acc[m][j] += pair kPair of super-block `sup` (rows m, tokens j), with a prefetch `ahead` bytes
// further in each row.
template <DType t, int RM, int RN, int kPair>
HWY_INLINE void AccumulatePair512(const void* const* rows, size_t sup, const __m512 (&scales)[RM],
                                  const TokenTileScratch& tok, size_t nb, size_t ahead,
                                  size_t block_bytes, __m512 (&acc)[RM][RN]) {
  constexpr bool kStart = kIntegerOffset<t, true> != 0;
  const size_t b = 8 * sup + 2 * kPair;
  for (int m = 0; m < RM; ++m) {
    _mm_prefetch(static_cast<const char*>(rows[m]) + ahead + b * block_bytes, _MM_HINT_T0);
  }
  __m512i u[RM];
  __m512 scale[RM];
  for (int m = 0; m < RM; ++m) {
    u[m] = UnpackKPair<t, kPair>(rows[m], sup);
    scale[m] = PairScale<t, kPair>(scales[m]);
  }
  for (int j = 0; j < RN; ++j) {
    const size_t at = static_cast<size_t>(j) * nb + b;
    // tok.start is [RN, nb, 8]: blocks b and b + 1 are 16 contiguous lanes.
    const __m512i start = kStart ? _mm512_loadu_si512(tok.start + at * 8) : _mm512_setzero_si512();
    const __m512 dx = _mm512_loadu_ps(tok.dx + at * 8);
    for (int m = 0; m < RM; ++m) {
      const __m512i p = DotBytes512(start, u[m], tok.q + at * 32);
      acc[m][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(scale[m], dx), acc[m][j]);
    }
  }
}

// QuantTileSuper with sub-blocks (2k, 2k+1) of each super-block in one 512-bit vector.
//
// Memory: one-token decoding walks one row at a time (RM = 1, QuantTokenTile): one forward stream
// per thread, prefetched kOneRowPrefetchBytes ahead. Tiles of 4 rows read 4 interleaved streams one
// row apart (576 bytes for 1024 Q4_K columns), and from memory their compute and memory time simply
// added up (2816 × 1024 Q4_K, one thread, AMD EPYC Zen 4: 199 µs from memory = 84 µs in cache +
// ~108 µs at the probe's bandwidth; one row at a time: 105 µs). The four pairs of a super-block
// then feed separate accumulators, so that one accumulator's multiply-add latency does not bound
// the row.
template <DType t, int RM, int RN>
HWY_INLINE void QuantTileSuper512(const MatrixView& w, int64_t r, const TokenTileScratch& tok,
                                  size_t nb, float* y, size_t ldy) {
  static_assert(kSuperBlockScales<t> && !kSignedWeights<t>, "super-block kernel: Q4_K, Q5_K, Q6_K");
  constexpr int kSplit = RM * RN == 1 ? 4 : 1;  // accumulator sets, pair p into set p % kSplit
  __m512 acc[kSplit][RM][RN];
  for (int s = 0; s < kSplit; ++s)
    for (int m = 0; m < RM; ++m)
      for (int j = 0; j < RN; ++j) acc[s][m][j] = _mm512_setzero_ps();
  const void* rows[RM];
  for (int m = 0; m < RM; ++m) rows[m] = w.Row(r + m);
  const size_t block_bytes = w.row_bytes / nb;
  const size_t ahead = RM == 1 ? kOneRowPrefetchBytes : static_cast<size_t>(RM) * w.row_bytes;
  for (size_t sup = 0; sup < nb / 8; ++sup) {
    __m512 scales[RM];
    for (int m = 0; m < RM; ++m) scales[m] = SuperBlockScales512<t>(rows[m], sup);
    if constexpr (kFloatOffset<t>) {
      // Σ_i -dmin·m_i · ds_i: the token's 8 block sums in lanes 8..15 against the offsets there
      // (0 in lanes 0..7).
      for (int j = 0; j < RN; ++j) {
        const __m512 sums = _mm512_insertf32x8(
            _mm512_setzero_ps(),
            _mm256_loadu_ps(tok.ds + static_cast<size_t>(j) * 2 * nb + 8 * sup), 1);
        for (int m = 0; m < RM; ++m) acc[0][m][j] = _mm512_fmadd_ps(scales[m], sums, acc[0][m][j]);
      }
    }
    AccumulatePair512<t, RM, RN, 0>(rows, sup, scales, tok, nb, ahead, block_bytes, acc[0]);
    AccumulatePair512<t, RM, RN, 1>(rows, sup, scales, tok, nb, ahead, block_bytes,
                                    acc[1 % kSplit]);
    AccumulatePair512<t, RM, RN, 2>(rows, sup, scales, tok, nb, ahead, block_bytes,
                                    acc[2 % kSplit]);
    AccumulatePair512<t, RM, RN, 3>(rows, sup, scales, tok, nb, ahead, block_bytes,
                                    acc[3 % kSplit]);
  }
  for (int m = 0; m < RM; ++m) {
    for (int j = 0; j < RN; ++j) {
      __m512 sum = acc[0][m][j];
      for (int s = 1; s < kSplit; ++s) sum = _mm512_add_ps(sum, acc[s][m][j]);
      y[static_cast<size_t>(j) * ldy + static_cast<size_t>(r + m)] = _mm512_reduce_add_ps(sum);
    }
  }
}

#endif  // HWY_TARGET <= HWY_AVX3
