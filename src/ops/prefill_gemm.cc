// Highway kernels of the prefill GEMM (prefill_gemm.h).
//
// Why this shape: the dot-product kernel of matmul.cc keeps one accumulator per (row, token) whose
// lanes run along the reduction, so every output costs a horizontal sum and every bf16/f16 weight
// vector a widening in the inner loop. Here the lanes run along tokens instead: activations are
// packed [tile, cols, 48 tokens] once per call, a task's weight rows are widened to f32 once, and the
// micro-kernel does acc[row m][token vector v] += broadcast(W[m, c]) · xp[c, v] — per reduction step
// MR broadcasts (plain loads) and NV vector loads feed MR·NV multiply-adds, with no shuffles at all.
// On AVX-512 the vectors are 512 bits: the reference machine (Ice Lake server) runs 512-bit FMAs
// at more than one per cycle (measured on one core, 1 ms windows: 5.98 G 512-bit vs 6.98 G 256-bit
// FMA instructions/s at 3.49 GHz, i.e. 1.7× the multiply-adds), and its 32 registers hold the
// 8 × 3 accumulator tile. Other targets take the 48-token tile in passes of 3 vectors.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/prefill_gemm.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "ops/prefill_gemm.h"
#include "ops/quant_matmul.h"

HWY_BEFORE_NAMESPACE();
namespace kvpress {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// LoadWidened (included on every target pass: its guard toggles per target).
#include "ops/widen-inl.h"

// Token vectors of 16 lanes on AVX-512 (8 elsewhere); kNV of them make one pass of kPassTokens
// tokens, and a tile of kGemmTileTokens tokens takes kPasses passes.
#if HWY_TARGET <= HWY_AVX3
using DV = hn::CappedTag<float, 16>;
#else
using DV = hn::CappedTag<float, 8>;
#endif
constexpr int kMaxLanes = HWY_TARGET <= HWY_AVX3 ? 16 : 8;
constexpr int kLanes = HWY_LANES(float) < kMaxLanes ? static_cast<int>(HWY_LANES(float)) : kMaxLanes;
constexpr int kNV = 3;
constexpr int kPassTokens = kNV * kLanes;
constexpr int kPasses = kGemmTileTokens / kPassTokens;
static_assert(kPasses * kPassTokens == kGemmTileTokens, "tile tokens must be whole passes");
// Rows per micro-tile: MR · kNV accumulators + kNV activation vectors + 1 broadcast fit the
// register file (32 vector registers with AVX-512, 16 otherwise).
#if HWY_TARGET <= HWY_AVX3
constexpr int kMR = 8;
#else
constexpr int kMR = 4;
#endif
static_assert(kMR >= 1 && kMR <= kGemmRowPadding && kGemmRowPadding % kMR == 0, "row tiles must tile the padding");

// Rows [r, r + m_valid) × tokens [t0, t0 + nt_valid) of y from MR widened rows (wf, [MR, cols]) and
// one pass of a packed activation tile (xp: the pass's first token of [cols, kGemmTileTokens]).
template <int MR>
HWY_INLINE void MicroTile(const float* HWY_RESTRICT wf, size_t cols, const float* HWY_RESTRICT xp,
                          float* y, size_t ldy, int64_t r, int m_valid, int t0, int nt_valid) {
  const DV d;
  hn::Vec<DV> acc[MR][kNV];
  for (int m = 0; m < MR; ++m)
    for (int v = 0; v < kNV; ++v) acc[m][v] = hn::Zero(d);
  const float* rows[MR];
  for (int m = 0; m < MR; ++m) rows[m] = wf + static_cast<size_t>(m) * cols;
  for (size_t c = 0; c < cols; ++c) {
    hn::Vec<DV> xv[kNV];
    for (int v = 0; v < kNV; ++v) xv[v] = hn::Load(d, xp + c * kGemmTileTokens + v * kLanes);
    for (int m = 0; m < MR; ++m) {
      const auto wv = hn::Set(d, rows[m][c]);
      for (int v = 0; v < kNV; ++v) acc[m][v] = hn::MulAdd(wv, xv[v], acc[m][v]);
    }
  }
  // The tile is [row, token] in registers and [token, row] in y: through a small buffer.
  HWY_ALIGN float tile[MR][kPassTokens];
  for (int m = 0; m < MR; ++m)
    for (int v = 0; v < kNV; ++v) hn::Store(acc[m][v], d, tile[m] + v * kLanes);
  for (int t = 0; t < nt_valid; ++t) {
    float* out = y + static_cast<size_t>(t0 + t) * ldy + static_cast<size_t>(r);
    for (int m = 0; m < m_valid; ++m) out[m] = tile[m][t];
  }
}

void PrefillGemmBlockImpl(const float* wf, size_t cols, const float* xp, float* y, size_t ldy, int64_t r0,
                          int64_t r1, int t0, int t1) {
  const size_t tile_floats = cols * kGemmTileTokens;
  for (int t = t0; t < t1; t += kGemmTileTokens) {
    const float* xt = xp + static_cast<size_t>(t / kGemmTileTokens) * tile_floats;
    for (int pass = 0; pass < kPasses; ++pass) {
      const int tp = t + pass * kPassTokens;
      if (tp >= t1) break;
      const int nt = t1 - tp < kPassTokens ? t1 - tp : kPassTokens;
      for (int64_t r = r0; r < r1; r += kMR) {
        const int mv = r1 - r < kMR ? static_cast<int>(r1 - r) : kMR;
        MicroTile<kMR>(wf + static_cast<size_t>(r - r0) * cols, cols, xt + pass * kPassTokens, y, ldy, r, mv, tp, nt);
      }
    }
  }
}

// f16/bf16 row widened to f32 (exact).
template <DType kT>
HWY_INLINE void WidenRow(const void* in, size_t n, float* out) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(LoadWidened<kT>(df, in, i), df, out + i);
  for (; i < n; ++i) out[i] = LoadElement(kT, in, i);
}

