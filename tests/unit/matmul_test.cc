// The SIMD MatMul against the scalar reference, for every dtype, odd sizes and token counts.
#include "ops/matmul.h"

#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <random>

#include "ops/bf16_dot.h"
#include "ops/prefill_gemm.h"
#include "ops/quantize.h"
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
    if (t == DType::kQ8_0)
      QuantizeRowQ8_0(src, reinterpret_cast<BlockQ8_0*>(row), static_cast<size_t>(cols));
    else if (HasQuantizer(t))
      QuantizeRow(t, src, row, static_cast<size_t>(cols));
  }
  return out;
}

class MatMulVsReference : public ::testing::TestWithParam<Case> {};

TEST_P(MatMulVsReference, AgreesWithin1e5) {
  const Case c = GetParam();
  std::mt19937 rng(1234);
  std::vector<uint8_t> w = RandomMatrix(c.dtype, c.rows, c.cols, rng);
  MatrixView view{c.dtype, c.rows, c.cols, w.data(),
                  RowBytes(c.dtype, static_cast<size_t>(c.cols))};
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(c.n) * c.cols);
  for (float& v : x) v = dist(rng);
  std::vector<float> fast(static_cast<size_t>(c.n) * c.rows), ref(fast.size());
  for (int threads : {1, 2}) {
    MatMulReference(view, x.data(), c.n, ref.data());
    if (IsQuantized(c.dtype)) {
      // Int8 activations (the default): within their rounding, ~1/254 of each block's largest
      // value.
      MatMul(view, x.data(), c.n, fast.data(), threads);
      EXPECT_LT(testing::RelativeError(fast, ref), 2e-2)
          << DTypeName(c.dtype) << " int8 activations";
      SetQuantizedActivations(false);
    } else if (c.dtype == DType::kBF16 && Bf16DotSupported()) {
      // bf16 activations (the default on AVX512-BF16 CPUs; bf16_dot.h, and bf16_gemm.h from 12
      // tokens): the exact product of the bf16 weights
      // with the activations rounded to bf16, up to f32 sums.
      std::vector<float> xr(x.size()), ref_rounded(fast.size());
      for (size_t i = 0; i < x.size(); ++i) xr[i] = BF16ToF32(F32ToBF16(x[i]));
      MatMulReference(view, xr.data(), c.n, ref_rounded.data());
      MatMul(view, x.data(), c.n, fast.data(), threads);
      EXPECT_LT(testing::RelativeError(fast, ref_rounded), 1e-5) << "bf16 activations n=" << c.n;
      EXPECT_LT(testing::RelativeError(fast, ref), 1e-2)
          << "bf16 activations against f32 n=" << c.n;
      // ... and MatMul's attention mode never rounds them.
      MatMul(view, x.data(), c.n, fast.data(), threads, /*exact_float=*/true);
      EXPECT_LT(testing::RelativeError(fast, ref), 1e-5) << "exact_float n=" << c.n;
      SetQuantizedActivations(false);
    }
    MatMul(view, x.data(), c.n, fast.data(), threads);
    SetQuantizedActivations(true);
    EXPECT_LT(testing::RelativeError(fast, ref), 1e-5)
        << DTypeName(c.dtype) << " " << c.rows << "x" << c.cols << " n=" << c.n
        << " threads=" << threads;
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
                      Case{DType::kF32, 35, 48, 197}, Case{DType::kQ8_0, 97, 96, 199},
                      // the packed prefill kernel: whole 24-token tiles, one token past, 8-row
                      // micro-tiles with 1..7 rows left, a single column
                      Case{DType::kF32, 24, 40, 48}, Case{DType::kBF16, 9, 33, 49},
                      Case{DType::kBF16, 21, 129, 50}, Case{DType::kF16, 15, 1, 32},
                      Case{DType::kQ8_0, 31, 64, 72},
                      // the bf16 GEMM's batched-decoding tiles (AVX512-BF16 CPUs): one 16-token
                      // vector with two column phases (odd pair count, ragged last pair, 13 rows
                      // past the 32-row task) and two vectors
                      Case{DType::kBF16, 45, 131, 16}, Case{DType::kBF16, 37, 66, 27},
                      // super-block types (scales decoded once per 256 weights) and Q4_0: 4-row
                      // tiles with 1..3 rows left, token tiles of 4 with 1..3 tokens left
                      Case{DType::kQ4_K, 7, 512, 1}, Case{DType::kQ4_K, 11, 256, 3},
                      Case{DType::kQ5_K, 6, 512, 2}, Case{DType::kQ6_K, 9, 768, 1},
                      Case{DType::kQ6_K, 5, 256, 7}, Case{DType::kQ4_0, 13, 96, 2},
                      Case{DType::kQ2_K, 5, 256, 1}, Case{DType::kQ3_K, 3, 256, 2},
                      // batched decoding's int8 GEMM (one 16-token tile): chunks of 12 rows, 6-row
                      // micro-tiles with rows left over
                      Case{DType::kQ8_0, 31, 64, 16}, Case{DType::kQ4_K, 27, 256, 13},
                      // batched decoding's long tasks (up to 256 rows, an 8-row last task)
                      Case{DType::kBF16, 520, 64, 16}, Case{DType::kQ8_0, 520, 64, 16},
                      // batched decoding's direct Q4_K tiles: three super-blocks, 2 rows left
                      Case{DType::kQ4_K, 38, 768, 16}, Case{DType::kQ6_K, 21, 512, 16},
                      // one token, one row at a time: an odd number of blocks (the two
                      // accumulators' tail), float offsets (Q4_1, Q5_K), a 4 + 1 token split
                      Case{DType::kQ8_0, 13, 96, 1}, Case{DType::kQ4_0, 9, 160, 1},
                      Case{DType::kQ4_1, 6, 96, 5}, Case{DType::kQ5_K, 11, 512, 1},
                      Case{DType::kQ6_K, 4, 512, 5}),
    [](const auto& info) {
      return std::string(DTypeName(info.param.dtype)) + "_" + std::to_string(info.param.rows) +
             "x" + std::to_string(info.param.cols) + "_n" + std::to_string(info.param.n);
    });

