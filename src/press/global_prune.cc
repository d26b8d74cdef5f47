#include "press/global_prune.h"

#include <algorithm>
#include <cstdint>
#include <numeric>

namespace kvpress {

void PruneBottomFraction(KVCache& cache, const std::vector<float>& scores, int n_layers,
                         int n_kv_heads, int n, double ratio, bool layerwise) {
  if (scores.empty() || n <= 0) return;
  std::vector<char> evicted(scores.size(), 0);
  // Ascending score, ties: lower position (older slot) first.
  const auto bottom = [&](size_t begin, size_t count, int64_t k) {
    std::vector<size_t> idx(count);
    std::iota(idx.begin(), idx.end(), begin);
    const auto less = [&](size_t a, size_t b) {
      if (scores[a] != scores[b]) return scores[a] < scores[b];
      const size_t pa = a % static_cast<size_t>(n), pb = b % static_cast<size_t>(n);
      return pa != pb ? pa < pb : a < b;
    };
    k = std::min<int64_t>(k, static_cast<int64_t>(count));
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), less);
    for (int64_t i = 0; i < k; ++i) evicted[idx[static_cast<size_t>(i)]] = 1;
  };
  const size_t per_layer = static_cast<size_t>(n_kv_heads) * n;
  if (layerwise) {
    const int64_t k = static_cast<int64_t>(static_cast<double>(per_layer) * ratio);
    for (int l = 0; l < n_layers; ++l) bottom(static_cast<size_t>(l) * per_layer, per_layer, k);
  } else {
    bottom(0, scores.size(), static_cast<int64_t>(static_cast<double>(scores.size()) * ratio));
  }
  for (int l = 0; l < n_layers; ++l) {
    for (int g = 0; g < n_kv_heads; ++g) {
      const size_t base = (static_cast<size_t>(l) * n_kv_heads + g) * n;
      const auto pos = cache.Positions(l, g);
      std::vector<int> keep;
      for (int i = 0; i < static_cast<int>(pos.size()); ++i) {
        const auto p = static_cast<size_t>(pos[static_cast<size_t>(i)]);
        if (p >= static_cast<size_t>(n) || !evicted[base + p]) keep.push_back(i);
      }
      if (keep.size() != pos.size()) cache.Retain(l, g, keep);
    }
  }
}

}  // namespace kvpress
