// cam — Cache Merging (CaM), Zhang et al., "CaM: Cache Merging for Memory-efficient LLMs
// Inference", ICML 2024 (https://openreview.net/forum?id=LCTmppB165), as upstream kvpress CAMPress
// implements it: a decoding press that merges the values it is about to evict into the kept
// neighbours that follow them, then evicts.
//
// Per layer and KV head a running cumulative attention Ā_j = Σ_t a_t[j] over every forward after
// the prefill (the question's, then each generated token's), a_t = softmax(q·k/√d) of the forward's
// last query, averaged over the query heads of the group (new slots start at 0). Every forward
// counts one step; when (steps ≥ interval and n > T) or the forward has ≥ T tokens:
//   s_j = mean over KV heads of the inner press's scores (one eviction set for every head);
//   keep K = top T of s (ascending slots), evict E = the other n − T;
//   merge candidates M = the `steps` highest-scored slots of E (ties: the later slot first);
//   for m ∈ M: window W_m = the next `merge_budget` kept slots after m (fewer at the end);
//     p_hm = clamp(Ā_h[m] / mean_{w ∈ W_m} Ā_h[w], 0, 1)   (0/0 → 0, x/0 → 1)
//     b_hm ~ Bernoulli(p_hm)  (merge=sample; merge=expected uses b = p, deterministic)
//     v_h[w] += b_hm · v_h[m] / |W_m|   for every w ∈ W_m        (rewritten in place)
//   then E is evicted and Ā pruned alike; steps restart at 0.
// T and the interval come from target= / interval= (defaults --target-size or --cache-budget, else
// 2048; --compression-interval, else 512), as `decoding`. The prefill is never compressed (wrap
// the prompt's compression in prefill_decoding). Heads of unequal lengths (after a head-adaptive
// prefill press) each use their own scores. Bernoulli draws come from std::mt19937_64 seeded by
// the spec's seed (upstream: torch.bernoulli); the goldens use merge=expected.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "press/budget_wrapper_press.h"
#include "press/catalog.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

class CamPress : public InnerWrapperPress {
 public:
  struct Options {
    int target = 2048;
    int interval = 512;
    int merge_budget = 32;
    bool expected = false;  // merge=expected: scale by p instead of sampling
  };
  CamPress(std::unique_ptr<Press> inner, Options o, uint64_t seed)
      : InnerWrapperPress(std::move(inner)), o_(o), seed_(seed), rng_(seed) {}
  std::string Name() const override { return "cam"; }
  std::unique_ptr<Press> Clone() const override {
    auto copy = CloneAs<CamPress>(o_, seed_);
    if (copy) {
      copy->steps_ = steps_;
      copy->attn_ = attn_;
      copy->rng_ = rng_;
    }
    return copy;
  }
  void Reset() override {
    WrapperPress::Reset();
    steps_.assign(static_cast<size_t>(config().n_layers), 0);
    attn_.assign(static_cast<size_t>(config().n_layers), {});
    rng_.seed(seed_);
  }
  AttentionRequest Request(const ForwardInfo& info) const override {
    AttentionRequest r = WrapperPress::Request(info);
    if (info.phase != ForwardPhase::kPrefill) r.last_queries = std::max(r.last_queries, 1);
    return r;
  }

 protected:
  void OnPrefill(const LayerHookContext& ctx) override {
    inner()->ObserveChunk(ctx);
    if (steps_.size() != static_cast<size_t>(config().n_layers)) Reset();
    steps_[static_cast<size_t>(ctx.layer)] = 0;  // a (new) sequence: no running attention yet
    attn_[static_cast<size_t>(ctx.layer)].clear();
  }
  void OnQuestion(const LayerHookContext& ctx) override { Step(ctx); }
  void OnDecode(const LayerHookContext& ctx) override { Step(ctx); }

