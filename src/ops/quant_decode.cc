// Scalar decoding of quantized weight blocks into (integers, scales, offsets) and the scalar
// reference integer dot product; the SIMD unpackers in quant_matmul.cc must agree with these.
#include <cmath>
#include <cstring>

#include "ops/quant_blocks.h"
#include "ops/quant_matmul.h"

namespace kvpress {
namespace {

float H(uint16_t bits) { return F16ToF32(bits); }

template <typename Block>
const Block& At(const void* row, size_t index) {
  return static_cast<const Block*>(row)[index];
}

void SetScales(DecodedBlock& o, int s0, int s1, float dw, float c0, float c1, bool is_signed) {
  o.s[0] = static_cast<int16_t>(s0);
  o.s[1] = static_cast<int16_t>(s1);
  o.dw = dw;
  o.c[0] = c0;
  o.c[1] = c1;
  o.is_signed = is_signed;
}

void Nibbles(const uint8_t* qs16, uint8_t* u) {
  for (int j = 0; j < 16; ++j) {
    u[j] = qs16[j] & 0xF;
    u[j + 16] = qs16[j] >> 4;
  }
}

void Q5Bits(const uint8_t* qh4, const uint8_t* qs, uint8_t* u) {
  uint32_t qh;
  std::memcpy(&qh, qh4, 4);
  Nibbles(qs, u);
  for (int j = 0; j < 32; ++j) u[j] = static_cast<uint8_t>(u[j] | (((qh >> j) & 1u) << 4));
}

}  // namespace

void DecodeQuantBlock(DType t, const void* row, size_t b, DecodedBlock& o, bool values) {
  switch (t) {
    case DType::kQ8_0: {
      const BlockQ8_0& q = At<BlockQ8_0>(row, b);
      if (values) std::memcpy(o.u, q.q, 32);
      return SetScales(o, 1, 1, H(q.d), 0.0f, 0.0f, true);
    }
    case DType::kQ4_0: {
      const BlockQ4_0& q = At<BlockQ4_0>(row, b);
      if (values) Nibbles(q.qs, o.u);
      const float d = H(q.d);
      return SetScales(o, 1, 1, d, -8.0f * d, -8.0f * d, false);
    }
    case DType::kQ4_1: {
      const BlockQ4_1& q = At<BlockQ4_1>(row, b);
      if (values) Nibbles(q.qs, o.u);
      return SetScales(o, 1, 1, H(q.d), H(q.m), H(q.m), false);
    }
    case DType::kQ5_0: {
      const BlockQ5_0& q = At<BlockQ5_0>(row, b);
      if (values) Q5Bits(q.qh, q.qs, o.u);
      const float d = H(q.d);
      return SetScales(o, 1, 1, d, -16.0f * d, -16.0f * d, false);
    }
    case DType::kQ5_1: {
      const BlockQ5_1& q = At<BlockQ5_1>(row, b);
      if (values) Q5Bits(q.qh, q.qs, o.u);
      return SetScales(o, 1, 1, H(q.d), H(q.m), H(q.m), false);
    }
    case DType::kIQ4_NL: {
      const BlockIQ4_NL& q = At<BlockIQ4_NL>(row, b);
      if (values) {
        Nibbles(q.qs, o.u);
        for (uint8_t& v : o.u) v = static_cast<uint8_t>(kIq4nlValues[v]);
      }
      return SetScales(o, 1, 1, H(q.d), 0.0f, 0.0f, true);
    }
    default: break;
  }
  // 256-element super-blocks: sub-block sb (0..7) of super-block b / 8.
  const size_t sup = b / 8;
  const int sb = static_cast<int>(b % 8);
  switch (t) {
    case DType::kQ2_K: {
      const BlockQ2_K& q = At<BlockQ2_K>(row, sup);
      for (int l = 0; values && l < 32; ++l) o.u[l] = (q.qs[32 * (sb / 4) + l] >> (2 * (sb % 4))) & 3;
      const float d = H(q.d), dmin = H(q.dmin);
      const uint8_t a = q.scales[2 * sb], c = q.scales[2 * sb + 1];
      return SetScales(o, a & 0xF, c & 0xF, d, -dmin * static_cast<float>(a >> 4),
                       -dmin * static_cast<float>(c >> 4), false);
    }
    case DType::kQ3_K: {
      const BlockQ3_K& q = At<BlockQ3_K>(row, sup);
      for (int l = 0; values && l < 32; ++l) {
        const int low = (q.qs[32 * (sb / 4) + l] >> (2 * (sb % 4))) & 3;
        o.u[l] = static_cast<uint8_t>(low + 4 * ((q.hmask[l] >> sb) & 1));  // value u - 4
      }
      const float d = H(q.d);
      const int s0 = UnpackScaleQ3K(q.scales, 2 * sb), s1 = UnpackScaleQ3K(q.scales, 2 * sb + 1);
      return SetScales(o, s0, s1, d, -4.0f * d * static_cast<float>(s0),
                       -4.0f * d * static_cast<float>(s1), false);
    }
    case DType::kQ4_K:
    case DType::kQ5_K: {
      const bool five = t == DType::kQ5_K;
      const uint8_t* scales = five ? At<BlockQ5_K>(row, sup).scales : At<BlockQ4_K>(row, sup).scales;
      const uint8_t* qs = five ? At<BlockQ5_K>(row, sup).qs : At<BlockQ4_K>(row, sup).qs;
      const uint16_t d16 = five ? At<BlockQ5_K>(row, sup).d : At<BlockQ4_K>(row, sup).d;
      const uint16_t m16 = five ? At<BlockQ5_K>(row, sup).dmin : At<BlockQ4_K>(row, sup).dmin;
      for (int l = 0; values && l < 32; ++l) o.u[l] = (qs[32 * (sb / 2) + l] >> (4 * (sb % 2))) & 0xF;
      if (five && values) {
        const uint8_t* qh = At<BlockQ5_K>(row, sup).qh;
        for (int l = 0; l < 32; ++l) o.u[l] = static_cast<uint8_t>(o.u[l] | (((qh[l] >> sb) & 1) << 4));
      }
      uint8_t sc, m;
      UnpackScaleMinK4(scales, sb, sc, m);
      const float c = -H(m16) * static_cast<float>(m);
      return SetScales(o, sc, sc, H(d16), c, c, false);
    }
    case DType::kQ6_K: {
      const BlockQ6_K& q = At<BlockQ6_K>(row, sup);
      const int h = sb / 4, j = sb % 4;
      for (int l = 0; values && l < 32; ++l) {
        const int low = (q.ql[64 * h + 32 * (j % 2) + l] >> (4 * (j / 2))) & 0xF;
        const int high = (q.qh[32 * h + l] >> (2 * j)) & 3;
        o.u[l] = static_cast<uint8_t>(low | (high << 4));  // value u - 32
      }
      const float d = H(q.d);
      const int s0 = q.scales[2 * sb], s1 = q.scales[2 * sb + 1];
      return SetScales(o, s0, s1, d, -32.0f * d * static_cast<float>(s0),
                       -32.0f * d * static_cast<float>(s1), false);
    }
    case DType::kIQ4_XS: {
      const BlockIQ4_XS& q = At<BlockIQ4_XS>(row, sup);
      if (values) {
        Nibbles(q.qs + 16 * sb, o.u);
        for (uint8_t& v : o.u) v = static_cast<uint8_t>(kIq4nlValues[v]);
      }
      const int ls = ((q.scales_l[sb / 2] >> (4 * (sb % 2))) & 0xF) | (((q.scales_h >> (2 * sb)) & 3) << 4);
      return SetScales(o, ls - 32, ls - 32, H(q.d), 0.0f, 0.0f, true);
    }
    default: break;
  }
  std::memset(o.u, 0, 32);
  SetScales(o, 0, 0, 0.0f, 0.0f, 0.0f, false);
}

void QuantizeActivations(const float* x, size_t cols, BlockQ8A* out) {
  for (size_t b = 0; b < cols / 32; ++b) {
    const float* xb = x + b * 32;
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(xb[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int sum[2] = {0, 0};
    for (int j = 0; j < 32; ++j) {
      const int q = static_cast<int>(std::nearbyint(xb[j] * id));
      out[b].q[j] = static_cast<int8_t>(q);
      sum[j / 16] += q;
    }
    out[b].d = d;
    out[b].sum[0] = static_cast<int16_t>(sum[0]);
    out[b].sum[1] = static_cast<int16_t>(sum[1]);
  }
}

float QuantDotReference(DType t, const void* row, const BlockQ8A* x, size_t cols) {
  float acc = 0.0f;
  DecodedBlock w;
  for (size_t b = 0; b < cols / 32; ++b) {
    DecodeQuantBlock(t, row, b, w);
    int32_t p[2] = {0, 0};
    for (int j = 0; j < 32; ++j) {
      const int v = w.is_signed ? static_cast<int8_t>(w.u[j]) : w.u[j];
      p[j / 16] += v * x[b].q[j];
    }
    const int32_t scaled = w.s[0] * p[0] + w.s[1] * p[1];
    acc += w.dw * x[b].d * static_cast<float>(scaled) +
           x[b].d * (w.c[0] * static_cast<float>(x[b].sum[0]) + w.c[1] * static_cast<float>(x[b].sum[1]));
  }
  return acc;
}

}  // namespace kvpress
