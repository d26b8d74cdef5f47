// The SIMD MatMul against the scalar reference, for every dtype, odd sizes and token counts.
#include <gtest/gtest.h>

#include <random>

#include "ops/matmul.h"
#include "test_util.h"

namespace kvpress {
namespace {

struct Case {
  DType dtype;
  int rows, cols, n;
};

std::vector<uint8_t> RandomMatrix(DType t, int rows, int cols, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> f(static_cast<size_t>(rows) * cols);
  for (float& v : f) v = dist(rng);
  std::vector<uint8_t> out(RowBytes(t, static_cast<size_t>(cols)) * static_cast<size_t>(rows));
  for (int r = 0; r < rows; ++r) {
    uint8_t* row = out.data() + RowBytes(t, static_cast<size_t>(cols)) * static_cast<size_t>(r);
    const float* src = f.data() + static_cast<size_t>(r) * cols;
    for (int c = 0; c < cols; ++c) {
      if (t == DType::kF32) reinterpret_cast<float*>(row)[c] = src[c];
      if (t == DType::kF16) reinterpret_cast<uint16_t*>(row)[c] = F32ToF16(src[c]);
      if (t == DType::kBF16) reinterpret_cast<uint16_t*>(row)[c] = F32ToBF16(src[c]);
    }
    if (t == DType::kQ8_0) QuantizeRowQ8_0(src, reinterpret_cast<BlockQ8_0*>(row), static_cast<size_t>(cols));
  }
  return out;
}

class MatMulVsReference : public ::testing::TestWithParam<Case> {};

TEST_P(MatMulVsReference, AgreesWithin1e5) {
  const Case c = GetParam();
  std::mt19937 rng(1234);
  std::vector<uint8_t> w = RandomMatrix(c.dtype, c.rows, c.cols, rng);
  MatrixView view{c.dtype, c.rows, c.cols, w.data(), RowBytes(c.dtype, static_cast<size_t>(c.cols))};
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(c.n) * c.cols);
  for (float& v : x) v = dist(rng);
  std::vector<float> fast(static_cast<size_t>(c.n) * c.rows), ref(fast.size());
  for (int threads : {1, 2}) {
    MatMulReference(view, x.data(), c.n, ref.data());
    if (IsQuantized(c.dtype)) {
      // Int8 activations (the default): within their rounding, ~1/254 of each block's largest value.
      MatMul(view, x.data(), c.n, fast.data(), threads);
      EXPECT_LT(testing::RelativeError(fast, ref), 2e-2) << DTypeName(c.dtype) << " int8 activations";
      SetQuantizedActivations(false);
    }
    MatMul(view, x.data(), c.n, fast.data(), threads);
    SetQuantizedActivations(true);
    EXPECT_LT(testing::RelativeError(fast, ref), 1e-5)
        << DTypeName(c.dtype) << " " << c.rows << "x" << c.cols << " n=" << c.n << " threads=" << threads;
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllDtypes, MatMulVsReference,
    ::testing::Values(Case{DType::kF32, 37, 172, 1}, Case{DType::kF32, 64, 64, 7},
                      Case{DType::kF16, 33, 100, 5}, Case{DType::kF16, 512, 256, 1},
                      Case{DType::kBF16, 19, 129, 3}, Case{DType::kBF16, 300, 512, 9},
                      Case{DType::kQ8_0, 40, 64, 1}, Case{DType::kQ8_0, 129, 256, 6},
                      // 8-token tiles, then 4 / remainder tiles
                      Case{DType::kF32, 70, 96, 8}, Case{DType::kF16, 45, 130, 13},
                      Case{DType::kBF16, 64, 256, 12}, Case{DType::kQ8_0, 33, 128, 17},
                      // several 96-token × 32-row blocks, ragged in both: every tile shape
                      Case{DType::kF16, 71, 160, 203}, Case{DType::kBF16, 66, 64, 101},
                      Case{DType::kF32, 35, 48, 197}, Case{DType::kQ8_0, 97, 96, 199}),
    [](const auto& info) {
      return std::string(DTypeName(info.param.dtype)) + "_" + std::to_string(info.param.rows) + "x" +
             std::to_string(info.param.cols) + "_n" + std::to_string(info.param.n);
    });

TEST(SimdTarget, HasAName) { EXPECT_STRNE(SimdTargetName(), ""); }

}  // namespace
}  // namespace kvpress
