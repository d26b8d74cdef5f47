#include "kv/kv_cache.h"

#include <algorithm>

#include "core/check.h"

namespace kvpress {

KVCache::KVCache(int n_layers, int n_kv_heads, int head_dim)
    : n_layers_(n_layers), n_kv_heads_(n_kv_heads), head_dim_(head_dim),
      heads_(static_cast<size_t>(n_layers * n_kv_heads)) {}

void KVCache::Append(int layer, int kv_head, const float* key, const float* value,
                     int32_t position) {
  Head& h = At(layer, kv_head);
  DCHECK(h.positions.empty() || h.positions.back() < position);
  h.keys.insert(h.keys.end(), key, key + head_dim_);
  h.values.insert(h.values.end(), value, value + head_dim_);
  h.positions.push_back(position);
  live_bytes_ += SlotBytes();
  peak_bytes_ = std::max(peak_bytes_, live_bytes_);
}

int KVCache::Size(int layer, int kv_head) const {
  return static_cast<int>(At(layer, kv_head).positions.size());
}

int KVCache::MaxSize() const {
  size_t m = 0;
  for (const Head& h : heads_) m = std::max(m, h.positions.size());
  return static_cast<int>(m);
}

KVHeadView KVCache::View(int layer, int kv_head) const {
  const Head& h = At(layer, kv_head);
  return KVHeadView{h.keys.data(), h.values.data(), h.positions.data(),
                    static_cast<int>(h.positions.size())};
}

void KVCache::Retain(int layer, int kv_head, std::span<const int> keep) {
  Head& h = At(layer, kv_head);
  const int n = static_cast<int>(h.positions.size());
  std::vector<int> idx(keep.begin(), keep.end());
  std::sort(idx.begin(), idx.end());
  CHECK(std::adjacent_find(idx.begin(), idx.end()) == idx.end()) << "duplicate index in Retain";
  CHECK(idx.empty() || (idx.front() >= 0 && idx.back() < n)) << "Retain index out of range";
  const size_t d = static_cast<size_t>(head_dim_);
  Head out;
  out.keys.reserve(idx.size() * d);
  out.values.reserve(idx.size() * d);
  out.positions.reserve(idx.size());
  for (int i : idx) {
    const size_t o = static_cast<size_t>(i) * d;
    out.keys.insert(out.keys.end(), h.keys.begin() + o, h.keys.begin() + o + d);
    out.values.insert(out.values.end(), h.values.begin() + o, h.values.begin() + o + d);
    out.positions.push_back(h.positions[static_cast<size_t>(i)]);
  }
  live_bytes_ -= static_cast<size_t>(n - static_cast<int>(idx.size())) * SlotBytes();
  h = std::move(out);
}

void KVCache::Clear() {
  for (Head& h : heads_) h = Head{};
  live_bytes_ = 0;
}

}  // namespace kvpress
