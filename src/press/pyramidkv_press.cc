// pyramidkv — Cai et al., "PyramidKV: Dynamic KV Cache Compression based on Pyramidal Information
// Funneling", arXiv:2406.02069. SnapKV scores with per-layer budgets that fall linearly with depth.
//
// For a layer of n slots compressed at ratio r (upstream get_layer_budget), with w = window, β = beta,
// L layers:  C = w + n(1−r);  lo = (C−w)/β;  hi = 2(C−w) − lo;  if hi ≥ n−w: hi = n−w, lo = 2(C−w) − hi;
//   if not n ≥ hi ≥ lo ≥ w: budget = max(1, round(n(1−r)))  (every layer the same)
//   else budget_l = round(hi − l·(hi−lo)/(L−1))            (round half to even, as Python's round)
// The mean over layers is ≈ n(1−r). With --cache-budget B the same formula runs with n(1−r) = B
// (r = 1 − B/n for the current n), at the prefill and at every prune in decoding; the wrapped
// press can also be any other scorer: pyramidkv(knorm) gives knorm pyramid budgets.
#include <cmath>

#include "press/budget_wrapper_press.h"
#include "press/catalog.h"

namespace kvpress {
namespace {

// Upstream PyramidKVPress.get_layer_budget (Python floats, round half to even).
int PyramidBudget(int n, double ratio, int layer, int n_layers, int window, int beta) {
  const double capacity = window + n * (1.0 - ratio);
  double lo = (capacity - window) / beta;
  double hi = (capacity - window) * 2 - lo;
  if (hi >= n - window) {
    hi = n - window;
    lo = (capacity - window) * 2 - hi;
  }
  if (!(n >= hi && hi >= lo && lo >= window)) return std::max(1, static_cast<int>(std::nearbyint(n * (1.0 - ratio))));
  const double steps = n_layers > 1 ? (hi - lo) / (n_layers - 1) : 0.0;
  return static_cast<int>(std::nearbyint(hi - layer * steps));
}

class PyramidKvPress : public BudgetWrapperPress, public LayerCompressor {
 public:
  PyramidKvPress(std::unique_ptr<Press> inner, int window, int beta)
      : BudgetWrapperPress(std::move(inner)), window_(window), beta_(beta) {}
  std::string Name() const override { return "pyramidkv"; }
  std::unique_ptr<Press> Clone() const override { return CloneAs<PyramidKvPress>(window_, beta_); }

  void ObserveChunk(const LayerHookContext& ctx) override { inner()->ObserveChunk(ctx); }
  void RetainHead(const LayerHookContext& ctx, int kv_head, std::span<const int> keep) override {
    inner()->RetainHead(ctx, kv_head, keep);
  }
  bool ScoreHead(const LayerHookContext& ctx, int kv_head, bool decoding, std::vector<float>& scores) override {
    return inner()->ScoreHead(ctx, kv_head, decoding, scores);
  }
  void CompressLayer(const LayerHookContext& ctx, int, double ratio, bool decoding) override {
    const int n = ctx.cache->MaxSize(ctx.layer);
    const int kept = PyramidBudget(n, ratio, ctx.layer, config().n_layers, window_, beta_);
    inner()->CompressLayer(ctx, kept, ratio, decoding);
  }

 protected:
  void CompressToTarget(const LayerHookContext& ctx, const LayerTarget& t, bool decoding) override {
    CompressLayer(ctx, t.n_kept, t.ratio, decoding);
  }

 private:
  int window_;
  int beta_;
};

}  // namespace

PressInfo PyramidKvPressInfo() {
  PressInfo info{"pyramidkv",
                 "SnapKV scores (or the inner press's) with pyramid per-layer budgets: more slots in lower layers, "
                 "mean n(1-r)",
                 "Cai et al. 2024, arXiv:2406.02069",
                 "prefill, decode",
                 "attention of the last w queries (as snapkv)",
                 {{"window", "64", "SnapKV observation window, also the pyramid's w"},
                  {"kernel", "5", "SnapKV average-pooling width"},
                  {"beta", "20", "pyramid steepness (top/bottom budget ratio)"}},
                 [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
                   PressParams p(spec);
                   const int window = p.GetInt("window", 64, 1, kMaxPressTokens);
                   const int kernel = p.GetInt("kernel", 5, 1, kMaxPressTokens);
                   const int beta = p.GetInt("beta", 20, 1, kMaxPressTokens);
                   RETURN_IF_ERROR(p.Finish());
                   PressSpec inner_spec = spec;
                   inner_spec.params.clear();
                   if (spec.children.empty()) {
                     PressSpec snap;
                     snap.name = "snapkv";
                     snap.params = {{"window", std::to_string(window)}, {"kernel", std::to_string(kernel)}};
                     inner_spec.children = {snap};
                   } else if (spec.params.count("kernel")) {
                     return FailedPrecondition("pyramidkv: kernel= applies to the built-in snapkv; give it to the inner press");
                   }
                   inner_spec.children[0].budget = spec.budget;
                   LayerCompressor* inner = nullptr;
                   ASSIGN_OR_RETURN(std::unique_ptr<Press> child, CreateChildPress(inner_spec, 0, &inner));
                   return std::unique_ptr<Press>(new PyramidKvPress(std::move(child), window, beta));
                 }};
  info.max_children = 1;
  info.children_help = "optional scoring press, default snapkv:window=W,kernel=K";
  return info;
}

}  // namespace kvpress
