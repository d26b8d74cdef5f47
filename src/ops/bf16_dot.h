// Products of bf16 weights with activations rounded to bf16, on CPUs with AVX512-BF16 (AMD Zen 4,
// Intel Cooper Lake / Sapphire Rapids): vdpbf16ps multiplies 32 bf16 pairs exactly and adds each
// two neighbours' products into 16 f32 lanes, so a weight is read and multiplied without widening
// it to f32 (llama.cpp's bf16 path on such CPUs). The error this adds is that of rounding each
// activation to bf16 (relative ≤ 2^-9, round-to-nearest-even), like int8 activation blocks for
// quantized weights; MatMul takes it under the same switch (SetQuantizedActivations), so
// --f32-activations keeps the exact f32 products.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ops/matmul.h"

namespace kvpress {

// Whether this CPU (and build) runs the kernels below: x86-64 with AVX512-BF16. Detected once.
bool Bf16DotSupported();

// out[i] = x[i] rounded to bf16 (nearest even), i < n. Requires Bf16DotSupported().
void RoundToBf16(const float* x, size_t n, uint16_t* out);

// y[t, r] = Σ_c W[r, c] · xb[t, c] for rows [r0, r1) of a bf16 w and t < n (xb: [n, w.cols] bf16
// from RoundToBf16, y: [n, w.rows]). One token walks the rows one at a time (one forward stream);
// more tokens take 4-row × 4-token tiles. Requires Bf16DotSupported().
void Bf16DotRows(const MatrixView& w, const uint16_t* xb, int n, float* y, int64_t r0, int64_t r1);

}  // namespace kvpress
