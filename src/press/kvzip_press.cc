// kvzip — Kim et al., "KVzip: Query-Agnostic KV Cache Compression with Context Reconstruction",
// arXiv:2505.23416; the rule of upstream kvpress 0.5.5's KVzipPress (no KVzip+ normalization).
//
// After the context prefill the model is asked to repeat its context, on top of the full cache.
// The context (after the chat template's prefix of P tokens) is cut into chunks of `chunk` tokens;
// chunk c is replayed as
//   [c = 0: "\n\nRepeat the previous context exactly."
//    c > 0: "\n\nRepeat the part of the previous context exactly, starting with" + last 8 ids of
//           chunk c-1]  + template suffix + the chunk's ids
// at the positions after the context. For each layer, each replay query t (post-RoPE q_t) and each
// query head h of KV head g, attention is taken over the keys
//   S = first min(n_sink, start_c) context keys ∪ the chunk's own context keys [start_c, end_c)
//       ∪ the replay keys up to t (causal)
//   a_{h,t}(j) = softmax_{j∈S}(q_{h,t}·k_j / sqrt(hd))
// and a context slot j of the chunk scores  s_g(j) = max_{h ∈ group(g), t} a_{h,t}(j).
// Slots of the template prefix score 0, the first n_sink slots max(s)+1 (never evicted). The
// replay's slots are dropped again (Press::AfterContext / ContextRunner::DiscardAfterContext).
// Pruning with ratio r, over all L·H_kv·n scores: the global bottom ⌊L·H_kv·n·r⌋ (layerwise=1:
// the bottom ⌊H_kv·n·r⌋ of each layer). Heads keep different counts; evicted slots leave the cache
// (upstream masks them with fake keys). Ties evict the older slot first. Cost ≈ 2 prefills: the
// scores are one f32 GEMM per tile of replay tokens plus a SIMD softmax (kvzip_replay_scores.h).
//
// Not here: KVzip+ normalization (needs W_o in the hook), budget mode (KVzip prunes a fraction).
#include <algorithm>
#include <cmath>

#include "ops/matmul.h"
#include "press/catalog.h"
#include "press/global_prune.h"
#include "press/kvzip_replay_scores.h"

namespace kvpress {
namespace {

class KvzipPress : public Press {
 public:
  KvzipPress(bool layerwise, int n_sink, int chunk)
      : layerwise_(layerwise), n_sink_(n_sink), chunk_(chunk) {}
  std::string Name() const override { return "kvzip"; }
  std::unique_ptr<Press> Clone() const override {
    auto copy = std::make_unique<KvzipPress>(layerwise_, n_sink_, chunk_);
    copy->config_ = config_;
    copy->budget_ = budget_;
    return copy;
  }
  bool ReplaysContext() const override { return true; }

  Status AfterContext(ContextRunner& runner) override {
    const double r = budget().removed_fraction;
    if (budget().cache_budget > 0 || budget().target_size > 0) {
      return FailedPrecondition(
          "kvzip prunes a fraction of the context: use --compression-ratio, not a budget");
    }
    if (r <= 0) return Status::Ok();
    const ContextReplayPrompts* prompts = runner.prompts();
    if (prompts == nullptr) {
      return FailedPrecondition(
          "kvzip needs the context-replay prompts of the tokenizer and chat template (the "
          "long-context "
          "pipeline supplies them; plain generation does not)");
    }
    KVCache& cache = runner.cache();
    const std::span<const int32_t> ctx = runner.context();
    const int n = static_cast<int>(ctx.size());
    const int L = config().n_layers, KV = config().n_kv_heads;
    for (int l = 0; l < L; ++l) {
      for (int g = 0; g < KV; ++g) {
        const auto pos = cache.Positions(l, g);
        if (static_cast<int>(pos.size()) != n ||
            (n > 0 && (pos.front() != 0 || pos.back() != n - 1))) {
          return FailedPrecondition(
              "kvzip needs the whole context at positions 0..n-1 in one prefill");
        }
      }
    }
    const int prefix = std::min(prompts->prefix_length, n);
    scores_.assign(static_cast<size_t>(L) * KV * n, 0.0f);  // [L][KV][n]
    n_ = n;
    replay_base_ = n;
    replaying_ = true;
    Status status = Status::Ok();
    for (int start = prefix; start < n && status.ok(); start += chunk_) {
      const int end = std::min(n, start + chunk_);
      std::vector<int32_t> ids;
      if (start == prefix) {
        ids = prompts->repeat_first;
      } else {
        ids = prompts->repeat_next;
        ids.insert(ids.end(), ctx.begin() + std::max(start - 8, start - chunk_),
                   ctx.begin() + start);
      }
      ids.insert(ids.end(), prompts->suffix.begin(), prompts->suffix.end());
      ids.insert(ids.end(), ctx.begin() + start, ctx.begin() + end);
      chunk_start_ = start;
      chunk_end_ = end;
      status = runner.Forward(ids);
      runner.DiscardAfterContext();
    }
    replaying_ = false;
    RETURN_IF_ERROR(status);
    Prune(cache);
    scores_.clear();
    return Status::Ok();
  }

