// QuantizeRow against llama.cpp: tests/fixtures/quant_goldens/<type>.bin holds what
// ggml_quantize_chunk (no importance matrix, i.e. ggml's reference quantizers) wrote for the rows of
// input_f32.bin (scripts/goldens/make_quant_goldens.py); ours must be the same bytes. Then a
// round-trip property on generated data: quantize → DequantizeRow stays within the type's step.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include "ops/quant_blocks.h"
#include "ops/quantize.h"
#include "test_util.h"

namespace kvpress {
namespace {

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

std::vector<uint8_t> Quantize(DType t, const std::vector<float>& x) {
  std::vector<uint8_t> out(RowBytes(t, x.size()));
  QuantizeRow(t, x.data(), out.data(), x.size());
  return out;
}

std::vector<float> Dequantize(DType t, const std::vector<uint8_t>& q, size_t n) {
  std::vector<float> out(n);
  DequantizeRow(t, q.data(), out.data(), n);
  return out;
}

std::vector<DType> QuantizedTypes() {
  std::vector<DType> out;
  for (int i = 0; i < kNumDTypes; ++i) {
    if (HasQuantizer(static_cast<DType>(i))) out.push_back(static_cast<DType>(i));
  }
  return out;
}

std::string Name(const ::testing::TestParamInfo<DType>& i) { return DTypeName(i.param); }

class QuantizeGolden : public ::testing::TestWithParam<DType> {};

TEST_P(QuantizeGolden, BytesEqualLlamaCpp) {
  const DType t = GetParam();
  const std::vector<uint8_t> in = ReadBytes(testing::Fixture("quant_goldens/input_f32.bin"));
  const std::vector<uint8_t> want =
      ReadBytes(testing::Fixture(std::string("quant_goldens/") + DTypeName(t) + ".bin"));
  constexpr size_t kRows = 8, kCols = 1536;
  ASSERT_EQ(in.size(), kRows * kCols * 4);
  ASSERT_EQ(want.size(), kRows * RowBytes(t, kCols));
  const size_t row_bytes = RowBytes(t, kCols), block_bytes = static_cast<size_t>(BlockBytes(t));
  for (size_t r = 0; r < kRows; ++r) {
    std::vector<float> x(kCols);
    std::memcpy(x.data(), in.data() + r * kCols * 4, kCols * 4);
    const std::vector<uint8_t> got = Quantize(t, x);
    int bad_blocks = 0;
    for (size_t b = 0; b < row_bytes / block_bytes; ++b) {
      const uint8_t* g = got.data() + b * block_bytes;
      const uint8_t* w = want.data() + r * row_bytes + b * block_bytes;
      if (std::memcmp(g, w, block_bytes) == 0) continue;
      size_t i = 0;
      while (g[i] == w[i]) ++i;
      if (++bad_blocks <= 3) {
        ADD_FAILURE() << "row " << r << " block " << b << " byte " << i << ": " << int{g[i]} << " != " << int{w[i]};
      }
    }
    EXPECT_EQ(bad_blocks, 0) << "row " << r;
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, QuantizeGolden, ::testing::ValuesIn(QuantizedTypes()), Name);

// The largest error quantize → dequantize may make on an element: `relative` times the largest
// magnitude in the block that shares its scales (32 values, or 256 for the K types and IQ4_XS),
// plus the f16 rounding of the block scale when it is subnormal (2^-24 times `scale_factor`, the
// largest integer the dequantizer multiplies the f16 scale by). `relative` is half a quantization
// step for the round-to-nearest 32-wide types; a full step where the grid's far end is clamped
// (Q4_0/Q5_0/Q3_K put -max at one end of the grid, +max one step past the other); about 1.5 half
// steps for the K types, whose sub-block scales and mins are themselves rounded to 6 (Q2_K: 4) bits.
struct Bound {
  double relative, scale_factor;
};
Bound ErrorBound(DType t) {
  switch (t) {
    case DType::kQ8_0: return {0.5 / 127 + 2e-3, 127};
    case DType::kQ4_0: return {1.0 / 8 + 2e-3, 8};
    case DType::kQ5_0: return {1.0 / 16 + 2e-3, 16};
    case DType::kQ4_1: return {1.0 / 15 + 2e-3, 15};  // half a step of range / 15, range <= 2 max
    case DType::kQ5_1: return {1.0 / 31 + 2e-3, 31};
    case DType::kQ2_K: return {0.40, 2 * 15 * 3};  // step 2 max / 3
    case DType::kQ3_K: return {0.25, 32 * 4};      // step max / 4
    case DType::kQ4_K: return {0.10, 2 * 63 * 15};
    case DType::kQ5_K: return {0.05, 2 * 63 * 31};
    case DType::kQ6_K: return {0.025, 128 * 32};
    case DType::kIQ4_NL: return {0.12, 127};  // grid gaps up to 24 / 127, +max 14 / 127 past the end
    case DType::kIQ4_XS: return {0.12, 32 * 127};
    default: return {0, 0};
  }
}

// Blocks of 256 values: gaussian, all zero, constant, one outlier, tiny, huge, all negative.
std::vector<float> PropertyData() {
  std::mt19937 rng(11);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  std::vector<float> x;
  auto block = [&](auto value) {
    for (int i = 0; i < kQKBlock; ++i) x.push_back(value(i));
  };
  for (int k = 0; k < 4; ++k) block([&](int) { return gauss(rng) * 0.02f; });
  block([](int) { return 0.0f; });
  block([](int) { return 0.37f; });
  block([](int) { return -1.25f; });
  block([&](int i) { return i == 77 ? 9.0f : gauss(rng) * 0.01f; });
  block([&](int) { return gauss(rng) * 1e-6f; });
  block([&](int) { return gauss(rng) * 2e3f; });
  block([&](int) { return -std::fabs(gauss(rng)); });
  block([&](int i) { return i < 128 ? 0.0f : gauss(rng); });  // zero half: zero sub-blocks
  block([&](int i) { return i % 32 == 0 ? 1.0f : 0.0f; });
  return x;
}

class QuantizeRoundTrip : public ::testing::TestWithParam<DType> {};

TEST_P(QuantizeRoundTrip, ErrorWithinTheTypesStep) {
  const DType t = GetParam();
  const std::vector<float> x = PropertyData();
  const std::vector<float> y = Dequantize(t, Quantize(t, x), x.size());
  const size_t group = static_cast<size_t>(BlockElems(t));
  for (size_t g = 0; g < x.size(); g += group) {
    double amax = 0;
    for (size_t i = g; i < g + group; ++i) amax = std::max(amax, std::fabs(static_cast<double>(x[i])));
    const double bound = ErrorBound(t).relative * amax + std::ldexp(ErrorBound(t).scale_factor, -24);
    for (size_t i = g; i < g + group; ++i) {
      const double err = std::fabs(static_cast<double>(y[i]) - x[i]);
      ASSERT_TRUE(std::isfinite(y[i])) << DTypeName(t) << " element " << i;
      EXPECT_LE(err, bound) << DTypeName(t) << " element " << i << " x " << x[i] << " got " << y[i];
    }
    if (amax == 0) {  // an all-zero block decodes to zeros
      for (size_t i = g; i < g + group; ++i) EXPECT_EQ(y[i], 0.0f) << DTypeName(t) << " element " << i;
    }
  }
}

TEST_P(QuantizeRoundTrip, DeterministicAndAFixedPointOnTheUniform32WideGrids) {
  // Decoded Q4_0..Q8_0 values sit on their block's uniform grid, so quantizing them again gives
  // them back (the fitted K and IQ4 types may move to a better-fitting grid instead).
  const DType t = GetParam();
  const std::vector<float> x = PropertyData();
  const std::vector<uint8_t> q = Quantize(t, x);
  EXPECT_EQ(Quantize(t, x), q) << "deterministic";
  if (BlockElems(t) != kQBlock || t == DType::kIQ4_NL) return;
  const std::vector<float> y = Dequantize(t, q, x.size());
  EXPECT_EQ(Dequantize(t, Quantize(t, y), y.size()), y) << DTypeName(t);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, QuantizeRoundTrip, ::testing::ValuesIn(QuantizedTypes()), Name);

TEST(Quantize, EveryQuantizedTypeHasAQuantizerAndNoFloatTypeDoes) {
  for (int i = 0; i < kNumDTypes; ++i) {
    const DType t = static_cast<DType>(i);
    EXPECT_EQ(HasQuantizer(t), IsQuantized(t)) << DTypeName(t);
  }
}

}  // namespace
}  // namespace kvpress
