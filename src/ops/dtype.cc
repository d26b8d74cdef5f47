#include "ops/dtype.h"

#include <cmath>
#include <vector>

#include "ops/quant_blocks.h"

namespace kvpress {
namespace {

struct DTypeTraits {
  DType type;
  const char* name;
  uint32_t ggml_id;
  int block_elems;
  int block_bytes;
};

// Indexed by DType; ggml ids and block sizes from ggml's type table (gguf-py GGML_QUANT_SIZES).
constexpr DTypeTraits kTraits[kNumDTypes] = {
    {DType::kF32, "f32", 0, 1, 4},
    {DType::kF16, "f16", 1, 1, 2},
    {DType::kBF16, "bf16", 30, 1, 2},
    {DType::kQ8_0, "q8_0", 8, kQBlock, sizeof(BlockQ8_0)},
    {DType::kQ4_0, "q4_0", 2, kQBlock, sizeof(BlockQ4_0)},
    {DType::kQ4_1, "q4_1", 3, kQBlock, sizeof(BlockQ4_1)},
    {DType::kQ5_0, "q5_0", 6, kQBlock, sizeof(BlockQ5_0)},
    {DType::kQ5_1, "q5_1", 7, kQBlock, sizeof(BlockQ5_1)},
    {DType::kQ2_K, "q2_k", 10, kQKBlock, sizeof(BlockQ2_K)},
    {DType::kQ3_K, "q3_k", 11, kQKBlock, sizeof(BlockQ3_K)},
    {DType::kQ4_K, "q4_k", 12, kQKBlock, sizeof(BlockQ4_K)},
    {DType::kQ5_K, "q5_k", 13, kQKBlock, sizeof(BlockQ5_K)},
    {DType::kQ6_K, "q6_k", 14, kQKBlock, sizeof(BlockQ6_K)},
    {DType::kIQ4_NL, "iq4_nl", 20, kQBlock, sizeof(BlockIQ4_NL)},
    {DType::kIQ4_XS, "iq4_xs", 23, kQKBlock, sizeof(BlockIQ4_XS)},
};

const DTypeTraits& Traits(DType t) { return kTraits[static_cast<int>(t)]; }

}  // namespace

const char* DTypeName(DType t) { return Traits(t).name; }
int BlockElems(DType t) { return Traits(t).block_elems; }
int BlockBytes(DType t) { return Traits(t).block_bytes; }
uint32_t GgmlTypeId(DType t) { return Traits(t).ggml_id; }

bool DTypeFromGgmlTypeId(uint32_t id, DType& out) {
  for (const DTypeTraits& tr : kTraits) {
    if (tr.ggml_id == id) {
      out = tr.type;
      return true;
    }
  }
  return false;
}

bool DTypeFromName(const std::string& name, DType& out) {
  for (const DTypeTraits& tr : kTraits) {
    if (name == tr.name) {
      out = tr.type;
      return true;
    }
  }
  return false;
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
    default: {
      const size_t be = static_cast<size_t>(BlockElems(t));
      float block[kQKBlock];
      DequantizeRow(t, static_cast<const uint8_t*>(row) + i / be * static_cast<size_t>(BlockBytes(t)),
                    block, be);
      return block[i % be];
    }
  }
  return 0.0f;
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
