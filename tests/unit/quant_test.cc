// Quantized weight types against the goldens of scripts/goldens/make_quant_goldens.py: blocks
// quantized by llama.cpp (ggml_quantize_chunk), dequantized by gguf.quants.dequantize. Our scalar
// dequantization must match bit for bit; the integer SIMD kernel must match its scalar reference,
// and both must stay within the int8-activation error of the f32-activation product.
#include <gtest/gtest.h>
#include <cstring>

#include <algorithm>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

#include "core/file_util.h"
#include "hub/sha256.h"
#include "ops/matmul.h"
#include "ops/prefill_gemm.h"
#include "ops/quant_matmul.h"
#include "test_util.h"

namespace kvpress {
namespace {

using nlohmann::json;

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

std::vector<float> ReadFloats(const std::string& path) {
  const std::vector<uint8_t> b = ReadBytes(path);
  std::vector<float> out(b.size() / 4);
  std::memcpy(out.data(), b.data(), out.size() * 4);
  return out;
}

std::string Sha256Of(const std::vector<float>& v) {
  const std::string path = testing::TempDir("quant") + "/values.bin";
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(v.data()),
                                              static_cast<std::streamsize>(v.size() * 4));
  auto h = hub::Sha256File(path);
  std::remove(path.c_str());
  return h.ok() ? *h : "";
}

json Manifest() {
  std::ifstream f(testing::Fixture("quant_goldens/manifest.json"));
  return json::parse(f);
}

DType TypeNamed(const std::string& name) {
  for (int i = 0; i < kNumDTypes; ++i) {
    if (name == DTypeName(static_cast<DType>(i))) return static_cast<DType>(i);
  }
  ADD_FAILURE() << "unknown type " << name;
  return DType::kF32;
}

class QuantGolden : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    manifest_ = Manifest();
    rows_ = manifest_["rows"].get<int>();
    cols_ = manifest_["cols"].get<int>();
    tokens_ = manifest_["tokens"].get<int>();
    entry_ = manifest_["types"][GetParam()];
    type_ = TypeNamed(GetParam());
    bytes_ = ReadBytes(testing::Fixture("quant_goldens/" + GetParam() + ".bin"));
    ASSERT_EQ(bytes_.size(), entry_["bytes"].get<size_t>());
    ASSERT_EQ(bytes_.size(), RowBytes(type_, static_cast<size_t>(cols_)) * static_cast<size_t>(rows_));
    x_ = ReadFloats(testing::Fixture("quant_goldens/activations_f32.bin"));
    ASSERT_EQ(x_.size(), static_cast<size_t>(tokens_ * cols_));
  }
  MatrixView View() const {
    return MatrixView{type_, rows_, cols_, bytes_.data(), RowBytes(type_, static_cast<size_t>(cols_))};
  }

  json manifest_, entry_;
  int rows_ = 0, cols_ = 0, tokens_ = 0;
  DType type_ = DType::kF32;
  std::vector<uint8_t> bytes_;
  std::vector<float> x_;
};

TEST_P(QuantGolden, DequantizeIsBitExactWithGgufPy) {
  EXPECT_EQ(static_cast<uint32_t>(entry_["ggml_type"].get<int>()), GgmlTypeId(type_));
  const MatrixView w = View();
  std::vector<float> out(static_cast<size_t>(rows_ * cols_));
  for (int r = 0; r < rows_; ++r) DequantizeRow(type_, w.Row(r), out.data() + r * cols_, static_cast<size_t>(cols_));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out[static_cast<size_t>(i)], entry_["first_values"][i].get<float>());
  EXPECT_EQ(Sha256Of(out), entry_["dequant_sha256"].get<std::string>());
  // LoadElement (the per-element scalar path) agrees with the row decoder.
  for (size_t i : {size_t{0}, size_t{31}, size_t{255}, size_t{1000}, static_cast<size_t>(cols_ - 1)}) {
    EXPECT_EQ(LoadElement(type_, w.Row(1), i), out[static_cast<size_t>(cols_) + i]);
  }
}

