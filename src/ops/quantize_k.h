// Internal to ops/quantize*.cc: the per-block quantizers of the 256-wide "K" types and the
// rounding helper they share with the other quantizers. Public entry point: ops/quantize.h.
#pragma once

#include <cstdint>
#include <cstring>

#include "ops/quant_blocks.h"

namespace kvpress::quant_internal {

// ggml's GROUP_MAX_EPS: a group whose largest magnitude is below this is all zero.
constexpr float kGroupMaxEps = 1e-15f;

// ggml's nearest_int: round half to even by adding 1.5 * 2^23 and reading the mantissa bits.
// Exact for |v| < 2^22; outside that range (or for NaN) the result is defined but meaningless.
inline int NearestInt(float v) {
  const float shifted = v + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, 4);
  return (bits & 0x007fffff) - 0x00400000;
}

// The value of largest magnitude among x[0..n) with its sign (the first one on a tie; 0 when all
// are zero); its magnitude goes to `amax`.
float SignedMax(const float* x, int n, float& amax);

// Each quantizes the 256 floats at `x` into one block, as ggml's quantize_row_<type>_ref.
void QuantizeBlockQ2K(const float* x, BlockQ2_K& y);
void QuantizeBlockQ3K(const float* x, BlockQ3_K& y);
void QuantizeBlockQ4K(const float* x, BlockQ4_K& y);
void QuantizeBlockQ5K(const float* x, BlockQ5_K& y);
void QuantizeBlockQ6K(const float* x, BlockQ6_K& y);

}  // namespace kvpress::quant_internal
