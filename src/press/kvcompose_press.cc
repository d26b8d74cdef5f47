// kvcompose — Akulov et al., "KVCompose: Efficient Structured KV Cache Compression with Composite
// Tokens", arXiv:2509.05165 (upstream kvpress KVComposePress): attention-guided, layer-adaptive
// budgets; within a layer every KV head keeps the same number of slots (structured).
//
// Per layer l, query head h and context slot j, an attention score aggregated over queries; here
// (see "Difference") the mean causal attention the prefill's own queries give j:
//     a_lhj = Σ_{i ≥ j} p_lh(i → j) / #{i ≥ j}
// s_lgj = mean_{h ∈ group g} a_lhj  (× ‖v_j‖ when vnorm=1), then + mean_g s_lgj (mean_heads=1).
// Composite curve of layer l: c_l[r] = mean_g (s_lg sorted descending)[r]; c_l[r] += 1e9 for
// r < keep_lower; c_0 ← max_l c_l (the first layer is never the smallest). The global top
// ⌊L·n·(1−ratio)⌋ of all c_l[r] give each layer its count k_l = #{r: c_l[r] selected}, at least
// max(1, keep_lower); each head of layer l keeps its own top k_l slots by s_lg. structured=0:
// the same over the L·H_kv per-head sorted curves, a count per head (at least 1 here: upstream may
// leave a head empty, masked). Our ragged cache frees the evicted slots (upstream: structured =
// real gather, unstructured = masked keys). Applied once, after the last layer's prefill (every
// layer's scores are needed for the budgets); --cache-budget B means ratio 1 − B/n (B slots per
// head on average). Decoding does not prune, as upstream.
// Difference, on purpose: upstream re-runs the whole context over the prefilled cache (an extra
// forward at positions n..2n−1, queries then see every context key) and aggregates the re-run's
// attention with max (agg_task=max); that second forward from inside a layer hook needs engine
// support (a replay pass) that this press does not have, so the scores come from the prefill's own
// causal attention statistics with the mean over the queries that see each slot. No golden against
// upstream for that reason; the budget allocation and selection are tested by brute force.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "press/catalog.h"
#include "press/eviction_log.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

class KvComposePress : public Press {
 public:
  struct Options {
    bool structured = true;
    bool vnorm = false;
    bool mean_heads = true;
    int keep_lower = 0;
  };
  explicit KvComposePress(Options o) : o_(o) {}
  std::string Name() const override { return "kvcompose"; }
  std::unique_ptr<Press> Clone() const override { return std::make_unique<KvComposePress>(*this); }
  void Reset() override { sums_.assign(static_cast<size_t>(config().n_layers), {}); }
  AttentionRequest Request(const ForwardInfo& info) const override {
    AttentionRequest r;
    r.sum_all_queries = info.phase == ForwardPhase::kPrefill;
    return r;
  }

 protected:
  void OnDecode(const LayerHookContext&) override {}
  void OnPrefill(const LayerHookContext& ctx) override {
    if (sums_.size() != static_cast<size_t>(config().n_layers)) Reset();
    const int H = config().n_heads, G = config().n_kv_heads, group = H / G;
    std::vector<std::vector<double>>& sum = sums_[static_cast<size_t>(ctx.layer)];  // [H][slots]
    sum.resize(static_cast<size_t>(H));
    for (int h = 0; h < H; ++h) {
      std::vector<double>& s = sum[static_cast<size_t>(h)];
      s.resize(static_cast<size_t>(ctx.cache->Size(ctx.layer, h / group)), 0.0);
      if (ctx.stats == nullptr || ctx.stats->all_sum.empty()) continue;
      const std::vector<float>& row = ctx.stats->all_sum[static_cast<size_t>(h)];
      for (size_t j = 0; j < s.size() && j < row.size(); ++j) s[j] += row[j];
    }
    if (ctx.info.last_chunk && ctx.layer == config().n_layers - 1) {
      Compress(ctx);
      sums_.assign(static_cast<size_t>(config().n_layers), {});  // the next prefill starts afresh
    }
  }

 private:
  // Scores s_lg [slots] of every layer and KV head from the accumulated sums.
  std::vector<std::vector<std::vector<double>>> Scores(const LayerHookContext& ctx) const {
    const int L = config().n_layers, H = config().n_heads, G = config().n_kv_heads, group = H / G;
    std::vector<std::vector<std::vector<double>>> s(static_cast<size_t>(L));  // [L][G][n]
    std::vector<float> v(static_cast<size_t>(config().head_dim));
    for (int l = 0; l < L; ++l) {
      s[static_cast<size_t>(l)].resize(static_cast<size_t>(G));
      for (int g = 0; g < G; ++g) {
        const auto pos = ctx.cache->Positions(l, g);
        const int n = static_cast<int>(pos.size());
        const int32_t last = n > 0 ? pos[static_cast<size_t>(n - 1)] : 0;
        std::vector<double>& out = s[static_cast<size_t>(l)][static_cast<size_t>(g)];
        out.assign(static_cast<size_t>(n), 0.0);
        for (int h = g * group; h < (g + 1) * group; ++h) {
          const std::vector<double>& sum = sums_[static_cast<size_t>(l)][static_cast<size_t>(h)];
          for (int j = 0; j < n && j < static_cast<int>(sum.size());
               ++j)  // queries seeing j: last − pos_j + 1
            out[static_cast<size_t>(j)] +=
                sum[static_cast<size_t>(j)] / (last - pos[static_cast<size_t>(j)] + 1) / group;
        }
        if (o_.vnorm) {
          for (int j = 0; j < n; ++j) {
            ctx.cache->ValueAt(l, g, j, v.data());
            double ss = 0;
            for (float x : v) ss += static_cast<double>(x) * x;
            out[static_cast<size_t>(j)] *= std::sqrt(ss);
          }
        }
      }
      if (o_.mean_heads) {
        const size_t n = s[static_cast<size_t>(l)][0].size();
        std::vector<double> mean(n, 0.0);
        for (const auto& head : s[static_cast<size_t>(l)])
          for (size_t j = 0; j < n && j < head.size(); ++j) mean[j] += head[j] / G;
        for (auto& head : s[static_cast<size_t>(l)])
          for (size_t j = 0; j < n && j < head.size(); ++j) head[j] += mean[j];
      }
    }
    return s;
  }