TEST_P(QuantGolden, DecodedBlocksReproduceTheDequantizedValues) {
  const MatrixView w = View();
  std::vector<float> ref(static_cast<size_t>(cols_));
  DequantizeRow(type_, w.Row(2), ref.data(), ref.size());
  DecodedBlock d;
  for (size_t b = 0; b < static_cast<size_t>(cols_) / 32; ++b) {
    DecodeQuantBlock(type_, w.Row(2), b, d);
    for (int j = 0; j < 32; ++j) {
      const float v = static_cast<float>(d.is_signed ? static_cast<int8_t>(d.u[j]) : d.u[j]);
      const float got = d.dw * static_cast<float>(d.s[j / 16]) * v + d.c[j / 16];
      EXPECT_NEAR(got, ref[b * 32 + j], 1e-6f * (1.0f + std::fabs(ref[b * 32 + j]))) << "block " << b << " j " << j;
    }
  }
}

TEST_P(QuantGolden, MatMulMatchesScalarReferenceAndF32Product) {
  const MatrixView w = View();
  std::vector<float> y(static_cast<size_t>(tokens_ * rows_));
  std::vector<BlockQ8A> xq(static_cast<size_t>(tokens_ * cols_ / 32));
  for (int t = 0; t < tokens_; ++t) QuantizeActivations(x_.data() + t * cols_, static_cast<size_t>(cols_), xq.data() + t * cols_ / 32);
  std::vector<float> wr(static_cast<size_t>(cols_));
  for (int threads : {1, 2}) {
    MatMul(w, x_.data(), tokens_, y.data(), threads);
    for (int t = 0; t < tokens_; ++t) {
      const BlockQ8A* xt = xq.data() + t * cols_ / 32;
      for (int r = 0; r < rows_; ++r) {
        DequantizeRow(type_, w.Row(r), wr.data(), wr.size());
        // The exact product with int8-rounded activations, and the worst case of that rounding.
        double exact = 0.0, magnitude = 0.0, rounding = 0.0;
        for (int i = 0; i < cols_; ++i) {
          const BlockQ8A& b = xt[i / 32];
          exact += static_cast<double>(wr[static_cast<size_t>(i)]) * b.d * b.q[i % 32];
          magnitude += std::fabs(static_cast<double>(wr[static_cast<size_t>(i)]) * b.d * b.q[i % 32]);
          rounding += std::fabs(wr[static_cast<size_t>(i)]) * 0.5 * b.d;
        }
        const float ref = QuantDotReference(type_, w.Row(r), xt, static_cast<size_t>(cols_));
        const float got = y[static_cast<size_t>(t * rows_ + r)];
        const float f32 = entry_["matmul_f32"][t * rows_ + r].get<float>();
        EXPECT_NEAR(ref, exact, 1e-5 * magnitude) << "t " << t << " r " << r;
        EXPECT_NEAR(got, exact, 1e-5 * magnitude) << "t " << t << " r " << r;
        EXPECT_NEAR(got, f32, rounding + 1e-5 * magnitude) << "t " << t << " r " << r;
      }
    }
  }
  // The f32-activation path reproduces numpy's product (dequantized weights, f32 activations).
  SetQuantizedActivations(false);
  MatMul(w, x_.data(), tokens_, y.data(), 2);
  SetQuantizedActivations(true);
  for (int i = 0; i < tokens_ * rows_; ++i) {
    const float f32 = entry_["matmul_f32"][i].get<float>();
    EXPECT_NEAR(y[static_cast<size_t>(i)], f32, 1e-4f * (1.0f + std::fabs(f32))) << i;
  }
}

// The SIMD activation quantizer is byte-for-byte the scalar one (ties, zeros and extremes included).
TEST(QuantActivations, FastEqualsScalar) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> x(32 * 64);
  for (float& v : x) v = normal(rng);
  for (int j = 0; j < 32; ++j) x[static_cast<size_t>(j)] = 0.0f;                       // an all-zero block
  for (int j = 0; j < 32; ++j) x[32 + static_cast<size_t>(j)] = static_cast<float>(j - 16) * 0.5f;  // halves
  x[64] = 1e30f;
  x[96] = -127.0f;
  std::vector<BlockQ8A> scalar(64), fast(64);
  QuantizeActivations(x.data(), x.size(), scalar.data());
  QuantizeActivationsFast(x.data(), x.size(), fast.data());
  for (size_t b = 0; b < scalar.size(); ++b) {
    EXPECT_EQ(scalar[b].d, fast[b].d) << b;
    EXPECT_EQ(scalar[b].ds[0], fast[b].ds[0]) << b;
    EXPECT_EQ(scalar[b].ds[1], fast[b].ds[1]) << b;
    EXPECT_EQ(0, std::memcmp(scalar[b].q, fast[b].q, 32)) << b;
  }
}

