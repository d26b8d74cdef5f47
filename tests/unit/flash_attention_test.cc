// AttendBlocked against AttendHeadReference per (query, head): outputs and per-key column sums on
// random GQA heads over ragged caches (evicted slots, per-head lengths), f32/f16/bf16 storage,
// sliding windows and lengths that are not multiples of the tiles.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "ops/attention.h"
#include "ops/flash_attention.h"
#include "test_util.h"

namespace kvpress {
namespace {

struct Case {
  int n;        // queries in the chunk
  int heads;    // query heads
  int kv;       // KV heads
  int hd;       // head dim
  int history;  // positions before the chunk (some evicted per head)
  int window;   // sliding window (0 = none)
  DType dtype;
  int last;     // queries summed into the window column sums
};

// One KV head's storage: rows in `dtype`, ascending positions.
struct Head {
  std::vector<uint8_t> keys, values;  // [n, hd] in dtype
  std::vector<int32_t> positions;     // [n]
  KVHeadView View(DType t) const {
    return {t, keys.data(), values.data(), positions.data(), static_cast<int>(positions.size())};
  }
};

void StoreRow(DType t, const float* x, int hd, std::vector<uint8_t>& dst) {
  for (int i = 0; i < hd; ++i) {
    if (t == DType::kF32) {
      const auto* b = reinterpret_cast<const uint8_t*>(x + i);
      dst.insert(dst.end(), b, b + 4);
    } else {
      const uint16_t v = t == DType::kF16 ? F32ToF16(x[i]) : F32ToBF16(x[i]);
      dst.push_back(static_cast<uint8_t>(v & 0xff));
      dst.push_back(static_cast<uint8_t>(v >> 8));
    }
  }
}

void Check(const Case& c, int threads) {
  SCOPED_TRACE(::testing::Message() << "n=" << c.n << " heads=" << c.heads << "/" << c.kv << " hd=" << c.hd
                                    << " window=" << c.window << " dtype=" << DTypeName(c.dtype)
                                    << " threads=" << threads);
  std::mt19937 rng(static_cast<uint32_t>(c.n * 131 + c.heads * 7 + c.hd + c.window));
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::uniform_real_distribution<float> coin(0.0f, 1.0f);
  std::vector<int32_t> qpos(static_cast<size_t>(c.n));
  for (int t = 0; t < c.n; ++t) qpos[static_cast<size_t>(t)] = c.history + t + (t > c.n / 2 ? 3 : 0);
  std::vector<Head> heads(static_cast<size_t>(c.kv));
  std::vector<float> row(static_cast<size_t>(c.hd));
  for (int g = 0; g < c.kv; ++g) {
    Head& h = heads[static_cast<size_t>(g)];
    const float keep = 0.4f + 0.2f * static_cast<float>(g);  // ragged: each head evicted differently
    auto append = [&](int32_t pos) {
      for (float& v : row) v = 2.0f * dist(rng);
      StoreRow(c.dtype, row.data(), c.hd, h.keys);
      for (float& v : row) v = dist(rng);
      StoreRow(c.dtype, row.data(), c.hd, h.values);
      h.positions.push_back(pos);
    };
    for (int32_t pos = 0; pos < c.history; ++pos)
      if (coin(rng) < keep) append(pos);
    for (int32_t pos : qpos) append(pos);
  }
  std::vector<KVHeadView> views;
  for (const Head& h : heads) views.push_back(h.View(c.dtype));
  const size_t qd = static_cast<size_t>(c.heads) * c.hd;
  std::vector<float> q(static_cast<size_t>(c.n) * qd);  // [n, heads, hd]
  for (float& v : q) v = dist(rng);
  const int group = c.heads / c.kv;
  const float scale = 0.125f;

  std::vector<float> ref_out(q.size()), probs, o(static_cast<size_t>(c.hd));
  std::vector<std::vector<float>> ref_all(static_cast<size_t>(c.heads)), ref_win(static_cast<size_t>(c.heads));
  std::vector<std::vector<float>> all(static_cast<size_t>(c.heads)), win(static_cast<size_t>(c.heads));
  const int last = std::min(c.last, c.n);
  for (int h = 0; h < c.heads; ++h) {
    const KVHeadView& kv = views[static_cast<size_t>(h / group)];
    probs.assign(static_cast<size_t>(kv.n), 0.0f);
    ref_all[static_cast<size_t>(h)].assign(static_cast<size_t>(kv.n), 0.0f);
    ref_win[static_cast<size_t>(h)].assign(static_cast<size_t>(kv.n), 0.0f);
    all[static_cast<size_t>(h)].assign(static_cast<size_t>(kv.n), 0.0f);
    win[static_cast<size_t>(h)].assign(static_cast<size_t>(kv.n), 0.0f);
    for (int t = 0; t < c.n; ++t) {
      AttendHeadReference(q.data() + t * qd + h * c.hd, kv, c.hd, qpos[static_cast<size_t>(t)], c.window,
                          scale, probs.data(), ref_out.data() + t * qd + h * c.hd);
      for (int j = 0; j < kv.n; ++j) {
        ref_all[static_cast<size_t>(h)][static_cast<size_t>(j)] += probs[static_cast<size_t>(j)];
        if (t >= c.n - last) ref_win[static_cast<size_t>(h)][static_cast<size_t>(j)] += probs[static_cast<size_t>(j)];
      }
    }
  }
  std::vector<float*> all_rows, win_rows;
  for (auto& r : all) all_rows.push_back(r.data());
  for (auto& r : win) win_rows.push_back(r.data());
  const AttentionColumnSums sums{all_rows.data(), last > 0 ? win_rows.data() : nullptr, last};
  std::vector<float> out(q.size(), -7.0f);
  AttendBlocked({q.data(), qpos.data(), c.n, c.heads, c.hd}, views, c.window, scale, &sums, out.data(), threads);
  EXPECT_LT(testing::RelativeError(out, ref_out), 1e-5);
  for (int h = 0; h < c.heads; ++h) {
    EXPECT_LT(testing::RelativeError(all[static_cast<size_t>(h)], ref_all[static_cast<size_t>(h)]), 1e-5) << "head " << h;
    if (last > 0) {
      EXPECT_LT(testing::RelativeError(win[static_cast<size_t>(h)], ref_win[static_cast<size_t>(h)]), 1e-5) << "head " << h;
    }
  }
  // Without sums the outputs are the same.
  std::vector<float> plain(q.size(), -7.0f);
  AttendBlocked({q.data(), qpos.data(), c.n, c.heads, c.hd}, views, c.window, scale, nullptr, plain.data(), threads);
  EXPECT_EQ(plain, out);
}

TEST(FlashAttention, MatchesReferenceOnRaggedGqaHeads) {
  const std::vector<Case> cases = {
      {37, 6, 2, 64, 50, 0, DType::kF32, 8},     // GQA 3, tiles not full
      {100, 9, 3, 64, 130, 0, DType::kF16, 64},  // several query tiles, f16
      {45, 4, 4, 20, 70, 0, DType::kBF16, 1},    // MHA, odd head dim, bf16
      {70, 8, 1, 16, 40, 0, DType::kF32, 70},    // GQA 8 (MQA), window = whole chunk
      {33, 4, 2, 32, 90, 17, DType::kF32, 5},    // sliding window: early tiles skipped
      {5, 2, 1, 8, 0, 0, DType::kF32, 2},        // no history, a chunk smaller than a vector
      {200, 14, 2, 64, 300, 0, DType::kBF16, 0},  // GQA 7, no window sums
  };
  for (const Case& c : cases) {
    for (int threads : {1, 2}) Check(c, threads);
  }
}

TEST(FlashAttention, QueriesThatSeeNoSlotGetZeros) {
  // Window 2 and positions far past the history: the first query sees only itself, and a KV head
  // with no slot at all yields zeros and zero sums.
  const int hd = 16;
  std::vector<float> q(static_cast<size_t>(2 * 2 * hd), 1.0f), keys(static_cast<size_t>(hd), 0.5f);
  std::vector<int32_t> qpos = {10, 11}, kpos = {3};
  const KVHeadView empty{DType::kF32, keys.data(), keys.data(), kpos.data(), 1};
  std::vector<float> out(q.size(), -7.0f), all0(1, 0.0f), all1(1, 0.0f);
  float* rows[2] = {all0.data(), all1.data()};
  const AttentionColumnSums sums{rows, nullptr, 0};
  const KVHeadView views[1] = {empty};
  AttendBlocked({q.data(), qpos.data(), 2, 2, hd}, views, 2, 0.25f, &sums, out.data(), 1);
  for (float v : out) EXPECT_EQ(v, 0.0f);
  EXPECT_EQ(all0[0], 0.0f);
  EXPECT_EQ(all1[0], 0.0f);
}

}  // namespace
}  // namespace kvpress
