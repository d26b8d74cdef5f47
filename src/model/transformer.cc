#include "model/transformer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/threads.h"
#include "core/thread_pool.h"
#include "ops/activation.h"
#include "ops/attention.h"
#include "ops/attention_group.h"
#include "ops/flash_attention.h"
#include "ops/matmul.h"
#include "ops/norm.h"
#include "ops/rope.h"

namespace kvpress {
namespace {

// This thread's attention-probability scratch, at least `slots` long (reused across calls).
float* ProbsBuffer(int slots) {
  static thread_local std::vector<float> probs;
  if (probs.size() < static_cast<size_t>(slots)) probs.resize(static_cast<size_t>(slots));
  return probs.data();
}

}  // namespace

Transformer::Transformer(const Model& model, int threads, KernelMode mode)
    : model_(model),
      threads_(std::min(threads > 0 ? threads : DefaultThreadCount(), MaxThreads())),
      mode_(mode),
      inv_freq_(model.config.RopeInvFreq()) {
  if (mode_ == KernelMode::kReference) threads_ = 1;
}

KVCache Transformer::NewCache(DType dtype) const {
  const ModelConfig& c = model_.config;
  return KVCache(c.n_layers, c.n_kv_heads, c.head_dim, dtype);
}

void Transformer::Linear(const MatrixView& w, const float* x, int n, float* y) {
  if (mode_ == KernelMode::kReference) {
    MatMulReference(w, x, n, y);
  } else {
    MatMul(w, x, n, y, threads_);
  }
}

Status Transformer::CheckTokenIds(std::span<const int32_t> tokens) const {
  for (int32_t id : tokens) {
    if (id < 0 || id >= model_.config.vocab_size) {
      return InvalidArgument(fmt::format("token id {} is outside the vocabulary [0, {})", id,
                                         model_.config.vocab_size));
    }
  }
  return Status::Ok();
}

Status Transformer::Forward(std::span<const int32_t> tokens, std::span<const int32_t> positions,
                            KVCache& cache, const ForwardOptions& options,
                            std::vector<float>& logits) {
  const ModelConfig& c = model_.config;
  if (tokens.empty()) return InvalidArgument("Forward: no tokens");
  if (tokens.size() != positions.size())
    return InvalidArgument("Forward: tokens/positions differ in length");
  RETURN_IF_ERROR(CheckTokenIds(tokens));
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (positions[i] < 0 || (i > 0 && positions[i] <= positions[i - 1])) {
      return InvalidArgument("Forward: positions must be non-negative and increasing");
    }
  }
  const size_t V = static_cast<size_t>(c.vocab_size);
  const int n_total = static_cast<int>(tokens.size());
  logits.resize((options.all_logits ? tokens.size() : 1) * V);
  int chunk = options.max_chunk > 0 ? options.max_chunk : n_total;
  ForwardInfo info{options.phase, n_total, true, true};
  int window = 0;
  if (options.hook != nullptr) {
    // The last chunk must hold every query of a requested window (e.g. SnapKV's last 64).
    window = std::min(options.hook->Request(info).last_queries, n_total);
    chunk = std::max(chunk, window);
  }
  std::vector<float> normed;
  for (int start = 0; start < n_total;) {
    int n = std::min(chunk, n_total - start);
    const int rest = n_total - start - n;
    if (rest > 0 && rest < window) n -= window - rest;  // leave `window` tokens for the last chunk
    info.first_chunk = start == 0;
    info.last_chunk = start + n == n_total;
    const RowGroup group{&cache, options.hook, 0, n, info};
    if (!ForwardRows(tokens.subspan(static_cast<size_t>(start), static_cast<size_t>(n)),
                     positions.subspan(static_cast<size_t>(start), static_cast<size_t>(n)), {&group, 1},
                     options.cancel)) {
      return Cancelled(fmt::format("cancelled during the prefill after {} of {} tokens", start, n_total));
    }
    // Final norm + LM head for the rows we need.
    if (options.all_logits || info.last_chunk) {
      const int first = options.all_logits ? 0 : n - 1;
      float* out = logits.data() + (options.all_logits ? static_cast<size_t>(start) * V : 0);
      Head(first, n - first, normed, out);
    }
    start += n;
  }
  return Status::Ok();
}

