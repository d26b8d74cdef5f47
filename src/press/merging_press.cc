// merging — merge-on-evict wrapper (upstream kvpress MergingPress, after Token Merging, Bolya et
// al., ICLR 2023, arXiv:2210.09461, and D2O, Wan et al., arXiv:2406.13035).
//
// The inner scorer picks the kept slots K of a head exactly as it would alone; before the evicted
// slots E leave, each e ∈ E is folded into the kept slot whose key is most cosine-similar:
//     c_e = max_{t ∈ K} k̂_e · k̂_t,  t(e) = argmax   (k̂ = k / max(‖k‖, 1e−6), post-RoPE keys)
//     ok_e = c_e ≥ threshold  and, when fraction < 1, c_e ≥ quantile_{1−fraction}(c over E, −∞
//            where not ok; linear interpolation as torch.quantile)
//     w_e = max(c_e, 0) · ok_e · ‖v_e‖ / (‖v_e‖ + ‖v_t(e)‖ + 1e−6)
//     v_t ← (v_t + Σ_{e: t(e)=t} w_e v_e) / (1 + Σ_{e: t(e)=t} w_e)    for every t with Σ w_e > 0
// Keys, positions and the kept set are unchanged; the kept values are rewritten in place in our
// ragged cache (KVCache::SetValue), then the evicted slots are freed. Accumulation in double
// (upstream: fp32). Upstream merges at the prefill only (it is a BasePress); here every eviction
// the budget policy makes is merged, prefill and decoding (cache_budget) alike.
#include <algorithm>
#include <cmath>
#include <limits>

#include "press/budget_wrapper_press.h"
#include "press/catalog.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

constexpr double kEps = 1e-6;

class MergingPress : public BudgetWrapperPress {
 public:
  MergingPress(std::unique_ptr<Press> inner, double threshold, double fraction)
      : BudgetWrapperPress(std::move(inner)), threshold_(threshold), fraction_(fraction) {}
  std::string Name() const override { return "merging"; }
  std::unique_ptr<Press> Clone() const override {
    return CloneAs<MergingPress>(threshold_, fraction_);
  }

 protected:
  void CompressToTarget(const LayerHookContext& ctx, const LayerTarget& t, bool decoding) override {
    std::vector<float> scores;
    for (int g = 0; g < ctx.cache->n_kv_heads(); ++g) {
      if (ctx.cache->Size(ctx.layer, g) <= t.n_kept) continue;
      inner()->ScoreHead(ctx, g, decoding, scores);
      const std::vector<int> keep =
          ScorerPress::TopK(scores, ctx.cache->Positions(ctx.layer, g), t.n_kept);
      MergeHead(ctx, g, keep);
      inner()->RetainHead(ctx, g, keep);
    }
  }

