// Attention, RoPE and norms: fast paths against scalar references and hand-checked identities.
#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <cmath>
#include <random>

#include "ops/activation.h"
#include "ops/attention.h"
#include "ops/attention_group.h"
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

// AttendGroup (decoding: a GQA group's query heads at once) against the double reference per head,
// on every SIMD target this CPU runs (each has its own score and softmax code), for each KV dtype,
// head dims with and without a tail past the 4-vector chunks (64 and 128: the 16-key score blocks
// on AVX-512 with the row stride fixed at compile time; 48: the same at run time; 20: MatMul),
// group sizes, key counts below, on and off the 16-key blocks (softmax tails of every length),
// and both masks.
TEST(Attention, GroupMatchesReferencePerHead) {
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (const int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    for (DType t : {DType::kF32, DType::kF16, DType::kBF16}) {
      for (int hd : {64, 128, 48, 20}) {
        for (const auto& [groups, n] :
             {std::pair{1, 77}, {2, 16}, {2, 33}, {2, 7}, {3, 77}, {4, 37}, {5, 33}, {2, 48}, {8, 77}}) {
          std::vector<float> keys(static_cast<size_t>(n * hd)), values(keys.size()), q(static_cast<size_t>(groups * hd));
          for (float& v : keys) v = dist(rng);
          for (float& v : values) v = dist(rng);
          for (float& v : q) v = dist(rng);
          // The cache stores t; the reference reads the same stored values.
          std::vector<uint8_t> kb(RowBytes(t, static_cast<size_t>(hd)) * n), vb(kb.size());
          for (int j = 0; j < n * hd; ++j) {
            if (t == DType::kF32) {
              reinterpret_cast<float*>(kb.data())[j] = keys[static_cast<size_t>(j)];
              reinterpret_cast<float*>(vb.data())[j] = values[static_cast<size_t>(j)];
            } else {
              auto conv = [t](float f) { return t == DType::kF16 ? F32ToF16(f) : F32ToBF16(f); };
              reinterpret_cast<uint16_t*>(kb.data())[j] = conv(keys[static_cast<size_t>(j)]);
              reinterpret_cast<uint16_t*>(vb.data())[j] = conv(values[static_cast<size_t>(j)]);
            }
          }
          std::vector<int32_t> pos(static_cast<size_t>(n));
          for (int i = 0; i < n; ++i) pos[static_cast<size_t>(i)] = 2 * i;
          const KVHeadView kv{t, kb.data(), vb.data(), pos.data(), n};
          for (int window : {0, 16}) {
            for (int32_t qpos : {0, 90, 152, 400}) {  // 400 with window 16 sees no slot
              // probs sized exactly: nothing may be read or written past groups · n.
              std::vector<float> probs(static_cast<size_t>(groups * n)), out(static_cast<size_t>(groups * hd));
              const bool any = AttendGroup(q.data(), groups, kv, hd, qpos, window, 0.125f, probs.data(), out.data());
              for (int g = 0; g < groups; ++g) {
                std::vector<float> p2(static_cast<size_t>(n)), o2(static_cast<size_t>(hd));
                EXPECT_EQ(any, AttendHeadReference(q.data() + g * hd, kv, hd, qpos, window, 0.125f, p2.data(), o2.data()))
                    << hwy::TargetName(target) << " " << DTypeName(t) << " hd " << hd << " n " << n << " g " << g
                    << " window " << window << " qpos " << qpos;
                const std::vector<float> p1(probs.begin() + g * n, probs.begin() + (g + 1) * n);
                const std::vector<float> o1(out.begin() + g * hd, out.begin() + (g + 1) * hd);
                EXPECT_LT(testing::RelativeError(o1, o2), 1e-5)
                    << hwy::TargetName(target) << " " << DTypeName(t) << " hd " << hd << " n " << n << " g " << g;
                EXPECT_LT(testing::RelativeError(p1, p2), 1e-5)
                    << hwy::TargetName(target) << " " << DTypeName(t) << " hd " << hd << " n " << n << " g " << g;
              }
            }
          }
        }
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);
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
