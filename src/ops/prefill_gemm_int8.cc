// The int8 prefill GEMM for block-quantized weights (prefill_gemm.h), on CPUs with AVX-512 VNNI.
//
// With activations rounded to int8 per block of 32 (as the decode kernel and ggml do), a VNNI
// vpdpbusd multiplies 64 byte pairs per 512-bit instruction where an f32 FMA does 16: the f32
// prefill kernel's ceiling (one multiply-add per weight and token) is what this one escapes.
// Layout as in the f32 kernel, with lanes along tokens: each token tile's activation blocks are
// packed [block, quad of 4 values, tokens, 4 bytes] as signed bytes, a task's weight rows are
// unpacked once into w + 128 (vpdpbusd's unsigned operand; integer offsets such as Q4_0's 8 taken
// off first, so only the float offsets of Q4_1/Q4_K/... remain) with one scale (and offset) per
// group of 32 or 16 weights, and the micro-kernel keeps MR rows × 16 or 32 tokens of int32 group
// sums beside their f32 totals:
//   isum[m][v] = -128·Σ_group x  +  Σ_quads dpbusd(broadcast(w[m, quad] + 128), x)
//   acc[m][v] += float(isum) · (dx[v] · scale[m, group])  (+ offset[m, group] · Σx[v, group])
// The per-group epilogue costs 3–4 instructions per 16 token-lanes of each row against 8 (or 4)
// vpdpbusd, so a 32-group runs ~2.5× the multiply-adds per cycle of the f32 kernel.
// The error is that of the int8 activations (quant_matmul.h); the f32 path stays for goldens.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/prefill_gemm_int8.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <cstring>
#include <vector>

#include "ops/matmul.h"
#include "ops/prefill_gemm.h"
#include "ops/quant_blocks.h"
#include "ops/quant_matmul.h"

// Compiled once per Highway target (foreach_target): the switches are set anew each time.
#include "ops/quant_avx2_switch.h"  // NOLINT(build/include): per target pass
#undef KVPRESS_INT8_GEMM
// The kernel's 28 live vectors need AVX-512's 32 registers; VNNI is checked at run time.
#if KVPRESS_QUANT_AVX2 && HWY_TARGET <= HWY_AVX3
#define KVPRESS_INT8_GEMM 1
#else
#define KVPRESS_INT8_GEMM 0
#endif

