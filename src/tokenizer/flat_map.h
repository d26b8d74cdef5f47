// Open-addressing hash tables for the tokenizer's hot lookups: token string -> id and
// (left id, right id) -> merge. They are built once at load time, read-only afterwards, and
// store keys contiguously, which makes loading a 150k-token vocabulary and probing it fast.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kvpress {

// Maps byte strings to int32 ids. Inserting an existing key overwrites its id (last wins, as a
// JSON object read by serde does).
class StringIdMap {
 public:
  void Reserve(size_t n) {
    if (n * 2 > slots_.size()) Rehash(NextPow2(n * 2));
  }
  void Insert(std::string_view key, int32_t id) {
    if ((count_ + 1) * 2 > slots_.size()) Rehash(NextPow2((count_ + 1) * 2));
    const uint64_t h = Hash(key);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.id < 0) {
        s = Slot{static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(key.size()), id,
                 static_cast<uint32_t>(h)};
        arena_.append(key);
        ++count_;
        return;
      }
      if (s.hash == static_cast<uint32_t>(h) && KeyOf(s) == key) {
        s.id = id;
        return;
      }
    }
  }
  // The id of `key`, or -1.
  int32_t Find(std::string_view key) const {
    if (count_ == 0) return -1;
    const uint64_t h = Hash(key);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.hash == static_cast<uint32_t>(h) && KeyOf(s) == key) return s.id;
    }
  }
  size_t size() const { return count_; }

 private:
  struct Slot {
    uint32_t offset = 0, length = 0;
    int32_t id = -1;
    uint32_t hash = 0;
  };
  static uint64_t Hash(std::string_view s) {  // FNV-1a over 8-byte words, then a final mix
    uint64_t h = 0xcbf29ce484222325ull ^ s.size();
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      uint64_t w;
      __builtin_memcpy(&w, s.data() + i, 8);
      h = (h ^ w) * 0x100000001b3ull;
      h ^= h >> 29;
    }
    for (; i < s.size(); ++i) h = (h ^ static_cast<unsigned char>(s[i])) * 0x100000001b3ull;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    h ^= h >> 32;
    return h;
  }
  static size_t NextPow2(size_t n) {
    size_t p = 16;
    while (p < n) p <<= 1;
    return p;
  }
  std::string_view KeyOf(const Slot& s) const { return {arena_.data() + s.offset, s.length}; }
  void Rehash(size_t capacity) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    for (const Slot& s : old) {
      if (s.id < 0) continue;
      for (size_t i = s.hash & mask_;; i = (i + 1) & mask_) {
        if (slots_[i].id < 0) {
          slots_[i] = s;
          break;
        }
      }
    }
  }
  std::vector<Slot> slots_;
  std::string arena_;
  size_t mask_ = 0;
  size_t count_ = 0;
};

// A BPE merge: its priority (lower merges first) and the id it produces.
struct MergeRule {
  uint32_t rank = 0;
  int32_t new_id = -1;
};

// Maps (left id, right id) to a MergeRule. Inserting an existing pair overwrites it.
class PairMergeMap {
 public:
  void Reserve(size_t n) {
    if (n * 2 > slots_.size()) Rehash(NextPow2(n * 2));
  }
  void Insert(int32_t left, int32_t right, MergeRule rule) {
    if ((count_ + 1) * 2 > slots_.size()) Rehash(NextPow2((count_ + 1) * 2));
    const uint64_t key = Key(left, right);
    for (size_t i = Mix(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].rule.new_id < 0) {
        slots_[i] = Slot{key, rule};
        ++count_;
        return;
      }
      if (slots_[i].key == key) {
        slots_[i].rule = rule;
        return;
      }
    }
  }
  // The merge of (left, right), or nullptr.
  const MergeRule* Find(int32_t left, int32_t right) const {
    if (count_ == 0) return nullptr;
    const uint64_t key = Key(left, right);
    for (size_t i = Mix(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.rule.new_id < 0) return nullptr;
      if (s.key == key) return &s.rule;
    }
  }
  size_t size() const { return count_; }

 private:
  struct Slot {
    uint64_t key = 0;
    MergeRule rule;
  };
  static uint64_t Key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  static uint64_t Mix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
  }
  static size_t NextPow2(size_t n) {
    size_t p = 16;
    while (p < n) p <<= 1;
    return p;
  }
  void Rehash(size_t capacity) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    for (const Slot& s : old) {
      if (s.rule.new_id < 0) continue;
      for (size_t i = Mix(s.key) & mask_;; i = (i + 1) & mask_) {
        if (slots_[i].rule.new_id < 0) {
          slots_[i] = s;
          break;
        }
      }
    }
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t count_ = 0;
};

}  // namespace kvpress
