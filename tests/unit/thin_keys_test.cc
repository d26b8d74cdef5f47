// ThinK's freed key channels (KVCache::ThinKeys): a head whose first slots keep only some key
// channels. Checked without upstream: every attention kernel (AttendHead, its double reference,
// AttendGroup for GQA groups, the blocked prefill kernel) against a brute-force double attention
// over the zero-filled keys, for f32/f16/bf16 caches; and the cache itself — KeyAt, Retain across
// the thin/full boundary, Renumber, a second ThinKeys, and the live bytes at the thin width.
// The think press on a real model stays checked against upstream in press_catalogue_goldens_test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "kv/kv_cache.h"
#include "ops/attention.h"
#include "ops/attention_group.h"
#include "ops/flash_attention.h"
#include "ops/rope.h"

namespace kvpress {
namespace {

constexpr int kHd = 32;

// The value f32 → dtype → f32 would give (keys are compared after the cache's rounding).
std::vector<float> Rounded(DType t, std::vector<float> x) {
  KVCache c(1, 1, static_cast<int>(x.size()), t);
  c.Append(0, 0, x.data(), x.data(), 0, 0.0f);
  c.KeyAt(0, 0, 0, x.data());
  return x;
}

struct Filled {
  KVCache cache;
  std::vector<std::vector<float>> keys,
      values;  // [n][hd] as stored (rounded), keys masked where thin
};

// n slots at positions 0, 2, 4, … with random keys/values; the first n_thin keep `kept`.
Filled MakeHead(DType t, int n, int n_thin, const std::vector<int>& kept, uint32_t seed) {
  Filled f{KVCache(1, 1, kHd, t), {}, {}};
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (int j = 0; j < n; ++j) {
    std::vector<float> k(kHd), v(kHd);
    for (auto& x : k) x = dist(rng);
    for (auto& x : v) x = dist(rng);
    f.cache.Append(0, 0, k.data(), v.data(), 2 * j, 1.0f);
    f.keys.push_back(Rounded(t, k));
    f.values.push_back(Rounded(t, v));
  }
  if (n_thin > 0) f.cache.ThinKeys(0, 0, kept, n_thin);
  for (int j = 0; j < n_thin; ++j) {
    for (int c = 0; c < kHd; ++c) {
      if (!std::binary_search(kept.begin(), kept.end(), c))
        f.keys[static_cast<size_t>(j)][static_cast<size_t>(c)] = 0.0f;
    }
  }
  return f;
}

// Brute-force causal attention in double over the masked keys: out [hd], probs [n].
void Reference(const Filled& f, const float* q, int32_t q_pos, std::vector<double>& out,
               std::vector<double>& probs) {
  const int n = static_cast<int>(f.keys.size());
  const auto pos = f.cache.Positions(0, 0);
  std::vector<double> s(static_cast<size_t>(n), -INFINITY);
  double mx = -INFINITY;
  for (int j = 0; j < n; ++j) {
    if (pos[static_cast<size_t>(j)] > q_pos) continue;
    double d = 0;
    for (int c = 0; c < kHd; ++c)
      d += static_cast<double>(q[c]) * f.keys[static_cast<size_t>(j)][static_cast<size_t>(c)];
    s[static_cast<size_t>(j)] = d / std::sqrt(static_cast<double>(kHd));
    mx = std::max(mx, s[static_cast<size_t>(j)]);
  }
  double sum = 0;
  for (int j = 0; j < n; ++j)
    sum += std::isinf(s[static_cast<size_t>(j)]) ? 0.0 : std::exp(s[static_cast<size_t>(j)] - mx);
  out.assign(kHd, 0.0);
  probs.assign(static_cast<size_t>(n), 0.0);
  for (int j = 0; j < n; ++j) {
    if (std::isinf(s[static_cast<size_t>(j)])) continue;
    probs[static_cast<size_t>(j)] = std::exp(s[static_cast<size_t>(j)] - mx) / sum;
    for (int c = 0; c < kHd; ++c)
      out[static_cast<size_t>(c)] +=
          probs[static_cast<size_t>(j)] * f.values[static_cast<size_t>(j)][static_cast<size_t>(c)];
  }
}

void ExpectClose(const float* got, const std::vector<double>& want, double tol,
                 const std::string& what) {
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(got[i], want[i], tol) << what << " [" << i << "]";
}

TEST(ThinKeysAttention, EveryKernelEqualsTheMaskedBruteForce) {
  const std::vector<int> kept = {0, 3, 4, 7, 8, 9, 15, 16, 22, 30, 31};  // 11 of 32 channels
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16}) {
    for (int n_thin : {0, 1, 9, 23}) {
      SCOPED_TRACE(::testing::Message() << DTypeName(t) << " n_thin " << n_thin);
      const int n = 23;
      const Filled f = MakeHead(t, n, n_thin, kept, 7);
      const KVHeadView kv = f.cache.View(0, 0);
      ASSERT_EQ(kv.n_thin, n_thin);
      std::mt19937 rng(11);
      std::normal_distribution<float> dist(0.0f, 1.0f);
      const float scale = 1.0f / std::sqrt(static_cast<float>(kHd));
      for (int groups : {1, 2, 3}) {
        std::vector<float> q(static_cast<size_t>(groups) * kHd);
        for (auto& x : q) x = dist(rng);
        for (int32_t q_pos :
             {44, 13, 0}) {  // all slots, a causal cut inside the thin prefix, one slot
          std::vector<float> out(static_cast<size_t>(groups) * kHd),
              probs(static_cast<size_t>(groups) * n);
          ASSERT_TRUE(
              AttendGroup(q.data(), groups, kv, kHd, q_pos, 0, scale, probs.data(), out.data()));
          for (int g = 0; g < groups; ++g) {
            std::vector<double> want, want_p;
            Reference(f, q.data() + g * kHd, q_pos, want, want_p);
            ExpectClose(out.data() + g * kHd, want, 1e-5, "AttendGroup out");
            ExpectClose(probs.data() + g * n, want_p, 1e-6, "AttendGroup probs");
            std::vector<float> o1(kHd), p1(static_cast<size_t>(n));
            ASSERT_TRUE(
                AttendHead(q.data() + g * kHd, kv, kHd, q_pos, 0, scale, p1.data(), o1.data()));
            ExpectClose(o1.data(), want, 1e-5, "AttendHead out");
            ExpectClose(p1.data(), want_p, 1e-6, "AttendHead probs");
            ASSERT_TRUE(AttendHeadReference(q.data() + g * kHd, kv, kHd, q_pos, 0, scale, p1.data(),
                                            o1.data()));
            ExpectClose(o1.data(), want, 1e-6, "AttendHeadReference out");
          }
        }
        // The blocked prefill kernel: 5 queries of `groups` heads at positions 40..44.
        const int nq = 5;
        std::vector<float> qs(static_cast<size_t>(nq) * groups * kHd), out(qs.size());
        for (auto& x : qs) x = dist(rng);
        std::vector<int32_t> qpos = {40, 41, 42, 43, 44};
        const AttentionQueries queries{qs.data(), qpos.data(), nq, groups, kHd};
        AttendBlocked(queries, std::span<const KVHeadView>(&kv, 1), 0, scale, nullptr, out.data(),
                      1);
        for (int i = 0; i < nq; ++i) {
          for (int g = 0; g < groups; ++g) {
            std::vector<double> want, want_p;
            const size_t at = (static_cast<size_t>(i) * groups + g) * kHd;
            Reference(f, qs.data() + at, qpos[static_cast<size_t>(i)], want, want_p);
            ExpectClose(out.data() + at, want, 1e-5, "AttendBlocked out");
          }
        }
      }
    }
  }
}

