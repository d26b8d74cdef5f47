// Scalar dequantization of every storage type: the reference for the SIMD kernels and the loader.
// Each formula evaluates in the same order, in f32, as gguf.quants.dequantize (numpy, no fused
// multiply-add), so results are bit-identical to it; this file is compiled with -ffp-contract=off
// (src/CMakeLists.txt) to keep the compiler from fusing `a * b - c`.
#include <cstring>

#include "ops/dtype.h"
#include "ops/quant_blocks.h"

namespace kvpress {
namespace {

float H(uint16_t bits) { return F16ToF32(bits); }

void DequantQ4_0(const BlockQ4_0& b, float* y) {
  const float d = H(b.d);
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>((b.qs[j] & 0xF) - 8);
    y[j + 16] = d * static_cast<float>((b.qs[j] >> 4) - 8);
  }
}

void DequantQ4_1(const BlockQ4_1& b, float* y) {
  const float d = H(b.d), m = H(b.m);
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>(b.qs[j] & 0xF) + m;
    y[j + 16] = d * static_cast<float>(b.qs[j] >> 4) + m;
  }
}

// The 5-bit value of element j (0..31) of a Q5_0/Q5_1 block.
int Q5Value(const uint8_t* qh4, const uint8_t* qs, int j) {
  uint32_t qh;
  std::memcpy(&qh, qh4, 4);
  const int low = j < 16 ? (qs[j] & 0xF) : (qs[j - 16] >> 4);
  return low | static_cast<int>(((qh >> j) & 1u) << 4);
}

void DequantQ5_0(const BlockQ5_0& b, float* y) {
  const float d = H(b.d);
  for (int j = 0; j < 32; ++j) y[j] = d * static_cast<float>(Q5Value(b.qh, b.qs, j) - 16);
}

void DequantQ5_1(const BlockQ5_1& b, float* y) {
  const float d = H(b.d), m = H(b.m);
  for (int j = 0; j < 32; ++j) y[j] = d * static_cast<float>(Q5Value(b.qh, b.qs, j)) + m;
}

void DequantQ8_0(const BlockQ8_0& b, float* y) {
  const float d = H(b.d);
  for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(b.q[j]) * d;
}

