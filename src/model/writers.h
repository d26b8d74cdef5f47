// Writers of the safetensors and GGUF formats, used by `kvpress convert` and by tests that build
// model files with the project's own code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "ops/dtype.h"

namespace kvpress {

// A tensor to write: row-major `shape` (outermost first) and its raw bytes in `dtype`.
struct TensorToWrite {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

// safetensors with the header padded (spaces) so the data starts at a multiple of 8.
// Q8_0 is not a safetensors dtype (InvalidArgument).
Status WriteSafetensors(const std::string& path, const std::vector<TensorToWrite>& tensors);

// A typed GGUF metadata value. JSON numbers are written as u32 (non-negative integers), i32
// (negative integers) or f32 (floats); strings, bools and arrays of those map naturally.
// Use `ForceType` entries to pick other types for specific keys.
struct GgufKeyValue {
  std::string key;
  nlohmann::json value;
  int force_type = -1;  // GGUF value type to use for scalars (or array elements), -1 = infer
};

// GGUF v3, alignment 32, tensors in the given order (shapes reversed into ne[] order).
Status WriteGguf(const std::string& path, const std::vector<GgufKeyValue>& metadata,
                 const std::vector<TensorToWrite>& tensors);

// Converts `n` f32 values to `dtype` bytes; the quantized types (n a multiple of BlockElems)
// through QuantizeRow, i.e. byte for byte as ggml's reference quantizers.
std::vector<uint8_t> EncodeF32(const float* x, size_t n, DType dtype);

}  // namespace kvpress
