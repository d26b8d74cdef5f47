#include "press/recent_queries.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "ops/matmul.h"

namespace kvpress {

void RecentQueries::Reset(int n_layers, int n_heads, int head_dim, int window) {
  n_heads_ = n_heads;
  head_dim_ = head_dim;
  window_ = window;
  const size_t L = static_cast<size_t>(std::max(n_layers, 0));
  // The rings grow with the queries pushed (up to `window`), so a window larger than the context
  // costs no memory beyond the tokens actually processed.
  q_.assign(L, {});
  pos_.assign(L, {});
  count_.assign(L, 0);
  next_.assign(L, 0);
}

void RecentQueries::Push(const LayerHookContext& ctx) {
  if (window_ <= 0 || ctx.queries == nullptr || ctx.n_tokens <= 0) return;
  const size_t l = static_cast<size_t>(ctx.layer);
  const size_t row = static_cast<size_t>(n_heads_) * head_dim_;
  for (int t = std::max(0, ctx.n_tokens - window_); t < ctx.n_tokens; ++t) {
    const int s = next_[l];
    if (static_cast<size_t>(s) >= pos_[l].size()) {  // still filling: s == count == size
      q_[l].resize((static_cast<size_t>(s) + 1) * row);
      pos_[l].resize(static_cast<size_t>(s) + 1);
    }
    std::memcpy(q_[l].data() + static_cast<size_t>(s) * row,
                ctx.queries + static_cast<size_t>(t) * row, row * sizeof(float));
    pos_[l][static_cast<size_t>(s)] = ctx.positions[static_cast<size_t>(t)];
    next_[l] = (s + 1) % window_;
    count_[l] = std::min(count_[l] + 1, window_);
  }
}

int RecentQueries::Slot(int layer, int i) const {
  const size_t l = static_cast<size_t>(layer);
  return ((next_[l] - count_[l] + i) % window_ + window_) % window_;
}

const float* RecentQueries::Query(int layer, int i) const {
  return q_[static_cast<size_t>(layer)].data() +
         static_cast<size_t>(Slot(layer, i)) * static_cast<size_t>(n_heads_) * head_dim_;
}

int32_t RecentQueries::Position(int layer, int i) const {
  return pos_[static_cast<size_t>(layer)][static_cast<size_t>(Slot(layer, i))];
}

std::vector<float> LoadKeys(const LayerHookContext& ctx, int kv_head) {
  const int n = ctx.cache->Size(ctx.layer, kv_head), d = ctx.cache->head_dim();
  std::vector<float> keys(static_cast<size_t>(n) * d);
  for (int j = 0; j < n; ++j)
    ctx.cache->KeyAt(ctx.layer, kv_head, j, keys.data() + static_cast<size_t>(j) * d);
  return keys;
}

std::vector<float> WindowImportance(const RecentQueries& queries, const LayerHookContext& ctx,
                                    int kv_head, std::span<const float> keys, int n_old,
                                    WindowAttention mode) {
  const int d = ctx.cache->head_dim();
  const int n = static_cast<int>(keys.size() / static_cast<size_t>(d));
  const int n_q = queries.Count(ctx.layer);
  std::vector<float> out(static_cast<size_t>(std::max(n_old, 0)), 0.0f);
  if (n_old <= 0 || n_q == 0) return out;
  const int n_kv = ctx.cache->n_kv_heads();
  const std::span<const int32_t> pos = ctx.cache->Positions(ctx.layer, kv_head);
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const int sw = ctx.sliding_window;
  auto visible = [&](int j, int32_t qp) {
    return pos[static_cast<size_t>(j)] <= qp && (sw <= 0 || pos[static_cast<size_t>(j)] > qp - sw);
  };
  const float kNegInf = -std::numeric_limits<float>::infinity();
  // Query heads of this KV head: g*group .. g*group+group-1 (HF repeat_kv order).
  const int group = queries.n_heads() / n_kv;
  const float* k = keys.data();
  if (mode == WindowAttention::kOfficialMaxLogits) {
    std::vector<float> m(static_cast<size_t>(n_old));
    for (int i = 0; i < n_q; ++i) {
      const float* q = queries.Query(ctx.layer, i);
      const int32_t qp = queries.Position(ctx.layer, i);
      float mx = kNegInf;
      for (int j = 0; j < n_old; ++j) {
        float v = kNegInf;
        if (visible(j, qp)) {
          for (int h = kv_head * group; h < (kv_head + 1) * group; ++h) {
            v = std::max(v, DotF32(q + static_cast<size_t>(h) * d, k + static_cast<size_t>(j) * d,
                                   static_cast<size_t>(d)) *
                                scale);
          }
        }
        m[static_cast<size_t>(j)] = v;
        mx = std::max(mx, v);
      }
      if (mx == kNegInf) continue;  // sees no older slot
      double sum = 0.0;
      for (int j = 0; j < n_old; ++j)
        sum += std::exp(static_cast<double>(m[static_cast<size_t>(j)]) - mx);
      for (int j = 0; j < n_old; ++j) {
        out[static_cast<size_t>(j)] += static_cast<float>(
            std::exp(static_cast<double>(m[static_cast<size_t>(j)]) - mx) / sum / n_q);
      }
    }
    return out;
  }
  // kForkMaxProbs
  std::vector<float> logits(static_cast<size_t>(n));
  std::vector<double> acc(static_cast<size_t>(n_old));
  for (int h = kv_head * group; h < (kv_head + 1) * group; ++h) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int i = 0; i < n_q; ++i) {
      const float* q = queries.Query(ctx.layer, i) + static_cast<size_t>(h) * d;
      const int32_t qp = queries.Position(ctx.layer, i);
      float mx = kNegInf;
      for (int j = 0; j < n; ++j) {
        logits[static_cast<size_t>(j)] =
            visible(j, qp)
                ? DotF32(q, k + static_cast<size_t>(j) * d, static_cast<size_t>(d)) * scale
                : kNegInf;
        mx = std::max(mx, logits[static_cast<size_t>(j)]);
      }
      if (mx == kNegInf) continue;
      double sum = 0.0;
      for (int j = 0; j < n; ++j)
        sum += std::exp(static_cast<double>(logits[static_cast<size_t>(j)]) - mx);
      for (int j = 0; j < n_old; ++j)
        acc[static_cast<size_t>(j)] +=
            std::exp(static_cast<double>(logits[static_cast<size_t>(j)]) - mx) / sum;
    }
    for (int j = 0; j < n_old; ++j) {
      const float v = static_cast<float>(acc[static_cast<size_t>(j)] / n_q);
      out[static_cast<size_t>(j)] =
          h == kv_head * group ? v : std::max(out[static_cast<size_t>(j)], v);
    }
  }
  return out;
}

}  // namespace kvpress
