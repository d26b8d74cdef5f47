// compactor — Chari & Van Durme, "Compactor: Calibrated Query-Agnostic KV Cache Compression with
// Approximate Leverage Scores", arXiv:2507.08143 (upstream kvpress CompactorPress).
//
// The prefill's n slots split into S = the first s₀ (sink_start, 8) and the last s₁ (sink_end, 4)
// slots, always kept, and the middle M of m = n − s₀ − s₁ slots. On M only (as if it were the whole
// sequence: centred over M, chunks starting at M's first slot, pooling zero-padded at M's ends):
//     ℓ_hj = ridge leverage of the sketched, M-centred pre-RoPE keys       (the `leverage` press)
//     a_hj = AvgPool3(mean_{group} non-causal chunk attention · ‖v_j‖) (`non_causal_attention`)
// each z-scored over the whole layer (one mean and one unbiased std over every KV head × slot of M,
// std clamped at 1e−6), then
//     score_hj = β · z(ℓ)_hj + z(a)_hj,   β = blending (default: the compression ratio)
// and the sinks get the layer's maximum score. With a cache_budget B instead of a ratio the default
// β is the ratio the budget implies at this prefill, 1 − B/n; 0.35 when neither is set (upstream).
// The sketch Φ is drawn from our seeded generator (upstream: torch.randn, not reproducible);
// sketch=0 uses the exact ridge leverage (the goldens pin upstream's Φ to the identity for it).
// Prefill only, as upstream: the scores need every query of the prefill; decoding does not prune.
#include <algorithm>
#include <cmath>

#include "press/catalog.h"
#include "press/compactor_scores.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

// z-scores of x over all its entries (unbiased std, clamped at 1e−6, as torch's .std()).
void ZScore(std::vector<double>& x) {
  if (x.empty()) return;
  double mean = 0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(x.size());
  double ss = 0;
  for (double v : x) ss += (v - mean) * (v - mean);
  const double sd =
      x.size() > 1 ? std::max(1e-6, std::sqrt(ss / static_cast<double>(x.size() - 1))) : 1e-6;
  for (double& v : x) v = (v - mean) / sd;
}

class CompactorPress : public ScorerPress {
 public:
  struct Options {
    int sink_start = 8;
    int sink_end = 4;
    int chunk = 256;
    int sketch = 48;
    double blending = -1;  // < 0: automatic (see the file comment)
  };
  CompactorPress(Options o, uint64_t seed) : o_(o), seed_(seed) {}
  std::string Name() const override { return "compactor"; }
  std::unique_ptr<Press> Clone() const override { return std::make_unique<CompactorPress>(*this); }

  Status Attach(const ModelConfig& config) override {
    RETURN_IF_ERROR(Press::Attach(config));
    inv_freq_ = config.RopeInvFreq();
    return Status::Ok();
  }
  void Reset() override {
    ScorerPress::Reset();
    queries_.assign(static_cast<size_t>(config().n_layers), {});
    layer_scores_.clear();
  }

 protected:
  void Observe(const LayerHookContext& ctx) override {
    layer_scores_.clear();  // a new forward chunk: whatever was scored is stale
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
    if (ctx.info.last_chunk) {  // scored (or not needed)
      queries_[static_cast<size_t>(ctx.layer)] = {};
      layer_scores_.clear();
    }
  }

  void Score(const LayerHookContext& ctx, int kv_head, bool, std::vector<float>& scores) override {
    const int n = static_cast<int>(scores.size());
    if (layer_scores_.empty() || scored_layer_ != ctx.layer) ScoreLayer(ctx, n);
    const std::vector<float>& mine = layer_scores_[static_cast<size_t>(kv_head)];
    if (mine.size() != scores.size()) {  // not a fresh prefill: nothing to score with
      std::fill(scores.begin(), scores.end(), 0.0f);
      return;
    }
    scores = mine;
  }

