// adakv — Feng et al., "Ada-KV: Optimizing KV Cache Eviction by Adaptive Budget Allocation for
// Efficient LLM Inference", arXiv:2407.11550. Wraps any scoring press (`adakv(snapkv)`).
//
// A layer whose H_kv heads must keep n_kept slots each on average keeps H_kv·n_kept slots in all,
// spread over the heads by score: with s_{h,j} the inner press's score of slot j of head h,
//   1. safeguard: each head's top n_safe = max(1, ⌊α·n_kept⌋) slots get +∞ (α = alpha, default 0.2;
//      n_safe = 0 when α = 0 or n_kept = 0);
//   2. the H_kv·n_kept highest s_{h,j} over the whole layer are kept (ties: the more recent slot,
//      then the lower head).
// Intentional difference from upstream kvpress 0.5.5: upstream keeps every head at full length and
// hides the evicted slots behind "fake keys" (masked_key_indices + an attention patch), so no memory
// is freed; here each head of the ragged cache really shrinks to its own count (KVCache::Retain),
// and attention over the kept slots is the same. Upstream works in prefill only (or under
// DecodingPress, where masked slots stay in the tensors and can be selected again); here the budget
// policy also runs in decoding: with --cache-budget B, a layer whose heads hold more than H_kv·B
// slots in all (+ interval slack) is brought back to H_kv·B, so heads keep drifting towards where
// the scores are.
#include <algorithm>
#include <limits>
#include <numeric>

#include "press/catalog.h"
#include "press/scorer_press.h"
#include "press/wrapper_press.h"

namespace kvpress {
namespace {

class AdaKvPress : public WrapperPress, public LayerCompressor {
 public:
  AdaKvPress(std::unique_ptr<Press> inner, double alpha) : alpha_(alpha) { children_.push_back(std::move(inner)); }
  std::string Name() const override { return "adakv"; }
  std::unique_ptr<Press> Clone() const override {
    std::vector<std::unique_ptr<Press>> kids;
    if (!CloneChildren(kids)) return nullptr;
    auto copy = std::make_unique<AdaKvPress>(std::move(kids[0]), alpha_);
    copy->CopyStateFrom(*this);
    return copy;
  }
  void Reset() override {
    WrapperPress::Reset();
    driver_.Reset(config().n_layers);
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
      int slot;
    };
    std::vector<Slot> all;
    all.reserve(static_cast<size_t>(total));
    std::vector<float> scores;
    for (int g = 0; g < n_heads; ++g) {
      inner()->ScoreHead(ctx, g, decoding, scores);
      const auto pos = ctx.cache->Positions(ctx.layer, g);
      for (int j : ScorerPress::TopK(scores, pos, n_safe)) {
        scores[static_cast<size_t>(j)] = std::numeric_limits<float>::infinity();
      }
      for (size_t j = 0; j < scores.size(); ++j) all.push_back({scores[j], pos[j], g, static_cast<int>(j)});
    }
    auto better = [](const Slot& a, const Slot& b) {
      if (a.score != b.score) return a.score > b.score;
      if (a.position != b.position) return a.position > b.position;
      return a.head < b.head;
    };
    std::nth_element(all.begin(), all.begin() + (keep_total - 1), all.end(), better);
    std::vector<std::vector<int>> keep(static_cast<size_t>(n_heads));
    for (int64_t i = 0; i < keep_total; ++i) keep[static_cast<size_t>(all[i].head)].push_back(all[i].slot);
    for (int g = 0; g < n_heads; ++g) {
      auto& k = keep[static_cast<size_t>(g)];
      if (static_cast<int>(k.size()) == ctx.cache->Size(ctx.layer, g)) continue;
      std::sort(k.begin(), k.end());
      RetainHead(ctx, g, k);
    }
  }

 protected:
  void OnPrefill(const LayerHookContext& ctx) override { Step(ctx, false); }
  void OnQuestion(const LayerHookContext& ctx) override { Step(ctx, true); }
  void OnDecode(const LayerHookContext& ctx) override { Step(ctx, true); }

 private:
  LayerCompressor* inner() const { return Compressor(0); }
  void CopyStateFrom(const AdaKvPress& o) {
    config_ = o.config_;
    budget_ = o.budget_;
    driver_ = o.driver_;
  }

  void Step(const LayerHookContext& ctx, bool decoding) {
    inner()->ObserveChunk(ctx);
    const int n_heads = ctx.cache->n_kv_heads();
    int64_t total = 0;
    for (int g = 0; g < n_heads; ++g) total += ctx.cache->Size(ctx.layer, g);
    const double mean = static_cast<double>(total) / n_heads;
    const auto target = driver_.Decide(budget_, ctx, mean, ctx.cache->MaxSize(ctx.layer));
    if (target) CompressLayer(ctx, target->n_kept, target->ratio, decoding);
  }

  double alpha_;
  BudgetDriver driver_;
};

}  // namespace

PressInfo AdaKvPressInfo() {
  PressInfo info{"adakv",
                 "head-adaptive budgets: the layer's H_kv*n_kept best slots over all heads, each head keeping "
                 "its top alpha*n_kept (heads really shrink to their own sizes)",
                 "Feng et al. 2024, arXiv:2407.11550",
                 "prefill, decode",
                 "the inner press's scores",
                 {{"alpha", "0.2", "safeguard: fraction of n_kept each head keeps by its own ranking"}},
                 [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
                   PressParams p(spec);
                   const double alpha = p.GetDouble("alpha", 0.2, 0, 1);
                   RETURN_IF_ERROR(p.Finish());
                   LayerCompressor* inner = nullptr;
                   ASSIGN_OR_RETURN(std::unique_ptr<Press> child, CreateChildPress(spec, 0, &inner));
                   if (dynamic_cast<ScorerPress*>(child.get()) == nullptr) {
                     return FailedPrecondition("adakv needs a scoring press inside (knorm, snapkv, ...), not '" +
                                               spec.children[0].name + "'");
                   }
                   return std::unique_ptr<Press>(new AdaKvPress(std::move(child), alpha));
                 }};
  info.min_children = info.max_children = 1;
  info.children_help = "a scoring press";
  return info;
}

}  // namespace kvpress
