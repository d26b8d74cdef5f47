// Scalar dtype conversions against exhaustive / known values.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "ops/dtype.h"

namespace kvpress {
namespace {

TEST(DType, F16RoundTripsEveryFiniteValue) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint16_t bits = static_cast<uint16_t>(h);
    const float f = F16ToF32(bits);
    if (std::isnan(f)) continue;
    EXPECT_EQ(F32ToF16(f), bits) << std::hex << h;
  }
}

TEST(DType, F16KnownValues) {
  EXPECT_EQ(F16ToF32(0x3c00), 1.0f);
  EXPECT_EQ(F16ToF32(0xc000), -2.0f);
  EXPECT_EQ(F16ToF32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(F16ToF32(0x7bff), 65504.0f);
  EXPECT_TRUE(std::isinf(F16ToF32(0x7c00)));
  EXPECT_EQ(F32ToF16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie -> even
  EXPECT_EQ(F32ToF16(1e6f), 0x7c00);                          // overflow -> inf
}

TEST(DType, BF16RoundsToNearestEven) {
  EXPECT_EQ(BF16ToF32(0x3f80), 1.0f);
  EXPECT_EQ(F32ToBF16(1.0f), 0x3f80);
  uint32_t u = 0x3f808000;  // exactly halfway between 0x3f80 and 0x3f81 -> even (0x3f80)
  float f;
  std::memcpy(&f, &u, 4);
  EXPECT_EQ(F32ToBF16(f), 0x3f80);
  u = 0x3f818000;  // halfway between 0x3f81 and 0x3f82 -> 0x3f82
  std::memcpy(&f, &u, 4);
  EXPECT_EQ(F32ToBF16(f), 0x3f82);
}

TEST(DType, Q8RoundTripWithinHalfStep) {
  std::vector<float> x(64);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i)) * 3.0f;
  std::vector<BlockQ8_0> q(2);
  QuantizeRowQ8_0(x.data(), q.data(), x.size());
  std::vector<float> back(64);
  DequantizeRow(DType::kQ8_0, q.data(), back.data(), 64);
  for (size_t i = 0; i < x.size(); ++i) {
    const float d = F16ToF32(q[i / 32].d);
    // Half a step, plus the f16 rounding of the scale applied to |q| <= 127.
    EXPECT_LE(std::fabs(back[i] - x[i]), 0.5f * d + 127.0f * d * std::ldexp(1.0f, -11)) << i;
  }
}

}  // namespace
}  // namespace kvpress
