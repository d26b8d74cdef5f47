// qfilter — Godey et al., "Q-Filters: Leveraging QK Geometry for Efficient KV Cache Compression",
// arXiv:2503.02812.
//
// Queries and keys of a head are anisotropic: they concentrate around one direction, so the
// attention logit q·k is predicted, up to a positive factor, by the projection of k on that
// direction. The filter u_(l,g) of KV head g is the principal right singular vector of the matrix
// of post-RoPE queries of g's query heads over calibration text (the top eigenvector of Σ q qᵀ),
// signed so that the mean query projects positively. score_j = u · k_j (post-RoPE key, as cached).
//
// The filters come from a statistics file made here (`kvpress stats`, press/query_stats.h); nothing
// is downloaded. Upstream kvpress loads published filters (nthngdy/<model>_qfilt) and scores
// −(f · k), i.e. its stored filters point against the mean query; with f = −u both score the same
// (the golden test feeds upstream our filters that way).
// Phases: prefill and decode (scores read the cache only).
#include "press/catalog.h"
#include "press/query_stats.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

class QFilterPress : public ScorerPress {
 public:
  explicit QFilterPress(std::shared_ptr<const QueryStats> stats) : stats_(std::move(stats)) {}
  std::string Name() const override { return "qfilter"; }
  std::unique_ptr<Press> Clone() const override { return std::make_unique<QFilterPress>(*this); }

  Status Attach(const ModelConfig& config) override {
    RETURN_IF_ERROR(stats_->CheckShape(config, true, false));
    return Press::Attach(config);
  }

 protected:
  void Score(const LayerHookContext& ctx, int kv_head, bool, std::vector<float>& scores) override {
    const int hd = config().head_dim;
    const float* u = stats_->filters.data() +
                     static_cast<size_t>(ctx.layer * config().n_kv_heads + kv_head) * hd;
    std::vector<float> k(static_cast<size_t>(hd));
    for (size_t j = 0; j < scores.size(); ++j) {
      ctx.cache->KeyAt(ctx.layer, kv_head, static_cast<int>(j), k.data());
      double s = 0;
      for (int i = 0; i < hd; ++i) s += static_cast<double>(u[i]) * k[static_cast<size_t>(i)];
      scores[j] = static_cast<float>(s);
    }
  }

 private:
  std::shared_ptr<const QueryStats> stats_;  // [L, KV, hd] filters
};

}  // namespace

PressInfo QFilterPressInfo() {
  return {"qfilter",
          "Q-Filters: projection of each key on its head's principal query direction (filters from "
          "`kvpress "
          "stats` over calibration text; no download)",
          "Godey et al. 2025, arXiv:2503.02812",
          "prefill, decode",
          "keys; a statistics file (filters=FILE)",
          {{"filters", "", "statistics file written by `kvpress stats` (required)"}},
          [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
            PressParams p(spec);
            const std::string path = p.GetString("filters", "");
            RETURN_IF_ERROR(p.Finish());
            if (path.empty()) {
              return InvalidArgument(
                  "qfilter needs filters=FILE: make one with `kvpress stats -m MODEL --text "
                  "CALIBRATION.txt -o FILE`");
            }
            auto loaded = LoadQueryStats(path);
            if (!loaded.ok()) return loaded.status();
            if (loaded->filters.empty())
              return FailedPrecondition(path +
                                        ": holds no query_filters (not made by `kvpress stats`?)");
            return std::unique_ptr<Press>(
                new QFilterPress(std::make_shared<const QueryStats>(std::move(loaded).value())));
          }};
}

}  // namespace kvpress
