// observed_attention — the attention each key received in the current forward (kvpress's
// ObservedAttentionPress; the non-accumulating relative of H2O, arXiv:2306.14048):
// score_j = mean over the group's query heads of Σ_i A[i, j] / (number of queries of the forward
// that could see j). In decoding the forward has one query, so this is its attention row.
#include "press/catalog.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

class ObservedAttentionPress : public ScorerPress {
 public:
  std::string Name() const override { return "observed_attention"; }
  std::unique_ptr<Press> Clone() const override { return std::make_unique<ObservedAttentionPress>(*this); }
  AttentionRequest Request(const ForwardInfo& info) const override {
    if (info.phase == ForwardPhase::kQuestion) return {};
    return {.sum_all_queries = true};
  }

 protected:
  void Observe(const LayerHookContext& ctx) override {
    // A prefill may arrive in chunks: accumulate over the chunks of the current forward only.
    if (ctx.stats == nullptr || ctx.stats->all_sum.empty()) return;
    acc_.resize(static_cast<size_t>(config().n_layers * config().n_kv_heads));
    cnt_.resize(acc_.size());
    for (int g = 0; g < ctx.cache->n_kv_heads(); ++g) {
      const size_t i = static_cast<size_t>(ctx.layer * config().n_kv_heads + g);
      if (ctx.info.first_chunk) {  // a new forward: forget the previous one
        acc_[i].clear();
        cnt_[i].clear();
      }
      const std::vector<float> a = ctx.stats->ReduceGroup(ctx.stats->all_sum, g, AttentionStats::Reduce::kMean);
      const std::vector<float> c = VisibleQueryCounts(ctx, g);
      acc_[i].resize(a.size(), 0.0f);
      cnt_[i].resize(a.size(), 0.0f);
      for (size_t j = 0; j < a.size(); ++j) {
        acc_[i][j] += a[j];
        cnt_[i][j] += c[j];
      }
    }
  }

  void Score(const LayerHookContext& ctx, int kv_head, bool, std::vector<float>& scores) override {
    const size_t i = static_cast<size_t>(ctx.layer * config().n_kv_heads + kv_head);
    for (size_t j = 0; j < scores.size() && j < acc_[i].size(); ++j) {
      scores[j] = cnt_[i][j] > 0 ? acc_[i][j] / cnt_[i][j] : 0.0f;
    }
  }

 private:
  std::vector<std::vector<float>> acc_, cnt_;  // [L*KV][slots], current forward only
};

}  // namespace

PressInfo ObservedAttentionPressInfo() {
  return {"observed_attention", "mean attention received in the current forward (sum / observing queries)",
          "kvpress ObservedAttentionPress; cf. arXiv:2306.14048", "prefill, decode", "attention of all queries", {},
          [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
            PressParams p(spec);
            RETURN_IF_ERROR(p.Finish());
            return std::unique_ptr<Press>(new ObservedAttentionPress());
          }};
}

}  // namespace kvpress
