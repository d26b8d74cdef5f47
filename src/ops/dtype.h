// Element types of weights and caches, and scalar conversions to/from f32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

namespace kvpress {

// Storage type of a tensor. Activations are always f32. The quantized types are ggml's
// (block layouts in ops/quant_blocks.h); their rows are whole blocks.
enum class DType : uint8_t {
  kF32, kF16, kBF16, kQ8_0,
  kQ4_0, kQ4_1, kQ5_0, kQ5_1, kQ2_K, kQ3_K, kQ4_K, kQ5_K, kQ6_K, kIQ4_NL, kIQ4_XS,
};
constexpr int kNumDTypes = 15;

// Q8_0 block (GGUF type 8): 32 values = f16 scale d, then 32 int8 q; value = d * q.
constexpr int kQ8Block = 32;
struct BlockQ8_0 {
  uint16_t d;  // f16 bits
  int8_t q[kQ8Block];
};
static_assert(sizeof(BlockQ8_0) == 34, "Q8_0 block must be 34 bytes");

// "f32", "f16", "bf16", "q8_0", "q4_0", ..., "q6_k", "iq4_nl", "iq4_xs".
const char* DTypeName(DType t);

// Elements per storage block: 1 for f32/f16/bf16, 32 or 256 for the quantized types.
int BlockElems(DType t);

// Bytes per storage block (4 or 2 for the float types).
int BlockBytes(DType t);

// True for the ggml block-quantized types (Q8_0 included).
inline bool IsQuantized(DType t) { return t != DType::kF32 && t != DType::kF16 && t != DType::kBF16; }

// The ggml type id of `t` (F32=0, F16=1, Q4_0=2, ..., BF16=30), and back (false when unknown to us).
uint32_t GgmlTypeId(DType t);
bool DTypeFromGgmlTypeId(uint32_t id, DType& out);

// The type whose DTypeName is `name` (false when none is).
bool DTypeFromName(const std::string& name, DType& out);

// Bytes taken by one row of `cols` elements (cols must be a multiple of BlockElems(t)).
inline size_t RowBytes(DType t, size_t cols) {
  return cols / static_cast<size_t>(BlockElems(t)) * static_cast<size_t>(BlockBytes(t));
}

inline float BF16ToF32(uint16_t b) {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Round-to-nearest-even, NaN preserved (matches torch's float -> bfloat16).
inline uint16_t F32ToBF16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

// IEEE binary16 -> binary32, exact (subnormals, inf, NaN).
inline float F16ToF32(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t u;
  if (exp == 0) {
    if (mant == 0) {
      u = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      mant &= 0x3ffu;
      u = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    u = sign | 0x7f800000u | (mant << 13);
  } else {
    u = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// binary32 -> binary16 with round-to-nearest-even.
uint16_t F32ToF16(float f);

// Reads element i of a row stored as `t` (scalar path, used by reference kernels and loaders;
// a quantized type decodes the whole block holding i).
float LoadElement(DType t, const void* row, size_t i);

// Widens `n` elements of a row of type `t` to f32 (n a multiple of BlockElems(t)). For the
// quantized types the values are bit-identical to gguf.quants.dequantize (ops/dequantize.cc).
void DequantizeRow(DType t, const void* row, float* out, size_t n);

// Quantizes n floats (multiple of 32) to Q8_0 the way ggml's reference quantizer does.
void QuantizeRowQ8_0(const float* x, BlockQ8_0* out, size_t n);

// Calls visit(std::integral_constant<DType, t>{}) with t = `type` when `type` is block-quantized
// and returns true; returns false (visit not called) for the float types. The one switch from
// which kernels instantiate their per-type templates.
template <class Visit>
inline bool VisitQuantType(DType type, Visit&& visit) {
  switch (type) {
    case DType::kQ8_0: visit(std::integral_constant<DType, DType::kQ8_0>{}); return true;
    case DType::kQ4_0: visit(std::integral_constant<DType, DType::kQ4_0>{}); return true;
    case DType::kQ4_1: visit(std::integral_constant<DType, DType::kQ4_1>{}); return true;
    case DType::kQ5_0: visit(std::integral_constant<DType, DType::kQ5_0>{}); return true;
    case DType::kQ5_1: visit(std::integral_constant<DType, DType::kQ5_1>{}); return true;
    case DType::kQ2_K: visit(std::integral_constant<DType, DType::kQ2_K>{}); return true;
    case DType::kQ3_K: visit(std::integral_constant<DType, DType::kQ3_K>{}); return true;
    case DType::kQ4_K: visit(std::integral_constant<DType, DType::kQ4_K>{}); return true;
    case DType::kQ5_K: visit(std::integral_constant<DType, DType::kQ5_K>{}); return true;
    case DType::kQ6_K: visit(std::integral_constant<DType, DType::kQ6_K>{}); return true;
    case DType::kIQ4_NL: visit(std::integral_constant<DType, DType::kIQ4_NL>{}); return true;
    case DType::kIQ4_XS: visit(std::integral_constant<DType, DType::kIQ4_XS>{}); return true;
    default: return false;
  }
}

}  // namespace kvpress
