#include "ops/dtype.h"

#include <cmath>

namespace kvpress {

const char* DTypeName(DType t) {
  switch (t) {
    case DType::kF32: return "f32";
    case DType::kF16: return "f16";
    case DType::kBF16: return "bf16";
    case DType::kQ8_0: return "q8_0";
  }
  return "?";
}

uint16_t F32ToF16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  uint32_t sign = (u >> 16) & 0x8000u;
  uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
  if (abs < 0x38800000u) {  // subnormal or zero in f16
    // value * 2^24 rounded to nearest even gives the subnormal mantissa.
    float a;
    std::memcpy(&a, &abs, 4);
    float scaled = a * 16777216.0f;  // exact: power of two
    uint32_t m = static_cast<uint32_t>(std::nearbyint(scaled));
    return static_cast<uint16_t>(sign | m);
  }
  uint32_t exp = ((abs >> 23) - 127 + 15);
  uint32_t mant = abs & 0x7fffffu;
  uint32_t h = (exp << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // may carry into exponent: correct
  return static_cast<uint16_t>(sign | h);
}

float LoadElement(DType t, const void* row, size_t i) {
  switch (t) {
    case DType::kF32: return static_cast<const float*>(row)[i];
    case DType::kF16: return F16ToF32(static_cast<const uint16_t*>(row)[i]);
    case DType::kBF16: return BF16ToF32(static_cast<const uint16_t*>(row)[i]);
    case DType::kQ8_0: {
      const BlockQ8_0& b = static_cast<const BlockQ8_0*>(row)[i / kQ8Block];
      return F16ToF32(b.d) * static_cast<float>(b.q[i % kQ8Block]);
    }
  }
  return 0.0f;
}

void DequantizeRow(DType t, const void* row, float* out, size_t n) {
  switch (t) {
    case DType::kF32: std::memcpy(out, row, n * 4); return;
    default:
      for (size_t i = 0; i < n; ++i) out[i] = LoadElement(t, row, i);
  }
}

void QuantizeRowQ8_0(const float* x, BlockQ8_0* out, size_t n) {
  for (size_t b = 0; b < n / kQ8Block; ++b) {
    float amax = 0.0f;
    for (int j = 0; j < kQ8Block; ++j) amax = std::fmax(amax, std::fabs(x[b * kQ8Block + j]));
    float d = amax / 127.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    out[b].d = F32ToF16(d);
    for (int j = 0; j < kQ8Block; ++j) {
      out[b].q[j] = static_cast<int8_t>(std::lround(x[b * kQ8Block + j] * id));
    }
  }
}

}  // namespace kvpress
