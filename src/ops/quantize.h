// Quantization of f32 rows into ggml's block types (layouts in ops/quant_blocks.h), producing the
// same bytes as ggml's reference quantizers (what llama.cpp's quantizer writes without an
// importance matrix). Used by `kvpress convert --dtype` and by tests that build quantized models.
#pragma once

#include <cstddef>

#include "ops/dtype.h"

namespace kvpress {

// True when QuantizeRow implements `t`: q4_0, q4_1, q5_0, q5_1, q8_0, q2_k, q3_k, q4_k, q5_k,
// q6_k, iq4_nl and iq4_xs. False for the float types (they are conversions, not quantizers).
bool HasQuantizer(DType t);

// Quantizes the `n` floats of `x` (n a multiple of BlockElems(t), HasQuantizer(t)) into `out`,
// which must hold RowBytes(t, n) bytes. The bytes equal ggml_quantize_chunk's without an
// importance matrix for finite inputs; non-finite inputs give unspecified (but defined) codes.
void QuantizeRow(DType t, const float* x, void* out, size_t n);

}  // namespace kvpress