TEST(ThinKeysCache, KeyAtBytesRetainAcrossTheBoundaryAndAppend) {
  const std::vector<int> kept = {1, 2, 5, 6, 10, 11, 12, 20};  // 8 of 32
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16}) {
    SCOPED_TRACE(DTypeName(t));
    Filled f = MakeHead(t, 12, 7, kept, 3);
    KVCache& c = f.cache;
    const size_t full_row = RowBytes(t, kHd), thin_row = RowBytes(t, kept.size());
    EXPECT_EQ(c.ThinSlots(0, 0), 7);
    EXPECT_EQ(c.LiveBytes(), 7 * (thin_row + full_row) + 5 * c.SlotBytes());
    EXPECT_EQ(c.PeakBytes(), 12 * c.SlotBytes());  // the peak was before the thinning
    std::vector<float> k(kHd);
    for (int j = 0; j < 12; ++j) {
      c.KeyAt(0, 0, j, k.data());
      EXPECT_EQ(k, f.keys[static_cast<size_t>(j)]) << "slot " << j;
    }
    // Keep 2 thin slots and 3 full ones: still a prefix, positions ascending.
    const std::vector<int> keep = {0, 4, 8, 9, 11};
    c.Retain(0, 0, keep);
    EXPECT_EQ(c.Size(0, 0), 5);
    EXPECT_EQ(c.ThinSlots(0, 0), 2);
    EXPECT_EQ(c.EvictedSlots(), 7);
    EXPECT_EQ(c.LiveBytes(), 2 * (thin_row + full_row) + 3 * c.SlotBytes());
    std::vector<float> v(kHd);
    for (size_t i = 0; i < keep.size(); ++i) {
      EXPECT_EQ(c.Positions(0, 0)[i], 2 * keep[i]);
      c.KeyAt(0, 0, static_cast<int>(i), k.data());
      c.ValueAt(0, 0, static_cast<int>(i), v.data());
      EXPECT_EQ(k, f.keys[static_cast<size_t>(keep[i])]) << "kept slot " << i;
      EXPECT_EQ(v, f.values[static_cast<size_t>(keep[i])]) << "kept slot " << i;
    }
    // A decode step appends a full key after the prefix.
    std::vector<float> nk(kHd, 0.5f), nv(kHd, -0.25f);
    c.Append(0, 0, nk.data(), nv.data(), 100, 1.0f);
    c.KeyAt(0, 0, 5, k.data());
    EXPECT_EQ(k, Rounded(t, nk));
    EXPECT_EQ(c.View(0, 0).n_thin, 2);
    // Evict every thin slot: the head has full keys only again.
    c.Retain(0, 0, std::vector<int>{2, 3, 4, 5});
    EXPECT_EQ(c.ThinSlots(0, 0), 0);
    EXPECT_TRUE(c.KeptChannels(0, 0).empty());
    EXPECT_EQ(c.LiveBytes(), 4 * c.SlotBytes());
    c.KeyAt(0, 0, 3, k.data());
    EXPECT_EQ(k, Rounded(t, nk));
  }
}