HWY_BEFORE_NAMESPACE();
namespace kvpress {
namespace HWY_NAMESPACE {

// Half, Nibbles16, ..., UnpackBlock<t>, DotBytes, the type traits (guard toggles per target).
#include "ops/quant_unpack-inl.h"

#if KVPRESS_INT8_GEMM

// Micro-tile shapes: NV token vectors (tiles of lanes·NV tokens) × MR rows, so that MR·NV int32
// sums + MR·NV f32 totals + NV activation vectors + 1 broadcast fit 32 registers.
template <int NV>
constexpr int kRowsFor = NV == 2 ? 6 : 4;
constexpr int kRowPad = 12;  // the unpacked rows are padded to a multiple of both 4 and 6

// The micro-kernel's vector operations at 256 and 512 bits. Prefill tiles (32 tokens) take 512-bit
// vectors: the reference machine (Ice Lake server) runs 512-bit vpdpbusd at more than one per
// cycle (measured on one core, 1 ms windows: 4.17 G 512-bit vs 5.66 G 256-bit instructions/s,
// 1.47× the multiply-adds; kernels_bench q8_0 1024 × 2816 × 512 tokens 14.4 → 12.2 ms). Batched
// decoding's 16-token tiles stay at 256 bits: at 16 tokens a 512-bit tile has one activation
// vector per 12 broadcasts and ran 15% slower.
struct Vec256 {
  using I = __m256i;
  using F = __m256;
  static constexpr int kLanes = 8;
  static I LoadI(const int32_t* p) { return _mm256_load_si256(reinterpret_cast<const __m256i*>(p)); }
  static I Broadcast(int32_t w) { return _mm256_set1_epi32(w); }
  static I Dot(I acc, I u, I q) { return DotBytes<true>(acc, u, q); }
  static F Zero() { return _mm256_setzero_ps(); }
  static F LoadF(const float* p) { return _mm256_load_ps(p); }
  static F Set(float v) { return _mm256_set1_ps(v); }
  static F Mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F MulAdd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F ToFloat(I v) { return _mm256_cvtepi32_ps(v); }
  static void Store(F v, float* p) { _mm256_store_ps(p, v); }
};
struct Vec512 {
  using I = __m512i;
  using F = __m512;
  static constexpr int kLanes = 16;
  static I LoadI(const int32_t* p) { return _mm512_load_si512(p); }
  static I Broadcast(int32_t w) { return _mm512_set1_epi32(w); }
  // vpdpbusd by inline asm: the Highway target this file compiles for does not enable VNNI
  // (checked at run time).
  static I Dot(I acc, I u, I q) {
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(q));
    return acc;
  }
  static F Zero() { return _mm512_setzero_ps(); }
  static F LoadF(const float* p) { return _mm512_load_ps(p); }
  static F Set(float v) { return _mm512_set1_ps(v); }
  static F Mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F MulAdd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F ToFloat(I v) { return _mm512_cvtepi32_ps(v); }
  static void Store(F v, float* p) { _mm512_store_ps(p, v); }
};

// Weights per scale: 32, or 16 for the types whose block halves differ (Q2_K, Q3_K, Q6_K).
template <DType t>
constexpr int kGroup = kUniformBlock<t> ? 32 : 16;

// A task's rows unpacked: u [rows, cols] the weights as unsigned bytes w + 128; per group
// [rows, cols / G]: scale (dw·s) and offset (c, zero for types without a float offset).
struct Int8Rows {
  uint8_t* u;
  float* scale;
  float* offset;
};

template <DType t>
void UnpackRows(const MatrixView& w, int64_t r0, int64_t r1, int64_t rows_padded, size_t prefetch_ahead,
                const Int8Rows& out) {
  constexpr int G = kGroup<t>;
  constexpr int kOffset = kIntegerOffset<t, false>;
  const size_t cols = static_cast<size_t>(w.cols), nb = cols / 32, groups = cols / G;
  // The rows come from memory once per call: prefetch `prefetch_ahead` bytes further (batched
  // decoding reads every weight once per step, so this is where it waits).
  const size_t block_bytes = w.row_bytes / nb;
  DecodedBlock wb;
  for (int64_t r = r0; r < r1; ++r) {
    const size_t i = static_cast<size_t>(r - r0);
    uint8_t* u = out.u + i * cols;
    const void* row = w.Row(r);
    for (size_t b = 0; b < nb; ++b) {
      _mm_prefetch(static_cast<const char*>(row) + prefetch_ahead + b * block_bytes, _MM_HINT_T0);
      __m256i v = UnpackBlock<t>(row, b, wb);
      if constexpr (kOffset != 0) v = _mm256_sub_epi8(v, _mm256_set1_epi8(static_cast<char>(kOffset)));
      v = _mm256_xor_si256(v, _mm256_set1_epi8(static_cast<char>(0x80)));  // w + 128
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(u + b * 32), v);
      const size_t g = i * groups + b * (32 / G);
      out.scale[g] = wb.dw * static_cast<float>(wb.s[0]);
      out.offset[g] = kFloatOffset<t> ? wb.c[0] : 0.0f;
      if constexpr (G == 16) {
        out.scale[g + 1] = wb.dw * static_cast<float>(wb.s[1]);
        out.offset[g + 1] = kFloatOffset<t> ? wb.c[1] : 0.0f;
      }
    }
  }
  // Pad rows: w + 128 = 128 against a start of -128·Σx gives 0, and scale 0 anyway.
  const size_t used = static_cast<size_t>(r1 - r0), pad = static_cast<size_t>(rows_padded) - used;
  std::memset(out.u + used * cols, 0x80, pad * cols);
  std::memset(out.scale + used * groups, 0, pad * groups * sizeof(float));
  std::memset(out.offset + used * groups, 0, pad * groups * sizeof(float));
}

// A micro-tile's totals acc [MR rows][NV vectors of tokens] written to y [token, ldy] at rows
// [r, r + m_valid) and tokens [t0, t0 + nt_valid): the tile is [row, token] in registers and
// [token, row] in y, so through a small buffer.
template <class V, int MR, int NV>
HWY_INLINE void StoreTile(const typename V::F (&acc)[MR][NV], float* y, size_t ldy, int64_t r, int m_valid, int t0,
                          int nt_valid) {
  HWY_ALIGN float tile[MR][V::kLanes * NV];
  for (int m = 0; m < MR; ++m)
    for (int v = 0; v < NV; ++v) V::Store(acc[m][v], tile[m] + v * V::kLanes);
  for (int tt = 0; tt < nt_valid; ++tt) {
    float* out = y + static_cast<size_t>(t0 + tt) * ldy + static_cast<size_t>(r);
    for (int m = 0; m < m_valid; ++m) out[m] = tile[m][tt];
  }
}

