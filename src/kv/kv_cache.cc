#include "kv/kv_cache.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/check.h"
#include "core/thread_pool.h"

namespace kvpress {
namespace {

void Encode(DType t, const float* x, uint8_t* out, int n) {
  switch (t) {
    case DType::kF32:
      std::memcpy(out, x, sizeof(float) * static_cast<size_t>(n));
      return;
    case DType::kBF16:
      for (int i = 0; i < n; ++i) {
        const uint16_t b = F32ToBF16(x[i]);
        std::memcpy(out + 2 * i, &b, 2);
      }
      return;
    case DType::kF16:
      for (int i = 0; i < n; ++i) {
        const uint16_t b = F32ToF16(x[i]);
        std::memcpy(out + 2 * i, &b, 2);
      }
      return;
    default:
      CHECK(false) << DTypeName(t) << " KV cache is not supported";
  }
}

}  // namespace

KVCache::KVCache(int n_layers, int n_kv_heads, int head_dim, DType dtype)
    : n_layers_(n_layers),
      n_kv_heads_(n_kv_heads),
      head_dim_(head_dim),
      dtype_(dtype),
      heads_(static_cast<size_t>(n_layers * n_kv_heads)) {
  CHECK(!IsQuantized(dtype)) << DTypeName(dtype) << " KV cache is not supported";
}

void KVCache::Append(int layer, int kv_head, const float* key, const float* value, int32_t position,
                     float key_norm) {
  Head& h = At(layer, kv_head);
  DCHECK(h.positions.empty() || h.positions.back() < position);
  const size_t row = RowSize();
  h.keys.resize(h.keys.size() + row);
  h.values.resize(h.values.size() + row);
  Encode(dtype_, key, h.keys.data() + h.keys.size() - row, head_dim_);
  Encode(dtype_, value, h.values.data() + h.values.size() - row, head_dim_);
  h.positions.push_back(position);
  h.key_norms.push_back(key_norm);
  live_bytes_ += SlotBytes();
  peak_bytes_ = std::max(peak_bytes_, live_bytes_);
  ++appended_;
  peak_head_slots_ = std::max(peak_head_slots_, static_cast<int>(h.positions.size() - h.start));
}

int KVCache::Size(int layer, int kv_head) const {
  const Head& h = At(layer, kv_head);
  return static_cast<int>(h.positions.size() - h.start);
}

int KVCache::MaxSize() const {
  size_t m = 0;
  for (const Head& h : heads_) m = std::max(m, h.positions.size() - h.start);
  return static_cast<int>(m);
}

int KVCache::MaxSize(int layer) const {
  int m = 0;
  for (int g = 0; g < n_kv_heads_; ++g) m = std::max(m, Size(layer, g));
  return m;
}

KVHeadView KVCache::View(int layer, int kv_head) const {
  const Head& h = At(layer, kv_head);
  const size_t row = RowSize();
  KVHeadView v{dtype_, h.keys.data() + h.start * row, h.values.data() + h.start * row,
               h.positions.data() + h.start, static_cast<int>(h.positions.size() - h.start)};
  v.n_thin = h.n_thin;
  v.d_kept = static_cast<int>(h.kept_channels.size());
  v.thin_keys = h.thin_keys.data();
  v.kept_channels = h.kept_channels.data();
  return v;
}

int KVCache::ThinSlots(int layer, int kv_head) const { return At(layer, kv_head).n_thin; }

std::span<const int32_t> KVCache::KeptChannels(int layer, int kv_head) const {
  return At(layer, kv_head).kept_channels;
}

std::span<const int32_t> KVCache::Positions(int layer, int kv_head) const {
  const Head& h = At(layer, kv_head);
  return std::span<const int32_t>(h.positions).subspan(h.start);
}

std::span<const float> KVCache::KeyNorms(int layer, int kv_head) const {
  const Head& h = At(layer, kv_head);
  return std::span<const float>(h.key_norms).subspan(h.start);
}

void KVCache::KeyAt(int layer, int kv_head, int slot, float* out) const {
  const Head& h = At(layer, kv_head);
  if (slot < h.n_thin) {  // zero-filled, the kept channels scattered back
    const size_t d_kept = h.kept_channels.size();
    std::vector<float> kept(d_kept);  // [d_kept]
    DequantizeRow(dtype_, h.thin_keys.data() + static_cast<size_t>(slot) * RowBytes(dtype_, d_kept),
                  kept.data(), d_kept);
    std::fill(out, out + head_dim_, 0.0f);
    for (size_t c = 0; c < d_kept; ++c) out[h.kept_channels[c]] = kept[c];
    return;
  }
  DequantizeRow(dtype_,
                h.keys.data() + (h.start + static_cast<size_t>(slot - h.n_thin)) * RowSize(), out,
                static_cast<size_t>(head_dim_));
}

void KVCache::ValueAt(int layer, int kv_head, int slot, float* out) const {
  const Head& h = At(layer, kv_head);
  DequantizeRow(dtype_, h.values.data() + (h.start + static_cast<size_t>(slot)) * RowSize(), out,
                static_cast<size_t>(head_dim_));
}

void KVCache::SetValue(int layer, int kv_head, int slot, const float* value) {
  Head& h = At(layer, kv_head);
  CHECK(slot >= 0 && static_cast<size_t>(slot) < h.positions.size() - h.start);
  Encode(dtype_, value, h.values.data() + (h.start + static_cast<size_t>(slot)) * RowSize(),
         head_dim_);
}

void KVCache::ThinKeys(int layer, int kv_head, std::span<const int> kept, int n_slots) {
  Head& h = At(layer, kv_head);
  const int n = static_cast<int>(h.positions.size() - h.start);
  CHECK(n_slots >= h.n_thin && n_slots <= n) << "ThinKeys must cover the head's thin prefix";
  CHECK(std::is_sorted(kept.begin(), kept.end()) &&
        std::adjacent_find(kept.begin(), kept.end()) == kept.end());
  CHECK(kept.empty() || (kept.front() >= 0 && kept.back() < head_dim_));
  if (n_slots == 0) return;  // nothing to thin (and no earlier prefix: n_slots covers it)
  const size_t row = RowSize(), d_kept = kept.size(), thin_row = RowBytes(dtype_, d_kept);
  const size_t old_thin_row = RowBytes(dtype_, h.kept_channels.size());
  std::vector<uint8_t> thin(static_cast<size_t>(n_slots) * thin_row);  // [n_slots, d_kept]
  std::vector<float> k(static_cast<size_t>(head_dim_)), g(d_kept);     // [head_dim], [d_kept]
  for (int j = 0; j < n_slots; ++j) {
    KeyAt(layer, kv_head, j, k.data());
    for (size_t c = 0; c < d_kept; ++c) g[c] = k[static_cast<size_t>(kept[c])];
    Encode(dtype_, g.data(), thin.data() + static_cast<size_t>(j) * thin_row,
           static_cast<int>(d_kept));
    // The recorded norm follows the key (knorm after think scores what is left of it).
    DequantizeRow(dtype_, thin.data() + static_cast<size_t>(j) * thin_row, g.data(), d_kept);
    double ss = 0;
    for (float v : g) ss += static_cast<double>(v) * v;
    h.key_norms[h.start + static_cast<size_t>(j)] = static_cast<float>(std::sqrt(ss));
  }
  // The full keys of slots n_slots.. move to the front of a fresh buffer; start goes to 0.
  std::vector<uint8_t> keys(static_cast<size_t>(n - n_slots) * row);  // [n − n_slots, head_dim]
  for (int j = n_slots; j < n; ++j) {
    std::memcpy(keys.data() + static_cast<size_t>(j - n_slots) * row, FullKeyRow(h, j), row);
  }
  live_bytes_ -=
      static_cast<size_t>(h.n_thin) * old_thin_row + static_cast<size_t>(n_slots - h.n_thin) * row;
  live_bytes_ += static_cast<size_t>(n_slots) * thin_row;
  if (h.start > 0) {
    const auto drop = static_cast<std::ptrdiff_t>(h.start);
    h.values.erase(h.values.begin(), h.values.begin() + drop * static_cast<std::ptrdiff_t>(row));
    h.positions.erase(h.positions.begin(), h.positions.begin() + drop);
    h.key_norms.erase(h.key_norms.begin(), h.key_norms.begin() + drop);
    h.start = 0;
  }
  h.keys = std::move(keys);
  h.thin_keys = std::move(thin);
  h.kept_channels.assign(kept.begin(), kept.end());
  h.n_thin = n_slots;
}

KVCache::Removal KVCache::RetainThin(Head& h, std::span<const int> idx) const {
  const size_t row = RowSize(), thin_row = RowBytes(dtype_, h.kept_channels.size());
  const size_t n = h.positions.size(), kept = idx.size();  // start is 0 with a thin prefix
  const size_t kept_thin =
      static_cast<size_t>(std::lower_bound(idx.begin(), idx.end(), h.n_thin) - idx.begin());
  const size_t removed_thin = static_cast<size_t>(h.n_thin) - kept_thin;
  const size_t removed_full = (n - static_cast<size_t>(h.n_thin)) - (kept - kept_thin);
  const Removal removal{removed_thin * (thin_row + row) + removed_full * SlotBytes(),
                        static_cast<int64_t>(n - kept)};
  // Forward compaction: slot idx[k] → k (idx[k] ≥ k, so no row is overwritten before it is read).
  for (size_t k = 0; k < kept; ++k) {
    const size_t from = static_cast<size_t>(idx[k]);
    if (k < kept_thin) {
      if (from != k)
        std::memmove(h.thin_keys.data() + k * thin_row, h.thin_keys.data() + from * thin_row,
                     thin_row);
    } else {
      const size_t to_row = k - kept_thin, from_row = from - static_cast<size_t>(h.n_thin);
      if (from_row != to_row)
        std::memmove(h.keys.data() + to_row * row, h.keys.data() + from_row * row, row);
    }
    if (from != k) {
      std::memmove(h.values.data() + k * row, h.values.data() + from * row, row);
      h.positions[k] = h.positions[from];
      h.key_norms[k] = h.key_norms[from];
    }
  }
  h.n_thin = static_cast<int>(kept_thin);
  h.thin_keys.resize(kept_thin * thin_row);
  h.keys.resize((kept - kept_thin) * row);
  h.values.resize(kept * row);
  h.positions.resize(kept);
  h.key_norms.resize(kept);
  if (h.n_thin == 0) h.kept_channels.clear();
  if (kept * 2 < n) {  // most slots left (a prefill pruned to its budget): release their memory
    h.thin_keys.shrink_to_fit();
    h.keys.shrink_to_fit();
    h.values.shrink_to_fit();
    h.positions.shrink_to_fit();
    h.key_norms.shrink_to_fit();
  }
  return removal;
}

void KVCache::Retain(int layer, int kv_head, std::span<const int> keep) {
  const Removal removal = RetainStorage(At(layer, kv_head), keep);
  live_bytes_ -= removal.bytes;
  evicted_ += removal.slots;
}

void KVCache::RetainHeads(int layer, std::span<const int> kv_heads,
                          std::span<const std::vector<int>> keeps, int threads) {
  CHECK_EQ(kv_heads.size(), keeps.size());
  std::vector<Removal> removals(kv_heads.size());  // [kv_heads]
  // Parallel only when there is enough to move for a region to pay (a decode step's eviction
  // moves ~n/4 slots per head; below ~64 slots a head is a few hundred nanoseconds).
  size_t slots = 0;
  for (const std::vector<int>& keep : keeps) slots += keep.size();
  const bool parallel = threads > 1 && kv_heads.size() > 1 && slots >= 64 * kv_heads.size();
  ParallelFor(static_cast<int64_t>(kv_heads.size()), parallel ? threads : 1, [&](int64_t i) {
    removals[static_cast<size_t>(i)] =
        RetainStorage(At(layer, kv_heads[static_cast<size_t>(i)]), keeps[static_cast<size_t>(i)]);
  });
  for (const Removal& removal : removals) {
    live_bytes_ -= removal.bytes;
    evicted_ += removal.slots;
  }
}

KVCache::Removal KVCache::RetainStorage(Head& h, std::span<const int> keep) const {
  const int n = static_cast<int>(h.positions.size() - h.start);
  std::vector<int> idx(keep.begin(), keep.end());
  if (!std::is_sorted(idx.begin(), idx.end())) std::sort(idx.begin(), idx.end());
  CHECK(std::adjacent_find(idx.begin(), idx.end()) == idx.end()) << "duplicate index in Retain";
  CHECK(idx.empty() || (idx.front() >= 0 && idx.back() < n)) << "Retain index out of range";
  if (h.n_thin > 0) return static_cast<int>(idx.size()) < n ? RetainThin(h, idx) : Removal{};
  const size_t row = RowSize();
  const size_t kept = idx.size();
  const int removed = n - static_cast<int>(kept);
  const Removal removal{static_cast<size_t>(removed) * SlotBytes(), removed};
  if (removed == 0) return removal;
  // Moves `count` consecutive slots from storage row `from` to row `to` (one memmove per array: a
  // decode step's single eviction shifts one run, not ~n/4 slots one by one).
  auto move_run = [&](size_t from, size_t to, size_t count) {
    if (from == to) return;
    std::memmove(h.keys.data() + to * row, h.keys.data() + from * row, count * row);
    std::memmove(h.values.data() + to * row, h.values.data() + from * row, count * row);
    std::memmove(h.positions.data() + to, h.positions.data() + from, count * sizeof(int32_t));
    std::memmove(h.key_norms.data() + to, h.key_norms.data() + from, count * sizeof(float));
  };
  const size_t storage = h.positions.size();
  if (kept * 2 >= storage) {
    // Few slots leave (a decode step evicts one): compact in place, no allocation, moving whichever
    // side of the evicted slots is smaller. Dead rows in front stay below the live count.
    size_t front_moves = 0,
           back_moves = 0;  // kept slots after the first / before the last eviction
    for (size_t k = 0; k < kept; ++k) {
      if (static_cast<size_t>(idx[k]) != k) ++front_moves;
      if (static_cast<size_t>(idx[k]) != k + static_cast<size_t>(removed)) ++back_moves;
    }
    if (back_moves < front_moves && h.start + static_cast<size_t>(removed) <= kept) {
      const size_t new_start = h.start + static_cast<size_t>(removed);
      // Runs of consecutive kept slots, last first (each lands at or after where it was).
      for (size_t end = kept; end > 0;) {
        size_t begin = end - 1;
        while (begin > 0 && idx[begin - 1] + 1 == idx[begin]) --begin;
        move_run(h.start + static_cast<size_t>(idx[begin]), new_start + begin, end - begin);
        end = begin;
      }
      h.start = new_start;
      return removal;
    }
    // Runs of consecutive kept slots, first first (each lands at or before where it was).
    for (size_t begin = 0; begin < kept;) {
      size_t end = begin + 1;
      while (end < kept && idx[end - 1] + 1 == idx[end]) ++end;
      move_run(h.start + static_cast<size_t>(idx[begin]), begin, end - begin);
      begin = end;
    }
    h.start = 0;
    h.keys.resize(kept * row);
    h.values.resize(kept * row);
    h.positions.resize(kept);
    h.key_norms.resize(kept);
    return removal;
  }
  // Most slots leave (a long prefill pruned to its budget): copy the survivors into fresh vectors
  // so the memory of the evicted ones is really released.
  Head out;
  out.keys.resize(kept * row);
  out.values.resize(kept * row);
  out.positions.reserve(kept);
  out.key_norms.reserve(kept);
  for (size_t k = 0; k < kept; ++k) {
    const size_t o = (h.start + static_cast<size_t>(idx[k])) * row;
    std::memcpy(out.keys.data() + k * row, h.keys.data() + o, row);
    std::memcpy(out.values.data() + k * row, h.values.data() + o, row);
    out.positions.push_back(h.positions[h.start + static_cast<size_t>(idx[k])]);
    out.key_norms.push_back(h.key_norms[h.start + static_cast<size_t>(idx[k])]);
  }
  h = std::move(out);
  return removal;
}

void KVCache::SetSideBytes(size_t bytes) {
  live_bytes_ = live_bytes_ - side_bytes_ + bytes;
  side_bytes_ = bytes;
  peak_bytes_ = std::max(peak_bytes_, live_bytes_);
}

void KVCache::Clear() {
  for (Head& h : heads_) h = Head{};
  live_bytes_ = 0;
  side_bytes_ = 0;
  appended_ = 0;
  evicted_ = 0;
  peak_head_slots_ = 0;
}

double KVCache::RetainedFraction() const {
  if (appended_ == 0) return 1.0;
  return static_cast<double>(appended_ - evicted_) / static_cast<double>(appended_);
}

}  // namespace kvpress