Status Transformer::ForwardBatch(std::span<const int32_t> tokens,
                                 std::span<const int32_t> positions,
                                 std::span<KVCache* const> caches,
                                 std::span<LayerHook* const> hooks, ForwardPhase phase,
                                 std::vector<float>& logits) {
  const ModelConfig& c = model_.config;
  const size_t B = tokens.size();
  if (B == 0) return InvalidArgument("ForwardBatch: no tokens");
  if (positions.size() != B || caches.size() != B || hooks.size() != B) {
    return InvalidArgument("ForwardBatch: tokens, positions, caches and hooks differ in length");
  }
  std::vector<RowGroup> groups;
  groups.reserve(B);
  RETURN_IF_ERROR(CheckTokenIds(tokens));
  for (size_t b = 0; b < B; ++b) {
    if (positions[b] < 0 || caches[b] == nullptr)
      return InvalidArgument("ForwardBatch: bad position or cache");
    groups.push_back(
        RowGroup{caches[b], hooks[b], static_cast<int>(b), 1, ForwardInfo{phase, 1, true, true}});
  }
  ForwardRows(tokens, positions, groups);
  logits.resize(B * static_cast<size_t>(c.vocab_size));
  std::vector<float> normed;
  Head(0, static_cast<int>(B), normed, logits.data());
  return Status::Ok();
}

void Transformer::Head(int first, int rows, std::vector<float>& normed, float* logits) {
  const ModelConfig& c = model_.config;
  const size_t d = static_cast<size_t>(c.hidden_size);
  normed.resize(static_cast<size_t>(rows) * d);
  RmsNorm(x_.data() + static_cast<size_t>(first) * d, model_.weights.final_norm.data(),
          normed.data(), rows, d, c.rms_norm_eps);
  Linear(model_.weights.lm_head, normed.data(), rows, logits);
}

