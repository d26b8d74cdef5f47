// per_layer — explicit per-layer compression (upstream kvpress PerLayerCompressionPress):
// `per_layer(snapkv):ratios=0.1/0.5/...` prunes layer l at the prefill to max(1, ⌊n(1−r_l)⌋) slots
// per KV head (r_l = 1 keeps nothing, as upstream's compute_n_kept), with the inner press's scores;
// `per_layer(knorm):budgets=512/256/...` gives layer l the cache budget B_l, kept at the prefill
// and at every decoding step (our extension; upstream has ratios only, prefill only). One value per
// layer; a list of another length is an error when the press is attached to the model. Upstream
// needs flash attention for this press; here nothing changes with the attention kernel.
#include <fmt/format.h>

#include <sstream>

#include "press/catalog.h"
#include "press/wrapper_press.h"

namespace kvpress {
namespace {

class PerLayerPress : public WrapperPress {
 public:
  PerLayerPress(std::unique_ptr<Press> inner, std::vector<double> ratios, std::vector<int> budgets)
      : ratios_(std::move(ratios)), budgets_(std::move(budgets)) {
    children_.push_back(std::move(inner));
  }
  std::string Name() const override { return "per_layer"; }
  std::unique_ptr<Press> Clone() const override {
    std::vector<std::unique_ptr<Press>> kids;
    if (!CloneChildren(kids)) return nullptr;
    auto copy = std::make_unique<PerLayerPress>(std::move(kids[0]), ratios_, budgets_);
    copy->config_ = config_;
    copy->budget_ = budget_;
    return copy;
  }
  Status Attach(const ModelConfig& config) override {
    const size_t given = ratios_.empty() ? budgets_.size() : ratios_.size();
    if (given != static_cast<size_t>(config.n_layers)) {
      return FailedPrecondition(fmt::format("per_layer: {} {} for a model of {} layers", given,
                                            ratios_.empty() ? "budgets" : "ratios", config.n_layers));
    }
    return WrapperPress::Attach(config);
  }

 protected:
  void OnPrefill(const LayerHookContext& ctx) override {
    inner()->ObserveChunk(ctx);
    if (!ctx.info.last_chunk || !InRange(ctx.layer)) return;
    const int n = ctx.cache->MaxSize(ctx.layer);
    if (!ratios_.empty()) {
      const double r = ratios_[static_cast<size_t>(ctx.layer)];
      if (r > 0) inner()->CompressLayer(ctx, UpstreamKept(n, r), r, false);
    } else {
      const int b = budgets_[static_cast<size_t>(ctx.layer)];
      if (n > b) inner()->CompressLayer(ctx, b, 1.0 - static_cast<double>(b) / n, false);
    }
  }
  void OnQuestion(const LayerHookContext& ctx) override { inner()->ObserveChunk(ctx); }
  void OnDecode(const LayerHookContext& ctx) override {
    inner()->ObserveChunk(ctx);
    if (budgets_.empty() || !InRange(ctx.layer)) return;
    const int n = ctx.cache->MaxSize(ctx.layer);
    const int b = budgets_[static_cast<size_t>(ctx.layer)];
    if (n > b) inner()->CompressLayer(ctx, b, 1.0 - static_cast<double>(b) / n, true);
  }

 private:
  LayerCompressor* inner() const { return Compressor(0); }
  bool InRange(int layer) const {
    return static_cast<size_t>(layer) < (ratios_.empty() ? budgets_.size() : ratios_.size());
  }
  std::vector<double> ratios_;
  std::vector<int> budgets_;
};

// "a/b/c" split at '/'.
std::vector<std::string> SplitSlash(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, '/')) out.push_back(item);
  return out;
}

}  // namespace

PressInfo PerLayerPressInfo() {
  PressInfo info{"per_layer",
                 "explicit per-layer ratios (prefill) or cache budgets (prefill and decode) for the inner press",
                 "kvpress PerLayerCompressionPress",
                 "prefill (ratios); prefill, decode (budgets)",
                 "the inner press's scores",
                 {{"ratios", "", "one fraction removed per layer, '/'-separated (0.1/0.5/...), in [0, 1]"},
                  {"budgets", "", "one cache budget per layer, '/'-separated (512/256/...)"}},
                 [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
                   PressParams p(spec);
                   const std::string ratios_text = p.GetString("ratios", "");
                   const std::string budgets_text = p.GetString("budgets", "");
                   RETURN_IF_ERROR(p.Finish());
                   if (ratios_text.empty() == budgets_text.empty()) {
                     return FailedPrecondition("per_layer needs exactly one of ratios=r0/r1/... or budgets=b0/b1/...");
                   }
                   std::vector<double> ratios;
                   std::vector<int> budgets;
                   for (const std::string& item : SplitSlash(ratios_text.empty() ? budgets_text : ratios_text)) {
                     PressSpec one;
                     one.name = "per_layer";
                     one.params["value"] = item;
                     PressParams q(one);
                     if (!ratios_text.empty()) {
                       ratios.push_back(q.GetDouble("value", 0, 0, 1));
                     } else {
                       budgets.push_back(q.GetInt("value", 1, 1, kMaxPressTokens));
                     }
                     RETURN_IF_ERROR(q.Finish());
                   }
                   LayerCompressor* inner = nullptr;
                   ASSIGN_OR_RETURN(std::unique_ptr<Press> child, CreateChildPress(spec, 0, &inner));
                   return std::unique_ptr<Press>(new PerLayerPress(std::move(child), std::move(ratios), std::move(budgets)));
                 }};
  info.min_children = info.max_children = 1;
  info.children_help = "a scoring press";
  return info;
}

}  // namespace kvpress
