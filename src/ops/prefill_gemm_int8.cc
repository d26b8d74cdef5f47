// The int8 prefill GEMM for block-quantized weights (prefill_gemm.h), on CPUs with AVX-512 VNNI.
//
// With activations rounded to int8 per block of 32 (as the decode kernel and ggml do), a VNNI
// vpdpbusd multiplies 32 byte pairs per 256-bit instruction where an f32 FMA does 8: the f32
// prefill kernel's ceiling (one multiply-add per weight and token) is what this one escapes.
// Layout as in the f32 kernel, with lanes along tokens: each token tile's activation blocks are
// packed [block, quad of 4 values, 24 tokens, 4 bytes] as q + 128 (vpdpbusd's unsigned operand),
// a task's weight rows are unpacked once into signed bytes (integer offsets such as Q4_0's 8
// subtracted, so only the float offsets of Q4_1/Q4_K/... remain) with one scale (and offset) per
// group of 32 or 16 weights, and the micro-kernel keeps 4 rows × 24 tokens of int32 group sums
// beside their f32 totals:
//   isum[m][v] = -128·Σ_group w  +  Σ_quads dpbusd(x + 128, broadcast(w[m, quad]))
//   acc[m][v] += float(isum) · (dx[v] · scale[m, group])  (+ offset[m, group] · Σx[v, group])
// The per-group epilogue costs 3–4 instructions per 8 token-lanes of each row against 8 (or 4)
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
#undef KVPRESS_QUANT_AVX2
#undef KVPRESS_INT8_GEMM
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
#include <immintrin.h>
#define KVPRESS_QUANT_AVX2 1
#else
#define KVPRESS_QUANT_AVX2 0
#endif
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

constexpr int kIMR = 4;                        // rows per micro-tile
constexpr int kINV = kGemmTileTokens / 8;      // token vectors of 8 lanes per tile
constexpr int kQuadsPerTile = 8 * kGemmTileTokens;  // int32 words of one block in a packed tile

// Weights per scale: 32, or 16 for the types whose block halves differ (Q2_K, Q3_K, Q6_K).
template <DType t>
constexpr int kGroup = kUniformBlock<t> ? 32 : 16;

// A task's rows unpacked: q [rows, cols] signed bytes; per group [rows, cols / G]: start (-128·Σq),
// scale (dw·s) and offset (c, zero for types without a float offset).
struct Int8Rows {
  int8_t* q;
  int32_t* start;
  float* scale;
  float* offset;
};

// The sums of the two 16-byte halves of 32 signed bytes.
HWY_INLINE void HalfSums(__m256i v, int32_t& h0, int32_t& h1) {
  const __m256i pairs = _mm256_maddubs_epi16(_mm256_set1_epi8(1), v);       // 16 × s16
  const __m256i quads = _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));     // 8 × s32
  __m128i lo = _mm256_castsi256_si128(quads), hi = _mm256_extracti128_si256(quads, 1);
  lo = _mm_hadd_epi32(lo, hi);  // [l0+l1, l2+l3, h0+h1, h2+h3]
  lo = _mm_hadd_epi32(lo, lo);  // [low half, high half, ...]
  h0 = _mm_cvtsi128_si32(lo);
  h1 = _mm_extract_epi32(lo, 1);
}

