// non_causal_attention — the attention half of Compactor: Chari & Van Durme, "Compactor: Calibrated
// Query-Agnostic KV Cache Compression with Approximate Leverage Scores", arXiv:2507.08143.
//
// The prefill's n slots are cut into chunks of C consecutive slots (from slot 0). Inside a chunk
// every query attends to every key of the chunk, past and future (non-causal), with unscaled logits
// q·k (post-RoPE query and key, no 1/√d, as upstream). Per query head h:
//     A_h[j] = Σ_{queries i of j's chunk} softmax_{keys of the chunk}(q_i·k)_j
// The last chunk, when shorter than C, is padded as upstream pads it: C − r zero rows for queries
// and keys, the padded keys' logits set to −1e−9 (they keep a share of each real query's mass) and
// the padded queries' rows all ≈ 0, so each adds ≈ 1/C to every real key of the chunk.
//     a[j] = mean_{h ∈ group} A_h[j] · ‖v_j‖;  score = AvgPool1d(a, 3) (zero padding, ÷3
//     everywhere)
// Upstream then z-scores over the whole layer (one shift and scale for every head), which leaves
// the per-head ranking unchanged and is not done here. Prefill only, by definition (upstream
// asserts it): the scores need every query of the prefill. Decoding steps do not prune (a
// cache_budget is enforced at the end of the prefill only).
#include <cmath>

#include "press/catalog.h"
#include "press/compactor_scores.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

class NonCausalAttentionPress : public ScorerPress {
 public:
  explicit NonCausalAttentionPress(int chunk) : chunk_(chunk) {}
  std::string Name() const override { return "non_causal_attention"; }
  std::unique_ptr<Press> Clone() const override {
    return std::make_unique<NonCausalAttentionPress>(*this);
  }

  void Reset() override {
    ScorerPress::Reset();
    queries_.assign(static_cast<size_t>(config().n_layers), {});
  }

 protected:
  void Observe(const LayerHookContext& ctx) override {
    if (ctx.info.phase != ForwardPhase::kPrefill) return;
    const size_t qd =
        static_cast<size_t>(config().n_heads) * static_cast<size_t>(config().head_dim);
    std::vector<float>& q = queries_[static_cast<size_t>(ctx.layer)];
    q.insert(q.end(), ctx.queries, ctx.queries + static_cast<size_t>(ctx.n_tokens) * qd);
  }
  void OnDecode(const LayerHookContext&) override {}
  void OnQuestion(const LayerHookContext&) override {}
  void OnPrefill(const LayerHookContext& ctx) override {
    ScorerPress::OnPrefill(ctx);
    if (ctx.info.last_chunk)
      queries_[static_cast<size_t>(ctx.layer)] = {};  // scored (or not needed)
  }

  void Score(const LayerHookContext& ctx, int kv_head, bool, std::vector<float>& scores) override {
    const int n = static_cast<int>(scores.size()), hd = config().head_dim, H = config().n_heads;
    const int group = H / config().n_kv_heads;
    const std::vector<float>& q = queries_[static_cast<size_t>(ctx.layer)];  // [n, H*hd]
    if (q.size() !=
        static_cast<size_t>(n) * H * hd) {  // not a fresh prefill: nothing to score with
      for (float& s : scores) s = 0.0f;
      return;
    }
    std::vector<float> keys(static_cast<size_t>(n) * hd);  // [n, hd]
    std::vector<double> vnorm(static_cast<size_t>(n));
    std::vector<float> row(static_cast<size_t>(hd));
    for (int j = 0; j < n; ++j) {
      ctx.cache->KeyAt(ctx.layer, kv_head, j, keys.data() + static_cast<size_t>(j) * hd);
      ctx.cache->ValueAt(ctx.layer, kv_head, j, row.data());
      double ss = 0;
      for (float v : row) ss += static_cast<double>(v) * v;
      vnorm[static_cast<size_t>(j)] = std::sqrt(ss);
    }
    const std::vector<double> a =
        NonCausalChunkAttention(q.data(), static_cast<size_t>(H) * hd, keys.data(), n, hd,
                                kv_head * group, (kv_head + 1) * group, chunk_);
    std::vector<float> weighted(static_cast<size_t>(n));
    for (int j = 0; j < n; ++j)
      weighted[static_cast<size_t>(j)] =
          static_cast<float>(a[static_cast<size_t>(j)] * vnorm[static_cast<size_t>(j)]);
    const std::vector<float> pooled = AvgPool1d(weighted, 3);
    for (int j = 0; j < n; ++j) scores[static_cast<size_t>(j)] = pooled[static_cast<size_t>(j)];
  }

 private:
  int chunk_;
  std::vector<std::vector<float>> queries_;  // [L][n, H*hd] post-RoPE queries of the prefill
};

}  // namespace

std::vector<double> NonCausalChunkAttention(const float* queries, size_t q_row_stride,
                                            const float* keys, int n, int hd, int h_begin,
                                            int h_end, int chunk) {
  std::vector<double> a(static_cast<size_t>(n), 0.0);  // [n]
  const int group = h_end - h_begin;
  std::vector<double> logits;
  for (int h = h_begin; h < h_end; ++h) {
    for (int start = 0; start < n; start += chunk) {
      const int end = std::min(n, start + chunk), real = end - start, pad = chunk - real;
      logits.assign(static_cast<size_t>(real), 0.0);
      for (int i = start; i < end; ++i) {
        const float* qi =
            queries + static_cast<size_t>(i) * q_row_stride + static_cast<size_t>(h) * hd;
        double mx = pad > 0 ? -1e-9 : -INFINITY;
        for (int j = start; j < end; ++j) {
          const float* kj = keys + static_cast<size_t>(j) * hd;
          double dot = 0;
          for (int c = 0; c < hd; ++c) dot += static_cast<double>(qi[c]) * kj[c];
          logits[static_cast<size_t>(j - start)] = dot;
          mx = std::max(mx, dot);
        }
        double total = pad * std::exp(-1e-9 - mx);
        for (double& l : logits) total += (l = std::exp(l - mx));
        for (int j = start; j < end; ++j)
          a[static_cast<size_t>(j)] += logits[static_cast<size_t>(j - start)] / total / group;
      }
      if (pad > 0) {  // padded query rows: logits 0 for real keys, −1e−9 for padded keys
        const double share = 1.0 / (real + pad * std::exp(-1e-9));
        for (int j = start; j < end; ++j) a[static_cast<size_t>(j)] += pad * share / group;
      }
    }
  }
  return a;
}

PressInfo NonCausalAttentionPressInfo() {
  return {"non_causal_attention",
          "column sums of non-causal attention inside chunks of the prefill (unscaled q.k), times "
          "||v||, pooled over 3",
          "Chari & Van Durme 2025 (Compactor), arXiv:2507.08143",
          "prefill (by definition: needs every prefill query)",
          "every prefill query, keys, values",
          {{"chunk", "256", "chunk length of the non-causal attention"}},
          [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
            PressParams p(spec);
            const int chunk = p.GetInt("chunk", 256, 1, kMaxPressTokens);
            RETURN_IF_ERROR(p.Finish());
            return std::unique_ptr<Press>(new NonCausalAttentionPress(chunk));
          }};
}

}  // namespace kvpress