// Rows [r, r + m_valid) (unpacked rows i0 .. i0 + MR of wr) × one packed token tile of V::kLanes·NV
// tokens.
template <DType t, class V, int NV>
HWY_INLINE void Int8MicroTile(const Int8Rows& wr, size_t i0, size_t cols, const PackedInt8Tile& x, float* y,
                              size_t ldy, int64_t r, int m_valid, int t0, int nt_valid) {
  constexpr int G = kGroup<t>, kQuads = G / 4, kGroupsPerBlock = 32 / G;
  constexpr int kIMR = kRowsFor<NV>, kINV = NV, kL = V::kLanes, kTT = kL * NV, kQuadsPerTile = 8 * kTT;
  const size_t nb = cols / 32, groups = cols / G;
  const uint8_t* wu[kIMR];
  const float* scale[kIMR];
  const float* offset[kIMR];
  for (int m = 0; m < kIMR; ++m) {
    const size_t i = i0 + static_cast<size_t>(m);
    wu[m] = wr.u + i * cols;
    scale[m] = wr.scale + i * groups;
    offset[m] = wr.offset + i * groups;
  }
  typename V::F acc[kIMR][kINV];
  for (int m = 0; m < kIMR; ++m)
    for (int v = 0; v < kINV; ++v) acc[m][v] = V::Zero();
  for (size_t b = 0; b < nb; ++b) {
    for (int gi = 0; gi < kGroupsPerBlock; ++gi) {
      const size_t g = b * kGroupsPerBlock + static_cast<size_t>(gi);
      // The group's part of the block: half gi, or (G = 32) the whole block (index 2).
      const size_t part = (b * 3 + (G == 32 ? 2 : static_cast<size_t>(gi))) * kTT;
      typename V::I isum[kIMR][kINV];
      for (int v = 0; v < kINV; ++v) {
        const typename V::I s = V::LoadI(x.start + part + v * kL);
        for (int m = 0; m < kIMR; ++m) isum[m][v] = s;
      }
      const int32_t* xq = x.q + b * kQuadsPerTile + static_cast<size_t>(gi * kQuads) * kTT;
      for (int qd = 0; qd < kQuads; ++qd) {
        typename V::I xv[kINV];
        for (int v = 0; v < kINV; ++v) xv[v] = V::LoadI(xq + qd * kTT + v * kL);
        const size_t c = b * 32 + static_cast<size_t>(gi * 16 + qd * 4);
        for (int m = 0; m < kIMR; ++m) {
          int32_t word;
          std::memcpy(&word, wu[m] + c, 4);
          const typename V::I wv = V::Broadcast(word);
          for (int v = 0; v < kINV; ++v) isum[m][v] = V::Dot(isum[m][v], wv, xv[v]);
        }
      }
      for (int v = 0; v < kINV; ++v) {
        const typename V::F dx = V::LoadF(x.d + b * kTT + v * kL);
        // Σx over the group: half h of block b, or (G = 32) the whole block (index 2).
        const typename V::F sx = V::LoadF(x.ds + part + v * kL);
        for (int m = 0; m < kIMR; ++m) {
          const typename V::F s = V::Mul(dx, V::Set(scale[m][g]));
          acc[m][v] = V::MulAdd(V::ToFloat(isum[m][v]), s, acc[m][v]);
          if constexpr (kFloatOffset<t>) acc[m][v] = V::MulAdd(V::Set(offset[m][g]), sx, acc[m][v]);
        }
      }
    }
  }
  StoreTile<V, kIMR, kINV>(acc, y, ldy, r, m_valid, t0, nt_valid);
}

// The direct tiles' row pointers: rows [r, r + m_valid) of w as `Block`s, the rows past m_valid
// repeating the last valid one (their outputs are not written).
template <class Block, int kIMR>
HWY_INLINE void DirectTileRows(const MatrixView& w, int64_t r, int m_valid, const Block* (&rows)[kIMR]) {
  for (int m = 0; m < kIMR; ++m) rows[m] = static_cast<const Block*>(w.Row(r + (m < m_valid ? m : m_valid - 1)));
}

// Super-block `sup` of each row of a K-quant direct tile: the same super-block of the next
// micro-tile (prefetch_ahead bytes on) prefetched into L2, this one's scales decoded.
template <DType t, class Block, int kIMR>
HWY_INLINE void NextSuperBlock(const Block* const (&rows)[kIMR], size_t sup, size_t prefetch_ahead,
                               SuperBlockScales (&sbs)[kIMR]) {
  for (int m = 0; m < kIMR; ++m) {
    const char* block = reinterpret_cast<const char*>(rows[m] + sup) + prefetch_ahead;
    for (size_t line = 0; line < sizeof(Block); line += 64) _mm_prefetch(block + line, _MM_HINT_T1);
    DecodeSuperBlockScales<t>(rows[m], sup, sbs[m]);
  }
}

