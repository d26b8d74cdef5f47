// criticaladakv — Feng et al., "Identify Critical KV Cache in LLM Inference from an Output
// Perturbation Perspective", arXiv:2502.03805: CriticalKV's two stages inside AdaKV's head-wise
// budgets. Wraps any scoring press (`criticaladakv(expected_attention)`).
//
// A layer whose H_kv heads keep n_kept slots each on average, s_{g,j} the inner press's scores:
//   1. safeguard: each head's top n_safe = max(1, ⌊α·n_kept⌋) slots get +∞ (α = alpha, 0.2);
//   2. budgets: b_g = how many of the layer's H_kv·n_kept highest s_{g,j} fall in head g;
//   3. stage 1: head g's top ⌊b_g·f⌋ slots by s are kept outright (f = first_stage_ratio, 0.5),
//      the safeguarded ones too;
//   4. stage 2: s'_j = (s_j + ε)·N_j, N_j = mean over the group's query heads h of ‖W_o^(h) v_j‖₁
//      (ε = epsilon, 1e-4; see criticalkv_press.cc), stage-1 slots +∞; head g keeps its top b_g.
// Ties keep the more recent slot (then the lower head in step 2).
// Intentional difference from upstream kvpress 0.5.5, as for adakv: upstream keeps every head at
// full length and masks the evicted slots ("fake keys"), so nothing is freed; here each head of the
// ragged cache shrinks to b_g (KVCache::Retain). Upstream compresses the prefill only; here the
// budget policy also runs in decoding (the layer's slots over all heads back to H_kv·B).
#include <algorithm>
#include <cmath>
#include <limits>

#include "press/budget_wrapper_press.h"
#include "press/catalog.h"
#include "press/projected_value_norms.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

class CriticalAdaKvPress : public BudgetWrapperPress, public LayerCompressor {
 public:
  CriticalAdaKvPress(std::unique_ptr<Press> inner, double alpha, double epsilon,
                     double first_stage_ratio)
      : BudgetWrapperPress(std::move(inner)),
        alpha_(alpha),
        epsilon_(epsilon),
        first_stage_ratio_(first_stage_ratio) {}
  std::string Name() const override { return "criticaladakv"; }
  std::unique_ptr<Press> Clone() const override {
    auto copy = CloneAs<CriticalAdaKvPress>(alpha_, epsilon_, first_stage_ratio_);
    if (copy) copy->norms_ = norms_;
    return copy;
  }
  void Reset() override {
    BudgetWrapperPress::Reset();
    norms_.Reset();
  }

  void ObserveChunk(const LayerHookContext& ctx) override { inner()->ObserveChunk(ctx); }
  void RetainHead(const LayerHookContext& ctx, int kv_head, std::span<const int> keep) override {
    inner()->RetainHead(ctx, kv_head, keep);
  }