void DequantQ2_K(const BlockQ2_K& b, float* y) {
  const float d = H(b.d), dmin = H(b.dmin);
  for (int e = 0; e < kQKBlock; ++e) {
    const int q = (b.qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
    const uint8_t sc = b.scales[e / 16];
    const float dl = d * static_cast<float>(sc & 0xF), ml = dmin * static_cast<float>(sc >> 4);
    y[e] = dl * static_cast<float>(q) - ml;
  }
}

void DequantQ3_K(const BlockQ3_K& b, float* y) {
  const float d = H(b.d);
  for (int e = 0; e < kQKBlock; ++e) {
    const int low = (b.qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
    const int hbit = (b.hmask[e % 32] >> (e / 32)) & 1;
    const float dl = d * static_cast<float>(UnpackScaleQ3K(b.scales, e / 16));
    y[e] = dl * static_cast<float>(low - (hbit ? 0 : 4));
  }
}

// Q4_K and Q5_K share everything but the fifth bit (qh == nullptr for Q4_K).
void DequantK4K5(uint16_t d16, uint16_t dmin16, const uint8_t* scales, const uint8_t* qh,
                 const uint8_t* qs, float* y) {
  const float d = H(d16), dmin = H(dmin16);
  for (int e = 0; e < kQKBlock; ++e) {
    uint8_t sc, m;
    UnpackScaleMinK4(scales, e / 32, sc, m);
    int q = (qs[32 * (e / 64) + e % 32] >> (4 * ((e % 64) / 32))) & 0xF;
    if (qh != nullptr) q |= ((qh[e % 32] >> (e / 32)) & 1) << 4;
    const float dl = d * static_cast<float>(sc), ml = dmin * static_cast<float>(m);
    y[e] = dl * static_cast<float>(q) - ml;
  }
}

void DequantQ6_K(const BlockQ6_K& b, float* y) {
  const float d = H(b.d);
  for (int e = 0; e < kQKBlock; ++e) {
    const int low = (b.ql[64 * (e / 128) + e % 64] >> (4 * ((e % 128) / 64))) & 0xF;
    const int high = (b.qh[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
    const float dl = d * static_cast<float>(b.scales[e / 16]);
    y[e] = dl * static_cast<float>((low | (high << 4)) - 32);
  }
}

void DequantIQ4_NL(const BlockIQ4_NL& b, float* y) {
  const float d = H(b.d);
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>(kIq4nlValues[b.qs[j] & 0xF]);
    y[j + 16] = d * static_cast<float>(kIq4nlValues[b.qs[j] >> 4]);
  }
}

void DequantIQ4_XS(const BlockIQ4_XS& b, float* y) {
  const float d = H(b.d);
  for (int e = 0; e < kQKBlock; ++e) {
    const int sb = e / 32;
    const int ls = ((b.scales_l[sb / 2] >> (4 * (sb % 2))) & 0xF) | (((b.scales_h >> (2 * sb)) & 3) << 4);
    const float dl = d * static_cast<float>(ls - 32);
    const int q = (b.qs[16 * sb + e % 16] >> (4 * ((e % 32) / 16))) & 0xF;
    y[e] = dl * static_cast<float>(kIq4nlValues[q]);
  }
}

template <typename Block, typename Fn>
void ForBlocks(const void* row, float* out, size_t n, int elems, Fn fn) {
  const Block* blocks = static_cast<const Block*>(row);
  for (size_t b = 0; b < n / static_cast<size_t>(elems); ++b) fn(blocks[b], out + b * elems);
}

}  // namespace

void DequantizeRow(DType t, const void* row, float* out, size_t n) {
  switch (t) {
    case DType::kF32: std::memcpy(out, row, n * 4); return;
    case DType::kF16:
      for (size_t i = 0; i < n; ++i) out[i] = F16ToF32(static_cast<const uint16_t*>(row)[i]);
      return;
    case DType::kBF16:
      for (size_t i = 0; i < n; ++i) out[i] = BF16ToF32(static_cast<const uint16_t*>(row)[i]);
      return;
    case DType::kQ8_0: return ForBlocks<BlockQ8_0>(row, out, n, kQBlock, DequantQ8_0);
    case DType::kQ4_0: return ForBlocks<BlockQ4_0>(row, out, n, kQBlock, DequantQ4_0);
    case DType::kQ4_1: return ForBlocks<BlockQ4_1>(row, out, n, kQBlock, DequantQ4_1);
    case DType::kQ5_0: return ForBlocks<BlockQ5_0>(row, out, n, kQBlock, DequantQ5_0);
    case DType::kQ5_1: return ForBlocks<BlockQ5_1>(row, out, n, kQBlock, DequantQ5_1);
    case DType::kQ2_K: return ForBlocks<BlockQ2_K>(row, out, n, kQKBlock, DequantQ2_K);
    case DType::kQ3_K: return ForBlocks<BlockQ3_K>(row, out, n, kQKBlock, DequantQ3_K);
    case DType::kQ4_K:
      return ForBlocks<BlockQ4_K>(row, out, n, kQKBlock, [](const BlockQ4_K& b, float* y) {
        DequantK4K5(b.d, b.dmin, b.scales, nullptr, b.qs, y);
      });
    case DType::kQ5_K:
      return ForBlocks<BlockQ5_K>(row, out, n, kQKBlock, [](const BlockQ5_K& b, float* y) {
        DequantK4K5(b.d, b.dmin, b.scales, b.qh, b.qs, y);
      });
    case DType::kQ6_K: return ForBlocks<BlockQ6_K>(row, out, n, kQKBlock, DequantQ6_K);
    case DType::kIQ4_NL: return ForBlocks<BlockIQ4_NL>(row, out, n, kQBlock, DequantIQ4_NL);
    case DType::kIQ4_XS: return ForBlocks<BlockIQ4_XS>(row, out, n, kQKBlock, DequantIQ4_XS);
  }
}

}  // namespace kvpress