// Rows of a 32-weight block type straight from their blocks, no unpacking (batched decoding,
// 16-token tiles): QuadOf(block, qd) gives quad qd (weights 4qd .. 4qd + 3) of a block as
// vpdpbusd's unsigned operand, each sum starts at start >> kStartShift (start is -128·Σq), and the
// block's f16 `d` is the group scale. Rows [r, r + m_valid) × the tile's 16 tokens; the same rows of
// the next micro-tile are prefetched into L2 (as bf16_gemm.cc's, not to evict the token tile from
// L1). Unpacking cost as much as the multiply-adds at 16 tokens. 4 rows per tile: kernels_bench
// q8_0 1024 × 2816 × 16, min CPU time, rows 2/3/4/6: 507/459/419/530 µs (two sums per row over
// alternate quads, against vpdpbusd's latency, were slower: 443 at 4 rows).
constexpr int kQ8DirectRows = 4;
template <class Block, int kStartShift, class QuadOf>
HWY_INLINE void BlockDirectMicroTile(const MatrixView& w, const PackedInt8Tile& x, float* y, size_t ldy, int64_t r,
                                     int m_valid, int t0, int nt_valid, QuadOf quad_of) {
  using V = Vec256;
  constexpr int NV = 2, kIMR = kQ8DirectRows, kL = V::kLanes, kTT = kL * NV, kQuadsPerTile = 8 * kTT;
  const size_t nb = static_cast<size_t>(w.cols) / 32;
  const Block* rows[kIMR];
  DirectTileRows(w, r, m_valid, rows);
  const size_t prefetch_ahead = static_cast<size_t>(kIMR) * w.row_bytes;
  typename V::F acc[kIMR][NV];
  for (int m = 0; m < kIMR; ++m)
    for (int v = 0; v < NV; ++v) acc[m][v] = V::Zero();
  for (size_t b = 0; b < nb; ++b) {
    const size_t part = (b * 3 + 2) * kTT;  // the whole block
    typename V::I isum[kIMR][NV];
    for (int v = 0; v < NV; ++v) {
      const typename V::I s = _mm256_srai_epi32(V::LoadI(x.start + part + v * kL), kStartShift);
      for (int m = 0; m < kIMR; ++m) isum[m][v] = s;
    }
    for (int m = 0; m < kIMR; ++m) {
      _mm_prefetch(reinterpret_cast<const char*>(rows[m] + b) + prefetch_ahead, _MM_HINT_T1);
    }
    const int32_t* xq = x.q + b * kQuadsPerTile;
#pragma GCC unroll 8
    for (int qd = 0; qd < 8; ++qd) {
      typename V::I xv[NV];
      for (int v = 0; v < NV; ++v) xv[v] = V::LoadI(xq + qd * kTT + v * kL);
      for (int m = 0; m < kIMR; ++m) {
        const typename V::I wv = quad_of(rows[m][b], qd);
        for (int v = 0; v < NV; ++v) isum[m][v] = V::Dot(isum[m][v], wv, xv[v]);
      }
    }
    for (int v = 0; v < NV; ++v) {
      const typename V::F dx = V::LoadF(x.d + b * kTT + v * kL);
      for (int m = 0; m < kIMR; ++m) {
        const typename V::F s = V::Mul(dx, V::Set(Half(rows[m][b].d)));
        acc[m][v] = V::MulAdd(V::ToFloat(isum[m][v]), s, acc[m][v]);
      }
    }
  }
  StoreTile<V, kIMR, NV>(acc, y, ldy, r, m_valid, t0, nt_valid);
}

// Q8_0: a weight is already a signed byte, so the broadcast quad becomes vpdpbusd's unsigned w + 128
// by one xor, against start itself.
HWY_INLINE void Q8DirectMicroTile(const MatrixView& w, const PackedInt8Tile& x, float* y, size_t ldy, int64_t r,
                                  int m_valid, int t0, int nt_valid) {
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  BlockDirectMicroTile<BlockQ8_0, 0>(w, x, y, ldy, r, m_valid, t0, nt_valid, [flip](const BlockQ8_0& blk, int qd) {
    int32_t word;
    std::memcpy(&word, blk.q + 4 * qd, 4);
    return _mm256_xor_si256(_mm256_set1_epi32(word), flip);
  });
}

// Q4_0: weight j < 16 of a block is the low nibble of qs[j], j + 16 the high one, so quads 0-3 mask
// and quads 4-7 shift and mask a broadcast of qs; the sum starts at -8·Σq (start / 16) for Q4_0's
// integer offset 8. Same integer sums and float operations as UnpackRows + Int8MicroTile (w - 8 +
// 128 against start): kernels_bench q4_0_cold 1024 × 2816 × 16, medians of 6 interleaved, one thread
// 466 → 376 µs, two 276 → 201 µs.
HWY_INLINE void Q40DirectMicroTile(const MatrixView& w, const PackedInt8Tile& x, float* y, size_t ldy, int64_t r,
                                   int m_valid, int t0, int nt_valid) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  BlockDirectMicroTile<BlockQ4_0, 4>(w, x, y, ldy, r, m_valid, t0, nt_valid, [low4](const BlockQ4_0& blk, int qd) {
    int32_t word;
    std::memcpy(&word, blk.qs + 4 * (qd % 4), 4);
    return _mm256_and_si256(_mm256_srli_epi32(_mm256_set1_epi32(word), qd < 4 ? 0 : 4), low4);
  });
}