// The int8 GEMM's activation packing (SIMD, fused with the quantizer) writes exactly the scalar
// reference's words and scales, for full and partial tiles of both widths, packed in block ranges
// as MatMul's threads do.
TEST(QuantActivations, PackInt8EqualsReference) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  const size_t cols = 160, nb = cols / 32;
  for (const int n : {1, 13, 16, 40, 101}) {
    std::vector<float> x(static_cast<size_t>(n) * cols);
    for (float& v : x) v = normal(rng);
    std::fill_n(x.begin(), 32, 0.0f);  // an all-zero block
    PackedInt8Activations layout;
    layout.nb = nb;
    layout.tile_tokens = PackedInt8Activations::TileTokensFor(n);
    const int tiles = static_cast<int>(layout.Tiles(n));
    struct Buffers {
      std::vector<int32_t> q, start;
      std::vector<float> d, ds;
    };
    auto make = [&](Buffers& b) {
      b.q.assign(layout.QWords(n), -1);
      b.start.assign(layout.PartWords(n), -1);
      b.d.assign(layout.DFloats(n), -1.0f);
      b.ds.assign(layout.PartWords(n), -1.0f);
      PackedInt8Activations xa = layout;
      xa.q = b.q.data(), xa.start = b.start.data(), xa.d = b.d.data(), xa.ds = b.ds.data();
      return xa;
    };
    Buffers ref, fast;
    const PackedInt8Activations xr = make(ref), xa = make(fast);
    for (int tile = 0; tile < tiles; ++tile) {
      PackInt8ActivationsReference(x.data(), n, cols, tile, 0, nb, xr);
      for (size_t b0 = 0; b0 < nb; b0 += 2) PackInt8Activations(x.data(), n, cols, tile, b0, std::min(b0 + 2, nb), xa);
    }
    EXPECT_EQ(ref.q, fast.q) << n;
    EXPECT_EQ(ref.start, fast.start) << n;
    EXPECT_EQ(ref.d, fast.d) << n;
    EXPECT_EQ(ref.ds, fast.ds) << n;
    EXPECT_EQ(std::count(ref.q.begin(), ref.q.end(), -1), 0) << "every word written, n " << n;
  }
}

// The SIMD dequantizer of the prefill path: each value within one f32 rounding of the scalar one
// (a fused multiply-add where DequantizeRow rounds the product and the sum separately).
TEST_P(QuantGolden, FastDequantizeMatchesDequantizeRow) {
  const MatrixView w = View();
  std::vector<float> fast(static_cast<size_t>(rows_ * cols_)), ref(static_cast<size_t>(cols_));
  DequantizeRowsFast(w, 0, rows_, fast.data());
  for (int r = 0; r < rows_; ++r) {
    DequantizeRow(type_, w.Row(r), ref.data(), ref.size());
    DecodedBlock d;
    for (int i = 0; i < cols_; ++i) {
      DecodeQuantBlock(type_, w.Row(r), static_cast<size_t>(i / 32), d, /*values=*/false);
      // One rounding of the product dw·s·v and one of the sum with c: |error| ≤ 2^-23 of each.
      const float bound = 1.2e-7f * (std::fabs(ref[static_cast<size_t>(i)]) + 2.0f * std::fabs(d.c[(i % 32) / 16]));
      EXPECT_NEAR(fast[static_cast<size_t>(r * cols_ + i)], ref[static_cast<size_t>(i)], bound) << "r " << r << " i " << i;
    }
  }
}

