// Quantizers of the 32-wide types (Q4_0, Q4_1, Q5_0, Q5_1; Q8_0 lives in ops/dtype.cc) and of
// IQ4_NL / IQ4_XS, and the QuantizeRow dispatch. The algorithms are ggml's reference quantizers
// (llama.cpp, ggml/src/ggml-quants.c, MIT licence: quantize_row_q{4,5}_{0,1}_ref and, for the
// IQ4 types, quantize_row_iq4_nl_impl with ntry = 7 as quantize_iq4_nl / quantize_iq4_xs call it
// without an importance matrix), re-implemented here. Float expressions keep ggml's evaluation
// order; the file is compiled with -ffp-contract=off (src/CMakeLists.txt) as ggml's x86-64
// reference build never fuses multiply-adds. The K types are in ops/quantize_k.cc.
#include "ops/quantize.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "core/check.h"
#include "ops/quant_blocks.h"
#include "ops/quantize_k.h"

namespace kvpress {
namespace {

using quant_internal::NearestInt;
using quant_internal::SignedMax;

// C's float -> int conversion (truncation toward zero) of a code, clamped to [0, top]; ggml
// converts in range, the clamp only keeps non-finite inputs defined.
uint8_t TruncatedCode(float v, int top) {
  if (std::isnan(v)) return 0;
  return static_cast<uint8_t>(std::clamp(static_cast<int>(std::clamp(v, -1.0f, 255.0f)), 0, top));
}

// Q4_0 / Q5_0: d = max / -2^(bits-1) with max the value of largest magnitude (sign kept);
// code = trunc(x / d + 2^(bits-1) + 0.5) clamped to 2^bits - 1. Returns d.
float SymmetricCodes(const float* x, int bits, uint8_t* codes) {
  float amax;
  const float max = SignedMax(x, kQBlock, amax);
  const int half = 1 << (bits - 1);
  const float d = max / static_cast<float>(-half);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  const float offset = static_cast<float>(half) + 0.5f;
  for (int j = 0; j < kQBlock; ++j) codes[j] = TruncatedCode(x[j] * id + offset, 2 * half - 1);
  return d;
}

// Q4_1 / Q5_1: d = (max - min) / (2^bits - 1); code = trunc((x - min) / d + 0.5). Sets d, min.
void AffineCodes(const float* x, int bits, uint8_t* codes, float& d, float& min) {
  float lo = FLT_MAX, hi = -FLT_MAX;
  for (int j = 0; j < kQBlock; ++j) {
    if (x[j] < lo) lo = x[j];
    if (x[j] > hi) hi = x[j];
  }
  const int top = (1 << bits) - 1;
  d = (hi - lo) / static_cast<float>(top);
  min = lo;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int j = 0; j < kQBlock; ++j) codes[j] = TruncatedCode((x[j] - lo) * id + 0.5f, top);
}

// Low nibbles of 32 codes: element j < 16 in the low half of qs[j], element j + 16 in the high.
void PackNibbles(const uint8_t* codes, uint8_t* qs) {
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>((codes[j] & 0xF) | ((codes[j + 16] & 0xF) << 4));
}

// Fifth bits of 32 codes: bit j of the little-endian u32 qh.
void PackFifthBits(const uint8_t* codes, uint8_t* qh) {
  uint32_t bits = 0;
  for (int j = 0; j < kQBlock; ++j) bits |= static_cast<uint32_t>((codes[j] >> 4) & 1) << j;
  std::memcpy(qh, &bits, 4);
}

template <typename Block, int kBits, bool kAffine>
void Quantize32(const float* x, void* out, size_t n) {
  Block* blocks = static_cast<Block*>(out);
  uint8_t codes[kQBlock];
  for (size_t b = 0; b < n / kQBlock; ++b) {
    Block& y = blocks[b];
    if constexpr (kAffine) {
      float d, min;
      AffineCodes(x + b * kQBlock, kBits, codes, d, min);
      y.d = F32ToF16(d);
      y.m = F32ToF16(min);
    } else {
      y.d = F32ToF16(SymmetricCodes(x + b * kQBlock, kBits, codes));
    }
    PackNibbles(codes, y.qs);
    if constexpr (kBits == 5) PackFifthBits(codes, y.qh);
  }
}

// Index of the entry of the sorted 16-entry grid nearest to v (the lower one on a tie).
int NearestGridIndex(float v) {
  const int8_t* g = kIq4nlValues;
  if (v <= g[0]) return 0;
  if (v >= g[15]) return 15;
  int lo = 0, hi = 15;
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    (v < g[mid] ? hi : lo) = mid;
  }
  return v - g[hi - 1] < g[hi] - v ? hi - 1 : hi;
}