// Every SIMD target this CPU runs (AVX-512, AVX2, SSE4 ... on x86) has its own tile sizes: each
// one against the reference on ragged prefill and decode shapes.
TEST(MatMulTargets, EveryCompiledTargetAgreesWithReference) {
  std::mt19937 rng(99);
  const Case cases[] = {{DType::kBF16, 45, 130, 61}, {DType::kF16, 33, 64, 1},
                        {DType::kQ8_0, 37, 96, 50},  {DType::kF32, 17, 21, 5},
                        {DType::kQ4_K, 9, 256, 3},   {DType::kQ6_K, 6, 512, 1},
                        {DType::kQ4_0, 5, 64, 2},    {DType::kQ8_0, 13, 96, 1},
                        {DType::kBF16, 9, 70, 1},    {DType::kF16, 6, 200, 1}};
  for (const int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    for (const Case& c : cases) {
      std::vector<uint8_t> w = RandomMatrix(c.dtype, c.rows, c.cols, rng);
      MatrixView view{c.dtype, c.rows, c.cols, w.data(),
                      RowBytes(c.dtype, static_cast<size_t>(c.cols))};
      std::normal_distribution<float> dist(0.0f, 1.0f);
      std::vector<float> x(static_cast<size_t>(c.n) * c.cols);
      for (float& v : x) v = dist(rng);
      std::vector<float> fast(static_cast<size_t>(c.n) * c.rows), ref(fast.size());
      MatMulReference(view, x.data(), c.n, ref.data());
      if (IsQuantized(c.dtype)) {  // int8 activations: within their rounding (see AgreesWithin1e5)
        MatMul(view, x.data(), c.n, fast.data(), 2);
        EXPECT_LT(testing::RelativeError(fast, ref), 2e-2)
            << hwy::TargetName(target) << " " << DTypeName(c.dtype)
            << " int8 activations n=" << c.n;
      }
      SetQuantizedActivations(false);
      MatMul(view, x.data(), c.n, fast.data(), 2);
      SetQuantizedActivations(true);
      EXPECT_LT(testing::RelativeError(fast, ref), 1e-5)
          << hwy::TargetName(target) << " " << DTypeName(c.dtype) << " n=" << c.n;
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}

// Batched decoding's 16-token int8 tiles read Q8_0, Q4_0, Q4_K and Q6_K rows straight from their
// blocks (Q8DirectMicroTile, Q40DirectMicroTile, Q4KDirectMicroTile, Q6KDirectMicroTile); 17 tokens
// take 32-token tiles over unpacked rows (UnpackRows + Int8MicroTile). Both form the same integer
// sums and the same float operations per token, so the first 16 tokens' outputs agree bit for bit.
TEST(MatMulInt8, DirectTilesEqualUnpackedTiles) {
  std::mt19937 rng(11);
  for (const DType t : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ6_K}) {
    if (!Int8GemmSupported(t)) GTEST_SKIP() << "no int8 GEMM on this CPU";
    const int rows = 45, cols = 768;
    std::vector<uint8_t> w = RandomMatrix(t, rows, cols, rng);
    const MatrixView view{t, rows, cols, w.data(), RowBytes(t, static_cast<size_t>(cols))};
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(17) * cols);  // [17, cols]
    for (float& v : x) v = dist(rng);
    std::vector<float> direct(static_cast<size_t>(16) * rows),
        unpacked(static_cast<size_t>(17) * rows);
    for (const int threads : {1, 2}) {
      MatMul(view, x.data(), 16, direct.data(), threads);
      MatMul(view, x.data(), 17, unpacked.data(), threads);
      EXPECT_EQ(direct, std::vector<float>(unpacked.begin(), unpacked.begin() + 16 * rows))
          << DTypeName(t) << " threads=" << threads;
    }
  }
}