template <DType t>
void UnpackRows(const MatrixView& w, int64_t r0, int64_t r1, int64_t rows_padded, const Int8Rows& out) {
  constexpr int G = kGroup<t>;
  constexpr int kOffset = kIntegerOffset<t, false>;
  const size_t cols = static_cast<size_t>(w.cols), nb = cols / 32, groups = cols / G;
  DecodedBlock wb;
  for (int64_t r = r0; r < r1; ++r) {
    const size_t i = static_cast<size_t>(r - r0);
    int8_t* q = out.q + i * cols;
    const void* row = w.Row(r);
    for (size_t b = 0; b < nb; ++b) {
      __m256i v = UnpackBlock<t>(row, b, wb);
      if constexpr (kOffset != 0) v = _mm256_sub_epi8(v, _mm256_set1_epi8(static_cast<char>(kOffset)));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + b * 32), v);
      int32_t h0, h1;
      HalfSums(v, h0, h1);
      const size_t g = i * groups + b * (32 / G);
      if constexpr (G == 32) {
        out.start[g] = -128 * (h0 + h1);
        out.scale[g] = wb.dw * static_cast<float>(wb.s[0]);
        out.offset[g] = kFloatOffset<t> ? wb.c[0] : 0.0f;
      } else {
        out.start[g] = -128 * h0;
        out.start[g + 1] = -128 * h1;
        out.scale[g] = wb.dw * static_cast<float>(wb.s[0]);
        out.scale[g + 1] = wb.dw * static_cast<float>(wb.s[1]);
        out.offset[g] = kFloatOffset<t> ? wb.c[0] : 0.0f;
        out.offset[g + 1] = kFloatOffset<t> ? wb.c[1] : 0.0f;
      }
    }
  }
  const size_t used = static_cast<size_t>(r1 - r0), pad = static_cast<size_t>(rows_padded) - used;
  std::memset(out.q + used * cols, 0, pad * cols);
  std::memset(out.start + used * groups, 0, pad * groups * sizeof(int32_t));
  std::memset(out.scale + used * groups, 0, pad * groups * sizeof(float));
  std::memset(out.offset + used * groups, 0, pad * groups * sizeof(float));
}

// Rows [r, r + m_valid) (unpacked rows i0 .. i0 + kIMR of wr) × one packed token tile.
template <DType t>
HWY_INLINE void Int8MicroTile(const Int8Rows& wr, size_t i0, size_t cols, const PackedInt8Tile& x, float* y,
                              size_t ldy, int64_t r, int m_valid, int t0, int nt_valid) {
  constexpr int G = kGroup<t>, kQuads = G / 4, kGroupsPerBlock = 32 / G;
  const size_t nb = cols / 32, groups = cols / G;
  const int8_t* wq[kIMR];
  const int32_t* start[kIMR];
  const float* scale[kIMR];
  const float* offset[kIMR];
  for (int m = 0; m < kIMR; ++m) {
    const size_t i = i0 + static_cast<size_t>(m);
    wq[m] = wr.q + i * cols;
    start[m] = wr.start + i * groups;
    scale[m] = wr.scale + i * groups;
    offset[m] = wr.offset + i * groups;
  }
  __m256 acc[kIMR][kINV];
  for (int m = 0; m < kIMR; ++m)
    for (int v = 0; v < kINV; ++v) acc[m][v] = _mm256_setzero_ps();
  for (size_t b = 0; b < nb; ++b) {
    for (int gi = 0; gi < kGroupsPerBlock; ++gi) {
      const size_t g = b * kGroupsPerBlock + static_cast<size_t>(gi);
      __m256i isum[kIMR][kINV];
      for (int m = 0; m < kIMR; ++m) {
        const __m256i s = _mm256_set1_epi32(start[m][g]);
        for (int v = 0; v < kINV; ++v) isum[m][v] = s;
      }
      const int32_t* xq = x.q + b * kQuadsPerTile + static_cast<size_t>(gi * kQuads) * kGemmTileTokens;
      for (int qd = 0; qd < kQuads; ++qd) {
        __m256i xv[kINV];
        for (int v = 0; v < kINV; ++v)
          xv[v] = _mm256_load_si256(reinterpret_cast<const __m256i*>(xq + qd * kGemmTileTokens + v * 8));
        const size_t c = b * 32 + static_cast<size_t>(gi * 16 + qd * 4);
        for (int m = 0; m < kIMR; ++m) {
          int32_t word;
          std::memcpy(&word, wq[m] + c, 4);
          const __m256i wv = _mm256_set1_epi32(word);
          for (int v = 0; v < kINV; ++v) isum[m][v] = DotBytes<true>(isum[m][v], xv[v], wv);
        }
      }
      for (int v = 0; v < kINV; ++v) {
        const __m256 dx = _mm256_load_ps(x.d + b * kGemmTileTokens + v * 8);
        // Σx over the group: half h of block b, or (G = 32) the whole block (index 2).
        const __m256 sx = _mm256_load_ps(x.ds + (b * 3 + (G == 32 ? 2 : gi)) * kGemmTileTokens + v * 8);
        for (int m = 0; m < kIMR; ++m) {
          const __m256 s = _mm256_mul_ps(dx, _mm256_set1_ps(scale[m][g]));
          acc[m][v] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[m][v]), s, acc[m][v]);
          if constexpr (kFloatOffset<t>) acc[m][v] = _mm256_fmadd_ps(_mm256_set1_ps(offset[m][g]), sx, acc[m][v]);
        }
      }
    }
  }
  HWY_ALIGN float tile[kIMR][kGemmTileTokens];
  for (int m = 0; m < kIMR; ++m)
    for (int v = 0; v < kINV; ++v) _mm256_store_ps(tile[m] + v * 8, acc[m][v]);
  for (int tt = 0; tt < nt_valid; ++tt) {
    float* out = y + static_cast<size_t>(t0 + tt) * ldy + static_cast<size_t>(r);
    for (int m = 0; m < m_valid; ++m) out[m] = tile[m][tt];
  }
}