 protected:
  void OnPrefill(const LayerHookContext&) override {}
  void OnDecode(const LayerHookContext&) override {}
  // The replay's forwards: max attention of its queries on the chunk's context keys. Per KV head,
  // tiles of kTileTokens replay tokens: one f32 GEMM (ops MatMul) gives the logits of the tile's
  // G·tokens query rows against the keys the tile's last token sees, then the SIMD kernel of
  // kvzip_replay_scores.h takes each row's softmax over its own visible keys and the running max
  // on the chunk's slots.
  void OnQuestion(const LayerHookContext& ctx) override {
    if (!replaying_) return;
    const int hd = config().head_dim, H = config().n_heads, KV = config().n_kv_heads;
    const int G = H / KV;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    const int sink = std::min(n_sink_, chunk_start_);
    constexpr int kTileTokens = 32;
    for (int g = 0; g < KV; ++g) {
      const auto pos = ctx.cache->Positions(ctx.layer, g);
      // Slots of S in cache order: sinks, the chunk, then the replay's (positions ascending).
      std::vector<int> slots;
      int n_replay = 0;
      for (int i = 0; i < static_cast<int>(pos.size()); ++i) {
        const int32_t p = pos[static_cast<size_t>(i)];
        if (p < sink || (p >= chunk_start_ && p < chunk_end_)) slots.push_back(i);
        if (p >= replay_base_) {
          slots.push_back(i);
          ++n_replay;
        }
      }
      const int m = static_cast<int>(slots.size());
      const int n_fixed = m - n_replay;
      keys_.resize(static_cast<size_t>(m) * hd);  // [m, hd]
      for (int j = 0; j < m; ++j)
        ctx.cache->KeyAt(ctx.layer, g, slots[static_cast<size_t>(j)],
                         &keys_[static_cast<size_t>(j) * hd]);
      best_.assign(static_cast<size_t>(std::max(0, n_fixed - sink)), 0.0f);  // [n_fixed - sink]
      for (int t0 = 0; t0 < ctx.n_tokens; t0 += kTileTokens) {
        const int tt = std::min(kTileTokens, ctx.n_tokens - t0);
        // Query rows (t, h) of the tile, scaled: [tt·G, hd]; each row's visible keys: [tt·G].
        tile_q_.resize(static_cast<size_t>(tt) * G * hd);
        visible_.resize(static_cast<size_t>(tt) * G);
        int widest = 0;
        for (int t = 0; t < tt; ++t) {
          // Replay keys visible to query t: those at positions <= its own.
          const int32_t qpos = ctx.positions[static_cast<size_t>(t0 + t)];
          const int visible =
              n_fixed + std::min(n_replay, static_cast<int>(qpos - replay_base_) + 1);
          widest = std::max(widest, visible);
          for (int hg = 0; hg < G; ++hg) {
            const float* q =
                ctx.queries +
                (static_cast<size_t>(t0 + t) * H + static_cast<size_t>(g * G + hg)) * hd;
            float* row = &tile_q_[(static_cast<size_t>(t) * G + hg) * hd];
            for (int c = 0; c < hd; ++c) row[c] = q[c] * scale;
            visible_[static_cast<size_t>(t) * G + hg] = visible;
          }
        }
        const MatrixView k{.dtype = DType::kF32,
                           .rows = widest,
                           .cols = hd,
                           .data = keys_.data(),
                           .row_bytes = static_cast<size_t>(hd) * sizeof(float)};
        logits_.resize(static_cast<size_t>(tt) * G * widest);  // [tt·G, widest]
        MatMul(k, tile_q_.data(), tt * G, logits_.data(), /*threads=*/1, /*exact_float=*/true);
        AccumulateReplayMaxAttention(logits_.data(), static_cast<size_t>(widest), tt * G,
                                     visible_.data(), sink, n_fixed, best_.data());
      }
      float* out = &scores_[(static_cast<size_t>(ctx.layer) * KV + g) * n_];
      for (int j = sink; j < n_fixed; ++j) {
        const int32_t p = pos[static_cast<size_t>(slots[static_cast<size_t>(j)])];
        out[p] = std::max(out[p], best_[static_cast<size_t>(j - sink)]);
      }
    }
  }

