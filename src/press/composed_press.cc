// composed — chain presses on the same layer (upstream kvpress ComposedPress): after each layer's
// attention, press 1 runs on the cache, then press 2 on what press 1 left, and so on. Each inner
// press has its own budget ("composed(knorm:ratio=0.3,streaming_llm:ratio=0.2)"; without one it
// inherits the flags'); in ratio mode the overall fraction removed is 1 − Π(1 − r_i).
//
// Attention statistics (SnapKV, H2O, TOVA, ... after another press): the statistics of the forward
// are restricted to the slots the earlier presses kept (rows gathered, not renormalised).
// Upstream hands the second press the full-length eager attention (a shape error) or, with window
// recomputation, a softmax renormalised over the surviving keys; both are documented limitations
// there, and a press that only reads keys/values/positions (knorm, streaming_llm, keydiff, lagkv,
// ...) behaves identically in both. Upstream refuses adakv inside composed; here it is allowed
// (ragged heads are real).
#include <algorithm>

#include "press/catalog.h"
#include "press/wrapper_press.h"

namespace kvpress {
namespace {

class ComposedPress : public WrapperPress {
 public:
  explicit ComposedPress(std::vector<std::unique_ptr<Press>> presses) { children_ = std::move(presses); }
  std::string Name() const override { return "composed"; }
  std::unique_ptr<Press> Clone() const override {
    std::vector<std::unique_ptr<Press>> kids;
    if (!CloneChildren(kids)) return nullptr;
    auto copy = std::make_unique<ComposedPress>(std::move(kids));
    copy->config_ = config_;
    copy->budget_ = budget_;
    return copy;
  }

 protected:
  void OnPrefill(const LayerHookContext& ctx) override { Chain(ctx); }
  void OnQuestion(const LayerHookContext& ctx) override { Chain(ctx); }
  void OnDecode(const LayerHookContext& ctx) override { Chain(ctx); }

 private:
  void Chain(const LayerHookContext& ctx) {
    const int n_heads = ctx.cache->n_kv_heads();
    LayerHookContext c = ctx;
    AttentionStats stats;  // the statistics restricted to the slots still present
    for (size_t i = 0; i < children_.size(); ++i) {
      std::vector<std::vector<int32_t>> before(static_cast<size_t>(n_heads));
      for (int g = 0; g < n_heads; ++g) {
        const auto p = ctx.cache->Positions(ctx.layer, g);
        before[static_cast<size_t>(g)].assign(p.begin(), p.end());
      }
      children_[i]->AfterAttention(c);
      if (i + 1 == children_.size() || c.stats == nullptr) continue;
      // Gather the statistics rows to the surviving slots (positions are unique and ascending).
      AttentionStats next = *c.stats;
      for (int g = 0; g < n_heads; ++g) {
        const auto now = ctx.cache->Positions(ctx.layer, g);
        const auto& old = before[static_cast<size_t>(g)];
        if (now.size() == old.size()) continue;
        std::vector<int> keep;
        keep.reserve(now.size());
        size_t j = 0;
        for (int32_t p : now) {
          while (j < old.size() && old[j] != p) ++j;
          keep.push_back(static_cast<int>(j));
        }
        for (int h = g * next.group; h < (g + 1) * next.group; ++h) {
          for (auto* rows : {&next.all_sum, &next.window_sum}) {
            if (rows->empty()) continue;
            std::vector<float>& row = (*rows)[static_cast<size_t>(h)];
            std::vector<float> gathered(keep.size());
            for (size_t k = 0; k < keep.size(); ++k) gathered[k] = row[static_cast<size_t>(keep[k])];
            row = std::move(gathered);
          }
        }
      }
      stats = std::move(next);
      c.stats = &stats;
    }
  }
};

}  // namespace

PressInfo ComposedPressInfo() {
  PressInfo info{"composed",
                 "apply the inner presses one after the other on each layer (each on what the previous left)",
                 "kvpress ComposedPress",
                 "prefill, decode (as the inner presses)",
                 "what the inner presses need",
                 {},
                 [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
                   PressParams p(spec);
                   RETURN_IF_ERROR(p.Finish());
                   std::vector<std::unique_ptr<Press>> kids;
                   for (size_t i = 0; i < spec.children.size(); ++i) {
                     ASSIGN_OR_RETURN(std::unique_ptr<Press> child, CreateChildPress(spec, i));
                     kids.push_back(std::move(child));
                   }
                   return std::unique_ptr<Press>(new ComposedPress(std::move(kids)));
                 }};
  info.min_children = 1;
  info.max_children = -1;
  info.children_help = "any presses, applied in order";
  return info;
}

}  // namespace kvpress
