// tova — Oren et al., "Transformers are Multi-State RNNs", 2024, arXiv:2401.06104.
// score_j = attention of the last query to slot j averaged over ALL query heads (the same score for
// every KV head, so heads stay aligned); the last slot is always kept. In decoding the last query
// is the current one. When KV heads hold different slots (another press made them ragged), the mean
// is taken over each KV head's own group instead.
#include <algorithm>
#include <limits>

#include "press/catalog.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

class TovaPress : public ScorerPress {
 public:
  std::string Name() const override { return "tova"; }
  std::unique_ptr<Press> Clone() const override { return std::make_unique<TovaPress>(*this); }
  AttentionRequest Request(const ForwardInfo& info) const override {
    if (info.phase == ForwardPhase::kQuestion || !info.last_chunk) return {};
    return {.last_queries = 1};
  }

 protected:
  // Called before the layer is pruned: whether every KV head holds the same slots. (Deciding this
  // inside Score() would see the heads PruneLayer already pruned and fall back to the group mean
  // for every KV head after the first.)
  void Observe(const LayerHookContext& ctx) override {
    aligned_ = true;
    const auto p0 = ctx.cache->Positions(ctx.layer, 0);
    for (int g = 1; g < ctx.cache->n_kv_heads(); ++g) {
      const auto pg = ctx.cache->Positions(ctx.layer, g);
      aligned_ = aligned_ && std::equal(pg.begin(), pg.end(), p0.begin(), p0.end());
    }
  }

  void Score(const LayerHookContext& ctx, int kv_head, bool, std::vector<float>& scores) override {
    const size_t n = scores.size();
    if (ctx.stats == nullptr || ctx.stats->window_sum.empty()) return;
    if (aligned_) {
      for (const auto& row : ctx.stats->window_sum) {
        for (size_t j = 0; j < n; ++j) scores[j] += row[j] / static_cast<float>(ctx.stats->n_heads);
      }
    } else {
      scores = ctx.stats->ReduceGroup(ctx.stats->window_sum, kv_head, AttentionStats::Reduce::kMean);
    }
    scores[n - 1] = std::numeric_limits<float>::infinity();
  }

 private:
  bool aligned_ = true;  // of the layer being pruned, as it was before pruning
};

}  // namespace

PressInfo TovaPressInfo() {
  return {"tova", "attention of the last query, averaged over all heads; last slot kept",
          "Oren et al. 2024, arXiv:2401.06104", "prefill, decode", "attention of the last query", {},
          [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
            PressParams p(spec);
            RETURN_IF_ERROR(p.Finish());
            return std::unique_ptr<Press>(new TovaPress());
          }};
}

}  // namespace kvpress