// MatMulMany (Q, K, V of one input in one parallel region) writes what one MatMul per matrix
// writes, bit for bit: same kernels, same row blocks, the activations prepared once. Decoding (1),
// batched decoding (16: the int8 tile), prefill (61), one and two threads, and a dtype mix that
// falls back to one region per matrix.
TEST(MatMulMany, EqualsOneMatMulPerMatrix) {
  std::mt19937 rng(7);
  const DType dtypes[][3] = {{DType::kQ8_0, DType::kQ8_0, DType::kQ8_0},
                             {DType::kBF16, DType::kBF16, DType::kBF16},
                             {DType::kF32, DType::kF32, DType::kF32},
                             {DType::kQ4_K, DType::kQ4_K, DType::kQ6_K}};
  const int rows[3] = {96, 40, 33};  // row blocks of 32: whole, partial, and a 1-row tail
  const int cols = 256;
  for (const auto& types : dtypes) {
    std::vector<std::vector<uint8_t>> weights;
    std::vector<MatrixView> views;
    for (int i = 0; i < 3; ++i) {
      weights.push_back(RandomMatrix(types[i], rows[i], cols, rng));
      views.push_back(MatrixView{types[i], rows[i], cols, weights.back().data(),
                                 RowBytes(types[i], static_cast<size_t>(cols))});
    }
    for (const int n : {1, 16, 61}) {
      std::normal_distribution<float> dist(0.0f, 1.0f);
      std::vector<float> x(static_cast<size_t>(n) * cols);
      for (float& v : x) v = dist(rng);
      for (const int threads : {1, 2}) {
        std::vector<std::vector<float>> one(3), many(3);
        std::vector<MatMulTarget> targets;
        for (int i = 0; i < 3; ++i) {
          one[i].assign(static_cast<size_t>(n) * rows[i], 0.0f);
          many[i].assign(one[i].size(), -1.0f);
          MatMul(views[i], x.data(), n, one[i].data(), threads);
          targets.push_back(MatMulTarget{&views[i], many[i].data()});
        }
        MatMulMany(targets, x.data(), n, threads);
        for (int i = 0; i < 3; ++i) {
          EXPECT_EQ(many[i], one[i])
              << DTypeName(types[i]) << " matrix " << i << " n=" << n << " threads=" << threads;
        }
      }
    }
  }
}

TEST(SimdTarget, HasAName) { EXPECT_STRNE(SimdTargetName(), ""); }

}  // namespace
}  // namespace kvpress