  void CompressLayer(const LayerHookContext& ctx, int n_kept, double, bool decoding) override {
    const int n_heads = ctx.cache->n_kv_heads();
    int64_t total = 0;
    for (int g = 0; g < n_heads; ++g) total += ctx.cache->Size(ctx.layer, g);
    const int64_t keep_total = static_cast<int64_t>(n_heads) * n_kept;
    if (total <= keep_total) return;
    int n_safe = static_cast<int>(n_kept * alpha_);
    if (alpha_ > 0) n_safe = n_kept > 0 ? std::max(1, n_safe) : 0;
    struct Slot {
      float score;
      int32_t position;
      int head;
    };
    // Steps 1–2: safeguarded scores per head, then the head budgets from one cut over the layer.
    std::vector<std::vector<float>> scores(static_cast<size_t>(n_heads));  // [H_kv][Size]
    std::vector<Slot> all;
    all.reserve(static_cast<size_t>(total));
    for (int g = 0; g < n_heads; ++g) {
      auto& s = scores[static_cast<size_t>(g)];
      inner()->ScoreHead(ctx, g, decoding, s);
      const auto pos = ctx.cache->Positions(ctx.layer, g);
      for (int j : ScorerPress::TopK(s, pos, n_safe))
        s[static_cast<size_t>(j)] = std::numeric_limits<float>::infinity();
      for (size_t j = 0; j < s.size(); ++j) all.push_back({s[j], pos[j], g});
    }
    auto better = [](const Slot& a, const Slot& b) {
      if (a.score != b.score) return a.score > b.score;
      if (a.position != b.position) return a.position > b.position;
      return a.head < b.head;
    };
    std::nth_element(all.begin(), all.begin() + (keep_total - 1), all.end(), better);
    std::vector<int> budgets(static_cast<size_t>(n_heads), 0);  // [H_kv] b_g
    for (int64_t i = 0; i < keep_total; ++i)
      ++budgets[static_cast<size_t>(all[static_cast<size_t>(i)].head)];
    // Steps 3–4 per head.
    for (int g = 0; g < n_heads; ++g) {
      auto& s = scores[static_cast<size_t>(g)];
      const int b = budgets[static_cast<size_t>(g)];
      if (b >= static_cast<int>(s.size())) continue;
      const auto pos = ctx.cache->Positions(ctx.layer, g);
      std::vector<int> forced = ScorerPress::TopK(s, pos, static_cast<int>(b * first_stage_ratio_));
      for (size_t j = 0; j < s.size(); ++j) {
        if (std::isinf(s[j]) && s[j] > 0) forced.push_back(static_cast<int>(j));  // the safeguard
      }
      CriticalRescale(s, norms_.For(ctx, g, config().n_heads), forced, epsilon_);
      RetainHead(ctx, g, ScorerPress::TopK(s, pos, b));
    }
  }

 protected:
  // The mean slots per KV head: the layer's H_kv·B total is what the budget bounds.
  double LayerSize(const LayerHookContext& ctx) const override {
    const int n_heads = ctx.cache->n_kv_heads();
    int64_t total = 0;
    for (int g = 0; g < n_heads; ++g) total += ctx.cache->Size(ctx.layer, g);
    return static_cast<double>(total) / n_heads;
  }
  void CompressToTarget(const LayerHookContext& ctx, const LayerTarget& t, bool decoding) override {
    CompressLayer(ctx, t.n_kept, t.ratio, decoding);
  }

 private:
  double alpha_;
  double epsilon_;
  double first_stage_ratio_;
  ProjectedValueNorms norms_;
};

}  // namespace

PressInfo CriticalAdaKvPressInfo() {
  PressInfo info{
      "criticaladakv",
      "adakv's head-adaptive budgets with criticalkv's two stages inside each head (heads really "
      "shrink to their own sizes)",
      "Feng et al. 2025, arXiv:2502.03805",
      "prefill, decode",
      "the inner press's scores, the layer's W_o and the cached values",
      {{"alpha", "0.2", "safeguard: fraction of n_kept each head keeps by its own ranking"},
       {"epsilon", "1e-4", "added to the score before the projected-value rescale"},
       {"first_stage_ratio", "0.5", "share of each head's budget chosen by the inner score alone"}},
      [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
        PressParams p(spec);
        const double alpha = p.GetDouble("alpha", 0.2, 0, 1);
        const double epsilon = p.GetDouble("epsilon", 1e-4, 0, 1e9);
        const double first = p.GetDouble("first_stage_ratio", 0.5, 0, 1);
        RETURN_IF_ERROR(p.Finish());
        LayerCompressor* inner = nullptr;
        ASSIGN_OR_RETURN(std::unique_ptr<Press> child, CreateChildPress(spec, 0, &inner));
        if (dynamic_cast<ScorerPress*>(child.get()) == nullptr) {
          return FailedPrecondition(
              "criticaladakv needs a scoring press inside (knorm, snapkv, ...), not '" +
              spec.children[0].name + "'");
        }
        return std::unique_ptr<Press>(
            new CriticalAdaKvPress(std::move(child), alpha, epsilon, first));
      }};
  info.min_children = info.max_children = 1;
  info.children_help = "a scoring press";
  return info;
}

}  // namespace kvpress
