// `kvpress convert --to gguf --dtype <quantized>`: the written file loads back, every matrix holds
// exactly our quantize → dequantize of the source (QuantizeRow is byte-exact with ggml's reference
// quantizers, tests/unit/quantize_test.cc), rows that are not whole blocks fall back as llama.cpp's
// quantizer does, and the logits stay near the f32 model's.
//
// From outside, scripts/goldens/check_gguf_quant_export.py converts a model to every type, reads each
// file with gguf-py (0.17.1), dequantizes every tensor with gguf.quants.dequantize and compares its
// bytes with llama.cpp's ggml_quantize_chunk of the same f32 tensor: identical for stories260K and
// SmolLM2-135M (all 12 types, every tensor, fallbacks included).
#include <gtest/gtest.h>

#include <utility>

#include "core/mapped_file.h"
#include "model/convert.h"
#include "model/gguf.h"
#include "model/model.h"
#include "model/random_model.h"
#include "ops/quantize.h"
#include "test_util.h"

namespace kvpress {
namespace {

using testing::AllLogits;
using testing::MustLoad;
using testing::RelativeError;

std::vector<float> Rows(const MatrixView& m) {
  std::vector<float> out(static_cast<size_t>(m.rows * m.cols));
  for (int64_t r = 0; r < m.rows; ++r) {
    DequantizeRow(m.dtype, m.Row(r), out.data() + r * m.cols, static_cast<size_t>(m.cols));
  }
  return out;
}

// What a `t` export should hold for the f32 matrix `m`: each row quantized, then dequantized.
std::vector<float> QuantizedRows(const MatrixView& m, DType t) {
  const std::vector<float> x = Rows(m);
  std::vector<uint8_t> q(RowBytes(t, static_cast<size_t>(m.cols)));
  std::vector<float> out(x.size());
  for (int64_t r = 0; r < m.rows; ++r) {
    QuantizeRow(t, x.data() + r * m.cols, q.data(), static_cast<size_t>(m.cols));
    DequantizeRow(t, q.data(), out.data() + r * m.cols, static_cast<size_t>(m.cols));
  }
  return out;
}

uint32_t FileType(const std::string& path) {
  auto file = MappedFile::Open(path);
  if (!file.ok()) return ~0u;
  auto g = ReadGguf(**file, /*metadata_only=*/true);
  return g.ok() ? g->metadata.value("general.file_type", ~0u) : ~0u;
}

// A random llama whose every matrix has rows of a multiple of 256 values (so no K type falls back).
std::unique_ptr<Model> RandomF32Model() {
  auto c = RandomModelPreset("tiny");
  EXPECT_TRUE(c.ok());
  c->hidden_size = 256, c->intermediate_size = 512, c->n_layers = 2, c->n_heads = 4, c->n_kv_heads = 2;
  c->head_dim = 64, c->vocab_size = 512;
  return MakeRandomModel(*c, DType::kF32, 5);
}

struct Case {
  DType type;
  uint32_t file_type;
  double logits_tolerance;  // max |Δlogit| / max |logit| against the f32 model
};

// Tolerances: about 1.5x the error measured on this model (x86-64, AVX-512 kernels: q8_0 0.009,
// q6_k 0.027, q5_* 0.05-0.06, q4_* and iq4_* 0.10-0.14, q3_k 0.21, q2_k 0.40). They include the
// int8 rounding of activations in the quantized matmul; a random model's logits amplify weight error.
constexpr Case kCases[] = {
    {DType::kQ8_0, 7, 0.015},  {DType::kQ6_K, 18, 0.04},  {DType::kQ5_0, 8, 0.09},
    {DType::kQ5_1, 9, 0.09},   {DType::kQ5_K, 17, 0.08},  {DType::kQ4_0, 2, 0.21},
    {DType::kQ4_1, 3, 0.16},   {DType::kQ4_K, 15, 0.16},  {DType::kIQ4_NL, 25, 0.15},
    {DType::kIQ4_XS, 30, 0.15}, {DType::kQ3_K, 12, 0.31}, {DType::kQ2_K, 10, 0.60},
};

TEST(ConvertQuant, RandomModelEveryTypeHoldsOurQuantizationAndStaysClose) {
  auto src = RandomF32Model();
  const std::vector<int32_t> prompt = {1, 17, 300, 2, 44, 91, 7, 256, 510};
  const std::vector<float> ref = AllLogits(*src, prompt);
  const std::string dir = testing::TempDir("convert-quant");
  const ModelConfig& c = src->config;
  for (const Case& k : kCases) {
    SCOPED_TRACE(DTypeName(k.type));
    const std::string path = dir + "/m-" + DTypeName(k.type) + ".gguf";
    ASSERT_TRUE(ExportGguf(*src, path, k.type).ok());
    EXPECT_EQ(FileType(path), k.file_type);
    auto m = MustLoad(path);
    ASSERT_TRUE(m);
    const LayerWeights &a = src->weights.layers[1], &b = m->weights.layers[1];
    for (const MatrixView* w : {&std::as_const(m->weights.embed), &b.wq, &b.wk, &b.wv, &b.wo, &b.w_gate, &b.w_up, &b.w_down}) {
      EXPECT_EQ(w->dtype, k.type);
    }
    EXPECT_EQ(Rows(m->weights.embed), QuantizedRows(src->weights.embed, k.type));
    EXPECT_EQ(Rows(b.wv), QuantizedRows(a.wv, k.type));
    EXPECT_EQ(Rows(b.w_down), QuantizedRows(a.w_down, k.type));
    // q rows are stored in GGUF's (Meta) order: back to HF order before comparing.
    EXPECT_EQ(PermuteQkRows(Rows(b.wq), c.n_heads, c.head_dim, c.hidden_size, /*to_hf=*/true),
              QuantizedRows(a.wq, k.type));
    EXPECT_EQ(b.attn_norm, a.attn_norm);  // 1-D tensors stay f32
    const double err = RelativeError(AllLogits(*m, prompt), ref);
    EXPECT_LT(err, k.logits_tolerance);
    std::fprintf(stderr, "%-6s logits rel. err %.4f\n", DTypeName(k.type), err);
  }
}

TEST(ConvertQuant, Stories260KFallsBackLikeLlamaCppAndStaysClose) {
  const std::string bin = testing::SharedData("models/stories260K/stories260K.bin");
  SKIP_IF_NO_SHARED(bin);
  auto src = MustLoad(bin);
  ASSERT_TRUE(src);
  // dim 64, hidden 172: no matrix is whole 256-blocks, and ffn_down's 172 is not even 32-blocks.
  const std::vector<int32_t> prompt = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315};
  const std::vector<float> ref = AllLogits(*src, prompt);
  const std::string dir = testing::TempDir("convert-quant-260k");
  struct Expect {
    DType wanted, matrices;
    double tolerance;
  };
  // Tolerances about 1.5x the measured error (0.010, 0.010, 0.078, 0.22): a 64-wide model is
  // sensitive to weight rounding.
  for (const Expect& e : {Expect{DType::kQ8_0, DType::kQ8_0, 0.015}, Expect{DType::kQ6_K, DType::kQ8_0, 0.015},
                          Expect{DType::kQ4_K, DType::kQ5_0, 0.12}, Expect{DType::kQ4_0, DType::kQ4_0, 0.33}}) {
    SCOPED_TRACE(DTypeName(e.wanted));
    const std::string path = dir + "/s-" + DTypeName(e.wanted) + ".gguf";
    ASSERT_TRUE(ExportGguf(*src, path, e.wanted).ok());
    auto m = MustLoad(path);
    ASSERT_TRUE(m);
    const LayerWeights& L = m->weights.layers[0];
    EXPECT_EQ(L.wq.dtype, e.matrices);
    EXPECT_EQ(L.w_up.dtype, e.matrices);
    EXPECT_EQ(L.w_down.dtype, DType::kF16);
    EXPECT_EQ(Rows(L.w_up), QuantizedRows(src->weights.layers[0].w_up, e.matrices));
    const double err = RelativeError(AllLogits(*m, prompt), ref);
    EXPECT_LT(err, e.tolerance);
    std::fprintf(stderr, "%-6s -> %-5s logits rel. err %.4f\n", DTypeName(e.wanted), DTypeName(e.matrices), err);
  }
}

TEST(ConvertQuant, CliNamesEveryFallbackAndRejectsUnknownTypes) {
  const std::string bin = testing::SharedData("models/stories260K/stories260K.bin");
  SKIP_IF_NO_SHARED(bin);
  const std::string out = testing::TempDir("convert-quant-cli") + "/s.gguf";
  const auto ok = testing::RunKvpress("convert --model " + bin + " --to gguf --dtype q4_k --out " + out);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.err.find("blk.0.attn_q.weight: 64 columns are not a multiple of q4_k's 256-value block; "
                        "written as q5_0"), std::string::npos) << ok.err;
  EXPECT_NE(ok.err.find("blk.0.ffn_down.weight: 172 columns are not a multiple of q4_k's 256-value block; "
                        "written as f16"), std::string::npos) << ok.err;
  EXPECT_EQ(FileType(out), 15u);
  const auto bad = testing::RunKvpress("convert --model " + bin + " --to gguf --dtype q4_2 --out " + out + ".x");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("--dtype: 'q4_2' is not one of f32, f16, bf16, q8_0, q4_0"), std::string::npos) << bad.err;
}

TEST(ConvertQuant, HuggingFaceExportRefusesQuantizedTypes) {
  auto src = RandomF32Model();
  const Status s = ExportHuggingFace(*src, testing::TempDir("convert-quant-hf") + "/hf", DType::kQ4_K);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("q4_k is a GGUF-only type"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace kvpress