// Q4_K rows straight from their super-blocks (batched decoding, 16-token tiles), as
// Q8DirectMicroTile does for Q8_0: a Q4_K weight is an unsigned nibble, already vpdpbusd's unsigned
// operand, so each broadcast quad of qs bytes is masked (sub-block 2k, low nibbles) or shifted and
// masked (2k + 1, high nibbles) and the sum starts at 0 instead of -128·Σq; the super-block's
// scales and mins are decoded once per row (DecodeSuperBlockScales). Same integer sums and the
// same float operations, in the same order, as UnpackRows + Int8MicroTile. Unpacking waited on
// memory for ~35 % of a Q4_K_M batch-16 step: kernels_bench q4_k_cold 1024 × 2816 × 16, medians
// of 6 interleaved, one thread 657 → 498 µs, two 352 → 269 µs. 4 rows per tile (6: 509 / 278 µs).
constexpr int kQ4KDirectRows = 4;
HWY_INLINE void Q4KDirectMicroTile(const MatrixView& w, const PackedInt8Tile& x, float* y, size_t ldy, int64_t r,
                                   int m_valid, int t0, int nt_valid) {
  using V = Vec256;
  constexpr int NV = 2, kIMR = kQ4KDirectRows, kL = V::kLanes, kTT = kL * NV, kQuadsPerTile = 8 * kTT;
  const size_t n_super = static_cast<size_t>(w.cols) / 256;
  const BlockQ4_K* rows[kIMR];
  DirectTileRows(w, r, m_valid, rows);
  const size_t prefetch_ahead = static_cast<size_t>(kIMR) * w.row_bytes;
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  typename V::F acc[kIMR][NV];
  for (int m = 0; m < kIMR; ++m)
    for (int v = 0; v < NV; ++v) acc[m][v] = V::Zero();
  SuperBlockScales sbs[kIMR];
  for (size_t sup = 0; sup < n_super; ++sup) {
    NextSuperBlock<DType::kQ4_K>(rows, sup, prefetch_ahead, sbs);
    for (int sb = 0; sb < 8; ++sb) {
      const size_t b = sup * 8 + static_cast<size_t>(sb);
      const int shift = 4 * (sb % 2);
      typename V::I isum[kIMR][NV];
      for (int m = 0; m < kIMR; ++m)
        for (int v = 0; v < NV; ++v) isum[m][v] = _mm256_setzero_si256();
      const int32_t* xq = x.q + b * kQuadsPerTile;
#pragma GCC unroll 8
      for (int qd = 0; qd < 8; ++qd) {
        typename V::I xv[NV];
        for (int v = 0; v < NV; ++v) xv[v] = V::LoadI(xq + qd * kTT + v * kL);
        for (int m = 0; m < kIMR; ++m) {
          int32_t word;
          std::memcpy(&word, rows[m][sup].qs + 32 * (sb / 2) + 4 * qd, 4);
          const typename V::I wv = _mm256_and_si256(_mm256_srli_epi32(V::Broadcast(word), shift), low4);
          for (int v = 0; v < NV; ++v) isum[m][v] = V::Dot(isum[m][v], wv, xv[v]);
        }
      }
      const size_t part = (b * 3 + 2) * kTT;  // the whole block
      for (int v = 0; v < NV; ++v) {
        const typename V::F dx = V::LoadF(x.d + b * kTT + v * kL);
        const typename V::F sx = V::LoadF(x.ds + part + v * kL);
        for (int m = 0; m < kIMR; ++m) {
          const typename V::F s = V::Mul(dx, V::Set(sbs[m].scale[sb]));
          acc[m][v] = V::MulAdd(V::ToFloat(isum[m][v]), s, acc[m][v]);
          acc[m][v] = V::MulAdd(V::Set(sbs[m].offset[sb]), sx, acc[m][v]);
        }
      }
    }
  }
  StoreTile<V, kIMR, NV>(acc, y, ldy, r, m_valid, t0, nt_valid);
}