// One 32-value sub-block of IQ4_NL / IQ4_XS: the scale of the best weighted (x²) least-squares
// fit of x onto d * grid over the grids max / (grid[0] + t), t in [-7, 7]; codes to L.
float Iq4SubBlockScale(const float* x, uint8_t* L) {
  constexpr int kTry = 7;
  float amax;
  const float max = SignedMax(x, kQBlock, amax);
  if (amax < quant_internal::kGroupMaxEps) return 0.0f;  // L is recomputed by the caller
  auto fit = [&](float id, float& sumqx, float& sumq2, uint8_t* codes) {
    sumqx = sumq2 = 0;
    for (int j = 0; j < kQBlock; ++j) {
      const int l = NearestGridIndex(id * x[j]);
      if (codes != nullptr) codes[j] = static_cast<uint8_t>(l);
      const float q = kIq4nlValues[l];
      const float w = x[j] * x[j];
      sumqx += w * q * x[j];
      sumq2 += w * q * q;
    }
  };
  float sumqx, sumq2;
  fit(1 / (-max / static_cast<float>(kIq4nlValues[0])), sumqx, sumq2, L);
  float d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
  float best = d * sumqx;
  for (int t = -kTry; t <= kTry; ++t) {
    fit(static_cast<float>(t + kIq4nlValues[0]) / max, sumqx, sumq2, nullptr);
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      d = sumqx / sumq2;
      best = d * sumqx;
    }
  }
  return d;
}

// Codes of 32 values for scale d (0 gives the grid entry nearest 0).
void Iq4Codes(const float* x, float d, uint8_t* L) {
  const float id = d != 0 ? 1 / d : 0.f;
  for (int j = 0; j < kQBlock; ++j) L[j] = static_cast<uint8_t>(NearestGridIndex(id * x[j]));
}

void QuantizeIQ4_NL(const float* x, void* out, size_t n) {
  BlockIQ4_NL* blocks = static_cast<BlockIQ4_NL*>(out);
  uint8_t L[kQBlock];
  for (size_t b = 0; b < n / kQBlock; ++b) {
    const float* xb = x + b * kQBlock;
    const float d = Iq4SubBlockScale(xb, L);
    blocks[b].d = F32ToF16(d);
    Iq4Codes(xb, d, L);
    PackNibbles(L, blocks[b].qs);
  }
}

// IQ4_XS: per super-block of 256, eight IQ4_NL-style sub-block scales quantized to 6 bits
// relative to d = -max_scale / 32, codes recomputed against each rounded scale.
void QuantizeIQ4_XS(const float* x, void* out, size_t n) {
  BlockIQ4_XS* blocks = static_cast<BlockIQ4_XS*>(out);
  uint8_t L[kQBlock];
  for (size_t b = 0; b < n / kQKBlock; ++b) {
    const float* xs = x + b * kQKBlock;
    BlockIQ4_XS& y = blocks[b];
    float scales[8];
    for (int ib = 0; ib < 8; ++ib) scales[ib] = Iq4SubBlockScale(xs + 32 * ib, L);
    float amax_scale;
    const float max_scale = SignedMax(scales, 8, amax_scale);
    const float d = -max_scale / 32;
    y.d = F32ToF16(d);
    y.scales_h = 0;
    std::fill(y.scales_l, y.scales_l + 4, 0);
    const float id = d != 0 ? 1 / d : 0.f;
    for (int ib = 0; ib < 8; ++ib) {
      const int l = std::clamp(NearestInt(id * scales[ib]), -32, 31);
      Iq4Codes(xs + 32 * ib, d * static_cast<float>(l), L);
      PackNibbles(L, y.qs + 16 * ib);
      const int biased = l + 32;
      y.scales_l[ib / 2] |= static_cast<uint8_t>((biased & 0xF) << (4 * (ib % 2)));
      y.scales_h |= static_cast<uint16_t>((biased >> 4) << (2 * ib));
    }
  }
}

template <typename Block, void (*kQuantizeBlock)(const float*, Block&)>
void QuantizeK(const float* x, void* out, size_t n) {
  Block* blocks = static_cast<Block*>(out);
  for (size_t b = 0; b < n / kQKBlock; ++b) kQuantizeBlock(x + b * kQKBlock, blocks[b]);
}

}  // namespace

bool HasQuantizer(DType t) { return IsQuantized(t); }

void QuantizeRow(DType t, const float* x, void* out, size_t n) {
  CHECK(n % static_cast<size_t>(BlockElems(t)) == 0) << n << " values are not whole " << DTypeName(t) << " blocks";
  using namespace quant_internal;
  switch (t) {
    case DType::kQ8_0: return QuantizeRowQ8_0(x, static_cast<BlockQ8_0*>(out), n);
    case DType::kQ4_0: return Quantize32<BlockQ4_0, 4, false>(x, out, n);
    case DType::kQ4_1: return Quantize32<BlockQ4_1, 4, true>(x, out, n);
    case DType::kQ5_0: return Quantize32<BlockQ5_0, 5, false>(x, out, n);
    case DType::kQ5_1: return Quantize32<BlockQ5_1, 5, true>(x, out, n);
    case DType::kQ2_K: return QuantizeK<BlockQ2_K, QuantizeBlockQ2K>(x, out, n);
    case DType::kQ3_K: return QuantizeK<BlockQ3_K, QuantizeBlockQ3K>(x, out, n);
    case DType::kQ4_K: return QuantizeK<BlockQ4_K, QuantizeBlockQ4K>(x, out, n);
    case DType::kQ5_K: return QuantizeK<BlockQ5_K, QuantizeBlockQ5K>(x, out, n);
    case DType::kQ6_K: return QuantizeK<BlockQ6_K, QuantizeBlockQ6K>(x, out, n);
    case DType::kIQ4_NL: return QuantizeIQ4_NL(x, out, n);
    case DType::kIQ4_XS: return QuantizeIQ4_XS(x, out, n);
    default: CHECK(false) << DTypeName(t) << " has no quantizer";
  }
}

}  // namespace kvpress
