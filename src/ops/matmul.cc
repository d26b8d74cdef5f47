// Highway kernels for MatMul. Each row of W is widened to f32 in registers and multiplied with up to
// four activation rows at once, so prefill reads each weight once per four tokens.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/matmul.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "ops/matmul.h"

HWY_BEFORE_NAMESPACE();
namespace kvpress {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;

// Loads Lanes(df) weights starting at element i of a row, widened to f32.
template <DType kT>
HWY_INLINE hn::Vec<DF> LoadWeights(DF df, const void* row, size_t i) {
  if constexpr (kT == DType::kF32) {
    return hn::LoadU(df, static_cast<const float*>(row) + i);
  } else if constexpr (kT == DType::kBF16) {
    const hn::Rebind<uint16_t, DF> du16;
    const hn::RebindToUnsigned<DF> du32;
    auto bits = hn::PromoteTo(du32, hn::LoadU(du16, static_cast<const uint16_t*>(row) + i));
    return hn::BitCast(df, hn::ShiftLeft<16>(bits));
  } else {
    const hn::Rebind<hwy::float16_t, DF> df16;
    return hn::PromoteTo(df, hn::LoadU(df16, static_cast<const hwy::float16_t*>(row) + i));
  }
}

// K activation rows against one weight row of a float-like dtype.
template <DType kT, int K>
HWY_INLINE void DotRowFloat(const void* row, const float* x, size_t cols, float* out) {
  const DF df;
  const size_t N = hn::Lanes(df);
  hn::Vec<DF> acc[K];
  for (int k = 0; k < K; ++k) acc[k] = hn::Zero(df);
  size_t i = 0;
  for (; i + N <= cols; i += N) {
    auto w = LoadWeights<kT>(df, row, i);
    for (int k = 0; k < K; ++k) acc[k] = hn::MulAdd(w, hn::LoadU(df, x + k * cols + i), acc[k]);
  }
  for (int k = 0; k < K; ++k) {
    float s = hn::GetLane(hn::SumOfLanes(df, acc[k]));
    for (size_t j = i; j < cols; ++j) s += LoadElement(kT, row, j) * x[k * cols + j];
    out[k] = s;
  }
}

// K activation rows against one Q8_0 weight row (cols multiple of 32). Vectors are capped at one
// block so a block's 32 values span a whole number of vectors on every target.
template <int K>
HWY_INLINE void DotRowQ8(const void* row, const float* x, size_t cols, float* out) {
  const hn::CappedTag<float, kQ8Block> df;
  const size_t N = hn::Lanes(df);
  const hn::Rebind<int8_t, decltype(df)> di8;
  const hn::RebindToSigned<decltype(df)> di32;
  const BlockQ8_0* blocks = static_cast<const BlockQ8_0*>(row);
  hn::Vec<decltype(df)> acc[K];
  for (int k = 0; k < K; ++k) acc[k] = hn::Zero(df);
  const size_t nb = cols / kQ8Block;
  for (size_t b = 0; b < nb; ++b) {
    hn::Vec<decltype(df)> part[K];
    for (int k = 0; k < K; ++k) part[k] = hn::Zero(df);
    for (size_t j = 0; j < static_cast<size_t>(kQ8Block); j += N) {
      auto w = hn::ConvertTo(df, hn::PromoteTo(di32, hn::LoadU(di8, blocks[b].q + j)));
      for (int k = 0; k < K; ++k) {
        part[k] = hn::MulAdd(w, hn::LoadU(df, x + k * cols + b * kQ8Block + j), part[k]);
      }
    }
    const auto d = hn::Set(df, F16ToF32(blocks[b].d));
    for (int k = 0; k < K; ++k) acc[k] = hn::MulAdd(d, part[k], acc[k]);
  }
  for (int k = 0; k < K; ++k) out[k] = hn::GetLane(hn::SumOfLanes(df, acc[k]));
}

template <int K>
HWY_INLINE void DotRow(DType t, const void* row, const float* x, size_t cols, float* out) {
  switch (t) {
    case DType::kF32: return DotRowFloat<DType::kF32, K>(row, x, cols, out);
    case DType::kF16: return DotRowFloat<DType::kF16, K>(row, x, cols, out);
    case DType::kBF16: return DotRowFloat<DType::kBF16, K>(row, x, cols, out);
    case DType::kQ8_0: return DotRowQ8<K>(row, x, cols, out);
    default:  // other quantized types go through quant_matmul.cc (or are dequantized first)
      for (int k = 0; k < K; ++k) {
        double s = 0.0;
        for (size_t j = 0; j < cols; ++j) s += LoadElement(t, row, j) * x[k * cols + j];
        out[k] = static_cast<float>(s);
      }
  }
}

// Rows [r0, r1) of y for all n tokens.
void MatMulRows(const MatrixView& w, const float* x, int n, float* y, int64_t r0, int64_t r1) {
  const size_t cols = static_cast<size_t>(w.cols);
  float out[8];
  for (int t = 0; t < n;) {
    // 8 tokens per weight load when there are that many: twice the independent FMA chains and
    // half the weight conversions of the 4-token tile (the same sums per token either way).
    const int k = n - t >= 8 ? 8 : (n - t < 4 ? n - t : 4);
    const float* xt = x + static_cast<size_t>(t) * cols;
    for (int64_t r = r0; r < r1; ++r) {
      const void* row = w.Row(r);
      switch (k) {
        case 8: DotRow<8>(w.dtype, row, xt, cols, out); break;
        case 4: DotRow<4>(w.dtype, row, xt, cols, out); break;
        case 3: DotRow<3>(w.dtype, row, xt, cols, out); break;
        case 2: DotRow<2>(w.dtype, row, xt, cols, out); break;
        default: DotRow<1>(w.dtype, row, xt, cols, out); break;
      }
      for (int j = 0; j < k; ++j) y[static_cast<size_t>(t + j) * w.rows + r] = out[j];
    }
    t += k;
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
  float out[1];
  DotRow<1>(t, row, x, n, out);
  return out[0];
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
    case DType::kF32: return AxpyRowTyped<DType::kF32>(a, row, y, n);
    case DType::kF16: return AxpyRowTyped<DType::kF16>(a, row, y, n);
    case DType::kBF16: return AxpyRowTyped<DType::kBF16>(a, row, y, n);
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
#include <atomic>
#include <vector>

#include "core/thread_pool.h"
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

HWY_EXPORT(MatMulRows);
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

void MatMul(const MatrixView& w, const float* x, int n, float* y, int threads) {
  const auto fn = HWY_DYNAMIC_DISPATCH(MatMulRows);
  const size_t cols = static_cast<size_t>(w.cols);
  // Quantized weights: activations rounded to int8 blocks once per call (integer kernel), or,
  // with quantized activations off, each task's rows dequantized to f32 for the float kernel.
  const bool integer = UsesIntegerKernel(w.dtype) && QuantizedActivations();
  const bool dequantize = UsesIntegerKernel(w.dtype) && !integer;
  static thread_local std::vector<BlockQ8A> xq;  // [n, cols / 32]
  if (integer) {
    xq.resize(static_cast<size_t>(n) * cols / 32);
    for (int t = 0; t < n; ++t) QuantizeActivations(x + t * cols, cols, xq.data() + t * cols / 32);
  }
  // The caller's buffer, by pointer: inside the parallel region `xq` names each thread's own.
  const BlockQ8A* xq_data = xq.data();
  constexpr int64_t kRowsPerTask = 16;
  auto run_rows = [&](int64_t r0, int64_t r1) {
    if (integer) return QuantMatMulRows(w, xq_data, n, y, r0, r1);
    if (!dequantize) return fn(w, x, n, y, r0, r1);
    static thread_local std::vector<float> rows;  // [kRowsPerTask, cols]
    rows.resize(static_cast<size_t>(kRowsPerTask) * cols);
    for (int64_t r = r0; r < r1; ++r) DequantizeRow(w.dtype, w.Row(r), rows.data() + (r - r0) * cols, cols);
    // The task's rows as an f32 matrix whose row 0 is row r0; y shifted by r0 columns keeps the
    // [n, w.rows] layout (fn writes y[t * rows + r] for r in [0, r1 - r0)).
    MatrixView f32{DType::kF32, w.rows, w.cols, rows.data(), cols * 4};
    fn(f32, x, n, y + r0, 0, r1 - r0);
  };
  // Below ~64K multiply-adds a parallel region costs more than it saves.
  const bool parallel = threads > 1 && w.rows * w.cols * static_cast<int64_t>(n) >= (1 << 16);
  if (!parallel && !dequantize) {
    run_rows(0, w.rows);
    return;
  }
  const int64_t tasks = (w.rows + kRowsPerTask - 1) / kRowsPerTask;
  // Tasks are claimed one by one, so a thread that loses its core leaves its share to the others.
  ParallelFor(tasks, parallel ? threads : 1, [&](int64_t task) {
    const int64_t r0 = task * kRowsPerTask;
    run_rows(r0, r0 + kRowsPerTask < w.rows ? r0 + kRowsPerTask : w.rows);
  });
}

void MatMulReference(const MatrixView& w, const float* x, int n, float* y) {
  std::vector<float> row(static_cast<size_t>(w.cols));
  for (int t = 0; t < n; ++t) {
    for (int64_t r = 0; r < w.rows; ++r) {
      double s = 0.0;
      DequantizeRow(w.dtype, w.Row(r), row.data(), row.size());
      for (int64_t c = 0; c < w.cols; ++c) {
        s += static_cast<double>(row[static_cast<size_t>(c)]) * x[static_cast<size_t>(t) * w.cols + c];
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
