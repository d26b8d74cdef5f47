// Weights copied into transparent huge pages (model/weight_placement.h, core/huge_pages.h): the
// buffer's alignment and size, every view re-pointed into it with the same bytes, the file
// mappings released, tied embeddings kept shared, and the same logits as from the file mapping.
#include "model/weight_placement.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <vector>

#include "core/huge_pages.h"
#include "model/convert.h"
#include "model/model.h"
#include "model/random_model.h"
#include "model/transformer.h"
#include "test_util.h"

namespace kvpress {
namespace {

std::vector<const MatrixView*> Matrices(const ModelWeights& w) {
  std::vector<const MatrixView*> out = {&w.embed, &w.lm_head};
  for (const LayerWeights& l : w.layers) {
    for (const MatrixView* m : l.Matrices()) out.push_back(m);
  }
  return out;
}

std::vector<float> Logits(const Model& m) {
  Transformer t(m, 2);
  KVCache cache = t.NewCache();
  const std::vector<int32_t> tokens = {3, 5, 7, 11}, positions = {0, 1, 2, 3};
  ForwardOptions opt;
  opt.all_logits = true;
  std::vector<float> logits;
  const Status s = t.Forward(tokens, positions, cache, opt, logits);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return logits;
}

bool Inside(const void* p, const HugePageBuffer& b) {
  const auto* q = static_cast<const uint8_t*>(p);
  return q >= b.data() && q < b.data() + b.size();
}

TEST(HugePageBuffer, IsAlignedWholePagesAndWritable) {
  auto b = HugePageBuffer::Allocate(3 * 1000 * 1000);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b->data()) % HugePageBuffer::kHugePageBytes, 0u);
  EXPECT_EQ(b->size(), 2 * HugePageBuffer::kHugePageBytes);
  std::memset(b->data(), 0x5a, b->size());
  EXPECT_EQ(b->data()[b->size() - 1], 0x5a);
  // What the kernel grants depends on its settings and on fragmentation: never more than the
  // buffer.
  EXPECT_LE(b->HugeBytesResident(), b->size());
  if (ReadHugePageMode() == HugePageMode::kNever) {
    EXPECT_EQ(b->HugeBytesResident(), 0u);
  }
}

TEST(HugePageBuffer, ZeroBytesIsNull) { EXPECT_EQ(HugePageBuffer::Allocate(0), nullptr); }

TEST(WeightPlacement, MovesEveryMatrixWithItsBytesAndKeepsTiedEmbeddingsShared) {
  auto cfg = RandomModelPreset("tiny");
  ASSERT_TRUE(cfg.ok());
  cfg->tied_embeddings = true;
  const std::unique_ptr<Model> reference = MakeRandomModel(*cfg, DType::kQ8_0, 7);
  std::unique_ptr<Model> moved = MakeRandomModel(*cfg, DType::kQ8_0, 7);
  const WeightPlacement p = MoveWeightsToHugePages(moved->weights, 2);
  if (ReadHugePageMode() == HugePageMode::kNever) {
    EXPECT_FALSE(p.in_huge_pages);
    EXPECT_NE(p.reason.find("never"), std::string::npos) << p.reason;
    GTEST_SKIP() << "transparent huge pages are off on this machine";
  }
  ASSERT_TRUE(p.in_huge_pages) << p.reason;
  ASSERT_NE(moved->weights.resident, nullptr);
  EXPECT_TRUE(moved->weights.owned.empty());
  EXPECT_TRUE(moved->weights.files.empty());
  const auto want = Matrices(reference->weights), got = Matrices(moved->weights);
  ASSERT_EQ(want.size(), got.size());
  size_t bytes = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_TRUE(Inside(got[i]->data, *moved->weights.resident)) << i;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(got[i]->data) % 64, 0u) << i;
    ASSERT_EQ(got[i]->Bytes(), want[i]->Bytes()) << i;
    EXPECT_EQ(std::memcmp(got[i]->data, want[i]->data, want[i]->Bytes()), 0) << i;
    if (i != 1) bytes += want[i]->Bytes();  // the tied LM head is the embedding
  }
  EXPECT_EQ(moved->weights.lm_head.data, moved->weights.embed.data);
  EXPECT_EQ(p.bytes, bytes);
  EXPECT_EQ(Logits(*moved), Logits(*reference));
}

TEST(WeightPlacement, AliasedViewsOfDifferentSizesAreCopiedApart) {
  // A malformed file may point two tensors at the same bytes (fuzz_gguf found one): each view still
  // gets its own bytes, the shorter one a prefix of the longer.
  auto cfg = RandomModelPreset("tiny");
  ASSERT_TRUE(cfg.ok());
  std::unique_ptr<Model> m = MakeRandomModel(*cfg, DType::kF32, 5);
  LayerWeights& l = m->weights.layers[0];
  ASSERT_LT(l.wk.Bytes(), l.wq.Bytes());
  l.wk.data = l.wq.data;
  const std::vector<uint8_t> want(static_cast<const uint8_t*>(l.wq.data),
                                  static_cast<const uint8_t*>(l.wq.data) + l.wq.Bytes());
  const WeightPlacement p = MoveWeightsToHugePages(m->weights, 2);
  if (!p.in_huge_pages) GTEST_SKIP() << p.reason;
  EXPECT_NE(l.wk.data, l.wq.data);
  EXPECT_EQ(std::memcmp(l.wq.data, want.data(), l.wq.Bytes()), 0);
  EXPECT_EQ(std::memcmp(l.wk.data, want.data(), l.wk.Bytes()), 0);
}

TEST(WeightPlacement, LoadModelCopiesOutOfTheFileUnlessAskedToMap) {
  const std::string dir = testing::TempDir("placement");
  ASSERT_FALSE(dir.empty());
  auto cfg = RandomModelPreset("tiny");
  ASSERT_TRUE(cfg.ok());
  const std::string path = dir + "/tiny.gguf";
  ASSERT_TRUE(ExportGguf(*MakeRandomModel(*cfg, DType::kBF16, 3), path, DType::kBF16).ok());

  auto mapped = LoadModel(path, LoadOptions{.huge_pages = false});
  ASSERT_TRUE(mapped.ok()) << mapped.status().ToString();
  EXPECT_FALSE((*mapped)->placement.in_huge_pages);
  EXPECT_NE((*mapped)->placement.reason.find("--mmap"), std::string::npos);
  EXPECT_EQ((*mapped)->weights.resident, nullptr);
  ASSERT_FALSE((*mapped)->weights.files.empty());

  auto copied = LoadModel(path);  // the default: huge pages
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  if (ReadHugePageMode() != HugePageMode::kNever) {
    EXPECT_TRUE((*copied)->placement.in_huge_pages) << (*copied)->placement.reason;
    EXPECT_TRUE((*copied)->weights.files.empty());
    EXPECT_TRUE(Inside((*copied)->weights.layers[0].w_down.data, *(*copied)->weights.resident));
  }
  EXPECT_EQ(Logits(**copied), Logits(**mapped));
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace kvpress