// Q6_K rows from their super-blocks (batched decoding, 16-token tiles): each row's 32-weight
// sub-block is unpacked in registers (UnpackKBits: q = 0..63) into a 32-byte buffer in L1 that the
// quads are broadcast from, and each 16-weight half's sum starts at -32·Σq (start / 4: start is
// -128·Σq) for Q6_K's integer offset. Same integer sums and float operations, in the same order, as
// UnpackRows + Int8MicroTile (w - 32 + 128 against start).
HWY_INLINE void Q6KDirectMicroTile(const MatrixView& w, const PackedInt8Tile& x, float* y, size_t ldy, int64_t r,
                                   int m_valid, int t0, int nt_valid) {
  using V = Vec256;
  constexpr int NV = 2, kIMR = kQ4KDirectRows, kL = V::kLanes, kTT = kL * NV, kQuadsPerTile = 8 * kTT;
  const size_t n_super = static_cast<size_t>(w.cols) / 256;
  const BlockQ6_K* rows[kIMR];
  DirectTileRows(w, r, m_valid, rows);
  const size_t prefetch_ahead = static_cast<size_t>(kIMR) * w.row_bytes;
  typename V::F acc[kIMR][NV];
  for (int m = 0; m < kIMR; ++m)
    for (int v = 0; v < NV; ++v) acc[m][v] = V::Zero();
  SuperBlockScales sbs[kIMR];
  HWY_ALIGN uint8_t q[kIMR][32];  // [rows, 32] one sub-block's 6-bit weights
  for (size_t sup = 0; sup < n_super; ++sup) {
    NextSuperBlock<DType::kQ6_K>(rows, sup, prefetch_ahead, sbs);
    for (int sb = 0; sb < 8; ++sb) {
      const size_t b = sup * 8 + static_cast<size_t>(sb);
      for (int m = 0; m < kIMR; ++m) {
        _mm256_store_si256(reinterpret_cast<__m256i*>(q[m]), UnpackKBits<DType::kQ6_K>(rows[m], sup, sb));
      }
      for (int half = 0; half < 2; ++half) {
        typename V::I isum[kIMR][NV];
        for (int v = 0; v < NV; ++v) {
          const typename V::I s = _mm256_srai_epi32(V::LoadI(x.start + (b * 3 + static_cast<size_t>(half)) * kTT + v * kL), 2);
          for (int m = 0; m < kIMR; ++m) isum[m][v] = s;
        }
        const int32_t* xq = x.q + b * kQuadsPerTile + static_cast<size_t>(half * 4) * kTT;
        for (int qd = 0; qd < 4; ++qd) {
          typename V::I xv[NV];
          for (int v = 0; v < NV; ++v) xv[v] = V::LoadI(xq + qd * kTT + v * kL);
          for (int m = 0; m < kIMR; ++m) {
            int32_t word;
            std::memcpy(&word, q[m] + half * 16 + qd * 4, 4);
            const typename V::I wv = V::Broadcast(word);
            for (int v = 0; v < NV; ++v) isum[m][v] = V::Dot(isum[m][v], wv, xv[v]);
          }
        }
        for (int v = 0; v < NV; ++v) {
          const typename V::F dx = V::LoadF(x.d + b * kTT + v * kL);
          for (int m = 0; m < kIMR; ++m) {
            const typename V::F s = V::Mul(dx, V::Set(sbs[m].scale[2 * sb + half]));
            acc[m][v] = V::MulAdd(V::ToFloat(isum[m][v]), s, acc[m][v]);
          }
        }
      }
    }
  }
  StoreTile<V, kIMR, NV>(acc, y, ldy, r, m_valid, t0, nt_valid);
}

// Rows [r0, r1) (unpacked rows from i0 of wr) × one token tile of V::kLanes·NV tokens.
template <DType t, class V, int NV>
HWY_INLINE void Int8RowsTile(const Int8Rows& wr, size_t i0, size_t cols, const PackedInt8Tile& x, float* y,
                             size_t ldy, int64_t r0, int64_t r1, int t0, int nt) {
  constexpr int kMR = kRowsFor<NV>;
  for (int64_t r = r0; r < r1; r += kMR) {
    const int mv = r1 - r < kMR ? static_cast<int>(r1 - r) : kMR;
    Int8MicroTile<t, V, NV>(wr, i0 + static_cast<size_t>(r - r0), cols, x, y, ldy, r, mv, t0, nt);
  }
}

template <DType t>
void Int8Tile(const Int8Rows& wr, size_t i0, size_t cols, const PackedInt8Tile& x, int tt, float* y, size_t ldy,
              int64_t r0, int64_t r1, int t0, int nt) {
  if (tt == 16) {
    Int8RowsTile<t, Vec256, 2>(wr, i0, cols, x, y, ldy, r0, r1, t0, nt);
  } else {
    Int8RowsTile<t, Vec512, kInt8TileTokens / 16>(wr, i0, cols, x, y, ldy, r0, r1, t0, nt);
  }
}

// Per-thread buffers of one task's unpacked rows.
struct Int8Scratch {
  AlignedScratch u, scale, offset;
};