namespace kvpress {

void KVCache::Renumber(int layer, int kv_head, std::span<const int32_t> positions,
                       const float* inv_freq, RopeStyle style) {
  Head& h = At(layer, kv_head);
  const size_t n = h.positions.size() - h.start;
  CHECK_EQ(positions.size(), n);
  CHECK(std::is_sorted(positions.begin(), positions.end()) &&
        std::adjacent_find(positions.begin(), positions.end()) == positions.end())
      << "Renumber needs strictly increasing positions";
  const int half = head_dim_ / 2;
  std::vector<float> k(static_cast<size_t>(head_dim_));  // [head_dim]
  // cos/sin of δ·θ_i for the current δ (ApplyRope's formula), recomputed only when δ changes: after
  // one eviction every later slot moves by the same δ = −1.
  std::vector<float> cos_t(static_cast<size_t>(half)),
      sin_t(static_cast<size_t>(half));  // [head_dim/2]
  int32_t table_delta = 0;
  for (size_t j = 0; j < n; ++j) {
    int32_t& old = h.positions[h.start + j];
    const int32_t delta = positions[j] - old;
    if (delta == 0) continue;
    if (delta != table_delta) {
      for (int i = 0; i < half; ++i) {
        const float angle = static_cast<float>(delta) * inv_freq[i];
        cos_t[static_cast<size_t>(i)] = std::cos(angle);
        sin_t[static_cast<size_t>(i)] = std::sin(angle);
      }
      table_delta = delta;
    }
    const bool thin = j < static_cast<size_t>(h.n_thin);
    const size_t d_kept = h.kept_channels.size(), thin_row = RowBytes(dtype_, d_kept);
    uint8_t* row = thin ? h.thin_keys.data() + j * thin_row : FullKeyRow(h, static_cast<int>(j));
    KeyAt(layer, kv_head, static_cast<int>(j), k.data());
    for (int i = 0; i < half; ++i) {
      const int a = style == RopeStyle::kRotateHalf ? i : 2 * i;
      const int b = style == RopeStyle::kRotateHalf ? i + half : 2 * i + 1;
      const float x0 = k[static_cast<size_t>(a)], x1 = k[static_cast<size_t>(b)];
      const float c = cos_t[static_cast<size_t>(i)], s = sin_t[static_cast<size_t>(i)];
      k[static_cast<size_t>(a)] = x0 * c - x1 * s;
      k[static_cast<size_t>(b)] = x1 * c + x0 * s;
    }
    if (thin) {  // back to the kept channels (what a rotation moved into a pruned one is dropped)
      std::vector<float> kept(d_kept);  // [d_kept]
      for (size_t c = 0; c < d_kept; ++c) kept[c] = k[static_cast<size_t>(h.kept_channels[c])];
      Encode(dtype_, kept.data(), row, static_cast<int>(d_kept));
    } else {
      Encode(dtype_, k.data(), row, head_dim_);
    }
    old = positions[j];
  }
}

int32_t KVCache::NextPosition() const {
  int32_t next = 0;
  for (const Head& h : heads_) {
    if (h.positions.size() > h.start) next = std::max(next, h.positions.back() + 1);
  }
  return next;
}

}  // namespace kvpress