// Per-thread buffers of one task's unpacked rows.
struct Int8Scratch {
  AlignedScratch q, start, scale, offset;
};

template <DType t>
void Int8BlockTyped(const MatrixView& w, const PackedInt8Activations& xa, float* y, size_t ldy, int64_t r0,
                    int64_t r1, int t0, int t1) {
  const size_t cols = static_cast<size_t>(w.cols), groups = cols / kGroup<t>;
  const int64_t padded = (r1 - r0 + kIMR - 1) / kIMR * kIMR;
  static thread_local Int8Scratch scratch;
  const size_t n_pad = static_cast<size_t>(padded);
  // (int8 and int32 buffers carved from float-sized aligned scratch)
  Int8Rows wr{reinterpret_cast<int8_t*>(scratch.q.Get((n_pad * cols + 3) / 4)),
              reinterpret_cast<int32_t*>(scratch.start.Get(n_pad * groups)), scratch.scale.Get(n_pad * groups),
              scratch.offset.Get(n_pad * groups)};
  UnpackRows<t>(w, r0, r1, padded, wr);
  for (int tok = t0; tok < t1; tok += kGemmTileTokens) {
    const PackedInt8Tile x = xa.Tile(tok / kGemmTileTokens);
    const int nt = t1 - tok < kGemmTileTokens ? t1 - tok : kGemmTileTokens;
    for (int64_t r = r0; r < r1; r += kIMR) {
      const int mv = r1 - r < kIMR ? static_cast<int>(r1 - r) : kIMR;
      Int8MicroTile<t>(wr, static_cast<size_t>(r - r0), cols, x, y, ldy, r, mv, tok, nt);
    }
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
  switch (w.dtype) {
    case DType::kQ8_0: return Int8BlockTyped<DType::kQ8_0>(w, xa, y, ldy, r0, r1, t0, t1);
    case DType::kQ4_0: return Int8BlockTyped<DType::kQ4_0>(w, xa, y, ldy, r0, r1, t0, t1);
    case DType::kQ4_1: return Int8BlockTyped<DType::kQ4_1>(w, xa, y, ldy, r0, r1, t0, t1);
    case DType::kQ5_0: return Int8BlockTyped<DType::kQ5_0>(w, xa, y, ldy, r0, r1, t0, t1);
    case DType::kQ5_1: return Int8BlockTyped<DType::kQ5_1>(w, xa, y, ldy, r0, r1, t0, t1);
    case DType::kQ2_K: return Int8BlockTyped<DType::kQ2_K>(w, xa, y, ldy, r0, r1, t0, t1);
    case DType::kQ3_K: return Int8BlockTyped<DType::kQ3_K>(w, xa, y, ldy, r0, r1, t0, t1);
    case DType::kQ4_K: return Int8BlockTyped<DType::kQ4_K>(w, xa, y, ldy, r0, r1, t0, t1);
    case DType::kQ5_K: return Int8BlockTyped<DType::kQ5_K>(w, xa, y, ldy, r0, r1, t0, t1);
    case DType::kQ6_K: return Int8BlockTyped<DType::kQ6_K>(w, xa, y, ldy, r0, r1, t0, t1);
    case DType::kIQ4_NL: return Int8BlockTyped<DType::kIQ4_NL>(w, xa, y, ldy, r0, r1, t0, t1);
    case DType::kIQ4_XS: return Int8BlockTyped<DType::kIQ4_XS>(w, xa, y, ldy, r0, r1, t0, t1);
    default: break;
  }
#endif
  (void)w, (void)xa, (void)y, (void)ldy, (void)r0, (void)r1, (void)t0, (void)t1;
  HWY_ASSERT(false);  // callers check Int8GemmSupported first
}

}  // namespace HWY_NAMESPACE
}  // namespace kvpress
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace kvpress {

HWY_EXPORT(Int8GemmSupportedImpl);
HWY_EXPORT(PrefillGemmInt8BlockImpl);

bool Int8GemmSupported(DType t) { return HWY_DYNAMIC_DISPATCH(Int8GemmSupportedImpl)(t); }

void PrefillGemmInt8Block(const MatrixView& w, const PackedInt8Activations& xa, float* y, size_t ldy, int64_t r0,
                          int64_t r1, int t0, int t1) {
  HWY_DYNAMIC_DISPATCH(PrefillGemmInt8BlockImpl)(w, xa, y, ldy, r0, r1, t0, t1);
}

void PackInt8Activations(const float* x, int n, size_t cols, int tile0, int tile1, const PackedInt8Activations& xa) {
  const size_t nb = cols / 32;
  static thread_local std::vector<BlockQ8A> blocks;  // [kGemmTileTokens, nb]
  blocks.resize(static_cast<size_t>(kGemmTileTokens) * nb);
  for (int tile = tile0; tile < tile1; ++tile) {
    const PackedInt8Tile out = xa.Tile(tile);
    const int first = tile * kGemmTileTokens;
    const int nt = n - first < kGemmTileTokens ? n - first : kGemmTileTokens;
    for (int j = 0; j < nt; ++j) {
      QuantizeActivationsFast(x + static_cast<size_t>(first + j) * cols, cols, blocks.data() + static_cast<size_t>(j) * nb);
    }
    for (int j = 0; j < kGemmTileTokens; ++j) {
      for (size_t b = 0; b < nb; ++b) {
        const BlockQ8A* blk = j < nt ? &blocks[static_cast<size_t>(j) * nb + b] : nullptr;
        for (int qd = 0; qd < 8; ++qd) {
          uint32_t word = 0;
          if (blk != nullptr) std::memcpy(&word, blk->q + 4 * qd, 4);
          out.q[b * 8 * kGemmTileTokens + static_cast<size_t>(qd * kGemmTileTokens + j)] =
              static_cast<int32_t>(word ^ 0x80808080u);  // q + 128 per byte
        }
        out.d[b * kGemmTileTokens + static_cast<size_t>(j)] = blk != nullptr ? blk->d : 0.0f;
        float* ds = out.ds + b * 3 * kGemmTileTokens + static_cast<size_t>(j);
        ds[0] = blk != nullptr ? blk->ds[0] : 0.0f;
        ds[kGemmTileTokens] = blk != nullptr ? blk->ds[1] : 0.0f;
        ds[2 * kGemmTileTokens] = blk != nullptr ? blk->ds[0] + blk->ds[1] : 0.0f;
      }
    }
  }
}

}  // namespace kvpress
#endif  // HWY_ONCE