bool Transformer::ForwardRows(std::span<const int32_t> tokens, std::span<const int32_t> positions,
                              std::span<const RowGroup> groups, const std::atomic<bool>* cancel) {
  const ModelConfig& c = model_.config;
  const ModelWeights& w = model_.weights;
  const int n = static_cast<int>(tokens.size());
  const size_t d = static_cast<size_t>(c.hidden_size), hd = static_cast<size_t>(c.head_dim);
  const size_t qd = static_cast<size_t>(c.n_heads) * hd,
               kvd = static_cast<size_t>(c.n_kv_heads) * hd;
  const size_t f = static_cast<size_t>(c.intermediate_size);
  const size_t un = static_cast<size_t>(n);
  x_.resize(un * d);
  xb_.resize(un * d);
  q_.resize(un * qd);
  k_.resize(un * kvd);
  v_.resize(un * kvd);
  att_.resize(un * qd);
  proj_.resize(un * d);
  gate_.resize(un * f);
  up_.resize(un * f);

  for (int t = 0; t < n; ++t) {
    DequantizeRow(w.embed.dtype, w.embed.Row(tokens[static_cast<size_t>(t)]),
                  x_.data() + static_cast<size_t>(t) * d, d);
  }
  // Several groups on distinct caches (batched decoding) append first, then attend concurrently.
  bool together = groups.size() > 1 && threads_ > 1;
  for (size_t i = 0; together && i < groups.size(); ++i) {
    for (size_t j = 0; j < i; ++j) together = together && groups[i].cache != groups[j].cache;
  }
  std::vector<AttentionRequest> requests;  // [groups], when together
  for (int l = 0; l < c.n_layers; ++l) {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) return false;
    const LayerWeights& L = w.layers[static_cast<size_t>(l)];
    RmsNorm(x_.data(), L.attn_norm.data(), xb_.data(), n, d, c.rms_norm_eps);
    Linear(L.wq, xb_.data(), n, q_.data());
    Linear(L.wk, xb_.data(), n, k_.data());
    Linear(L.wv, xb_.data(), n, v_.data());
    // Appends each row's K/V to its group's cache (biases, q/k norms and RoPE applied first).
    auto append = [&](const RowGroup& grp) {
      KVCache& cache = *grp.cache;
      for (int t = grp.first; t < grp.first + grp.n; ++t) {
        float* qt = q_.data() + static_cast<size_t>(t) * qd;
        float* kt = k_.data() + static_cast<size_t>(t) * kvd;
        float* vt = v_.data() + static_cast<size_t>(t) * kvd;
        if (c.qkv_bias) {
          for (size_t i = 0; i < qd; ++i) qt[i] += L.bq[i];
          for (size_t i = 0; i < kvd; ++i) kt[i] += L.bk[i];
          for (size_t i = 0; i < kvd; ++i) vt[i] += L.bv[i];
        }
        if (c.qk_norm) {
          RmsNorm(qt, L.q_norm.data(), qt, c.n_heads, hd, c.rms_norm_eps);
          RmsNorm(kt, L.k_norm.data(), kt, c.n_kv_heads, hd, c.rms_norm_eps);
        }
        const int32_t pos = positions[static_cast<size_t>(t)];
        float key_norms[1024];  // pre-RoPE ‖k‖ per KV head (KV ≤ 1024 checked by ValidateConfig)
        for (int g = 0; g < c.n_kv_heads; ++g) {
          double ss = 0.0;
          const float* kg = kt + static_cast<size_t>(g) * hd;
          for (size_t i = 0; i < hd; ++i) ss += static_cast<double>(kg[i]) * kg[i];
          key_norms[g] = static_cast<float>(std::sqrt(ss));
        }
        ApplyRope(qt, c.n_heads, c.head_dim, pos, inv_freq_.data(), c.rope_style);
        ApplyRope(kt, c.n_kv_heads, c.head_dim, pos, inv_freq_.data(), c.rope_style);
        for (int g = 0; g < c.n_kv_heads; ++g) {
          cache.Append(l, g, kt + static_cast<size_t>(g) * hd, vt + static_cast<size_t>(g) * hd,
                       pos, key_norms[g]);
        }
      }
      if (grp.hook != nullptr) {
        LayerHookContext ctx;
        ctx.layer = l;
        ctx.info = grp.info;
        ctx.cache = &cache;
        ctx.positions = positions.subspan(static_cast<size_t>(grp.first), static_cast<size_t>(grp.n));
        ctx.queries = q_.data() + static_cast<size_t>(grp.first) * qd;
        ctx.hidden = xb_.data() + static_cast<size_t>(grp.first) * d;
        ctx.n_tokens = grp.n;
        ctx.sliding_window = c.sliding_window;
        ctx.wo = &L.wo;
        grp.hook->BeforeAttention(ctx);
      }
    };
    // Attends the group's rows (unless `attended`) and runs its hook.
    auto finish = [&](const RowGroup& grp, const AttentionRequest& request, bool attended) {
      KVCache& cache = *grp.cache;
      const std::span<const int32_t> group_positions =
          positions.subspan(static_cast<size_t>(grp.first), static_cast<size_t>(grp.n));
      if (!attended) Attention(l, grp.first, grp.n, group_positions, cache, request);
      if (grp.hook != nullptr) {
        LayerHookContext ctx;
        ctx.layer = l;
        ctx.info = grp.info;
        ctx.cache = &cache;
        ctx.positions = group_positions;
        ctx.queries = q_.data() + static_cast<size_t>(grp.first) * qd;
        ctx.hidden = xb_.data() + static_cast<size_t>(grp.first) * d;
        ctx.n_tokens = grp.n;
        ctx.sliding_window = c.sliding_window;
        ctx.wo = &L.wo;
        ctx.stats = request.Any() ? &stats_ : nullptr;
        grp.hook->AfterAttention(ctx);
      }
    };
    if (!together) {
      for (const RowGroup& grp : groups) {
        append(grp);
        finish(grp, grp.hook != nullptr ? grp.hook->Request(grp.info) : AttentionRequest{}, false);
      }
    } else {
      // Groups whose hook asks for no attention statistics attend concurrently, one group per task
      // (batched decoding: one row each); the others one at a time, as statistics land in stats_.
      requests.clear();
      for (const RowGroup& grp : groups) {
        append(grp);
        requests.push_back(grp.hook != nullptr ? grp.hook->Request(grp.info) : AttentionRequest{});
      }
      ParallelFor(static_cast<int64_t>(groups.size()), threads_, [&](int64_t i) {
        const RowGroup& grp = groups[static_cast<size_t>(i)];
        if (requests[static_cast<size_t>(i)].Any()) return;
        Attention(l, grp.first, grp.n,
                  positions.subspan(static_cast<size_t>(grp.first), static_cast<size_t>(grp.n)),
                  *grp.cache, requests[static_cast<size_t>(i)]);
      });
      for (size_t i = 0; i < groups.size(); ++i) finish(groups[i], requests[i], !requests[i].Any());
    }
    Linear(L.wo, att_.data(), n, proj_.data());
    for (size_t i = 0; i < un * d; ++i) x_[i] += proj_[i];
    RmsNorm(x_.data(), L.ffn_norm.data(), xb_.data(), n, d, c.rms_norm_eps);
    Linear(L.w_gate, xb_.data(), n, gate_.data());
    Linear(L.w_up, xb_.data(), n, up_.data());
    SiluMul(gate_.data(), up_.data(), un * f);
    Linear(L.w_down, gate_.data(), n, proj_.data());
    for (size_t i = 0; i < un * d; ++i) x_[i] += proj_[i];
  }
  return true;
}

