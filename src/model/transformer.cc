#include "model/transformer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/thread_pool.h"
#include "core/threads.h"
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

// body(r0, r1) over row blocks covering [0, n): spread over the threads when there are enough
// rows for a parallel region to pay (batched decoding, prefill), else at once on this thread. For
// the per-row work between the matrix products (norms, SiLU), which one thread did for all rows
// while the others waited.
template <typename F>
void ForRowBlocks(int n, int threads, F&& body) {
  constexpr int kMinParallelRows = 8;
  if (threads <= 1 || n < kMinParallelRows) return body(0, n);
  const int64_t blocks = std::min(n, 2 * threads);
  ParallelFor(blocks, threads, [&](int64_t b) {
    body(static_cast<int>(n * b / blocks), static_cast<int>(n * (b + 1) / blocks));
  });
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

void Transformer::LinearMany(std::span<const MatMulTarget> targets, const float* x, int n) {
  if (mode_ == KernelMode::kReference) {
    for (const MatMulTarget& t : targets) MatMulReference(*t.w, x, n, t.y);
  } else {
    MatMulMany(targets, x, n, threads_);
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
  ForwardInfo info{options.phase, n_total, true, true, std::min(options.question_tokens, n_total)};
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
                     positions.subspan(static_cast<size_t>(start), static_cast<size_t>(n)),
                     {&group, 1}, options.cancel)) {
      return Cancelled(
          fmt::format("cancelled during the prefill after {} of {} tokens", start, n_total));
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

// Token embeddings of every row into the residual stream x_ [n, d].
void Transformer::EmbedTokens(std::span<const int32_t> tokens) {
  const ModelWeights& weights = model_.weights;
  const size_t d = static_cast<size_t>(model_.config.hidden_size);
  for (size_t t = 0; t < tokens.size(); ++t) {
    DequantizeRow(weights.embed.dtype, weights.embed.Row(tokens[t]), x_.data() + t * d, d);
  }
}

// normed_ = RmsNorm(x_) with `weight` [d] for n rows, rows spread over the threads.
void Transformer::NormalizeRows(const std::vector<float>& weight, int n) {
  const ModelConfig& cfg = model_.config;
  const size_t d = static_cast<size_t>(cfg.hidden_size);
  ForRowBlocks(n, threads_, [&](int r0, int r1) {
    RmsNorm(x_.data() + r0 * d, weight.data(), normed_.data() + r0 * d, r1 - r0, d,
            cfg.rms_norm_eps);
  });
}

// Attention input: normed_ = RmsNorm(x_), then q_, k_, v_ = normed_ · Wq, Wk, Wv for all rows.
void Transformer::ProjectQkv(const LayerWeights& layer, int n) {
  NormalizeRows(layer.attn_norm, n);
  const MatMulTarget qkv[] = {
      {&layer.wq, q_.data()}, {&layer.wk, k_.data()}, {&layer.wv, v_.data()}};
  LinearMany(qkv, normed_.data(), n);
}

// Prepares row `row`'s query and key/value at `position` for the cache:
//   1. bias (Qwen2):   q += bq, k += bk, v += bv
//   2. q/k norm (Qwen3): per-head RmsNorm of q and k
//   3. key norms:      ‖k_g‖ per KV head, before RoPE (stored beside each slot for KNorm & co.)
//   4. RoPE:           rotate q and k by `position`
// Rows are independent: AppendGroup prepares many in parallel.
void Transformer::PrepareRow(const LayerWeights& layer, int row, int32_t position) {
  const ModelConfig& cfg = model_.config;
  const size_t head_dim = static_cast<size_t>(cfg.head_dim);
  const size_t q_dim = static_cast<size_t>(cfg.n_heads) * head_dim;
  const size_t kv_dim = static_cast<size_t>(cfg.n_kv_heads) * head_dim;
  float* query = q_.data() + static_cast<size_t>(row) * q_dim;   // [H, hd]
  float* key = k_.data() + static_cast<size_t>(row) * kv_dim;    // [KV, hd]
  float* value = v_.data() + static_cast<size_t>(row) * kv_dim;  // [KV, hd]
  if (cfg.qkv_bias) {
    for (size_t i = 0; i < q_dim; ++i) query[i] += layer.bq[i];
    for (size_t i = 0; i < kv_dim; ++i) key[i] += layer.bk[i];
    for (size_t i = 0; i < kv_dim; ++i) value[i] += layer.bv[i];
  }
  if (cfg.qk_norm) {
    RmsNorm(query, layer.q_norm.data(), query, cfg.n_heads, head_dim, cfg.rms_norm_eps);
    RmsNorm(key, layer.k_norm.data(), key, cfg.n_kv_heads, head_dim, cfg.rms_norm_eps);
  }
  float* key_norms = key_norms_.data() + static_cast<size_t>(row * cfg.n_kv_heads);  // [KV]
  for (int kv_head = 0; kv_head < cfg.n_kv_heads; ++kv_head) {
    double sum_squares = 0.0;
    const float* head_key = key + static_cast<size_t>(kv_head) * head_dim;
    for (size_t i = 0; i < head_dim; ++i)
      sum_squares += static_cast<double>(head_key[i]) * head_key[i];
    key_norms[kv_head] = static_cast<float>(std::sqrt(sum_squares));
  }
  ApplyRope(query, cfg.n_heads, cfg.head_dim, position, inv_freq_.data(), cfg.rope_style);
  ApplyRope(key, cfg.n_kv_heads, cfg.head_dim, position, inv_freq_.data(), cfg.rope_style);
}

// Appends prepared row `row` to `cache`: one slot per KV head.
void Transformer::AppendRowToCache(int layer_index, int row, int32_t position, KVCache& cache) {
  const ModelConfig& cfg = model_.config;
  const size_t head_dim = static_cast<size_t>(cfg.head_dim);
  const size_t kv_dim = static_cast<size_t>(cfg.n_kv_heads) * head_dim;
  const float* key = k_.data() + static_cast<size_t>(row) * kv_dim;
  const float* value = v_.data() + static_cast<size_t>(row) * kv_dim;
  const float* key_norms = key_norms_.data() + static_cast<size_t>(row * cfg.n_kv_heads);
  for (int kv_head = 0; kv_head < cfg.n_kv_heads; ++kv_head) {
    const size_t offset = static_cast<size_t>(kv_head) * head_dim;
    cache.Append(layer_index, kv_head, key + offset, value + offset, position, key_norms[kv_head]);
  }
}

LayerHookContext Transformer::HookContext(int layer_index, const RowGroup& group,
                                          std::span<const int32_t> positions) const {
  const ModelConfig& cfg = model_.config;
  const size_t first = static_cast<size_t>(group.first);
  LayerHookContext ctx;
  ctx.layer = layer_index;
  ctx.info = group.info;
  ctx.cache = group.cache;
  ctx.positions = positions.subspan(first, static_cast<size_t>(group.n));
  ctx.queries = q_.data() + first * static_cast<size_t>(cfg.n_heads * cfg.head_dim);
  ctx.hidden = normed_.data() + first * static_cast<size_t>(cfg.hidden_size);
  ctx.n_tokens = group.n;
  ctx.sliding_window = cfg.sliding_window;
  ctx.wo = &model_.weights.layers[static_cast<size_t>(layer_index)].wo;  // criticalkv's ‖W_o v‖
  ctx.threads = threads_;
  return ctx;
}

// Appends the group's rows to its cache, then lets its hook see (and possibly rewrite) the cache
// before attention reads it.
void Transformer::AppendGroup(int layer_index, const LayerWeights& layer, const RowGroup& group,
                              std::span<const int32_t> positions) {
  ForRowBlocks(group.n, threads_, [&](int r0, int r1) {
    for (int row = group.first + r0; row < group.first + r1; ++row) {
      PrepareRow(layer, row, positions[static_cast<size_t>(row)]);
    }
  });
  for (int row = group.first; row < group.first + group.n; ++row) {
    AppendRowToCache(layer_index, row, positions[static_cast<size_t>(row)], *group.cache);
  }
  if (group.hook != nullptr)
    group.hook->BeforeAttention(HookContext(layer_index, group, positions));
}

// The hook's view after attention: the statistics it asked for (a press scores and evicts here).
void Transformer::RunAfterAttentionHook(int layer_index, const RowGroup& group,
                                        std::span<const int32_t> positions,
                                        const AttentionRequest& request) {
  if (group.hook == nullptr) return;
  LayerHookContext ctx = HookContext(layer_index, group, positions);
  ctx.stats = request.Any() ? &stats_ : nullptr;
  group.hook->AfterAttention(ctx);
}

// Attention sub-layer of every group: append, attend, hook. Several groups on distinct caches
// (batched decoding) may attend concurrently (`concurrent`), one group per task, when their hooks
// ask for no statistics; the others attend one at a time, as statistics land in stats_.
void Transformer::AttentionLayer(int layer_index, const LayerWeights& layer,
                                 std::span<const int32_t> positions,
                                 std::span<const RowGroup> groups, bool concurrent) {
  auto request_of = [](const RowGroup& group) {
    return group.hook != nullptr ? group.hook->Request(group.info) : AttentionRequest{};
  };
  auto group_positions = [&](const RowGroup& group) {
    return positions.subspan(static_cast<size_t>(group.first), static_cast<size_t>(group.n));
  };
  if (!concurrent) {
    for (const RowGroup& group : groups) {
      AppendGroup(layer_index, layer, group, positions);
      const AttentionRequest request = request_of(group);
      Attention(layer_index, group.first, group.n, group_positions(group), *group.cache, request);
      RunAfterAttentionHook(layer_index, group, positions, request);
    }
    return;
  }
  const bool any_hook = std::any_of(groups.begin(), groups.end(),
                                    [](const RowGroup& group) { return group.hook != nullptr; });
  if (!any_hook) {
    // No hooks (plain batched decoding): each task appends its sequence's rows and attends, so
    // the appends (RoPE, key norms, cache writes) run on all threads instead of one.
    ParallelFor(static_cast<int64_t>(groups.size()), threads_, [&](int64_t i) {
      const RowGroup& group = groups[static_cast<size_t>(i)];
      AppendGroup(layer_index, layer, group, positions);
      Attention(layer_index, group.first, group.n, group_positions(group), *group.cache,
                AttentionRequest{});
    });
    return;
  }
  std::vector<AttentionRequest> requests;  // [groups]
  requests.reserve(groups.size());
  for (const RowGroup& group : groups) {
    AppendGroup(layer_index, layer, group, positions);
    requests.push_back(request_of(group));
  }
  ParallelFor(static_cast<int64_t>(groups.size()), threads_, [&](int64_t i) {
    const RowGroup& group = groups[static_cast<size_t>(i)];
    const AttentionRequest& request = requests[static_cast<size_t>(i)];
    if (request.Any()) return;
    Attention(layer_index, group.first, group.n, group_positions(group), *group.cache, request);
  });
  for (size_t i = 0; i < groups.size(); ++i) {
    const RowGroup& group = groups[i];
    if (requests[i].Any()) {
      Attention(layer_index, group.first, group.n, group_positions(group), *group.cache,
                requests[i]);
    }
    RunAfterAttentionHook(layer_index, group, positions, requests[i]);
  }
}

// x_ += proj_ (the residual connection), rows spread over the threads.
void Transformer::AddProjection(int n) {
  const size_t d = static_cast<size_t>(model_.config.hidden_size);
  ForRowBlocks(n, threads_, [&](int r0, int r1) {
    AxpyF32(1.0f, proj_.data() + r0 * d, x_.data() + r0 * d, static_cast<size_t>(r1 - r0) * d);
  });
}

// x_ += att_ · Wo (the attention output projected back into the residual stream).
void Transformer::AddAttentionOutput(const LayerWeights& layer, int n) {
  Linear(layer.wo, att_.data(), n, proj_.data());
  AddProjection(n);
}

// SwiGLU MLP: x_ += Wdown · (silu(Wgate · h) ⊙ Wup · h), h = RmsNorm(x_).
void Transformer::FeedForward(const LayerWeights& layer, int n) {
  const size_t ffn = static_cast<size_t>(model_.config.intermediate_size);
  NormalizeRows(layer.ffn_norm, n);
  const MatMulTarget gate_up[] = {{&layer.w_gate, gate_.data()}, {&layer.w_up, up_.data()}};
  LinearMany(gate_up, normed_.data(), n);
  ForRowBlocks(n, threads_, [&](int r0, int r1) {
    SiluMul(gate_.data() + r0 * ffn, up_.data() + r0 * ffn, static_cast<size_t>(r1 - r0) * ffn);
  });
  Linear(layer.w_down, gate_.data(), n, proj_.data());
  AddProjection(n);
}

bool Transformer::ForwardRows(std::span<const int32_t> tokens, std::span<const int32_t> positions,
                              std::span<const RowGroup> groups, const std::atomic<bool>* cancel) {
  const ModelConfig& cfg = model_.config;
  const size_t rows = tokens.size();
  const size_t d = static_cast<size_t>(cfg.hidden_size);
  const size_t q_dim = static_cast<size_t>(cfg.n_heads * cfg.head_dim);
  const size_t kv_dim = static_cast<size_t>(cfg.n_kv_heads * cfg.head_dim);
  const size_t ffn_dim = static_cast<size_t>(cfg.intermediate_size);
  x_.resize(rows * d);
  normed_.resize(rows * d);
  q_.resize(rows * q_dim);
  k_.resize(rows * kv_dim);
  v_.resize(rows * kv_dim);
  att_.resize(rows * q_dim);
  proj_.resize(rows * d);
  gate_.resize(rows * ffn_dim);
  up_.resize(rows * ffn_dim);
  key_norms_.resize(rows * static_cast<size_t>(cfg.n_kv_heads));

  EmbedTokens(tokens);
  // Groups attend concurrently only when each has its own cache (batched decoding).
  bool concurrent = groups.size() > 1 && threads_ > 1;
  for (size_t i = 0; concurrent && i < groups.size(); ++i) {
    for (size_t j = 0; j < i; ++j) concurrent = concurrent && groups[i].cache != groups[j].cache;
  }
  const int n = static_cast<int>(rows);
  for (int layer_index = 0; layer_index < cfg.n_layers; ++layer_index) {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) return false;
    const LayerWeights& layer = model_.weights.layers[static_cast<size_t>(layer_index)];
    ProjectQkv(layer, n);
    AttentionLayer(layer_index, layer, positions, groups, concurrent);
    AddAttentionOutput(layer, n);
    FeedForward(layer, n);
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
      const size_t first =
          (static_cast<size_t>(row0 + t) * c.n_heads + static_cast<size_t>(kvh * group)) * hd;
      AttendGroup(q_.data() + first, group, kv, hd, positions[static_cast<size_t>(t)],
                  c.sliding_window, scale, probs, att_.data() + first);
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
      const bool parallel =
          threads_ > 1 && c.n_kv_heads > 1 && static_cast<int64_t>(n) * max_slots * group >= 1024;
      ParallelFor(c.n_kv_heads, parallel ? threads_ : 1, [&](int64_t kvh) {
        float* probs = ProbsBuffer(group * max_slots);
        for (int t = 0; t < n; ++t) attend_group(t, static_cast<int>(kvh), probs);
      });
      return;
    }
    // Parallel from ~512 (query head, key) pairs: while the caller attends alone the other threads
    // only wait for the next product (0.35B decode at depth 16-80, 8 KV heads × 2: serial below 256
    // slots left the worker spinning ~4 % of a step; from 32 slots on, the roofline fraction's
    // medians of 6 / 4 interleaved runs rose 0.87 → 0.89 in BF16 and 0.83 → 0.87 in Q8_0).
    const int64_t work = static_cast<int64_t>(n) * c.n_kv_heads;
    const bool parallel = threads_ > 1 && work * max_slots * group >= 512;
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
