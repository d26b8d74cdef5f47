// KVCache::Retain against a plain list of slots: every eviction pattern a press produces (one slot
// per decode step anywhere, a run at the front or the back, scattered, most slots at once), in
// sequence with appends in between, must keep exactly the kept slots' keys, values, positions and
// key norms, in order. Retain picks between three ways of moving rows (compact toward the back,
// toward the front, or copy into fresh storage) and moves consecutive slots as one run; RetainHeads
// does the same for several heads on several threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "kv/kv_cache.h"

namespace kvpress {
namespace {

constexpr int kHeadDim = 8;

struct Slot {
  std::vector<float> key, value;
  int32_t position;
  float key_norm;
};

class RetainVsList {
 public:
  explicit RetainVsList(DType dtype) : cache_(1, 1, kHeadDim, dtype) {}

  void Append() {
    Slot s{std::vector<float>(kHeadDim), std::vector<float>(kHeadDim), next_,
           0.5f * static_cast<float>(next_)};
    // Small integers: exact in f16 and bf16 too.
    for (int i = 0; i < kHeadDim; ++i) {
      s.key[static_cast<size_t>(i)] = static_cast<float>((next_ * 7 + i) % 61 - 30);
      s.value[static_cast<size_t>(i)] = static_cast<float>((next_ * 5 + 3 * i) % 53 - 26);
    }
    cache_.Append(0, 0, s.key.data(), s.value.data(), next_, s.key_norm);
    slots_.push_back(std::move(s));
    ++next_;
  }

  void Retain(const std::vector<int>& keep) {
    cache_.Retain(0, 0, keep);
    std::vector<Slot> kept;
    for (int k : keep) kept.push_back(slots_[static_cast<size_t>(k)]);
    slots_ = std::move(kept);
  }

  void ExpectSame(const std::string& what) const {
    ASSERT_EQ(cache_.Size(0, 0), static_cast<int>(slots_.size())) << what;
    const auto positions = cache_.Positions(0, 0);
    const auto norms = cache_.KeyNorms(0, 0);
    std::vector<float> key(kHeadDim), value(kHeadDim);
    for (size_t i = 0; i < slots_.size(); ++i) {
      const int slot = static_cast<int>(i);
      cache_.KeyAt(0, 0, slot, key.data());
      cache_.ValueAt(0, 0, slot, value.data());
      ASSERT_EQ(positions[i], slots_[i].position) << what << " slot " << i;
      ASSERT_EQ(key, slots_[i].key) << what << " slot " << i;
      ASSERT_EQ(value, slots_[i].value) << what << " slot " << i;
      ASSERT_EQ(norms[i], slots_[i].key_norm) << what << " slot " << i;
    }
  }

  int size() const { return static_cast<int>(slots_.size()); }