  void Compress(const LayerHookContext& ctx) {
    const int L = config().n_layers, G = config().n_kv_heads;
    for (int l = 0; l < L; ++l)
      for (int g = 0; g < G; ++g)
        if (ctx.cache->Size(l, g) != ctx.cache->Size(0, 0)) return;  // not one fresh prefill
    const int n = ctx.cache->Size(0, 0);
    double ratio = budget_.removed_fraction;
    if (budget_.cache_budget > 0)
      ratio = std::max(0.0, 1.0 - static_cast<double>(budget_.cache_budget) / n);
    if (ratio <= 0 || n == 0) return;
    const auto s = Scores(ctx);
    // Curves: one per layer (structured) or per (layer, head), each sorted descending.
    const int n_curves = o_.structured ? L : L * G;
    std::vector<std::vector<double>> curve(static_cast<size_t>(n_curves));
    for (int l = 0; l < L; ++l) {
      for (int g = 0; g < G; ++g) {
        std::vector<double> sorted = s[static_cast<size_t>(l)][static_cast<size_t>(g)];
        std::sort(sorted.begin(), sorted.end(), std::greater<>());
        std::vector<double>& c = curve[static_cast<size_t>(o_.structured ? l : l * G + g)];
        if (!o_.structured) {
          c = sorted;
          continue;
        }
        c.resize(static_cast<size_t>(n), 0.0);
        for (int r = 0; r < n; ++r) c[static_cast<size_t>(r)] += sorted[static_cast<size_t>(r)] / G;
      }
    }
    for (auto& c : curve)
      for (int r = 0; r < std::min(o_.keep_lower, n); ++r) c[static_cast<size_t>(r)] += 1e9;
    if (o_.structured) {
      for (int r = 0; r < n; ++r)
        for (int l = 1; l < L; ++l)
          curve[0][static_cast<size_t>(r)] =
              std::max(curve[0][static_cast<size_t>(r)],
                       curve[static_cast<size_t>(l)][static_cast<size_t>(r)]);
    }
    // Global top of every curve entry: (value, curve), higher value first, ties to the earlier
    // curve.
    std::vector<std::pair<double, int>> all;
    all.reserve(static_cast<size_t>(n_curves) * n);
    for (int c = 0; c < n_curves; ++c)
      for (double x : curve[static_cast<size_t>(c)]) all.push_back({x, c});
    const int total = UpstreamKept(n_curves * n, ratio);
    std::nth_element(all.begin(), all.begin() + total - 1, all.end(),
                     [](const auto& a, const auto& b) {
                       return a.first != b.first ? a.first > b.first : a.second < b.second;
                     });
    std::vector<int> count(static_cast<size_t>(n_curves), 0);
    for (int i = 0; i < total; ++i)
      ++count[static_cast<size_t>(all[static_cast<size_t>(i)].second)];
    const int floor_count = std::max(1, o_.keep_lower);
    for (int& k : count) k = std::min(n, std::max(k, floor_count));
    for (int l = 0; l < L; ++l) {
      LayerHookContext at = ctx;
      at.layer = l;
      for (int g = 0; g < G; ++g) {
        const int k = count[static_cast<size_t>(o_.structured ? l : l * G + g)];
        if (k >= n) continue;
        const auto& sc = s[static_cast<size_t>(l)][static_cast<size_t>(g)];
        const std::vector<float> f(sc.begin(), sc.end());
        const std::vector<int> keep = ScorerPress::TopK(f, ctx.cache->Positions(l, g), k);
        if (eviction_log_ != nullptr) eviction_log_->Record(at, g, keep);
        ctx.cache->Retain(l, g, keep);
      }
    }
  }

  Options o_;
  std::vector<std::vector<std::vector<double>>>
      sums_;  // [L][H][slots] Σ attention over the prefill's queries
};

}  // namespace

PressInfo KvComposePressInfo() {
  return {"kvcompose",
          "layer budgets from composite (sorted, head-averaged) attention curves, global top over "
          "layers; "
          "each head keeps its top-k_l (prefill attention statistics, see docs)",
          "Akulov et al. 2025 (KVCompose), arXiv:2509.05165",
          "prefill (once every layer is scored)",
          "attention summed over the prefill's queries",
          {{"structured", "1", "1: one count per layer (every head of it); 0: one count per head"},
           {"vnorm", "0", "multiply scores by the value norm"},
           {"mean_heads", "1", "add the mean score over the layer's KV heads"},
           {"keep_lower", "0", "slots every layer (head) keeps at least"}},
          [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
            PressParams p(spec);
            KvComposePress::Options o;
            o.structured = p.GetInt("structured", 1, 0, 1) != 0;
            o.vnorm = p.GetInt("vnorm", 0, 0, 1) != 0;
            o.mean_heads = p.GetInt("mean_heads", 1, 0, 1) != 0;
            o.keep_lower = p.GetInt("keep_lower", 0, 0, kMaxPressTokens);
            RETURN_IF_ERROR(p.Finish());
            return std::unique_ptr<Press>(new KvComposePress(o));
          }};
}

}  // namespace kvpress