template <DType t>
void Int8BlockTyped(const MatrixView& w, const PackedInt8Activations& xa, float* y, size_t ldy, int64_t r0,
                    int64_t r1, int t0, int t1) {
  const size_t cols = static_cast<size_t>(w.cols), groups = cols / kGroup<t>;
  const int64_t padded = (r1 - r0 + kRowPad - 1) / kRowPad * kRowPad;
  static thread_local Int8Scratch scratch;
  const size_t n_pad = static_cast<size_t>(padded);
  // (the byte buffer carved from float-sized aligned scratch)
  Int8Rows wr{reinterpret_cast<uint8_t*>(scratch.u.Get((n_pad * cols + 3) / 4)), scratch.scale.Get(n_pad * groups),
              scratch.offset.Get(n_pad * groups)};
  const int tt = xa.tile_tokens;
  if (t1 - t0 <= tt) {
    // One token tile (batched decoding, short prompts): unpack kRowPad rows at a time and use them
    // at once, so that the multiply-adds of one chunk overlap the memory reads of the next (a
    // task's rows unpacked up front waited on memory, then computed: 45% of a batch-16 step).
    const PackedInt8Tile x = xa.Tile(t0 / tt);
    if constexpr (t == DType::kQ8_0 || t == DType::kQ4_0 || t == DType::kQ4_K || t == DType::kQ6_K) {
      if (tt == 16) {
        constexpr int kMR = t == DType::kQ8_0 || t == DType::kQ4_0 ? kQ8DirectRows : kQ4KDirectRows;
        for (int64_t r = r0; r < r1; r += kMR) {
          const int mv = r1 - r < kMR ? static_cast<int>(r1 - r) : kMR;
          if constexpr (t == DType::kQ8_0) {
            Q8DirectMicroTile(w, x, y, ldy, r, mv, t0, t1 - t0);
          } else if constexpr (t == DType::kQ4_0) {
            Q40DirectMicroTile(w, x, y, ldy, r, mv, t0, t1 - t0);
          } else if constexpr (t == DType::kQ4_K) {
            Q4KDirectMicroTile(w, x, y, ldy, r, mv, t0, t1 - t0);
          } else {
            Q6KDirectMicroTile(w, x, y, ldy, r, mv, t0, t1 - t0);
          }
        }
        return;
      }
    }
    for (int64_t c0 = r0; c0 < r1; c0 += kRowPad) {
      const int64_t c1 = r1 - c0 < kRowPad ? r1 : c0 + kRowPad;
      UnpackRows<t>(w, c0, c1, kRowPad, /*prefetch_ahead=*/kRowPad * w.row_bytes, wr);  // the next chunk
      Int8Tile<t>(wr, 0, cols, x, tt, y, ldy, c0, c1, t0, t1 - t0);
    }
    return;
  }
  UnpackRows<t>(w, r0, r1, padded, /*prefetch_ahead=*/768, wr);  // further in the sequential stream
  for (int tok = t0; tok < t1; tok += tt) {
    const PackedInt8Tile x = xa.Tile(tok / tt);
    Int8Tile<t>(wr, 0, cols, x, tt, y, ldy, r0, r1, tok, t1 - tok < tt ? t1 - tok : tt);
  }
}

// Blocks [b0, b1) of token lane j of tile `out` written as if the token were zero (tokens past n).
void ZeroTokenLane(size_t b0, size_t b1, int tt, int j, const PackedInt8Tile& out) {
  const size_t t = static_cast<size_t>(tt), lane = static_cast<size_t>(j);
  for (size_t b = b0; b < b1; ++b) {
    for (size_t qd = 0; qd < 8; ++qd) out.q[(b * 8 + qd) * t + lane] = 0;
    for (size_t part = 0; part < 3; ++part) {
      out.start[(b * 3 + part) * t + lane] = 0;
      out.ds[(b * 3 + part) * t + lane] = 0.0f;
    }
    out.d[b * t + lane] = 0.0f;
  }
}

// Blocks [b0, b1) of one token x [nb·32] quantized to int8 and written straight into lane j of tile `out`
// (PackedInt8Tile's layout) by QuantizeBlock32, so bytes and scales are identical to
// PackInt8ActivationsReference's; the block's 8 quads scattered to their rows of the tile. It
// replaces quantizing into blocks and then moving each byte by scalar code, which cost batched
// decoding ~40 µs per 16 × 2816 call, on one thread while the other waited.
void QuantizePackToken(const float* x, size_t b0, size_t b1, int tt, int j, const PackedInt8Tile& out) {
  // Quad qd of a block goes to word qd·tt of the block's rows (then + j).
  const __m256i quad_rows = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(tt));
  const size_t t = static_cast<size_t>(tt), lane = static_cast<size_t>(j);
  for (size_t b = b0; b < b1; ++b) {
    const QuantizedBlock32 qb = QuantizeBlock32(x + b * 32);
    _mm256_i32scatter_epi32(out.q + b * 8 * t + lane, quad_rows, qb.bytes, 4);
    const int32_t s0 = qb.sum[0], s1 = qb.sum[1];
    const size_t part = b * 3 * t + lane;
    out.start[part] = -128 * s0;
    out.start[part + t] = -128 * s1;
    out.start[part + 2 * t] = -128 * (s0 + s1);
    const float ds0 = qb.d * static_cast<float>(s0), ds1 = qb.d * static_cast<float>(s1);
    out.d[b * t + lane] = qb.d;
    out.ds[part] = ds0;
    out.ds[part + t] = ds1;
    out.ds[part + 2 * t] = ds0 + ds1;
  }
}