void WidenFloatRowsImpl(const MatrixView& w, int64_t r0, int64_t r1, float* out) {
  const size_t cols = static_cast<size_t>(w.cols);
  for (int64_t r = r0; r < r1; ++r) {
    float* o = out + static_cast<size_t>(r - r0) * cols;
    if (w.dtype == DType::kF16) {
      WidenRow<DType::kF16>(w.Row(r), cols, o);
    } else {
      WidenRow<DType::kBF16>(w.Row(r), cols, o);
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace kvpress
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <cstring>

namespace kvpress {

HWY_EXPORT(PrefillGemmBlockImpl);
HWY_EXPORT(WidenFloatRowsImpl);

size_t PackedActivationFloats(int n, size_t cols) {
  const size_t tiles = (static_cast<size_t>(n) + kGemmTileTokens - 1) / kGemmTileTokens;
  return tiles * cols * kGemmTileTokens;
}

void PackActivations(const float* x, int n, size_t cols, int tile0, int tile1, float* xp) {
  // A transpose of [kGemmTileTokens, cols] blocks; written plainly (the compiler vectorises the inner loop's
  // stores poorly, but packing is ~1/rows of the multiply's work).
  for (int tile = tile0; tile < tile1; ++tile) {
    float* out = xp + static_cast<size_t>(tile) * cols * kGemmTileTokens;
    const int t0 = tile * kGemmTileTokens;
    const int nt = n - t0 < kGemmTileTokens ? n - t0 : kGemmTileTokens;
    if (nt < kGemmTileTokens) std::memset(out, 0, cols * kGemmTileTokens * sizeof(float));
    // Blocks of 16 columns keep the 48 source rows' lines in L1 while they are read.
    constexpr size_t kBlock = 16;
    for (size_t c0 = 0; c0 < cols; c0 += kBlock) {
      const size_t c1 = c0 + kBlock < cols ? c0 + kBlock : cols;
      for (int t = 0; t < nt; ++t) {
        const float* src = x + static_cast<size_t>(t0 + t) * cols;
        for (size_t c = c0; c < c1; ++c) out[c * kGemmTileTokens + static_cast<size_t>(t)] = src[c];
      }
    }
  }
}

void PrefillGemmBlock(const float* wf, size_t cols, const float* xp, float* y, size_t ldy, int64_t r0,
                      int64_t r1, int t0, int t1) {
  HWY_DYNAMIC_DISPATCH(PrefillGemmBlockImpl)(wf, cols, xp, y, ldy, r0, r1, t0, t1);
}

void WidenRows(const MatrixView& w, int64_t r0, int64_t r1, bool exact, float* out) {
  const size_t cols = static_cast<size_t>(w.cols);
  switch (w.dtype) {
    case DType::kF32:
      for (int64_t r = r0; r < r1; ++r) std::memcpy(out + static_cast<size_t>(r - r0) * cols, w.Row(r), cols * 4);
      break;
    case DType::kF16:
    case DType::kBF16:
      HWY_DYNAMIC_DISPATCH(WidenFloatRowsImpl)(w, r0, r1, out);
      break;
    default:
      if (exact) {
        for (int64_t r = r0; r < r1; ++r) DequantizeRow(w.dtype, w.Row(r), out + static_cast<size_t>(r - r0) * cols, cols);
      } else {
        DequantizeRowsFast(w, r0, r1, out);
      }
  }
  const int64_t padded = (r1 - r0 + kGemmRowPadding - 1) / kGemmRowPadding * kGemmRowPadding;
  std::memset(out + static_cast<size_t>(r1 - r0) * cols, 0, static_cast<size_t>(padded - (r1 - r0)) * cols * 4);
}

}  // namespace kvpress
#endif  // HWY_ONCE
