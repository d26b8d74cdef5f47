// The same model in three layouts — llama2.c, Hugging Face (rotate-half, q/k permuted) and GGUF
// (Meta order) — all written by the project's own converters, gives the same logits and greedy ids.
#include <gtest/gtest.h>

#include "generate/generator.h"
#include "model/convert.h"
#include "model/model.h"
#include "model/transformer.h"
#include "test_util.h"

namespace kvpress {
namespace {

using testing::AllLogits;
using testing::MustLoad;
using testing::RelativeError;

std::vector<int32_t> Greedy(const Model& m, const std::vector<int32_t>& prompt, int n) {
  Transformer t(m, 2);
  GenerateOptions opt;
  opt.max_new_tokens = n;
  auto r = Generate(t, prompt, opt);
  EXPECT_TRUE(r.ok());
  return r.ok() ? r->tokens : std::vector<int32_t>{};
}

// Exports `src` to HF and GGUF (f32) and checks all three agree.
void CheckThreeLayouts(const Model& src, const std::vector<int32_t>& prompt, RopeStyle gguf_style) {
  const std::string dir = testing::TempDir("convert");
  ASSERT_TRUE(ExportHuggingFace(src, dir + "/hf", DType::kF32).ok());
  ASSERT_TRUE(ExportGguf(src, dir + "/model.gguf", DType::kF32).ok());
  auto hf = MustLoad(dir + "/hf");
  auto gguf = MustLoad(dir + "/model.gguf");
  ASSERT_TRUE(hf && gguf);
  EXPECT_EQ(hf->config.rope_style, RopeStyle::kRotateHalf);
  EXPECT_EQ(gguf->config.rope_style, gguf_style);
  const std::vector<float> a = AllLogits(src, prompt), b = AllLogits(*hf, prompt), c = AllLogits(*gguf, prompt);
  EXPECT_LT(RelativeError(b, a), 1e-4) << "HF export vs source";
  EXPECT_LT(RelativeError(c, a), 1e-4) << "GGUF export vs source";
  const auto ga = Greedy(src, prompt, 64);
  EXPECT_EQ(Greedy(*hf, prompt, 64), ga);
  EXPECT_EQ(Greedy(*gguf, prompt, 64), ga);
}

TEST(Convert, Stories260KThreeLayoutsAgree) {
  const std::string bin = testing::SharedData("models/stories260K/stories260K.bin");
  SKIP_IF_NO_SHARED(bin);
  auto src = MustLoad(bin);
  ASSERT_TRUE(src);
  CheckThreeLayouts(*src, {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315}, RopeStyle::kInterleaved);
}

TEST(Convert, HfLlamaWithLlama3RopeRoundTripsThroughGguf) {
  auto src = MustLoad(testing::Fixture("models/llama_gqa_rope3_f32"));
  ASSERT_TRUE(src);
  CheckThreeLayouts(*src, {5, 17, 300, 2, 44, 91, 7, 256, 510, 3}, RopeStyle::kInterleaved);
}

TEST(Convert, HfQwenFamiliesKeepHfOrderInGguf) {
  for (const char* name : {"qwen2_bias_f32", "qwen3_qknorm_f32"}) {
    auto src = MustLoad(testing::Fixture(std::string("models/") + name));
    ASSERT_TRUE(src);
    CheckThreeLayouts(*src, {9, 8, 7, 6, 5, 4, 3, 2, 1}, RopeStyle::kRotateHalf);
  }
}

TEST(Convert, Q8AndHalfPrecisionGgufStayClose) {
  auto src = MustLoad(testing::Fixture("models/llama_gqa_rope3_f32"));
  ASSERT_TRUE(src);
  const std::vector<int32_t> prompt = {5, 17, 300, 2, 44, 91, 7, 256};
  const std::vector<float> ref = AllLogits(*src, prompt);
  const std::string dir = testing::TempDir("convert-q");
  for (DType dt : {DType::kF16, DType::kBF16, DType::kQ8_0}) {
    const std::string path = dir + "/m-" + DTypeName(dt) + ".gguf";
    ASSERT_TRUE(ExportGguf(*src, path, dt).ok());
    auto m = MustLoad(path);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->weights.layers[0].wq.dtype, dt);
    // Weight rounding: ~2^-8 relative for bf16, ~1/254 per block for q8_0, 2^-11 for f16.
    EXPECT_LT(RelativeError(AllLogits(*m, prompt), ref), 0.05) << DTypeName(dt);
  }
}

TEST(Convert, SharedTinyRandomGgufLoadsAndRoundTrips) {
  const std::string path = testing::SharedData("models/llama-2-tiny-random/llama-2-tiny-random.gguf");
  SKIP_IF_NO_SHARED(path);
  auto src = MustLoad(path);
  ASSERT_TRUE(src);
  EXPECT_EQ(src->config.vocab_size, 32000);
  EXPECT_EQ(src->weights.embed.dtype, DType::kF16);
  CheckThreeLayouts(*src, {1, 450, 4996, 17354, 1701, 432}, RopeStyle::kInterleaved);
}

}  // namespace
}  // namespace kvpress
