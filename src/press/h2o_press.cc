// h2o — Zhang et al., "H2O: Heavy-Hitter Oracle for Efficient Generative Inference of Large
// Language Models", NeurIPS 2023, arXiv:2306.14048, in the reasoning fork's variant (reference
// §2.D): per slot j, acc_j = Σ over every query that attended to it (all forwards, prefill and
// decode) of the group-mean attention, cnt_j = number of such queries; score_j = acc_j / cnt_j.
// Accumulators start at 0 and are updated on every forward, also before the budget is reached.
// Unlike the fork (one accumulator shared by all layers, a bug), state is per layer and KV head.
#include "press/catalog.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

class H2oPress : public ScorerPress {
 public:
  std::string Name() const override { return "h2o"; }
  std::unique_ptr<Press> Clone() const override { return std::make_unique<H2oPress>(*this); }
  AttentionRequest Request(const ForwardInfo&) const override { return {.sum_all_queries = true}; }

  void Reset() override {
    ScorerPress::Reset();
    const size_t heads = static_cast<size_t>(config().n_layers * config().n_kv_heads);
    acc_.assign(heads, {});
    cnt_.assign(heads, {});
  }

 protected:
  void Observe(const LayerHookContext& ctx) override {
    if (ctx.stats == nullptr || ctx.stats->all_sum.empty()) return;
    for (int g = 0; g < ctx.cache->n_kv_heads(); ++g) {
      const std::vector<float> a = ctx.stats->ReduceGroup(ctx.stats->all_sum, g, AttentionStats::Reduce::kMean);
      const std::vector<float> c = VisibleQueryCounts(ctx, g);
      std::vector<float>& acc = acc_[Index(ctx.layer, g)];
      std::vector<float>& cnt = cnt_[Index(ctx.layer, g)];
      acc.resize(a.size(), 0.0f);  // new slots start at 0
      cnt.resize(a.size(), 0.0f);
      for (size_t j = 0; j < a.size(); ++j) {
        acc[j] += a[j];
        cnt[j] += c[j];
      }
    }
  }

  void Score(const LayerHookContext& ctx, int kv_head, bool, std::vector<float>& scores) override {
    const std::vector<float>& acc = acc_[Index(ctx.layer, kv_head)];
    const std::vector<float>& cnt = cnt_[Index(ctx.layer, kv_head)];
    for (size_t j = 0; j < scores.size(); ++j) scores[j] = cnt[j] > 0 ? acc[j] / cnt[j] : 0.0f;
  }

  void OnRetain(int layer, int kv_head, std::span<const int> keep) override {
    for (std::vector<float>* v : {&acc_[Index(layer, kv_head)], &cnt_[Index(layer, kv_head)]}) {
      std::vector<float> kept;
      kept.reserve(keep.size());
      for (int j : keep) kept.push_back((*v)[static_cast<size_t>(j)]);
      *v = std::move(kept);
    }
  }

 private:
  size_t Index(int layer, int kv_head) const {
    return static_cast<size_t>(layer * config().n_kv_heads + kv_head);
  }
  std::vector<std::vector<float>> acc_;  // [L*KV][slots]
  std::vector<std::vector<float>> cnt_;  // [L*KV][slots]
};

}  // namespace

PressInfo H2oPressInfo() {
  return {"h2o", "accumulated attention / number of observing queries (per layer, per KV head)",
          "Zhang et al. 2023, arXiv:2306.14048 (reasoning fork variant)", "prefill, decode",
          "attention of all queries", {},
          [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
            PressParams p(spec);
            RETURN_IF_ERROR(p.Finish());
            return std::unique_ptr<Press>(new H2oPress());
          }};
}

}  // namespace kvpress