 private:
  void Step(const LayerHookContext& ctx) {
    inner()->ObserveChunk(ctx);
    if (!ctx.info.last_chunk) return;
    if (steps_.size() != static_cast<size_t>(config().n_layers)) Reset();
    const int G = ctx.cache->n_kv_heads();
    std::vector<std::vector<double>>& attn = attn_[static_cast<size_t>(ctx.layer)];  // [G][slots]
    attn.resize(static_cast<size_t>(G));
    for (int g = 0; g < G; ++g) {
      std::vector<double>& a = attn[static_cast<size_t>(g)];
      a.resize(static_cast<size_t>(ctx.cache->Size(ctx.layer, g)), 0.0);
      if (ctx.stats == nullptr || ctx.stats->window_sum.empty()) continue;
      const std::vector<float> last =
          ctx.stats->ReduceGroup(ctx.stats->window_sum, g, AttentionStats::Reduce::kMean);
      for (size_t j = 0; j < a.size() && j < last.size(); ++j) a[j] += last[j];
    }
    int& steps = steps_[static_cast<size_t>(ctx.layer)];
    ++steps;
    const int n = ctx.cache->MaxSize(ctx.layer);
    if (!((steps >= o_.interval && n > o_.target) || ctx.info.n_tokens >= o_.target)) return;
    if (n > o_.target) Compress(ctx, steps);
    steps = 0;
  }

  void Compress(const LayerHookContext& ctx, int n_merge) {
    const int G = ctx.cache->n_kv_heads(), n = ctx.cache->Size(ctx.layer, 0);
    bool equal = true;
    for (int g = 1; g < G; ++g) equal = equal && ctx.cache->Size(ctx.layer, g) == n;
    std::vector<std::vector<float>> scores(static_cast<size_t>(G));  // [G][slots]
    for (int g = 0; g < G; ++g) inner()->ScoreHead(ctx, g, true, scores[static_cast<size_t>(g)]);
    if (equal) {  // one eviction set for every head: the mean score over heads
      std::vector<float> mean(static_cast<size_t>(n), 0.0f);
      for (int j = 0; j < n; ++j) {
        double s = 0;
        for (int g = 0; g < G; ++g) s += scores[static_cast<size_t>(g)][static_cast<size_t>(j)];
        mean[static_cast<size_t>(j)] = static_cast<float>(s / G);
      }
      for (auto& s : scores) s = mean;
    }
    for (int g = 0; g < G; ++g) {
      if (ctx.cache->Size(ctx.layer, g) <= o_.target) continue;
      const std::vector<int> keep = MergeHead(ctx, g, scores[static_cast<size_t>(g)], n_merge);
      inner()->RetainHead(ctx, g, keep);
      std::vector<double>& a = attn_[static_cast<size_t>(ctx.layer)][static_cast<size_t>(g)];
      std::vector<double> kept_attn;
      kept_attn.reserve(keep.size());
      for (int j : keep) kept_attn.push_back(a[static_cast<size_t>(j)]);
      a = std::move(kept_attn);
    }
  }