// From 32 tokens on MatMul takes the packed prefill kernels: with int8 activations (the default)
// on a VNNI CPU the int8 one (prefill_gemm_int8.cc), whose result must be the exact product with
// int8-rounded activations up to f32 summation error, on every tile shape; elsewhere, and with
// f32 activations, rows dequantized for the f32 kernel: numpy's f32 product within summation error.
TEST_P(QuantGolden, PrefillMatMulMatchesExactProducts) {
  const MatrixView w = View();
  // 101 tokens: the packed paths, 4 full tiles + 5; 13: batched decoding's int8 path (one partial
  // tile; the f32 activations take the dequantized rows through the small-n kernel). The golden's
  // tokens repeated.
  for (const int n : {101, 13}) {
    std::vector<float> x(static_cast<size_t>(n * cols_));
    for (int t = 0; t < n; ++t) {
      std::copy_n(x_.begin() + (t % tokens_) * cols_, cols_, x.begin() + t * cols_);
    }
    std::vector<BlockQ8A> xq(static_cast<size_t>(tokens_ * cols_ / 32));
    for (int t = 0; t < tokens_; ++t) QuantizeActivations(x_.data() + t * cols_, static_cast<size_t>(cols_), xq.data() + t * cols_ / 32);
    std::vector<float> wr(static_cast<size_t>(rows_) * cols_);
    for (int r = 0; r < rows_; ++r) DequantizeRow(type_, w.Row(r), wr.data() + static_cast<size_t>(r) * cols_, static_cast<size_t>(cols_));
    std::vector<float> y(static_cast<size_t>(n * rows_));
    for (const bool int8 : {true, false}) {
      SetQuantizedActivations(int8);
      for (int threads : {1, 2}) {
        MatMul(w, x.data(), n, y.data(), threads);
        for (int t = 0; t < n; ++t) {
          const BlockQ8A* xt = xq.data() + (t % tokens_) * cols_ / 32;
          for (int r = 0; r < rows_; ++r) {
            const float got = y[static_cast<size_t>(t * rows_ + r)];
            const float f32 = entry_["matmul_f32"][(t % tokens_) * rows_ + r].get<float>();
            // Int8 activations reach the integer kernels (the int8 prefill one with VNNI, the decode
            // one below 32 tokens without); otherwise f32 activations meet dequantized rows.
            if (!int8 || (!Int8GemmSupported(type_) && n >= 32)) {
              EXPECT_NEAR(got, f32, 1e-4f * (1.0f + std::fabs(f32))) << "t " << t << " r " << r << " int8 " << int8;
              continue;
            }
            double exact = 0.0, magnitude = 0.0;
            for (int i = 0; i < cols_; ++i) {
              const BlockQ8A& b = xt[i / 32];
              const double p = static_cast<double>(wr[static_cast<size_t>(r) * cols_ + i]) * b.d * b.q[i % 32];
              exact += p;
              magnitude += std::fabs(p);
            }
            EXPECT_NEAR(got, exact, 1e-5 * magnitude) << "t " << t << " r " << r << " threads " << threads;
          }
        }
      }
    }
  }
  SetQuantizedActivations(true);
  if (!Int8GemmSupported(type_)) std::printf("(this CPU has no AVX-512 VNNI: the int8 prefill kernel was not run)\n");
}

// Every quantized type we load has a golden.
// Enough rows and tokens for MatMul's parallel region (each thread reads the caller's int8 rows).
TEST_P(QuantGolden, ParallelMatMulEqualsSerial) {
  std::vector<uint8_t> tall;
  for (int copy = 0; copy < 8; ++copy) tall.insert(tall.end(), bytes_.begin(), bytes_.end());
  const size_t row_bytes = RowBytes(type_, static_cast<size_t>(cols_));
  const MatrixView w{type_, rows_ * 8, cols_, tall.data(), row_bytes};
  std::vector<float> serial(static_cast<size_t>(tokens_ * rows_ * 8)), parallel(serial.size());
  MatMul(w, x_.data(), tokens_, serial.data(), 1);
  MatMul(w, x_.data(), tokens_, parallel.data(), 2);
  EXPECT_EQ(serial, parallel);
  for (int t = 0; t < tokens_; ++t) {
    for (int r = 0; r < rows_; ++r) EXPECT_EQ(serial[static_cast<size_t>(t * rows_ * 8 + r)], serial[static_cast<size_t>(t * rows_ * 8 + r + rows_)]);
  }
}

std::vector<std::string> GoldenTypes() {
  std::vector<std::string> out;
  for (int i = 0; i < kNumDTypes; ++i) {
    if (IsQuantized(static_cast<DType>(i))) out.push_back(DTypeName(static_cast<DType>(i)));
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllTypes, QuantGolden, ::testing::ValuesIn(GoldenTypes()),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

TEST(QuantActivations, RoundTripWithinHalfAStep) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  std::vector<float> x(256);
  for (float& v : x) v = dist(rng);
  std::vector<BlockQ8A> q(8);
  QuantizeActivations(x.data(), x.size(), q.data());
  for (size_t i = 0; i < x.size(); ++i) {
    const BlockQ8A& b = q[i / 32];
    EXPECT_NEAR(b.d * b.q[i % 32], x[i], 0.5f * b.d + 1e-6f);
  }
  int sum = 0;
  for (int j = 0; j < 16; ++j) sum += q[3].q[j];
  EXPECT_EQ(q[3].ds[0], q[3].d * static_cast<float>(sum));
}

}  // namespace
}  // namespace kvpress
