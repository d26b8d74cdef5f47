#include "kv/kv_cache.h"

#include <algorithm>
#include <cstring>

#include "core/check.h"

namespace kvpress {
namespace {

void Encode(DType t, const float* x, uint8_t* out, int n) {
  switch (t) {
    case DType::kF32: std::memcpy(out, x, sizeof(float) * static_cast<size_t>(n)); return;
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
    case DType::kQ8_0: CHECK(false) << "Q8_0 KV cache is not supported";
  }
}

}  // namespace

KVCache::KVCache(int n_layers, int n_kv_heads, int head_dim, DType dtype)
    : n_layers_(n_layers), n_kv_heads_(n_kv_heads), head_dim_(head_dim), dtype_(dtype),
      heads_(static_cast<size_t>(n_layers * n_kv_heads)) {
  CHECK(dtype != DType::kQ8_0) << "Q8_0 KV cache is not supported";
}

void KVCache::Append(int layer, int kv_head, const float* key, const float* value,
                     int32_t position, float key_norm) {
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
  peak_head_slots_ = std::max(peak_head_slots_, static_cast<int>(h.positions.size()));
}

int KVCache::Size(int layer, int kv_head) const {
  return static_cast<int>(At(layer, kv_head).positions.size());
}

int KVCache::MaxSize() const {
  size_t m = 0;
  for (const Head& h : heads_) m = std::max(m, h.positions.size());
  return static_cast<int>(m);
}

int KVCache::MaxSize(int layer) const {
  int m = 0;
  for (int g = 0; g < n_kv_heads_; ++g) m = std::max(m, Size(layer, g));
  return m;
}

KVHeadView KVCache::View(int layer, int kv_head) const {
  const Head& h = At(layer, kv_head);
  return KVHeadView{dtype_, h.keys.data(), h.values.data(), h.positions.data(),
                    static_cast<int>(h.positions.size())};
}

std::span<const int32_t> KVCache::Positions(int layer, int kv_head) const {
  return At(layer, kv_head).positions;
}

std::span<const float> KVCache::KeyNorms(int layer, int kv_head) const {
  return At(layer, kv_head).key_norms;
}

void KVCache::KeyAt(int layer, int kv_head, int slot, float* out) const {
  const Head& h = At(layer, kv_head);
  DequantizeRow(dtype_, h.keys.data() + static_cast<size_t>(slot) * RowSize(), out, static_cast<size_t>(head_dim_));
}

void KVCache::ValueAt(int layer, int kv_head, int slot, float* out) const {
  const Head& h = At(layer, kv_head);
  DequantizeRow(dtype_, h.values.data() + static_cast<size_t>(slot) * RowSize(), out, static_cast<size_t>(head_dim_));
}

void KVCache::Retain(int layer, int kv_head, std::span<const int> keep) {
  Head& h = At(layer, kv_head);
  const int n = static_cast<int>(h.positions.size());
  std::vector<int> idx(keep.begin(), keep.end());
  std::sort(idx.begin(), idx.end());
  CHECK(std::adjacent_find(idx.begin(), idx.end()) == idx.end()) << "duplicate index in Retain";
  CHECK(idx.empty() || (idx.front() >= 0 && idx.back() < n)) << "Retain index out of range";
  const size_t row = RowSize();
  const int removed = n - static_cast<int>(idx.size());
  live_bytes_ -= static_cast<size_t>(removed) * SlotBytes();
  evicted_ += removed;
  if (idx.size() * 2 >= h.positions.capacity()) {
    // Few slots leave (a decode step evicts one): compact in place, no allocation. The capacity
    // kept is at most twice what is live, so memory stays bounded by the budget.
    for (size_t k = 0; k < idx.size(); ++k) {
      const size_t from = static_cast<size_t>(idx[k]);
      if (from == k) continue;
      std::memmove(h.keys.data() + k * row, h.keys.data() + from * row, row);
      std::memmove(h.values.data() + k * row, h.values.data() + from * row, row);
      h.positions[k] = h.positions[from];
      h.key_norms[k] = h.key_norms[from];
    }
    h.keys.resize(idx.size() * row);
    h.values.resize(idx.size() * row);
    h.positions.resize(idx.size());
    h.key_norms.resize(idx.size());
    return;
  }
  // Most slots leave (a long prefill pruned to its budget): copy the survivors into fresh vectors
  // so the memory of the evicted ones is really released.
  Head out;
  out.keys.resize(idx.size() * row);
  out.values.resize(idx.size() * row);
  out.positions.reserve(idx.size());
  out.key_norms.reserve(idx.size());
  for (size_t k = 0; k < idx.size(); ++k) {
    const size_t o = static_cast<size_t>(idx[k]) * row;
    std::memcpy(out.keys.data() + k * row, h.keys.data() + o, row);
    std::memcpy(out.values.data() + k * row, h.values.data() + o, row);
    out.positions.push_back(h.positions[static_cast<size_t>(idx[k])]);
    out.key_norms.push_back(h.key_norms[static_cast<size_t>(idx[k])]);
  }
  h = std::move(out);
}

void KVCache::Clear() {
  for (Head& h : heads_) h = Head{};
  live_bytes_ = 0;
  appended_ = 0;
  evicted_ = 0;
  peak_head_slots_ = 0;
}

double KVCache::RetainedFraction() const {
  if (appended_ == 0) return 1.0;
  return static_cast<double>(appended_ - evicted_) / static_cast<double>(appended_);
}

}  // namespace kvpress