  // Chooses the kept slots of (layer, g) by `score`, merges the candidates' values into their
  // windows and returns the kept slots (ascending, before pruning).
  std::vector<int> MergeHead(const LayerHookContext& ctx, int g, const std::vector<float>& score,
                             int n_merge) {
    KVCache& cache = *ctx.cache;
    const int n = cache.Size(ctx.layer, g), hd = cache.head_dim(), T = o_.target;
    const auto pos = cache.Positions(ctx.layer, g);
    const std::vector<int> keep = ScorerPress::TopK(score, pos, T);
    std::vector<bool> kept(static_cast<size_t>(n), false);
    for (int j : keep) kept[static_cast<size_t>(j)] = true;
    std::vector<int> evict;
    for (int j = 0; j < n; ++j)
      if (!kept[static_cast<size_t>(j)]) evict.push_back(j);
    // The n_merge highest-scored evicted slots, ties to the later slot; then in slot order.
    std::vector<int> merge = evict;
    std::stable_sort(merge.begin(), merge.end(), [&](int a, int b) {
      const float sa = score[static_cast<size_t>(a)], sb = score[static_cast<size_t>(b)];
      return sa != sb ? sa > sb : a > b;
    });
    merge.resize(std::min(merge.size(), static_cast<size_t>(std::max(0, n_merge))));
    std::sort(merge.begin(), merge.end());
    const std::vector<double>& a = attn_[static_cast<size_t>(ctx.layer)][static_cast<size_t>(g)];
    std::vector<double> add(static_cast<size_t>(T) * hd, 0.0);  // [T, hd] increments of kept values
    std::vector<bool> touched(static_cast<size_t>(T), false);
    std::vector<float> v(static_cast<size_t>(hd));
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    for (int m : merge) {
      const int start =
          static_cast<int>(std::upper_bound(keep.begin(), keep.end(), m) - keep.begin());
      const int end = std::min(T, start + o_.merge_budget), width = end - start;
      if (width <= 0) continue;
      double mean = 0;
      for (int w = start; w < end; ++w)
        mean += a[static_cast<size_t>(keep[static_cast<size_t>(w)])];
      mean /= width;
      double p = a[static_cast<size_t>(m)] / mean;
      if (std::isnan(p)) p = 0;
      if (std::isinf(p)) p = 1;
      p = std::clamp(p, 0.0, 1.0);
      const double b = o_.expected ? p : (uniform(rng_) < p ? 1.0 : 0.0);
      if (b == 0) continue;
      cache.ValueAt(ctx.layer, g, m, v.data());
      for (int w = start; w < end; ++w) {
        touched[static_cast<size_t>(w)] = true;
        for (int c = 0; c < hd; ++c)
          add[static_cast<size_t>(w) * hd + c] += b * v[static_cast<size_t>(c)] / width;
      }
    }
    for (int w = 0; w < T; ++w) {
      if (!touched[static_cast<size_t>(w)]) continue;
      const int slot = keep[static_cast<size_t>(w)];
      cache.ValueAt(ctx.layer, g, slot, v.data());
      for (int c = 0; c < hd; ++c)
        v[static_cast<size_t>(c)] =
            static_cast<float>(v[static_cast<size_t>(c)] + add[static_cast<size_t>(w) * hd + c]);
      cache.SetValue(ctx.layer, g, slot, v.data());
    }
    return keep;
  }

  Options o_;
  uint64_t seed_;
  std::mt19937_64 rng_;
  std::vector<int> steps_;                              // [L] steps since the last compression
  std::vector<std::vector<std::vector<double>>> attn_;  // [L][G][slots] running attention Ā
};

}  // namespace

PressInfo CamPressInfo() {
  PressInfo info{
      "cam",
      "decoding: every `interval` steps evict to `target` by the inner scores (mean over heads) "
      "after merging the best evicted values into the next kept slots (Bernoulli by running "
      "attention)",
      "Zhang et al. 2024, CaM (ICML, openreview LCTmppB165); kvpress CAMPress",
      "decode (and question) forwards",
      "the inner press's scores, last-query attention",
      {{"target", "--target-size, --cache-budget or 2048",
        "slots per KV head after each compression"},
       {"interval", "--compression-interval or 512", "decoding steps between compressions"},
       {"merge_budget", "32", "kept slots after an evicted one that share its value"},
       {"merge", "sample",
        "sample: Bernoulli(p) merges (upstream); expected: weight p (deterministic)"}},
      [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
        PressParams p(spec);
        const BudgetPolicy& b = spec.budget;
        CamPress::Options o;
        o.target = p.GetInt("target",
                            b.target_size > 0    ? b.target_size
                            : b.cache_budget > 0 ? b.cache_budget
                                                 : 2048,
                            1, kMaxPressTokens);
        o.interval = p.GetInt("interval", b.compression_interval > 0 ? b.compression_interval : 512,
                              1, kMaxPressTokens);
        o.merge_budget = p.GetInt("merge_budget", 32, 1, kMaxPressTokens);
        const std::string merge = p.GetString("merge", "sample");
        RETURN_IF_ERROR(p.Finish());
        if (merge != "sample" && merge != "expected") {
          return FailedPrecondition("cam: merge= must be sample or expected, not '" + merge + "'");
        }
        o.expected = merge == "expected";
        LayerCompressor* inner = nullptr;
        ASSIGN_OR_RETURN(std::unique_ptr<Press> child, CreateChildPress(spec, 0, &inner));
        if (dynamic_cast<ScorerPress*>(child.get()) == nullptr) {
          return FailedPrecondition("cam needs a scoring press inside (knorm, snapkv, ...), not '" +
                                    spec.children[0].name + "'");
        }
        return std::unique_ptr<Press>(new CamPress(std::move(child), o, spec.seed));
      }};
  info.min_children = info.max_children = 1;
  info.children_help = "a scoring press";
  return info;
}

}  // namespace kvpress