void Transformer::Attention(int layer, int row0, int n, std::span<const int32_t> positions,
                            const KVCache& cache, const AttentionRequest& request) {
  const ModelConfig& c = model_.config;
  const int hd = c.head_dim;
  const int group = c.n_heads / c.n_kv_heads;  // query heads per KV head (HF repeat_kv order)
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const bool reference = mode_ == KernelMode::kReference;
  const int max_slots = cache.MaxSize(layer);
  const bool want_stats = request.Any();
  // Window = the last `w` queries of this chunk (the forward makes the last chunk hold them all).
  const int window = std::min(request.last_queries, n);
  if (want_stats) {
    stats_.n_heads = c.n_heads;
    stats_.group = group;
    stats_.window = window;
    stats_.all_sum.assign(request.sum_all_queries ? static_cast<size_t>(c.n_heads) : 0, {});
    stats_.window_sum.assign(window > 0 ? static_cast<size_t>(c.n_heads) : 0, {});
    for (int h = 0; h < c.n_heads; ++h) {
      const size_t slots = static_cast<size_t>(cache.Size(layer, h / group));
      if (request.sum_all_queries) stats_.all_sum[static_cast<size_t>(h)].assign(slots, 0.0f);
      if (window > 0) stats_.window_sum[static_cast<size_t>(h)].assign(slots, 0.0f);
    }
  }
  if (!reference && PreferBlockedAttention(n, group)) {
    std::vector<KVHeadView> views;  // [n_kv_heads]
    for (int g = 0; g < c.n_kv_heads; ++g) views.push_back(cache.View(layer, g));
    std::vector<float*> all_rows, window_rows;  // [n_heads] each, when requested
    for (auto& row : stats_.all_sum) all_rows.push_back(row.data());
    for (auto& row : stats_.window_sum) window_rows.push_back(row.data());
    const AttentionColumnSums sums{all_rows.empty() ? nullptr : all_rows.data(),
                                   window_rows.empty() ? nullptr : window_rows.data(), window};
    const AttentionQueries queries{q_.data() + static_cast<size_t>(row0) * c.n_heads * hd,
                                   positions.data(), n, c.n_heads, hd};
    AttendBlocked(queries, views, c.sliding_window, scale, want_stats ? &sums : nullptr,
                  att_.data() + static_cast<size_t>(row0) * c.n_heads * hd, threads_);
    return;
  }
  auto attend = [&](int t, int h, float* probs) {
    const KVHeadView kv = cache.View(layer, h / group);
    const float* q = q_.data() + (static_cast<size_t>(row0 + t) * c.n_heads + h) * hd;
    float* out = att_.data() + (static_cast<size_t>(row0 + t) * c.n_heads + h) * hd;
    const int32_t pos = positions[static_cast<size_t>(t)];
    if (reference) {
      AttendHeadReference(q, kv, hd, pos, c.sliding_window, scale, probs, out);
    } else {
      AttendHead(q, kv, hd, pos, c.sliding_window, scale, probs, out);
    }
    if (!want_stats) return;
    if (request.sum_all_queries) {
      float* acc = stats_.all_sum[static_cast<size_t>(h)].data();
      for (int j = 0; j < kv.n; ++j) acc[j] += probs[j];
    }
    if (t >= n - window) {
      float* acc = stats_.window_sum[static_cast<size_t>(h)].data();
      for (int j = 0; j < kv.n; ++j) acc[j] += probs[j];
    }
  };
  if (!reference && group <= kMaxAttendGroup) {
    // Decoding and short chunks: one (query, KV head) item attends its whole GQA group at once,
    // reading each key and value row once for the group's query heads.
    auto attend_group = [&](int t, int kvh, float* probs) {
      const KVHeadView kv = cache.View(layer, kvh);
      const size_t first = (static_cast<size_t>(row0 + t) * c.n_heads + static_cast<size_t>(kvh * group)) * hd;
      AttendGroup(q_.data() + first, group, kv, hd, positions[static_cast<size_t>(t)], c.sliding_window, scale,
                  probs, att_.data() + first);
      if (!want_stats) return;
      for (int g = 0; g < group; ++g) {
        const size_t h = static_cast<size_t>(kvh * group + g);
        const float* p = probs + static_cast<size_t>(g) * static_cast<size_t>(kv.n);
        if (request.sum_all_queries) {
          float* acc = stats_.all_sum[h].data();
          for (int j = 0; j < kv.n; ++j) acc[j] += p[j];
        }
        if (t >= n - window) {
          float* acc = stats_.window_sum[h].data();
          for (int j = 0; j < kv.n; ++j) acc[j] += p[j];
        }
      }
    };
    if (want_stats) {
      // One thread owns each KV head (and so its query heads' statistic rows).
      const bool parallel = threads_ > 1 && c.n_kv_heads > 1 && static_cast<int64_t>(n) * max_slots * group >= 1024;
      ParallelFor(c.n_kv_heads, parallel ? threads_ : 1, [&](int64_t kvh) {
        float* probs = ProbsBuffer(group * max_slots);
        for (int t = 0; t < n; ++t) attend_group(t, static_cast<int>(kvh), probs);
      });
      return;
    }
    const int64_t work = static_cast<int64_t>(n) * c.n_kv_heads;
    const bool parallel = threads_ > 1 && work * max_slots * group >= 4096;
    ParallelFor(work, parallel ? threads_ : 1, [&](int64_t item) {
      attend_group(static_cast<int>(item / c.n_kv_heads), static_cast<int>(item % c.n_kv_heads),
                   ProbsBuffer(group * max_slots));
    });
    return;
  }
  if (want_stats) {
    // One thread owns each query head so its statistic rows are written without races.
    const bool parallel =
        threads_ > 1 && c.n_heads > 1 && static_cast<int64_t>(n) * max_slots >= 1024;
    ParallelFor(c.n_heads, parallel ? threads_ : 1, [&](int64_t h) {
      float* probs = ProbsBuffer(max_slots);
      for (int t = 0; t < n; ++t) attend(t, static_cast<int>(h), probs);
    });
    return;
  }
  const int64_t work = static_cast<int64_t>(n) * c.n_heads;
  const bool parallel = threads_ > 1 && work * max_slots >= 4096;
  ParallelFor(work, parallel ? threads_ : 1, [&](int64_t item) {
    attend(static_cast<int>(item / c.n_heads), static_cast<int>(item % c.n_heads),
           ProbsBuffer(max_slots));
  });
}

}  // namespace kvpress
