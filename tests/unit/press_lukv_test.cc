// lukv (src/press/lukv_press.cc) on a tiny random model driven by the real Transformer, with knorm
// inside and a budget curve written here: the oracle computes each head's keep count from the
// curve row as upstream LUKVPress does (f32 ideal counts, rounded total, floor + largest fractional
// remainders, at least 1) and keeps the sink/window slots plus the best −‖k‖ (ties: older slot).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "generate/session.h"
#include "model/model.h"
#include "model/transformer.h"
#include "model/writers.h"
#include "press/press_spec.h"
#include "press/registry.h"
#include "test_util.h"
#include "tiny_llama.h"

namespace kvpress {
namespace {

std::unique_ptr<Model> TinyModel() { return testing_util::TinyLlama("lukv-tiny", 55); }

TEST(Lukv, KeepsTheCurvesPerHeadCountsOfTheBestSlots) {
  const auto model = TinyModel();
  const ModelConfig& c = model->config;
  const int L = c.n_layers, KV = c.n_kv_heads, n = 37, sink = 3, window = 2;
  std::vector<float> curve(static_cast<size_t>(99) * L * KV);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-0.3f, 0.3f);
  for (int i = 0; i < 99; ++i) {
    for (int j = 0; j < L * KV; ++j) {
      curve[static_cast<size_t>(i) * L * KV + j] =
          std::clamp((i + 1) / 100.0f + u(rng), 0.0f, 0.98f);
    }
  }
  TensorToWrite t;
  t.name = "prune_ratios";
  t.shape = {99, L, KV};
  t.bytes.resize(curve.size() * 4);
  std::memcpy(t.bytes.data(), curve.data(), t.bytes.size());
  const std::string path = testing::TempDir("lukv") + "/curve.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, {t}).ok());

  std::uniform_int_distribution<int32_t> tok(0, 63);
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (auto& x : ids) x = tok(rng);
  Transformer tf(*model, 1);
  // The keys as cached by a plain prefill (knorm's scores: −‖k‖ of the pre-RoPE key = post-RoPE).
  KVCache full = tf.NewCache();
  {
    std::vector<int32_t> pos(static_cast<size_t>(n));
    std::iota(pos.begin(), pos.end(), 0);
    std::vector<float> logits;
    ASSERT_TRUE(tf.Forward(ids, pos, full, ForwardOptions{}, logits).ok());
  }
  for (const double r : {0.3, 0.6}) {
    SCOPED_TRACE(::testing::Message() << "ratio " << r);
    auto spec =
        ParsePressSpec(fmt::format("lukv(knorm):curve={},sink={},window={}", path, sink, window));
    ASSERT_TRUE(spec.ok()) << spec.status().ToString();
    spec->budget.removed_fraction = r;
    auto press = CreatePress(*spec);
    ASSERT_TRUE(press.ok()) << press.status().ToString();
    Session session(tf, press->get(), DType::kF32, 10);  // the prefill arrives in 4 chunks
    std::vector<float> logits;
    ASSERT_TRUE(session.Prefill(ids, ForwardPhase::kPrefill, logits).ok());
    const int row = static_cast<int>(std::nearbyint(r * 100)) - 1;
    for (int l = 0; l < L; ++l) {
      std::vector<float> ideal(static_cast<size_t>(KV));
      float sum = 0;
      for (int g = 0; g < KV; ++g) {
        ideal[g] =
            std::clamp(1.0f - curve[(static_cast<size_t>(row) * L + l) * KV + g], 0.0f, 1.0f) * n;
        sum += ideal[g];
      }
      const int total = std::clamp(static_cast<int>(std::nearbyint(sum)), KV, KV * n);
      std::vector<int> k(static_cast<size_t>(KV));
      int base = 0;
      for (int g = 0; g < KV; ++g) base += k[g] = static_cast<int>(std::floor(ideal[g]));
      for (int extra = total - base; extra > 0; --extra) {
        int best = -1;
        for (int g = 0; g < KV; ++g) {
          const bool given = k[g] > static_cast<int>(std::floor(ideal[g]));
          if (!given &&
              (best < 0 || ideal[g] - std::floor(ideal[g]) > ideal[best] - std::floor(ideal[best])))
            best = g;
        }
        ++k[best];
      }
      for (int g = 0; g < KV; ++g) {
        const int keep = std::clamp(k[g], 1, n);
        std::vector<std::pair<double, int>> s;  // (score, position)
        std::vector<float> key(static_cast<size_t>(c.head_dim));
        for (int j = 0; j < n; ++j) {
          full.KeyAt(l, g, j, key.data());
          double ss = 0;
          for (float x : key) ss += static_cast<double>(x) * x;
          const bool protect = j < sink || j >= n - window;
          s.push_back({protect ? 1e9 : -std::sqrt(ss), j});
        }
        std::stable_sort(s.begin(), s.end(),
                         [](const auto& a, const auto& b) { return a.first > b.first; });
        std::set<int32_t> want;
        for (int i = 0; i < keep; ++i) want.insert(s[static_cast<size_t>(i)].second);
        const auto got = session.cache().Positions(l, g);
        EXPECT_EQ(std::set<int32_t>(got.begin(), got.end()), want)
            << "layer " << l << " head " << g;
      }
    }
  }
}

TEST(Lukv, NeedsACurveThatFitsTheModel) {
  auto spec = ParsePressSpec("lukv");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(CreatePress(*spec).status().code(), StatusCode::kFailedPrecondition);
  TensorToWrite t;
  t.name = "prune_ratios";
  t.shape = {99, 3, 2};  // 3 layers; the model has 2
  t.bytes.assign(99 * 3 * 2 * 4, 0);
  const std::string path = testing::TempDir("lukv_bad") + "/curve.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, {t}).ok());
  auto spec2 = ParsePressSpec("lukv:curve=" + path);
  ASSERT_TRUE(spec2.ok());
  auto press = CreatePress(*spec2);
  ASSERT_TRUE(press.ok()) << press.status().ToString();
  const auto model = TinyModel();
  EXPECT_EQ((*press)->Attach(model->config).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace kvpress
