// Attention, RoPE and norms: fast paths against scalar references and hand-checked identities.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ops/activation.h"
#include "ops/attention.h"
#include "ops/norm.h"
#include "ops/rope.h"
#include "test_util.h"

namespace kvpress {
namespace {

TEST(Attention, FastMatchesReferenceWithCausalAndWindowMasks) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const int n = 45, hd = 20;
  std::vector<float> keys(n * hd), values(n * hd), q(hd);
  std::vector<int32_t> pos(n);
  for (float& v : keys) v = dist(rng);
  for (float& v : values) v = dist(rng);
  for (float& v : q) v = dist(rng);
  for (int i = 0; i < n; ++i) pos[static_cast<size_t>(i)] = 3 * i + 1;  // ragged: gaps in positions
  KVHeadView kv{DType::kF32, keys.data(), values.data(), pos.data(), n};
  for (int window : {0, 10}) {
    for (int32_t qpos : {1, 50, 140, 200}) {  // 200 with window 10 sees no slot
      std::vector<float> p1(n), p2(n), o1(hd), o2(hd);
      const bool any = AttendHead(q.data(), kv, hd, qpos, window, 0.3f, p1.data(), o1.data());
      EXPECT_EQ(any, AttendHeadReference(q.data(), kv, hd, qpos, window, 0.3f, p2.data(), o2.data()));
      EXPECT_LT(testing::RelativeError(o1, o2), 1e-5);
      EXPECT_LT(testing::RelativeError(p1, p2), 1e-5);
      double sum = 0;
      for (int j = 0; j < n; ++j) {
        const bool visible = pos[static_cast<size_t>(j)] <= qpos && (window == 0 || pos[static_cast<size_t>(j)] > qpos - window);
        if (!visible) {
          EXPECT_EQ(p1[static_cast<size_t>(j)], 0.0f);
        }
        sum += p1[static_cast<size_t>(j)];
      }
      EXPECT_NEAR(sum, any ? 1.0 : 0.0, 1e-5);
    }
  }
}

TEST(Rope, InterleavedEqualsRotateHalfUnderThePermutation) {
  // model-formats.md §3: Meta row h*hd + 2j + t == HF row h*hd + t*hd/2 + j.
  const int hd = 16, heads = 3;
  std::vector<float> hf(heads * hd), meta(heads * hd);
  for (int i = 0; i < heads * hd; ++i) hf[static_cast<size_t>(i)] = std::sin(0.1f * static_cast<float>(i) + 0.5f);
  for (int h = 0; h < heads; ++h)
    for (int j = 0; j < hd / 2; ++j)
      for (int t = 0; t < 2; ++t) meta[static_cast<size_t>(h * hd + 2 * j + t)] = hf[static_cast<size_t>(h * hd + t * hd / 2 + j)];
  const std::vector<float> inv = RopeInverseFrequencies(10000.0f, hd);
  ApplyRope(hf.data(), heads, hd, 37, inv.data(), RopeStyle::kRotateHalf);
  ApplyRope(meta.data(), heads, hd, 37, inv.data(), RopeStyle::kInterleaved);
  for (int h = 0; h < heads; ++h)
    for (int j = 0; j < hd / 2; ++j)
      for (int t = 0; t < 2; ++t)
        EXPECT_FLOAT_EQ(meta[static_cast<size_t>(h * hd + 2 * j + t)], hf[static_cast<size_t>(h * hd + t * hd / 2 + j)]);
}

TEST(Rope, Llama3ScalingKeepsDividesAndSmooths) {
  // Llama-3.1 values (model-formats.md §2): hd=128, theta 5e5 -> 29 kept, 29 divided, 6 smoothed.
  std::vector<float> inv = RopeInverseFrequencies(500000.0f, 128);
  const std::vector<float> orig = inv;
  ApplyLlama3Scaling(Llama3RopeScaling{8.0f, 1.0f, 4.0f, 8192.0f}, inv);
  int kept = 0, divided = 0, smoothed = 0;
  for (size_t i = 0; i < inv.size(); ++i) {
    if (inv[i] == orig[i]) ++kept;
    else if (std::fabs(inv[i] - orig[i] / 8.0f) < 1e-12f) ++divided;
    else ++smoothed;
  }
  EXPECT_EQ(kept, 29);
  EXPECT_EQ(divided, 29);
  EXPECT_EQ(smoothed, 6);
}

TEST(Norm, RmsNormMatchesFormula) {
  const std::vector<float> x = {1, 2, 3, 4}, w = {1, 0.5f, 2, 1};
  std::vector<float> y(4);
  RmsNorm(x.data(), w.data(), y.data(), 1, 4, 1e-5f);
  const float inv = 1.0f / std::sqrt((1 + 4 + 9 + 16) / 4.0f + 1e-5f);
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(y[static_cast<size_t>(i)], w[static_cast<size_t>(i)] * x[static_cast<size_t>(i)] * inv);
}

TEST(Activation, SiluMulAndSoftmax) {
  std::vector<float> g = {0.0f, 1.0f, -2.0f}, u = {3.0f, 2.0f, 1.0f};
  SiluMul(g.data(), u.data(), 3);
  EXPECT_FLOAT_EQ(g[0], 0.0f);
  EXPECT_NEAR(g[1], 2.0 / (1 + std::exp(-1.0)), 1e-6);
  EXPECT_NEAR(g[2], -2.0 / (1 + std::exp(2.0)), 1e-6);
  std::vector<float> s = {1000.0f, 1000.0f, 0.0f};
  Softmax(s.data(), 3);
  EXPECT_NEAR(s[0], 0.5, 1e-6);
  EXPECT_NEAR(s[2], 0.0, 1e-6);
}

}  // namespace
}  // namespace kvpress