#endif  // KVPRESS_INT8_GEMM

bool Int8GemmSupportedImpl(DType t) {
#if KVPRESS_INT8_GEMM
  static const bool vnni = __builtin_cpu_supports("avx512vnni");
  return vnni && IsQuantized(t);
#else
  (void)t;
  return false;
#endif
}

void PrefillGemmInt8BlockImpl(const MatrixView& w, const PackedInt8Activations& xa, float* y, size_t ldy,
                              int64_t r0, int64_t r1, int t0, int t1) {
#if KVPRESS_INT8_GEMM
  if (VisitQuantType(w.dtype, [&](auto type) { Int8BlockTyped<decltype(type)::value>(w, xa, y, ldy, r0, r1, t0, t1); })) {
    return;
  }
#endif
  (void)w, (void)xa, (void)y, (void)ldy, (void)r0, (void)r1, (void)t0, (void)t1;
  HWY_ASSERT(false);  // callers check Int8GemmSupported first
}

void PackInt8ActivationsImpl(const float* x, int n, size_t cols, int tile, size_t b0, size_t b1,
                             const PackedInt8Activations& xa) {
#if KVPRESS_INT8_GEMM
  const int tt = xa.tile_tokens;
  const PackedInt8Tile out = xa.Tile(tile);
  for (int j = 0; j < tt; ++j) {
    const int tok = tile * tt + j;
    if (tok < n) {
      QuantizePackToken(x + static_cast<size_t>(tok) * cols, b0, b1, tt, j, out);
    } else {
      ZeroTokenLane(b0, b1, tt, j, out);
    }
  }
#else
  PackInt8ActivationsReference(x, n, cols, tile, b0, b1, xa);
#endif
}

}  // namespace HWY_NAMESPACE
}  // namespace kvpress
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace kvpress {

HWY_EXPORT(Int8GemmSupportedImpl);
HWY_EXPORT(PrefillGemmInt8BlockImpl);
HWY_EXPORT(PackInt8ActivationsImpl);

bool Int8GemmSupported(DType t) { return HWY_DYNAMIC_DISPATCH(Int8GemmSupportedImpl)(t); }

void PrefillGemmInt8Block(const MatrixView& w, const PackedInt8Activations& xa, float* y, size_t ldy, int64_t r0,
                          int64_t r1, int t0, int t1) {
  HWY_DYNAMIC_DISPATCH(PrefillGemmInt8BlockImpl)(w, xa, y, ldy, r0, r1, t0, t1);
}

void PackInt8Activations(const float* x, int n, size_t cols, int tile, size_t b0, size_t b1,
                         const PackedInt8Activations& xa) {
  HWY_DYNAMIC_DISPATCH(PackInt8ActivationsImpl)(x, n, cols, tile, b0, b1, xa);
}

void PackInt8ActivationsReference(const float* x, int n, size_t cols, int tile, size_t b0, size_t b1,
                                  const PackedInt8Activations& xa) {
  const size_t nb = cols / 32, tt = static_cast<size_t>(xa.tile_tokens);
  std::vector<BlockQ8A> blocks(nb);
  const PackedInt8Tile out = xa.Tile(tile);
  for (size_t j = 0; j < tt; ++j) {
    const int tok = tile * xa.tile_tokens + static_cast<int>(j);
    const bool real = tok < n;
    if (real) QuantizeActivations(x + static_cast<size_t>(tok) * cols, cols, blocks.data());
    for (size_t b = b0; b < b1; ++b) {
      const BlockQ8A* blk = real ? &blocks[b] : nullptr;
      int32_t half_sums[2] = {0, 0};
      for (size_t qd = 0; qd < 8; ++qd) {
        int32_t word = 0;
        if (blk != nullptr) {
          std::memcpy(&word, blk->q + 4 * qd, 4);
          for (size_t k = 0; k < 4; ++k) half_sums[qd / 4] += blk->q[4 * qd + k];
        }
        out.q[(b * 8 + qd) * tt + j] = word;
      }
      const size_t part = b * 3 * tt + j;
      out.start[part] = -128 * half_sums[0];
      out.start[part + tt] = -128 * half_sums[1];
      out.start[part + 2 * tt] = -128 * (half_sums[0] + half_sums[1]);
      out.d[b * tt + j] = blk != nullptr ? blk->d : 0.0f;
      out.ds[part] = blk != nullptr ? blk->ds[0] : 0.0f;
      out.ds[part + tt] = blk != nullptr ? blk->ds[1] : 0.0f;
      out.ds[part + 2 * tt] = blk != nullptr ? blk->ds[0] + blk->ds[1] : 0.0f;
    }
  }
}

}  // namespace kvpress
#endif  // HWY_ONCE
