// Matrix-times-activations kernels: y = x · Wᵀ for weights of any DType and f32 activations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ops/dtype.h"

namespace kvpress {

// A read-only row-major weight matrix [rows, cols] of `dtype`, rows `row_bytes` apart.
struct MatrixView {
  DType dtype = DType::kF32;
  int64_t rows = 0;
  int64_t cols = 0;
  const void* data = nullptr;
  size_t row_bytes = 0;

  const void* Row(int64_t r) const {
    return static_cast<const uint8_t*>(data) + static_cast<size_t>(r) * row_bytes;
  }
  size_t Bytes() const { return static_cast<size_t>(rows) * row_bytes; }
};

// y[t, r] = Σ_c W[r, c] · x[t, c] for t < n.   x: [n, W.cols], y: [n, W.rows] (f32, dense).
// SIMD (Highway, runtime dispatch) and parallel over rows with `threads` OpenMP threads.
// exact_float: never round the activations of f32/f16/bf16 weights (attention's products with the
// KV cache), whatever SetQuantizedActivations says.
void MatMul(const MatrixView& w, const float* x, int n, float* y, int threads,
            bool exact_float = false);

// One product of MatMulMany: y [n, w->rows] = x · w->ᵀ.
struct MatMulTarget {
  const MatrixView* w;
  float* y;
};

// MatMul for several matrices of one input x [n, cols] (Q, K and V; gate and up): the activations
// are prepared (quantized, packed) once and all targets' rows share one parallel region, so the
// small ones don't each pay a region's start and its uneven tail. Results equal MatMul's per
// target. Targets of different dtypes or widths run one after the other.
void MatMulMany(std::span<const MatMulTarget> targets, const float* x, int n, int threads,
                bool exact_float = false);

// Whether MatMul multiplies block-quantized weights (Q8_0, Q4_0 ... IQ4_XS) with activations
// rounded to int8 per block of 32, as ggml does (default, fast), or with f32 activations against
// dequantized rows (exact up to f32 sums; for goldens). On CPUs with AVX512-BF16 the same switch
// rounds the activations of bf16 weights to bf16 (bf16_dot.h) for products of fewer than 32
// tokens. Process-wide.
void SetQuantizedActivations(bool on);
bool QuantizedActivations();

// Scalar reference of MatMul: double accumulation, one thread. For tests only.
void MatMulReference(const MatrixView& w, const float* x, int n, float* y);

// Σ_i row[i]·x[i] for one row stored as `t` (F32/F16/BF16/Q8_0) against f32 x (SIMD).
float DotRow(DType t, const void* row, const float* x, size_t n);

// y[i] += a · row[i] for a row stored as `t` (F32/F16/BF16) (SIMD).
void AxpyRow(float a, DType t, const void* row, float* y, size_t n);

// Σ_i a[i]·b[i] over f32 vectors (SIMD).
float DotF32(const float* a, const float* b, size_t n);

// y[i] += a · x[i] (SIMD).
void AxpyF32(float a, const float* x, float* y, size_t n);

// Name of the SIMD target chosen at runtime (e.g. "AVX2"), for logs and benchmarks.
const char* SimdTargetName();

}  // namespace kvpress
