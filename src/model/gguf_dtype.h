// Which ggml type each tensor of a GGUF written by `kvpress convert --dtype T` gets, and the
// llama.cpp file type recorded for it. The rules are llama.cpp's (llama-quantize) without its
// per-tensor mixes: every matrix gets T (token embeddings and the LM head included), 1-D tensors
// (norms, biases, rope factors) stay f32.
#pragma once

#include <cstdint>
#include <string>

#include "ops/dtype.h"

namespace kvpress {

// The type of the matrix `name` with rows of `cols` values when T = `wanted`: `wanted` when cols
// is a multiple of its block; otherwise llama.cpp's fallback (tensor_type_fallback): q2_k and
// q3_k -> q4_0, q4_k -> q5_0, q5_k -> q5_1, q6_k -> q8_0, iq4_xs -> iq4_nl, a 32-wide type stays;
// and f16 when cols is not a multiple of that either. A fallback is logged as a warning naming
// the tensor, its column count and both types.
DType GgufMatrixDType(const std::string& name, DType wanted, int64_t cols);

// general.file_type (llama.cpp's enum llama_ftype) for a file written with T = `dtype`, mapped
// one to one: f32 0, f16 1, q4_0 2, q4_1 3, q8_0 7, q5_0 8, q5_1 9, q2_k 10, q3_k 12 (Q3_K_M),
// q4_k 15 (Q4_K_M), q5_k 17 (Q5_K_M), q6_k 18, iq4_nl 25, iq4_xs 30, bf16 32. llama.cpp only
// displays this value; the tensors' own types are what loaders read.
uint32_t LlamaFileType(DType dtype);

}  // namespace kvpress
