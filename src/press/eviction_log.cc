#include "press/eviction_log.h"

#include <fmt/format.h>

#include <cmath>
#include <memory>

#include "ops/attention.h"

namespace kvpress {

StatusOr<std::unique_ptr<EvictionLog>> EvictionLog::Open(const std::string& path) {
  auto log = std::unique_ptr<EvictionLog>(new EvictionLog());
  log->out_.open(path, std::ios::trunc);
  if (!log->out_) return NotFound(path + ": cannot create --eviction-log file");
  log->out_ << "prune_step,layer_idx,head_idx,kv_len_pre,attn_len,diff_indices,attn_loss,evicted_positions\n";
  return log;
}

std::vector<float> LastQueryAttention(const LayerHookContext& ctx, int kv_head, int n_heads, int head_dim) {
  const KVHeadView kv = ctx.cache->View(ctx.layer, kv_head);
  const int group = n_heads / ctx.cache->n_kv_heads();
  const int t = ctx.n_tokens - 1;
  std::vector<float> mean(static_cast<size_t>(kv.n), 0.0f), probs(static_cast<size_t>(kv.n)), out(static_cast<size_t>(head_dim));
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  for (int h = kv_head * group; h < (kv_head + 1) * group; ++h) {
    const float* q = ctx.queries + (static_cast<size_t>(t) * n_heads + h) * head_dim;
    AttendHead(q, kv, head_dim, ctx.positions[static_cast<size_t>(t)], ctx.sliding_window, scale, probs.data(), out.data());
    for (int j = 0; j < kv.n; ++j) mean[static_cast<size_t>(j)] += probs[static_cast<size_t>(j)] / static_cast<float>(group);
  }
  return mean;
}

void EvictionLog::Record(const LayerHookContext& ctx, int kv_head, std::span<const int> keep) {
  const int n = ctx.cache->Size(ctx.layer, kv_head);
  const int head_dim = ctx.cache->head_dim();
  // Query heads = width of the queries row / head_dim; recovered from the stats when present.
  const int n_heads = ctx.stats != nullptr && ctx.stats->n_heads > 0 ? ctx.stats->n_heads : n_heads_hint_;
  std::vector<float> attn;
  if (n_heads > 0) attn = LastQueryAttention(ctx, kv_head, n_heads, head_dim);
  std::vector<char> kept(static_cast<size_t>(n), 0);
  for (int j : keep) kept[static_cast<size_t>(j)] = 1;
  double loss = 0.0;
  std::string evicted;
  const std::span<const int32_t> pos = ctx.cache->Positions(ctx.layer, kv_head);
  for (int j = 0; j < n; ++j) {
    if (kept[static_cast<size_t>(j)]) continue;
    if (!attn.empty()) loss += attn[static_cast<size_t>(j)];
    if (!evicted.empty()) evicted += ' ';
    evicted += std::to_string(pos[static_cast<size_t>(j)]);
  }
  out_ << fmt::format("{},{},{},{},{},{},{},\"{}\"\n", prune_step_++, ctx.layer, kv_head, n, keep.size(),
                      std::max<int64_t>(0, n - static_cast<int64_t>(keep.size())),
                      attn.empty() ? std::string() : fmt::format("{:.6f}", loss), evicted);
}

}  // namespace kvpress
