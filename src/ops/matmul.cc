// Highway kernels for MatMul. Each row of W is widened to f32 in registers and multiplied with up
// to four activation rows at once, so prefill reads each weight once per four tokens.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/matmul.cc"
#include "ops/matmul.h"

#include <hwy/cache_control.h>
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace kvpress {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;

// Bytes per element × 2 of the float-like dtypes (f32 8, f16/bf16 4).
template <DType kT>
constexpr size_t DTypeBytesTimes2() {
  return kT == DType::kF32 ? 8 : 4;
}

// LoadWidened (included on every target pass: its guard toggles per target).
#include "ops/widen-inl.h"

// Lanes(df) weights starting at element i of a row, widened to f32.
template <DType kT>
HWY_INLINE hn::Vec<DF> LoadWeights(DF df, const void* row, size_t i) {
  return LoadWidened<kT>(df, row, i);
}

// One weight row of a float-like dtype against x.
template <DType kT>
HWY_INLINE float DotRowFloat(const void* row, const float* x, size_t cols) {
  const DF df;
  const size_t N = hn::Lanes(df);
  auto acc = hn::Zero(df);
  size_t i = 0;
  for (; i + N <= cols; i += N)
    acc = hn::MulAdd(LoadWeights<kT>(df, row, i), hn::LoadU(df, x + i), acc);
  float s = hn::GetLane(hn::SumOfLanes(df, acc));
  for (; i < cols; ++i) s += LoadElement(kT, row, i) * x[i];
  return s;
}

// One Q8_0 weight row (cols multiple of 32) against x. Vectors are capped at one block so a
// block's 32 values span a whole number of vectors on every target.
HWY_INLINE float DotRowQ8(const void* row, const float* x, size_t cols) {
  const hn::CappedTag<float, kQ8Block> df;
  const size_t N = hn::Lanes(df);
  const hn::Rebind<int8_t, decltype(df)> di8;
  const hn::RebindToSigned<decltype(df)> di32;
  const BlockQ8_0* blocks = static_cast<const BlockQ8_0*>(row);
  auto acc = hn::Zero(df);
  const size_t nb = cols / kQ8Block;
  for (size_t b = 0; b < nb; ++b) {
    auto part = hn::Zero(df);
    for (size_t j = 0; j < static_cast<size_t>(kQ8Block); j += N) {
      const auto w = hn::ConvertTo(df, hn::PromoteTo(di32, hn::LoadU(di8, blocks[b].q + j)));
      part = hn::MulAdd(w, hn::LoadU(df, x + b * kQ8Block + j), part);
    }
    acc = hn::MulAdd(hn::Set(df, F16ToF32(blocks[b].d)), part, acc);
  }
  return hn::GetLane(hn::SumOfLanes(df, acc));
}

// One weight row of any dtype against x (the per-row path of DotRow and of MatMulBlock's
// quantized fallback; many-token products take the tiles below).
HWY_INLINE float DotRowAny(DType t, const void* row, const float* x, size_t cols) {
  switch (t) {
    case DType::kF32:
      return DotRowFloat<DType::kF32>(row, x, cols);
    case DType::kF16:
      return DotRowFloat<DType::kF16>(row, x, cols);
    case DType::kBF16:
      return DotRowFloat<DType::kBF16>(row, x, cols);
    case DType::kQ8_0:
      return DotRowQ8(row, x, cols);
    default: {  // other quantized types go through quant_matmul.cc (or are dequantized first)
      double s = 0.0;
      for (size_t j = 0; j < cols; ++j) s += LoadElement(t, row, j) * x[j];
      return static_cast<float>(s);
    }
  }
}

// Register tile of the float kernel: kRM weight rows × kRN tokens of f32 accumulators. AVX-512
// has 32 vector registers: 24 accumulators + 4 weight vectors + 1 activation vector; targets with
// 16 (AVX2, SSE4, NEON) take 2 × 4.
// Software prefetch distance of one-token products taken one row at a time, in bytes ahead.
constexpr size_t kOneRowPrefetchBytes = 2048;

#if HWY_TARGET <= HWY_AVX3
constexpr int kRM = 4, kRN = 6;
#else
constexpr int kRM = 2, kRN = 4;
#endif

// y[t0 + j, r + m] = W[r + m, :] · x[t0 + j, :] for m < RM, j < RN: each weight vector loaded
// (and widened) once for RN tokens, each activation vector once for RM rows, so the inner loop is
// RM·RN multiply-adds per RM + RN loads. x: [*, cols] from token t0, y: [*, ldy].
template <DType kT, int RM, int RN>
HWY_INLINE void FloatTile(const MatrixView& w, int64_t r, const float* x, size_t cols, float* y,
                          size_t ldy) {
  const DF df;
  const size_t N = hn::Lanes(df);
  // One row and one token (decoding, one row at a time): four accumulators, vectors i, i + N, ...
  // round robin, so that the multiply-add latency does not bound the row.
  constexpr int kSplit = RM * RN == 1 ? 4 : 1;
  hn::Vec<DF> acc[kSplit][RM][RN];
  for (int s = 0; s < kSplit; ++s)
    for (int m = 0; m < RM; ++m)
      for (int j = 0; j < RN; ++j) acc[s][m][j] = hn::Zero(df);
  const void* rows[RM];
  for (int m = 0; m < RM; ++m) rows[m] = w.Row(r + m);
  // Decoding (RN ≤ 2) waits on memory: tiles of RM rows prefetch the same place in the next row
  // tile (RM rows further); one row at a time prefetches kOneRowPrefetchBytes ahead.
  const size_t ahead = RM == 1 ? kOneRowPrefetchBytes : RM * w.row_bytes;
  const auto step = [&](size_t i, hn::Vec<DF>(&a)[RM][RN]) HWY_ATTR {
    hn::Vec<DF> wv[RM];
    if constexpr (RN <= 2) {
      for (int m = 0; m < RM; ++m) {
        hwy::Prefetch(static_cast<const uint8_t*>(rows[m]) + ahead +
                      (i * DTypeBytesTimes2<kT>()) / 2);
      }
    }
    for (int m = 0; m < RM; ++m) wv[m] = LoadWeights<kT>(df, rows[m], i);
    for (int j = 0; j < RN; ++j) {
      const auto xv = hn::LoadU(df, x + j * cols + i);
      for (int m = 0; m < RM; ++m) a[m][j] = hn::MulAdd(wv[m], xv, a[m][j]);
    }
  };
  size_t i = 0;
  if constexpr (kSplit == 4) {
    for (; i + 4 * N <= cols; i += 4 * N) {
      step(i, acc[0]);
      step(i + N, acc[1]);
      step(i + 2 * N, acc[2]);
      step(i + 3 * N, acc[3]);
    }
  }
  for (; i + N <= cols; i += N) step(i, acc[0]);
  for (int m = 0; m < RM; ++m) {
    for (int j = 0; j < RN; ++j) {
      auto sum = acc[0][m][j];
      for (int s = 1; s < kSplit; ++s) sum = hn::Add(sum, acc[s][m][j]);
      float v = hn::GetLane(hn::SumOfLanes(df, sum));
      for (size_t c = i; c < cols; ++c) v += LoadElement(kT, rows[m], c) * x[j * cols + c];
      y[static_cast<size_t>(j) * ldy + static_cast<size_t>(r + m)] = v;
    }
  }
}

// All row tiles of [r0, r1) for RN tokens from x; one token takes the rows one at a time (one
// forward stream per thread: see QuantTileSuper512 in quant_decode512-inl.h).
template <DType kT, int RN>
HWY_INLINE void FloatTokenTile(const MatrixView& w, const float* x, float* y, int64_t r0,
                               int64_t r1) {
  const size_t cols = static_cast<size_t>(w.cols), ldy = static_cast<size_t>(w.rows);
  int64_t r = r0;
  if constexpr (RN > 1) {
    for (; r + kRM <= r1; r += kRM) FloatTile<kT, kRM, RN>(w, r, x, cols, y, ldy);
  }
  for (; r < r1; ++r) FloatTile<kT, 1, RN>(w, r, x, cols, y, ldy);
}

// Rows [r0, r1) × tokens [t0, t1) of a float-typed W: token tiles of kRN outermost, so a tile's
// activations stay in L1 while it meets every row of the block.
template <DType kT>
void FloatBlock(const MatrixView& w, const float* x, float* y, int64_t r0, int64_t r1, int t0,
                int t1) {
  const size_t cols = static_cast<size_t>(w.cols), ldy = static_cast<size_t>(w.rows);
  int t = t0;
  for (; t + kRN <= t1; t += kRN) FloatTokenTile<kT, kRN>(w, x + t * cols, y + t * ldy, r0, r1);
  const float* xt = x + t * cols;
  float* yt = y + t * ldy;
  switch (t1 - t) {
    case 0:
      break;
    case 1:
      FloatTokenTile<kT, 1>(w, xt, yt, r0, r1);
      break;
    case 2:
      FloatTokenTile<kT, 2>(w, xt, yt, r0, r1);
      break;
    case 3:
      FloatTokenTile<kT, 3>(w, xt, yt, r0, r1);
      break;
#if HWY_TARGET <= HWY_AVX3
    case 4:
      FloatTokenTile<kT, 4>(w, xt, yt, r0, r1);
      break;
    default:
      FloatTokenTile<kT, 5>(w, xt, yt, r0, r1);
      break;
#else
    default:
      HWY_ASSERT(false);
#endif
  }
}

// Rows [r0, r1) × tokens [t0, t1) of y (x: [n, cols], y: [n, w.rows]).
void MatMulBlock(const MatrixView& w, const float* x, float* y, int64_t r0, int64_t r1, int t0,
                 int t1) {
  switch (w.dtype) {
    case DType::kF32:
      return FloatBlock<DType::kF32>(w, x, y, r0, r1, t0, t1);
    case DType::kF16:
      return FloatBlock<DType::kF16>(w, x, y, r0, r1, t0, t1);
    case DType::kBF16:
      return FloatBlock<DType::kBF16>(w, x, y, r0, r1, t0, t1);
    default:
      break;
  }
  const size_t cols = static_cast<size_t>(w.cols);
  for (int t = t0; t < t1; ++t) {
    for (int64_t r = r0; r < r1; ++r)
      y[static_cast<size_t>(t) * w.rows + r] = DotRowAny(w.dtype, w.Row(r), x + t * cols, cols);
  }
}

float DotF32Impl(const float* a, const float* b, size_t n) {
  const DF df;
  const size_t N = hn::Lanes(df);
  auto acc0 = hn::Zero(df), acc1 = hn::Zero(df);
  size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    acc0 = hn::MulAdd(hn::LoadU(df, a + i), hn::LoadU(df, b + i), acc0);
    acc1 = hn::MulAdd(hn::LoadU(df, a + i + N), hn::LoadU(df, b + i + N), acc1);
  }
  for (; i + N <= n; i += N) acc0 = hn::MulAdd(hn::LoadU(df, a + i), hn::LoadU(df, b + i), acc0);
  float s = hn::GetLane(hn::SumOfLanes(df, hn::Add(acc0, acc1)));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

void AxpyF32Impl(float a, const float* x, float* y, size_t n) {
  const DF df;
  const size_t N = hn::Lanes(df);
  const auto va = hn::Set(df, a);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    hn::StoreU(hn::MulAdd(va, hn::LoadU(df, x + i), hn::LoadU(df, y + i)), df, y + i);
  }
  for (; i < n; ++i) y[i] += a * x[i];
}

