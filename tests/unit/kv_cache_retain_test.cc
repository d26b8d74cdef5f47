// KVCache::Retain against a plain list of slots: every eviction pattern a press produces (one slot
// per decode step anywhere, a run at the front or the back, scattered, most slots at once), in
// sequence with appends in between, must keep exactly the kept slots' keys, values, positions and
// key norms, in order. Retain picks between three ways of moving rows (compact toward the back,
// toward the front, or copy into fresh storage) and moves consecutive slots as one run.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
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

INSTANTIATE_TEST_SUITE_P(Dtypes, KVCacheRetain,
                         ::testing::Values(DType::kF32, DType::kF16, DType::kBF16),
                         [](const auto& info) { return std::string(DTypeName(info.param)); });

}  // namespace
}  // namespace kvpress
