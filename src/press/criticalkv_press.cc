// criticalkv — Feng et al., "Identify Critical KV Cache in LLM Inference from an Output
// Perturbation Perspective", arXiv:2502.03805. Wraps any scoring press (`criticalkv(snapkv)`).
//
// For a head of n slots that keeps n_kept, with s_j the inner press's score of slot j:
//   stage 1: the top n₁ slots by s are kept outright, n₁ = ⌊(1−r)·n·f⌋ (f = first_stage_ratio,
//            default 0.5; at least 1 when f > 0 and r < 1) — in ratio mode exactly upstream's
//            formula; under a budget (--cache-budget, decoding) n₁ = max(1, ⌊n_kept·f⌋);
//   stage 2: s'_j = (s_j + ε)·N_j with N_j = mean over the group's query heads h of ‖W_o^(h) v_j‖₁
//            (W_o^(h): query head h's d×hd slice of the output projection; ε = epsilon, 1e-4);
//            stage-1 slots get +∞, and the top n_kept of s' are kept (ties: the more recent slot).
// N_j is computed once per slot from the layer's W_o (LayerHookContext::wo, widened to f32 from
// whatever dtype the model holds) and kept with the slot (ProjectedValueNorms).
// Intentional differences from upstream kvpress 0.5.5: slots the inner press protects with +∞
// (snapkv's window) stay protected through stage 2, where upstream gives them max+1 and then
// rescales them like any other (the same choice whenever the window fits stage 1, as in the
// goldens); upstream is a scorer inside a prefill press, here the budget policy also runs in
// decoding (every step past the budget), with stage 1 taken from n_kept there.
#include <algorithm>

#include "press/budget_wrapper_press.h"
#include "press/catalog.h"
#include "press/projected_value_norms.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

class CriticalKvPress : public BudgetWrapperPress, public LayerCompressor {
 public:
  CriticalKvPress(std::unique_ptr<Press> inner, double epsilon, double first_stage_ratio)
      : BudgetWrapperPress(std::move(inner)),
        epsilon_(epsilon),
        first_stage_ratio_(first_stage_ratio) {}
  std::string Name() const override { return "criticalkv"; }
  std::unique_ptr<Press> Clone() const override {
    auto copy = CloneAs<CriticalKvPress>(epsilon_, first_stage_ratio_);
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

  void CompressLayer(const LayerHookContext& ctx, int n_kept, double ratio,
                     bool decoding) override {
    // Upstream's stage-1 count from the ratio in ratio mode, from n_kept under a budget.
    const bool ratio_mode = budget_.cache_budget == 0 && budget_.target_size == 0 &&
                            ctx.info.phase == ForwardPhase::kPrefill;
    std::vector<float> scores;
    for (int g = 0; g < ctx.cache->n_kv_heads(); ++g) {
      const int n = ctx.cache->Size(ctx.layer, g);
      if (n <= n_kept) continue;
      inner()->ScoreHead(ctx, g, decoding, scores);
      const auto pos = ctx.cache->Positions(ctx.layer, g);
      int n_first = ratio_mode ? static_cast<int>((1.0 - ratio) * n * first_stage_ratio_)
                               : static_cast<int>(n_kept * first_stage_ratio_);
      if (first_stage_ratio_ > 0) n_first = n_kept > 0 ? std::max(1, n_first) : 0;
      const std::vector<int> first = ScorerPress::TopK(scores, pos, n_first);
      CriticalRescale(scores, norms_.For(ctx, g, config().n_heads), first, epsilon_);
      RetainHead(ctx, g, ScorerPress::TopK(scores, pos, n_kept));
    }
  }

 protected:
  void CompressToTarget(const LayerHookContext& ctx, const LayerTarget& t, bool decoding) override {
    CompressLayer(ctx, t.n_kept, t.ratio, decoding);
  }

 private:
  double epsilon_;
  double first_stage_ratio_;
  ProjectedValueNorms norms_;
};

}  // namespace

PressInfo CriticalKvPressInfo() {
  PressInfo info{
      "criticalkv",
      "two-stage selection: the inner press's top first_stage_ratio share kept outright, the rest "
      "by "
      "(score + epsilon) * mean_h |W_o^(h) v|_1 (value norm after the output projection)",
      "Feng et al. 2025, arXiv:2502.03805",
      "prefill, decode",
      "the inner press's scores, the layer's W_o and the cached values",
      {{"epsilon", "1e-4", "added to the score before the projected-value rescale"},
       {"first_stage_ratio", "0.5", "share of the kept slots chosen by the inner score alone"}},
      [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
        PressParams p(spec);
        const double epsilon = p.GetDouble("epsilon", 1e-4, 0, 1e9);
        const double first = p.GetDouble("first_stage_ratio", 0.5, 0, 1);
        RETURN_IF_ERROR(p.Finish());
        LayerCompressor* inner = nullptr;
        ASSIGN_OR_RETURN(std::unique_ptr<Press> child, CreateChildPress(spec, 0, &inner));
        if (dynamic_cast<ScorerPress*>(child.get()) == nullptr) {
          return FailedPrecondition(
              "criticalkv needs a scoring press inside (knorm, snapkv, ...), not '" +
              spec.children[0].name + "'");
        }
        return std::unique_ptr<Press>(new CriticalKvPress(std::move(child), epsilon, first));
      }};
  info.min_children = info.max_children = 1;
  info.children_help = "a scoring press";
  return info;
}

}  // namespace kvpress