float DotRowImpl(DType t, const void* row, const float* x, size_t n) {
  return DotRowAny(t, row, x, n);
}

template <DType kT>
HWY_INLINE void AxpyRowTyped(float a, const void* row, float* y, size_t n) {
  const DF df;
  const size_t N = hn::Lanes(df);
  const auto va = hn::Set(df, a);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    hn::StoreU(hn::MulAdd(va, LoadWeights<kT>(df, row, i), hn::LoadU(df, y + i)), df, y + i);
  }
  for (; i < n; ++i) y[i] += a * LoadElement(kT, row, i);
}

void AxpyRowImpl(float a, DType t, const void* row, float* y, size_t n) {
  switch (t) {
    case DType::kF32:
      return AxpyRowTyped<DType::kF32>(a, row, y, n);
    case DType::kF16:
      return AxpyRowTyped<DType::kF16>(a, row, y, n);
    case DType::kBF16:
      return AxpyRowTyped<DType::kBF16>(a, row, y, n);
    default:
      for (size_t i = 0; i < n; ++i) y[i] += a * LoadElement(t, row, i);
      return;
  }
}

const char* TargetNameImpl() { return hwy::TargetName(HWY_TARGET); }

}  // namespace HWY_NAMESPACE
}  // namespace kvpress
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <algorithm>
#include <atomic>
#include <vector>