  // Folds the values of the slots not in `keep` (ascending) into their most similar kept slots.
  void MergeHead(const LayerHookContext& ctx, int g, const std::vector<int>& keep) const {
    KVCache& cache = *ctx.cache;
    const int n = cache.Size(ctx.layer, g), hd = cache.head_dim();
    const int n_keep = static_cast<int>(keep.size());
    if (n_keep == 0 || n_keep == n) return;
    std::vector<int> evict;
    for (int j = 0, i = 0; j < n; ++j) {
      if (i < n_keep && keep[static_cast<size_t>(i)] == j) {
        ++i;
      } else {
        evict.push_back(j);
      }
    }
    std::vector<float> row(static_cast<size_t>(hd));
    // Unit keys and value norms of the kept slots: [n_keep, hd], [n_keep].
    std::vector<double> kept_dir(static_cast<size_t>(n_keep) * hd),
        kept_vnorm(static_cast<size_t>(n_keep));
    auto unit_key = [&](int slot, double* out) {
      cache.KeyAt(ctx.layer, g, slot, row.data());
      double ss = 0;
      for (float x : row) ss += static_cast<double>(x) * x;
      const double inv = 1.0 / std::max(std::sqrt(ss), kEps);
      for (int c = 0; c < hd; ++c) out[c] = row[static_cast<size_t>(c)] * inv;
    };
    auto value_norm = [&](int slot) {
      cache.ValueAt(ctx.layer, g, slot, row.data());
      double ss = 0;
      for (float x : row) ss += static_cast<double>(x) * x;
      return std::sqrt(ss);
    };
    for (int i = 0; i < n_keep; ++i) {
      unit_key(keep[static_cast<size_t>(i)], kept_dir.data() + static_cast<size_t>(i) * hd);
      kept_vnorm[static_cast<size_t>(i)] = value_norm(keep[static_cast<size_t>(i)]);
    }
    const int n_evict = static_cast<int>(evict.size());
    std::vector<double> sim(static_cast<size_t>(n_evict)),
        dir(static_cast<size_t>(hd));  // [E], [hd]
    std::vector<int> target(static_cast<size_t>(n_evict));
    for (int e = 0; e < n_evict; ++e) {
      unit_key(evict[static_cast<size_t>(e)], dir.data());
      double best = -std::numeric_limits<double>::infinity();
      int arg = 0;
      for (int i = 0; i < n_keep; ++i) {
        const double* k = kept_dir.data() + static_cast<size_t>(i) * hd;
        double dot = 0;
        for (int c = 0; c < hd; ++c) dot += dir[static_cast<size_t>(c)] * k[c];
        if (dot > best) best = dot, arg = i;  // ties: the first kept slot
      }
      sim[static_cast<size_t>(e)] = best;
      target[static_cast<size_t>(e)] = arg;
    }
    std::vector<bool> ok(static_cast<size_t>(n_evict));
    bool any = false;
    for (int e = 0; e < n_evict; ++e)
      any |= (ok[static_cast<size_t>(e)] = sim[static_cast<size_t>(e)] >= threshold_);
    if (fraction_ < 1.0 && any) {
      std::vector<double> gated(static_cast<size_t>(n_evict));
      for (int e = 0; e < n_evict; ++e)
        gated[static_cast<size_t>(e)] = ok[static_cast<size_t>(e)]
                                            ? sim[static_cast<size_t>(e)]
                                            : -std::numeric_limits<double>::infinity();
      std::sort(gated.begin(), gated.end());
      const double at = (1.0 - fraction_) * (n_evict - 1);
      const int lo = static_cast<int>(std::floor(at)), hi = std::min(n_evict - 1, lo + 1);
      const double a = gated[static_cast<size_t>(lo)], b = gated[static_cast<size_t>(hi)];
      const double cut = a + (b - a) * (at - lo);  // NaN when a = −∞ < b: nothing passes (as torch)
      for (int e = 0; e < n_evict; ++e)
        ok[static_cast<size_t>(e)] =
            ok[static_cast<size_t>(e)] && sim[static_cast<size_t>(e)] >= cut;
    }
    std::vector<double> acc(static_cast<size_t>(n_keep) * hd, 0.0),
        wsum(static_cast<size_t>(n_keep), 0.0);
    for (int e = 0; e < n_evict; ++e) {
      if (!ok[static_cast<size_t>(e)]) continue;
      const int t = target[static_cast<size_t>(e)];
      const double ve = value_norm(evict[static_cast<size_t>(e)]);  // leaves the value in `row`
      const double w = std::max(sim[static_cast<size_t>(e)], 0.0) * ve /
                       (ve + kept_vnorm[static_cast<size_t>(t)] + kEps);
      wsum[static_cast<size_t>(t)] += w;
      for (int c = 0; c < hd; ++c)
        acc[static_cast<size_t>(t) * hd + c] += w * row[static_cast<size_t>(c)];
    }
    for (int i = 0; i < n_keep; ++i) {
      const double w = wsum[static_cast<size_t>(i)];
      if (!(w > 0)) continue;
      const int slot = keep[static_cast<size_t>(i)];
      cache.ValueAt(ctx.layer, g, slot, row.data());
      for (int c = 0; c < hd; ++c)
        row[static_cast<size_t>(c)] = static_cast<float>(
            (row[static_cast<size_t>(c)] + acc[static_cast<size_t>(i) * hd + c]) / (1.0 + w));
      cache.SetValue(ctx.layer, g, slot, row.data());
    }
  }

  double threshold_, fraction_;
};

}  // namespace

PressInfo MergingPressInfo() {
  PressInfo info{
      "merging",
      "merge-on-evict: each evicted value is folded into the kept slot with the most "
      "cosine-similar key (weight sim * |v_e|/(|v_e|+|v_t|)); keys unchanged",
      "kvpress MergingPress; ToMe (arXiv:2210.09461), D2O (arXiv:2406.13035)",
      "prefill, decode (every eviction of the inner scorer)",
      "the inner press's scores, keys, values",
      {{"threshold", "0", "minimum cosine similarity for a merge, in [0, 1]"},
       {"fraction", "1", "fraction of the evicted slots (most similar first) merged, in (0, 1]"}},
      [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
        PressParams p(spec);
        const double threshold = p.GetDouble("threshold", 0.0, 0.0, 1.0);
        const double fraction = p.GetDouble("fraction", 1.0, 1e-9, 1.0);
        RETURN_IF_ERROR(p.Finish());
        LayerCompressor* inner = nullptr;
        ASSIGN_OR_RETURN(std::unique_ptr<Press> child, CreateChildPress(spec, 0, &inner));
        if (dynamic_cast<ScorerPress*>(child.get()) == nullptr) {
          return FailedPrecondition(
              "merging needs a scoring press inside (knorm, snapkv, ...), not '" +
              spec.children[0].name + "'");
        }
        return std::unique_ptr<Press>(new MergingPress(std::move(child), threshold, fraction));
      }};
  info.min_children = info.max_children = 1;
  info.children_help = "a scoring press";
  return info;
}

}  // namespace kvpress
