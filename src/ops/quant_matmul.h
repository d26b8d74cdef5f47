// Matrix multiplication with block-quantized weights (Q4_0 ... Q6_K, IQ4_NL/XS) the way ggml does
// it: activations are quantized per block of 32 to int8 (one f32 scale, like ggml's q8_0/q8_K),
// and each weight block is multiplied in integer arithmetic, then scaled. The error this adds is
// that of rounding activations to 8 bits (relative ≈ 1/254 of each block's largest activation);
// MatMulReference (f32 activations, dequantized weights) is the exact path kept for goldens.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ops/dtype.h"

namespace kvpress {

struct MatrixView;

// 32 activations quantized to int8: x ≈ d * q; ds[h] = d * Σ q over elements 16h .. 16h+15 (what
// a weight offset c multiplies: Σ c · x ≈ c · ds[h]).
struct BlockQ8A {
  float d;
  float ds[2];
  int8_t q[32];
};
static_assert(sizeof(BlockQ8A) == 44, "BlockQ8A layout");

// Quantizes one row of `cols` activations (a multiple of 32): d = max|x| / 127, q = round(x / d).
void QuantizeActivations(const float* x, size_t cols, BlockQ8A* out);

// One 32-element block of a quantized weight row, decoded for an integer dot product: the weight
// of element j is dw * s[j / 16] * v[j] + c[j / 16], where v[j] is u[j] as unsigned (0..63) or,
// for `is_signed` types, as int8.
struct DecodedBlock {
  alignas(32) uint8_t u[32];
  int16_t s[2];
  float dw;
  float c[2];
  bool is_signed;
};

// Decodes block `b` (of 32 elements) of a row stored as `t` (any quantized type). Scalar; the
// reference for the SIMD unpackers. With values == false only s, dw, c and is_signed are set.
void DecodeQuantBlock(DType t, const void* row, size_t b, DecodedBlock& out, bool values = true);

// QuantizeActivations with SIMD (runtime dispatch): the same bytes and scales.
void QuantizeActivationsFast(const float* x, size_t cols, BlockQ8A* out);

// Σ_j weight_j · x_j for one weight row of `cols` elements against quantized activations, in the
// scalar reference arithmetic (exact integer block sums, f32 scaling).
float QuantDotReference(DType t, const void* row, const BlockQ8A* x, size_t cols);

// y[t, r] for rows [r0, r1) of w and n tokens of quantized activations xq ([n, cols / 32] blocks);
// SIMD where available (runtime dispatch), otherwise QuantDotReference. y: [n, w.rows].
void QuantMatMulRows(const MatrixView& w, const BlockQ8A* xq, int n, float* y, int64_t r0,
                     int64_t r1);

// Rows [r0, r1) of a quantized w dequantized to f32 (out: [r1 - r0, w.cols]) with SIMD unpacking
// (runtime dispatch): within one f32 rounding of DequantizeRow per value (a fused multiply-add where
// DequantizeRow rounds twice). For the prefill path, not for goldens.
void DequantizeRowsFast(const MatrixView& w, int64_t r0, int64_t r1, float* out);

}  // namespace kvpress