#include "core/check.h"
#include "core/thread_pool.h"
#include "ops/bf16_dot.h"
#include "ops/bf16_gemm.h"
#include "ops/prefill_gemm.h"
#include "ops/quant_matmul.h"

namespace kvpress {
namespace {

std::atomic<bool> g_quantized_activations{true};

// The block-quantized types, Q8_0 included (its f32-activation kernel above serves DotRow and the
// f32-activation mode).
bool UsesIntegerKernel(DType t) { return IsQuantized(t); }

}  // namespace

void SetQuantizedActivations(bool on) { g_quantized_activations.store(on); }
bool QuantizedActivations() { return g_quantized_activations.load(); }

HWY_EXPORT(MatMulBlock);
HWY_EXPORT(DotF32Impl);
HWY_EXPORT(AxpyF32Impl);
HWY_EXPORT(TargetNameImpl);
HWY_EXPORT(DotRowImpl);
HWY_EXPORT(AxpyRowImpl);

float DotRow(DType t, const void* row, const float* x, size_t n) {
  return HWY_DYNAMIC_DISPATCH(DotRowImpl)(t, row, x, n);
}

void AxpyRow(float a, DType t, const void* row, float* y, size_t n) {
  HWY_DYNAMIC_DISPATCH(AxpyRowImpl)(a, t, row, y, n);
}

void MatMul(const MatrixView& w, const float* x, int n, float* y, int threads, bool exact_float) {
  const MatMulTarget target{&w, y};
  MatMulMany({&target, 1}, x, n, threads, exact_float);
}

void MatMulMany(std::span<const MatMulTarget> targets, const float* x, int n, int threads,
                bool exact_float) {
  if (targets.empty()) return;
  const MatrixView& w0 = *targets[0].w;
  for (const MatMulTarget& t : targets) {
    // Mixed dtypes or widths (e.g. Q4_K_M's Q6_K value matrix) take one region each.
    if (t.w->dtype != w0.dtype || t.w->cols != w0.cols) {
      for (const MatMulTarget& u : targets) MatMulMany({&u, 1}, x, n, threads, exact_float);
      return;
    }
  }
  const auto block = HWY_DYNAMIC_DISPATCH(MatMulBlock);
  const size_t cols = static_cast<size_t>(w0.cols);
  // Which kernel:
  // - many tokens (prefill, n ≥ 32): the packed outer-product kernel of prefill_gemm.h —
  //   activations packed once here (in parallel), each task's weight rows widened to f32 once
  //   (f16/bf16 exactly; quantized rows by the SIMD dequantizer, or with f32 activations off the
  //   scalar DequantizeRow, bit-exact with gguf-py, for goldens);
  // - quantized weights with int8 activations on an AVX-512 VNNI CPU, from 12 tokens: the int8
  //   variant of that kernel (prefill_gemm_int8.cc), ~2.4× its multiply-adds per cycle. Its
  //   24-token tiles cost 24 tokens whatever n is, and from 12 tokens (batched decoding) they still
  //   beat the decode kernel (kernels_bench 1024 × 1024, one thread, q8_0: 16 tokens 63 vs 38 G
  //   multiply-adds/s; 8 tokens 31 vs 43);
  // - otherwise (decoding) quantized weights take the integer decode kernel (activations rounded
  //   to int8 blocks once per call, each weight byte read once) and float weights the dot-product
  //   tiles above.
  constexpr int kPackedMinTokens = 32;
  constexpr int kBf16GemmMinTokens = 12;
  constexpr int kInt8PackedMinTokens = 12;
  const bool quantized = UsesIntegerKernel(w0.dtype);
  const bool int8_packed = quantized && QuantizedActivations() && n >= kInt8PackedMinTokens &&
                           cols % 32 == 0 && Int8GemmSupported(w0.dtype);
  const bool integer = quantized && QuantizedActivations() && !int8_packed && n < kPackedMinTokens;
  // bf16 weights, few tokens, on an AVX512-BF16 CPU: activations rounded to bf16 once per call and
  // multiplied by vdpbf16ps (bf16_dot.h), under the int8 activations' switch.
  // From 12 tokens (batched decoding, prefill) the same rounding feeds the bf16 outer-product GEMM
  // (bf16_gemm.h). At 16 tokens it beats the dot-product tiles from memory (kernels_bench
  // bf16_cold 1024 x 2816, two threads: 330 vs 527 us); below 12 its idle lanes cost more (8
  // tokens in cache: 178 vs 101 us).
  const bool bf16_rounded =
      w0.dtype == DType::kBF16 && QuantizedActivations() && !exact_float && Bf16DotSupported();
  const bool bf16_dot = bf16_rounded && n < kBf16GemmMinTokens;
  const bool bf16_gemm = bf16_rounded && n >= kBf16GemmMinTokens;
  const bool packed = !integer && !int8_packed && !bf16_gemm && n >= kPackedMinTokens;
  const bool exact_dequantize = quantized && !QuantizedActivations();
  static thread_local std::vector<BlockQ8A> xq;  // [n, cols / 32]
  if (integer) {
    xq.resize(static_cast<size_t>(n) * cols / 32);
    for (int t = 0; t < n; ++t)
      QuantizeActivationsFast(x + t * cols, cols, xq.data() + t * cols / 32);
  }
  static thread_local std::vector<uint16_t> xb;  // [n, cols] bf16
  if (bf16_dot) {
    xb.resize(static_cast<size_t>(n) * cols);
    RoundToBf16(x, static_cast<size_t>(n) * cols, xb.data());
  }
  // The caller's buffers, by pointer: inside the parallel region `xq` and `xb` name each thread's
  // own.
  const BlockQ8A* xq_data = xq.data();
  const uint16_t* xb_data = xb.data();
  static thread_local std::vector<uint32_t> xbp;  // PackBf16Activations' tiles
  if (bf16_gemm) xbp.resize(Bf16PackedWords(n, cols));
  uint32_t* xbp_data = xbp.data();
  // Tasks are blocks of kRowsPerTask rows × kTokensPerTask tokens: the block's weights (≤ 32 rows)
  // stay in L2 while its tokens pass, and a block of 96 tokens' activations (96 × cols × 4 bytes)
  // fits L2 too. 96 is a multiple of every token tile (16, 24, 48).
  constexpr int64_t kRowsPerTask = 32;
  constexpr int kBaseTokensPerTask = 96;
  static thread_local AlignedScratch xp;  // [tiles, cols, kGemmTileTokens]
  float* xp_data = packed ? xp.Get(PackedActivationFloats(n, cols)) : nullptr;
  static thread_local AlignedScratch xa_q, xa_start, xa_d, xa_ds;  // PackedInt8Activations' buffers
  PackedInt8Activations xa;
  if (int8_packed) {
    xa.nb = cols / 32;
    xa.tile_tokens = PackedInt8Activations::TileTokensFor(n);
    xa.q = reinterpret_cast<int32_t*>(xa_q.Get(xa.QWords(n)));
    xa.start = reinterpret_cast<int32_t*>(xa_start.Get(xa.PartWords(n)));
    xa.d = xa_d.Get(xa.DFloats(n));
    xa.ds = xa_ds.Get(xa.PartWords(n));
  }
  auto run_block = [&](const MatrixView& w, float* y, int64_t r0, int64_t r1, int t0, int t1) {
    if (integer)
      return QuantMatMulRows(w, xq_data + static_cast<size_t>(t0) * cols / 32, t1 - t0,
                             y + static_cast<size_t>(t0) * w.rows, r0, r1);
    if (int8_packed)
      return PrefillGemmInt8Block(w, xa, y, static_cast<size_t>(w.rows), r0, r1, t0, t1);
    if (bf16_gemm)
      return Bf16GemmBlock(w, xbp_data, n, y, static_cast<size_t>(w.rows), r0, r1, t0, t1);
    if (bf16_dot)
      return Bf16DotRows(w, xb_data + static_cast<size_t>(t0) * cols, t1 - t0,
                         y + static_cast<size_t>(t0) * w.rows, r0, r1);
    if (!packed && !quantized) return block(w, x, y, r0, r1, t0, t1);
    static thread_local AlignedScratch rows;  // [kRowsPerTask, cols]
    float* wf = rows.Get(static_cast<size_t>(kRowsPerTask) * cols);
    WidenRows(w, r0, r1, exact_dequantize, wf);
    if (packed)
      return PrefillGemmBlock(wf, cols, xp_data, y, static_cast<size_t>(w.rows), r0, r1, t0, t1);
    // Few tokens, quantized weights, f32 activations (the goldens' mode): the task's rows as an
    // f32 matrix whose row 0 is row r0, y shifted by r0 columns to keep the [n, w.rows] layout.
    const MatrixView f32{DType::kF32, w.rows, w.cols, wf, cols * 4};
    block(f32, x, y + r0, 0, r1 - r0, t0, t1);
  };
  int64_t total_rows = 0;
  for (const MatMulTarget& t : targets) total_rows += t.w->rows;
  // Decoding (one or two tokens through the direct kernels) streams the weights from memory, and
  // each task start restarts the prefetch stream: 32-row tasks (0.35B: ~7,600 per token) cost
  // 5–6 % against 256-row ones (0.35B Q8_0 decode, per-step medians of 5–6 interleaved runs: 50.4 /
  // 52.2 tokens/s at 32 rows, 54.6 / 55.1 at 256). Batched decoding (≤ 48 tokens through the bf16
  // or int8 GEMM, one token tile per task) streams them too, and its micro-tiles prefetch the next
  // one's rows only inside their task, so each 32-row task began with a micro-tile waiting on
  // memory: 256-row tasks took `kvpress bench --batch 16` (0.35B, 2 threads, medians of 4
  // interleaved runs, with the L2 prefetch hint of bf16_gemm.cc) from 342 to 402 tokens/s in BF16
  // and from 444 to 541 in Q8_0 (Q4_K_M, which waits on unpacking, 336 → 346).
  //
  // Streaming, the row tasks of all targets (in order, as [target, r0, r1)) taper: each is about
  // the rows left over all targets / (2 × threads), from 1024 rows down to 32, so that a region
  // begins with long streams and ends on short tasks: the threads reach its barrier together, and
  // a thread that loses its core (tasks are claimed one by one) holds the others up by one short
  // task. With equal 256-row tasks one thread waited half a task per region on average (the
  // thread pool's wait was ~6 % of a decoding step's profile); tapering them took kernels_bench
  // bf16_cold 2816 × 1024, one token, two threads, from 192 to 148 µs (medians of 8 interleaved
  // runs), and raising the cap from 256 to 1024 rows took the BF16 decode's roofline fraction from
  // 0.80 to 0.87 (medians of 4 interleaved `kvpress bench` runs; Q8_0 0.85 → 0.87, batch 16 BF16
  // 405 → 415 tokens/s).
  constexpr int64_t kDecodeRowsPerTask = 1024;
  const bool streaming =
      (n <= 2 && (integer || !quantized)) || ((bf16_gemm || int8_packed) && n <= 48);
  const int64_t thread_count = threads > 1 ? threads : 1;
  struct RowTask {
    int32_t target;
    int64_t r0, r1;
  };
  static thread_local std::vector<RowTask> row_task_list;
  row_task_list.clear();
  int64_t rows_left = total_rows;
  for (size_t i = 0; i < targets.size(); ++i) {
    const int64_t rows = targets[i].w->rows;
    for (int64_t r0 = 0; r0 < rows;) {
      int64_t size = kRowsPerTask;
      if (streaming) {
        size = std::clamp<int64_t>(rows_left / (2 * thread_count) / kRowsPerTask * kRowsPerTask,
                                   kRowsPerTask, kDecodeRowsPerTask);
      }
      const int64_t r1 = std::min(rows, r0 + size);
      row_task_list.push_back(RowTask{static_cast<int32_t>(i), r0, r1});
      rows_left -= r1 - r0;
      r0 = r1;
    }
  }
  const RowTask* row_task_data = row_task_list.data();
  const int64_t row_tasks = static_cast<int64_t>(row_task_list.size());
  // Below ~64K multiply-adds a parallel region costs more than it saves.
  const bool parallel = threads > 1 && total_rows * w0.cols * static_cast<int64_t>(n) >= (1 << 16);
  // The packed kernel widens a task's weight rows once per task: with enough row blocks to keep
  // every thread busy (4 each), a task takes all tokens so each row is widened once.
  const int kTokensPerTask =
      (packed || int8_packed || bf16_gemm) && row_tasks >= 4 * static_cast<int64_t>(threads)
          ? n
          : kBaseTokensPerTask;
  const int64_t token_tasks = (n + kTokensPerTask - 1) / kTokensPerTask;
  auto run_task = [&](int64_t task) {
    const RowTask& rt = row_task_data[task % row_tasks];
    const MatMulTarget& target = targets[static_cast<size_t>(rt.target)];
    const int t0 = static_cast<int>(task / row_tasks) * kTokensPerTask;
    run_block(*target.w, target.y, rt.r0, rt.r1, t0,
              t0 + kTokensPerTask < n ? t0 + kTokensPerTask : n);
  };
  const int tiles = (n + kGemmTileTokens - 1) / kGemmTileTokens;
  const int bf16_tiles = (n + Bf16TileTokens(n) - 1) / Bf16TileTokens(n);
  // The int8 tiles are packed a range of blocks per task, so that batched decoding's single tile
  // is shared by the threads.
  const int64_t int8_tiles = int8_packed ? static_cast<int64_t>(xa.Tiles(n)) : 0;
  const int64_t nb = static_cast<int64_t>(cols / 32);
  constexpr int64_t kInt8PackBlocks = 16;
  const int64_t pack_chunks = (nb + kInt8PackBlocks - 1) / kInt8PackBlocks;
  auto pack_int8 = [&](int64_t task) {
    const int64_t b0 = (task % pack_chunks) * kInt8PackBlocks;
    PackInt8Activations(x, n, cols, static_cast<int>(task / pack_chunks), static_cast<size_t>(b0),
                        static_cast<size_t>(std::min(b0 + kInt8PackBlocks, nb)), xa);
  };
  if (!parallel) {
    if (packed) PackActivations(x, n, cols, 0, tiles, xp_data);
    if (bf16_gemm) PackBf16Activations(x, n, cols, 0, bf16_tiles, xbp_data);
    for (int64_t task = 0; task < int8_tiles * pack_chunks; ++task) pack_int8(task);
    for (int64_t task = 0; task < row_tasks * token_tasks; ++task) run_task(task);
    return;
  }
  if (packed) {
    ParallelFor(tiles, threads, [&](int64_t tile) {
      PackActivations(x, n, cols, static_cast<int>(tile), static_cast<int>(tile) + 1, xp_data);
    });
  }
  if (bf16_gemm) {
    ParallelFor(bf16_tiles, threads, [&](int64_t tile) {
      PackBf16Activations(x, n, cols, static_cast<int>(tile), static_cast<int>(tile) + 1, xbp_data);
    });
  }
  if (int8_packed) ParallelFor(int8_tiles * pack_chunks, threads, pack_int8);
  // Tasks are claimed one by one, so a thread that loses its core leaves its share to the others.
  // Consecutive tasks share a token block (its activations stay warm in the shared L3).
  ParallelFor(row_tasks * token_tasks, threads, run_task);
}

void MatMulReference(const MatrixView& w, const float* x, int n, float* y) {
  std::vector<float> row(static_cast<size_t>(w.cols));
  for (int t = 0; t < n; ++t) {
    for (int64_t r = 0; r < w.rows; ++r) {
      double s = 0.0;
      DequantizeRow(w.dtype, w.Row(r), row.data(), row.size());
      for (int64_t c = 0; c < w.cols; ++c) {
        s += static_cast<double>(row[static_cast<size_t>(c)]) *
             x[static_cast<size_t>(t) * w.cols + c];
      }
      y[static_cast<size_t>(t) * w.rows + r] = static_cast<float>(s);
    }
  }
}

float DotF32(const float* a, const float* b, size_t n) {
  return HWY_DYNAMIC_DISPATCH(DotF32Impl)(a, b, n);
}

void AxpyF32(float a, const float* x, float* y, size_t n) {
  HWY_DYNAMIC_DISPATCH(AxpyF32Impl)(a, x, y, n);
}

const char* SimdTargetName() { return HWY_DYNAMIC_DISPATCH(TargetNameImpl)(); }

}  // namespace kvpress
#endif  // HWY_ONCE