TEST(ThinKeysCache, RethinningAndRenumber) {
  const std::vector<int> kept = {0, 1, 2, 3, 16, 17, 18, 19};  // both halves of 4 RoPE pairs
  Filled f = MakeHead(DType::kF32, 10, 4, kept, 5);
  KVCache& c = f.cache;
  // A second ThinKeys over 6 slots with fewer channels: the old prefix keeps its zeros.
  const std::vector<int> kept2 = {0, 1, 2, 16, 17, 18, 25};
  c.ThinKeys(0, 0, kept2, 6);
  EXPECT_EQ(c.ThinSlots(0, 0), 6);
  EXPECT_EQ(c.LiveBytes(), 6 * (RowBytes(DType::kF32, kept2.size()) + RowBytes(DType::kF32, kHd)) +
                               4 * c.SlotBytes());
  std::vector<float> k(kHd);
  for (int j = 0; j < 10; ++j) {
    std::vector<float> want = f.keys[static_cast<size_t>(j)];
    if (j < 6) {
      for (int ch = 0; ch < kHd; ++ch) {
        if (!std::binary_search(kept2.begin(), kept2.end(), ch))
          want[static_cast<size_t>(ch)] = 0.0f;
      }
    }
    c.KeyAt(0, 0, j, k.data());
    EXPECT_EQ(k, want) << "slot " << j;
    f.keys[static_cast<size_t>(j)] = want;
  }
  // Renumber 0..9: a thin key is rotated and masked again (kept2 holds pairs (0,16), (1,17),
  // (2,18): those rotate exactly; channel 25's partner 9 is pruned, so only its own part stays).
  const std::vector<float> inv_freq = RopeInverseFrequencies(10000.0f, kHd);
  std::vector<int32_t> to(10);
  for (int j = 0; j < 10; ++j) to[static_cast<size_t>(j)] = j;
  c.Renumber(0, 0, to, inv_freq.data(), RopeStyle::kRotateHalf);
  for (int j = 0; j < 10; ++j) {
    std::vector<float> want = f.keys[static_cast<size_t>(j)];
    ApplyRope(want.data(), 1, kHd, j - 2 * j, inv_freq.data(), RopeStyle::kRotateHalf);
    if (j < 6) {
      for (int ch = 0; ch < kHd; ++ch) {
        if (!std::binary_search(kept2.begin(), kept2.end(), ch))
          want[static_cast<size_t>(ch)] = 0.0f;
      }
    }
    c.KeyAt(0, 0, j, k.data());
    for (int ch = 0; ch < kHd; ++ch)
      EXPECT_NEAR(k[static_cast<size_t>(ch)], want[static_cast<size_t>(ch)], 1e-5)
          << "slot " << j << " channel " << ch;
  }
}

}  // namespace
}  // namespace kvpress