 private:
  // Fills layer_scores_ [n_kv_heads][n] for every KV head of ctx.layer (each holding n slots).
  void ScoreLayer(const LayerHookContext& ctx, int n) {
    const int hd = config().head_dim, H = config().n_heads, G = config().n_kv_heads;
    const int group = H / G;
    layer_scores_.assign(static_cast<size_t>(G), {});
    scored_layer_ = ctx.layer;
    const std::vector<float>& q = queries_[static_cast<size_t>(ctx.layer)];  // [n, H*hd]
    if (q.size() != static_cast<size_t>(n) * H * hd) return;
    for (int g = 0; g < G; ++g)
      if (ctx.cache->Size(ctx.layer, g) != n) return;
    const int left = std::min(o_.sink_start, n);
    const int right = std::min(o_.sink_end, std::max(0, n - left));
    const int m = n - left - right;
    std::vector<double> lev(static_cast<size_t>(G) * m), att(static_cast<size_t>(G) * m);  // [G, m]
    std::vector<double> pre(static_cast<size_t>(m) * hd);                                // [m, hd]
    std::vector<float> post(static_cast<size_t>(m) * hd), row(static_cast<size_t>(hd));  // [m, hd]
    std::vector<float> weighted(static_cast<size_t>(m));
    for (int g = 0; g < G; ++g) {
      const auto pos = ctx.cache->Positions(ctx.layer, g);
      for (int j = 0; j < m; ++j) {
        float* k = post.data() + static_cast<size_t>(j) * hd;
        ctx.cache->KeyAt(ctx.layer, g, left + j, k);
        std::copy(k, k + hd, row.begin());
        ApplyRope(row.data(), 1, hd, -pos[static_cast<size_t>(left + j)], inv_freq_.data(),
                  config().rope_style);
        for (int i = 0; i < hd; ++i)
          pre[static_cast<size_t>(j) * hd + i] = row[static_cast<size_t>(i)];
      }
      const std::vector<double> l =
          RidgeLeverageScores(pre, m, hd, o_.sketch,
                              seed_ * 1000003ULL + static_cast<uint64_t>(ctx.layer) * 1009ULL +
                                  static_cast<uint64_t>(g));
      const std::vector<double> a = NonCausalChunkAttention(
          q.data() + static_cast<size_t>(left) * H * hd, static_cast<size_t>(H) * hd, post.data(),
          m, hd, g * group, (g + 1) * group, o_.chunk);
      for (int j = 0; j < m; ++j) {
        ctx.cache->ValueAt(ctx.layer, g, left + j, row.data());
        double ss = 0;
        for (float v : row) ss += static_cast<double>(v) * v;
        weighted[static_cast<size_t>(j)] =
            static_cast<float>(a[static_cast<size_t>(j)] * std::sqrt(ss));
      }
      const std::vector<float> pooled = AvgPool1d(weighted, 3);
      for (int j = 0; j < m; ++j) {
        lev[static_cast<size_t>(g) * m + j] = l[static_cast<size_t>(j)];
        att[static_cast<size_t>(g) * m + j] = pooled[static_cast<size_t>(j)];
      }
    }
    ZScore(lev);
    ZScore(att);
    const double beta = Blending(n);
    std::vector<double> mixed(lev.size());  // [G, m]
    double top = -INFINITY;
    for (size_t i = 0; i < mixed.size(); ++i)
      top = std::max(top, mixed[i] = beta * lev[i] + att[i]);
    if (m == 0) top = 0;
    for (int g = 0; g < G; ++g) {
      std::vector<float>& s = layer_scores_[static_cast<size_t>(g)];
      s.assign(static_cast<size_t>(n), static_cast<float>(top));
      for (int j = 0; j < m; ++j)
        s[static_cast<size_t>(left + j)] =
            static_cast<float>(mixed[static_cast<size_t>(g) * m + j]);
    }
  }

  double Blending(int n) const {
    if (o_.blending >= 0) return o_.blending;
    if (budget().removed_fraction > 0) return budget().removed_fraction;
    if (budget().cache_budget > 0)
      return std::max(0.0, 1.0 - static_cast<double>(budget().cache_budget) / n);
    return 0.35;
  }

  Options o_;
  uint64_t seed_;
  std::vector<float> inv_freq_;                   // [hd/2]
  std::vector<std::vector<float>> queries_;       // [L][n, H*hd] post-RoPE queries of the prefill
  std::vector<std::vector<float>> layer_scores_;  // [n_kv_heads][n] of the layer being pruned
  int scored_layer_ = -1;                         // the layer layer_scores_ belongs to
};

}  // namespace

PressInfo CompactorPressInfo() {
  return {"compactor",
          "blend of layer-z-scored leverage (pre-RoPE keys) and non-causal chunk attention on the "
          "middle slots; first/last sinks kept",
          "Chari & Van Durme 2025 (Compactor), arXiv:2507.08143",
          "prefill (as upstream: needs every prefill query)",
          "every prefill query, keys, values",
          {{"sink_start", "8", "first slots always kept"},
           {"sink_end", "4", "last slots always kept"},
           {"chunk", "256", "chunk length of the non-causal attention"},
           {"sketch", "48", "leverage sketch dimension (0 = exact, no sketch)"},
           {"blending", "-1", "weight of the leverage z-score (< 0: the compression ratio)"}},
          [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
            PressParams p(spec);
            CompactorPress::Options o;
            o.sink_start = p.GetInt("sink_start", 8, 0, kMaxPressTokens);
            o.sink_end = p.GetInt("sink_end", 4, 0, kMaxPressTokens);
            o.chunk = p.GetInt("chunk", 256, 1, kMaxPressTokens);
            o.sketch = p.GetInt("sketch", 48, 0, 4096);
            o.blending = p.GetDouble("blending", -1.0, -1.0, 1e6);
            RETURN_IF_ERROR(p.Finish());
            return std::unique_ptr<Press>(new CompactorPress(o, spec.seed));
          }};
}

}  // namespace kvpress