 private:
  KVCache cache_;
  std::vector<Slot> slots_;
  int32_t next_ = 0;
};

std::vector<int> AllBut(int n, std::vector<int> evict) {
  std::vector<int> keep;
  for (int i = 0; i < n; ++i) {
    if (std::find(evict.begin(), evict.end(), i) == evict.end()) keep.push_back(i);
  }
  return keep;
}

class KVCacheRetain : public ::testing::TestWithParam<DType> {};

TEST_P(KVCacheRetain, EveryEvictionPatternKeepsExactlyTheKeptSlots) {
  RetainVsList c(GetParam());
  for (int i = 0; i < 40; ++i) c.Append();
  c.ExpectSame("appended");
  std::mt19937 rng(3);
  // A decode step's single eviction anywhere (front half: compaction toward the back; back half:
  // toward the front), with an append before each, as a budgeted press does.
  for (int step = 0; step < 60; ++step) {
    c.Append();
    const int victim = static_cast<int>(rng() % static_cast<unsigned>(c.size()));
    c.Retain(AllBut(c.size(), {victim}));
    c.ExpectSame("single eviction step " + std::to_string(step));
  }
  c.Retain(AllBut(c.size(), {0, 1, 2}));  // a run at the front
  c.ExpectSame("front run");
  c.Retain(AllBut(c.size(), {c.size() - 1, c.size() - 2}));  // a run at the back
  c.ExpectSame("back run");
  c.Retain(AllBut(c.size(), {1, 5, 6, 20, 33}));  // scattered
  c.ExpectSame("scattered");
  for (int i = 0; i < 5; ++i) c.Append();
  c.ExpectSame("appends after evictions");
  std::vector<int> half(static_cast<size_t>(c.size() / 3));
  std::iota(half.begin(), half.end(), c.size() / 2);  // most slots leave: fresh storage
  c.Retain(half);
  c.ExpectSame("most slots leave");
  c.Append();
  c.Retain(AllBut(c.size(), {}));  // nothing leaves
  c.ExpectSame("nothing leaves");
  c.Retain({});
  c.ExpectSame("everything leaves");
  c.Append();
  c.ExpectSame("append into an emptied head");
}

// RetainHeads (a layer's heads at once, their moves on two threads) against Retain head by head on
// a twin cache: same slots, same live bytes and eviction count, a head with a thin key prefix
// (ThinKeys) included, heads of different sizes, single evictions and most slots leaving.
TEST_P(KVCacheRetain, RetainHeadsOnTwoThreadsEqualsRetainHeadByHead) {
  constexpr int kHeads = 4;
  KVCache together(1, kHeads, kHeadDim, GetParam()), one_by_one(1, kHeads, kHeadDim, GetParam());
  std::vector<float> key(kHeadDim), value(kHeadDim);
  int32_t position = 0;
  auto append_all = [&](int per_head) {
    for (int i = 0; i < per_head; ++i, ++position) {
      for (int g = 0; g < kHeads; ++g) {
        for (int c = 0; c < kHeadDim; ++c) {
          key[static_cast<size_t>(c)] = static_cast<float>((position * 7 + 3 * g + c) % 61 - 30);
          value[static_cast<size_t>(c)] = static_cast<float>((position * 5 + g + 3 * c) % 53 - 26);
        }
        if (g == 3 && i % 3 == 0) continue;  // head 3 holds fewer slots
        together.Append(0, g, key.data(), value.data(), position,
                        0.25f * static_cast<float>(position));
        one_by_one.Append(0, g, key.data(), value.data(), position,
                          0.25f * static_cast<float>(position));
      }
    }
  };
  auto expect_same = [&](const std::string& what) {
    EXPECT_EQ(together.LiveBytes(), one_by_one.LiveBytes()) << what;
    EXPECT_EQ(together.EvictedSlots(), one_by_one.EvictedSlots()) << what;
    std::vector<float> a(kHeadDim), b(kHeadDim);
    for (int g = 0; g < kHeads; ++g) {
      ASSERT_EQ(together.Size(0, g), one_by_one.Size(0, g)) << what << " head " << g;
      const auto pa = together.Positions(0, g), pb = one_by_one.Positions(0, g);
      ASSERT_TRUE(std::equal(pa.begin(), pa.end(), pb.begin(), pb.end())) << what << " head " << g;
      for (int j = 0; j < together.Size(0, g); ++j) {
        together.KeyAt(0, g, j, a.data());
        one_by_one.KeyAt(0, g, j, b.data());
        ASSERT_EQ(a, b) << what << " head " << g << " key " << j;
        together.ValueAt(0, g, j, a.data());
        one_by_one.ValueAt(0, g, j, b.data());
        ASSERT_EQ(a, b) << what << " head " << g << " value " << j;
      }
    }
  };
  auto retain = [&](const std::vector<int>& heads, const std::vector<std::vector<int>>& keeps) {
    together.RetainHeads(0, heads, keeps, /*threads=*/2);
    for (size_t i = 0; i < heads.size(); ++i) one_by_one.Retain(0, heads[i], keeps[i]);
  };
  append_all(150);
  const std::vector<int> kept_channels = {1, 4, 6};
  together.ThinKeys(0, 2, kept_channels, 40);
  one_by_one.ThinKeys(0, 2, kept_channels, 40);
  expect_same("appended, head 2 thinned");
  std::mt19937 rng(5);
  for (int step = 0; step < 20; ++step) {  // decode steps: one append and one eviction per head
    append_all(1);
    std::vector<int> heads;
    std::vector<std::vector<int>> keeps;
    for (int g = 0; g < kHeads; ++g) {
      const int n = together.Size(0, g);
      heads.push_back(g);
      keeps.push_back(AllBut(n, {static_cast<int>(rng() % static_cast<unsigned>(n))}));
    }
    retain(heads, keeps);
    expect_same("decode step " + std::to_string(step));
  }
  std::vector<int> most(30);  // heads 0 and 2 only, most slots leave (fresh storage / thin path)
  std::iota(most.begin(), most.end(), 50);
  retain({0, 2}, {most, most});
  expect_same("most slots leave on two heads");
}

INSTANTIATE_TEST_SUITE_P(Dtypes, KVCacheRetain,
                         ::testing::Values(DType::kF32, DType::kF16, DType::kBF16),
                         [](const auto& info) { return std::string(DTypeName(info.param)); });

}  // namespace
}  // namespace kvpress