 private:
  // Sinks to max+1, then the bottom fraction of scores_ leaves the cache.
  void Prune(KVCache& cache) {
    const int L = config().n_layers, KV = config().n_kv_heads, n = n_;
    if (scores_.empty()) return;
    const float top = *std::max_element(scores_.begin(), scores_.end()) + 1.0f;
    for (int lg = 0; lg < L * KV; ++lg) {
      for (int p = 0; p < std::min(n_sink_, n); ++p) scores_[static_cast<size_t>(lg) * n + p] = top;
    }
    PruneBottomFraction(cache, scores_, L, KV, n, budget().removed_fraction, layerwise_);
  }

  bool layerwise_;
  int n_sink_;
  int chunk_;
  // Replay state (AfterContext only).
  bool replaying_ = false;
  int n_ = 0;            // context length
  int replay_base_ = 0;  // first position of the replay's tokens
  int chunk_start_ = 0;  // context slots [chunk_start_, chunk_end_) being reconstructed
  int chunk_end_ = 0;
  std::vector<float> scores_;  // [L][KV][n] importance of each context slot
  // OnQuestion's scratch, reused across layers and forwards.
  std::vector<float> keys_;    // [m, hd] the keys of S in cache order
  std::vector<float> best_;    // [n_fixed - sink] max attention on each chunk slot
  std::vector<float> tile_q_;  // [tile tokens · G, hd] scaled queries
  std::vector<int> visible_;   // [tile tokens · G] keys each query row sees
  std::vector<float> logits_;  // [tile tokens · G, widest] scaled q·k
};

}  // namespace

PressInfo KvzipPressInfo() {
  return {"kvzip",
          "context reconstruction: the model repeats its context on top of the cache; a slot "
          "scores the max "
          "attention any repeat query of its group puts on it; global bottom fraction evicted",
          "Kim et al. 2025, arXiv:2505.23416 (rule of kvpress KVzipPress)",
          "prefill (ratio; replay passes after the context)",
          "replay forwards after the context (tokenizer + chat template prompts)",
          {{"layerwise", "0", "1 = every layer prunes the same fraction (else global over layers)"},
           {"n_sink", "4", "first slots never evicted"},
           {"chunk", "2048", "context tokens reconstructed per replay pass"}},
          [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
            PressParams p(spec);
            const int layerwise = p.GetInt("layerwise", 0, 0, 1);
            const int n_sink = p.GetInt("n_sink", 4, 0, kMaxPressTokens);
            const int chunk = p.GetInt("chunk", 2048, 1, kMaxPressTokens);
            RETURN_IF_ERROR(p.Finish());
            return std::unique_ptr<Press>(new KvzipPress(layerwise != 0, n_sink, chunk));
          }};
}

}  // namespace kvpress
