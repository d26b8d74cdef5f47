// The architecture table (model/architecture.h): every entry round-trips HF class -> family -> GGUF
// name, and a tiny random model of every family survives HF and GGUF export and reload with its
// family, flags and logits intact.
#include "model/architecture.h"

#include <gtest/gtest.h>

#include <set>

#include "model/convert.h"
#include "test_util.h"
#include "tiny_llama.h"

namespace kvpress {
namespace {

using testing::AllLogits;
using testing::MustLoad;
using testing::TempDir;

TEST(ArchitectureTable, OneEntryPerFamilyWithDistinctNames) {
  std::set<ModelFamily> families;
  std::set<std::string> names, hf_classes;
  for (const Architecture& a : Architectures()) {
    EXPECT_TRUE(families.insert(a.family).second) << a.name;
    EXPECT_TRUE(names.insert(a.name).second) << a.name;
    EXPECT_TRUE(hf_classes.insert(a.hf_class).second) << a.hf_class;
    EXPECT_EQ(&ArchitectureOf(a.family), &a);
    EXPECT_STREQ(FamilyName(a.family), a.name);
  }
  for (ModelFamily f :
       {ModelFamily::kLlama, ModelFamily::kMistral, ModelFamily::kQwen2, ModelFamily::kQwen3}) {
    EXPECT_EQ(families.count(f), 1u) << static_cast<int>(f);
  }
}

TEST(ArchitectureTable, EveryEntryRoundTripsHfToOursToGguf) {
  for (const Architecture& a : Architectures()) {
    const Architecture* from_hf = FindHfArchitecture(a.hf_class);
    ASSERT_NE(from_hf, nullptr) << a.hf_class;
    EXPECT_EQ(from_hf->family, a.family) << a.hf_class;
    const Architecture* from_gguf = FindGgufArchitecture(ArchitectureOf(from_hf->family).gguf_name);
    ASSERT_NE(from_gguf, nullptr) << a.gguf_name;
    EXPECT_STREQ(from_gguf->gguf_name, a.gguf_name);
    // A GGUF name loads as the family that owns it, which writes it back unchanged, with the same
    // q/k row order.
    EXPECT_STREQ(ArchitectureOf(from_gguf->family).gguf_name, a.gguf_name);
    EXPECT_EQ(from_gguf->gguf_interleaved_qk, a.gguf_interleaved_qk) << a.name;
  }
  EXPECT_EQ(FindHfArchitecture("GPT2LMHeadModel"), nullptr);
  EXPECT_EQ(FindGgufArchitecture("gpt2"), nullptr);
  EXPECT_EQ(FindGgufArchitecture("mistral"), nullptr);  // mistral GGUFs are `llama`
  EXPECT_EQ(SupportedArchitectureNames(/*hf=*/false), "llama, qwen2, qwen3");
}

TEST(ArchitectureTable, TensorNamesMapBothWays) {
  std::set<std::string> hf, gguf;
  for (const LayerTensor& t : LayerTensors()) {
    EXPECT_TRUE(hf.insert(t.hf).second) << t.hf;
    EXPECT_TRUE(gguf.insert(t.gguf).second) << t.gguf;
    EXPECT_NE(t.matrix == nullptr, t.vec == nullptr) << t.hf << ": exactly one of matrix/vec";
    EXPECT_EQ(HfTensorName(std::string("blk.7.") + t.gguf), std::string("model.layers.7.") + t.hf);
  }
  for (const GlobalTensorNames& t : {kEmbeddingTensor, kFinalNormTensor, kLmHeadTensor}) {
    EXPECT_EQ(HfTensorName(t.gguf), t.hf);
  }
  EXPECT_EQ(HfTensorName("rope_freqs.weight"), "");
  EXPECT_EQ(HfTensorName("blk.0.unknown.weight"), "");
}

// The tiny llama with the layer tensors family `a` adds (biases, q/k norms), drawn from `seed`.
std::unique_ptr<Model> TinyOf(const Architecture& a, uint64_t seed) {
  std::unique_ptr<Model> m = testing_util::TinyLlama(a.name, seed);
  ModelConfig& c = m->config;
  c.family = a.family;
  c.qkv_bias = a.qkv_bias;
  c.qk_norm = a.qk_norm;
  if (a.sliding_window == SlidingWindowKey::kRead) c.sliding_window = 16;
  std::mt19937_64 rng(seed + 1);
  std::normal_distribution<float> dist(0.0f, 0.1f);
  auto draw = [&](std::vector<float>& v, int n, float base) {
    v.resize(static_cast<size_t>(n));
    for (float& x : v) x = base + dist(rng);
  };
  for (LayerWeights& L : m->weights.layers) {
    if (c.qkv_bias) {
      draw(L.bq, c.n_heads * c.head_dim, 0.0f);
      draw(L.bk, c.n_kv_heads * c.head_dim, 0.0f);
      draw(L.bv, c.n_kv_heads * c.head_dim, 0.0f);
    }
    if (c.qk_norm) {
      draw(L.q_norm, c.head_dim, 1.0f);
      draw(L.k_norm, c.head_dim, 1.0f);
    }
  }
  return m;
}

TEST(ArchitectureTable, EveryFamilySurvivesHfAndGgufExport) {
  const std::vector<int32_t> ids = {1, 5, 9, 14, 3, 27, 40, 2};
  for (const Architecture& a : Architectures()) {
    SCOPED_TRACE(a.name);
    std::unique_ptr<Model> m = TinyOf(a, 7);
    const std::vector<float> want = AllLogits(*m, ids);
    const std::string dir = TempDir(std::string("arch_") + a.name);
    ASSERT_TRUE(ExportHuggingFace(*m, dir + "/hf", DType::kF32).ok());
    std::unique_ptr<Model> hf = MustLoad(dir + "/hf");
    ASSERT_NE(hf, nullptr);
    EXPECT_EQ(hf->config.family, a.family);
    EXPECT_EQ(hf->config.architecture, a.hf_class);
    EXPECT_EQ(hf->config.qkv_bias, a.qkv_bias);
    EXPECT_EQ(hf->config.qk_norm, a.qk_norm);
    EXPECT_EQ(hf->config.sliding_window, m->config.sliding_window);
    EXPECT_LT(testing::RelativeError(AllLogits(*hf, ids), want), 1e-5);

    ASSERT_TRUE(ExportGguf(*hf, dir + "/m.gguf", DType::kF32).ok());
    std::unique_ptr<Model> gg = MustLoad(dir + "/m.gguf");
    ASSERT_NE(gg, nullptr);
    EXPECT_EQ(gg->config.architecture, a.gguf_name);
    EXPECT_EQ(gg->config.family, FindGgufArchitecture(a.gguf_name)->family);
    EXPECT_EQ(gg->config.rope_style,
              a.gguf_interleaved_qk ? RopeStyle::kInterleaved : RopeStyle::kRotateHalf);
    EXPECT_EQ(gg->config.qkv_bias, a.qkv_bias);
    EXPECT_EQ(gg->config.qk_norm, a.qk_norm);
    EXPECT_LT(testing::RelativeError(AllLogits(*gg, ids), want), 1e-5);
  }
}

}  // namespace
}  // namespace kvpress
