// block — block-wise iterative compression, as simulated in the KeyDiff paper (Park et al.,
// "KeyDiff: Key Similarity-Based KV Cache Eviction for Long-Context LLM Inference in
// Resource-Constrained Environments", 2025, arXiv:2504.15364) and upstream kvpress BlockPress.
//   n_kept = max(1, ⌊n(1−r)⌋);  S_0 = slots [0, n_kept)
//   for b = n_kept, n_kept + B, …:  C = S ∪ [b, min(b+B, n));  S = top-n_kept of score_P(C) over C
// where score_P(C) is the inner press's score computed on the sub-cache C alone (for keydiff the
// anchor is the mean of C's keys, so the result differs from one global top-k; for a per-slot score
// such as knorm it is the same). Kept slots stay in position order.
//
// Phases: prefill (ratio or budget) and decode. With --cache-budget B a decoding prune runs the
// same iteration over the slots beyond B (one new slot per step: exactly the inner press on B+1
// slots; with
// --compression-interval N the N newest slots form the last block). Upstream compresses the prefill
// only.
//
// Inner presses: scorers that read only the cache (knorm, keydiff, streaming_llm, lagkv, ...).
// Scorers that read attention statistics (snapkv, h2o, tova, ...) are refused: their statistics
// rows belong to the whole cache, not to a block (upstream likewise refuses attention weights).
#include <algorithm>

#include "press/budget_wrapper_press.h"
#include "press/catalog.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

class BlockPress : public BudgetWrapperPress {
 public:
  BlockPress(std::unique_ptr<Press> inner, int block_size)
      : BudgetWrapperPress(std::move(inner)), block_size_(block_size) {}
  std::string Name() const override { return "block"; }
  std::unique_ptr<Press> Clone() const override { return CloneAs<BlockPress>(block_size_); }

 protected:
  void CompressToTarget(const LayerHookContext& ctx, const LayerTarget& t, bool decoding) override {
    for (int g = 0; g < ctx.cache->n_kv_heads(); ++g) BlockHead(ctx, g, t.n_kept, decoding);
  }

 private:
  // Runs the block iteration on (ctx.layer, g) and retains the survivors.
  void BlockHead(const LayerHookContext& ctx, int g, int n_kept, bool decoding) {
    const KVCache& cache = *ctx.cache;
    const int n = cache.Size(ctx.layer, g);
    if (n <= n_kept) return;
    const int d = cache.head_dim();
    const auto positions = cache.Positions(ctx.layer, g);
    const auto norms = cache.KeyNorms(ctx.layer, g);
    std::vector<int> kept(static_cast<size_t>(n_kept));  // ascending slot indices of the full head
    for (int j = 0; j < n_kept; ++j) kept[static_cast<size_t>(j)] = j;
    std::vector<float> key(static_cast<size_t>(d)), value(static_cast<size_t>(d)),
        scores;  // [d], [d], [|C|]
    for (int b = n_kept; b < n; b += block_size_) {
      std::vector<int> candidates =
          kept;  // C = S ∪ block, ascending (the block follows every kept slot)
      for (int j = b; j < std::min(b + block_size_, n); ++j) candidates.push_back(j);
      if (static_cast<int>(candidates.size()) == n) {  // C is the whole head (e.g. a decoding step)
        inner()->ScoreHead(ctx, g, decoding, scores);
        kept = ScorerPress::TopK(scores, positions, n_kept);
        continue;
      }
      // The sub-cache holding C alone, at the same layer and head index, for the inner scorer.
      KVCache sub(cache.n_layers(), cache.n_kv_heads(), d, cache.dtype());
      for (int j : candidates) {
        cache.KeyAt(ctx.layer, g, j, key.data());
        cache.ValueAt(ctx.layer, g, j, value.data());
        sub.Append(ctx.layer, g, key.data(), value.data(), positions[static_cast<size_t>(j)],
                   norms[static_cast<size_t>(j)]);
      }
      LayerHookContext sub_ctx = ctx;
      sub_ctx.cache = &sub;
      sub_ctx.stats = nullptr;
      inner()->ScoreHead(sub_ctx, g, decoding, scores);
      const auto sub_pos = sub.Positions(ctx.layer, g);
      std::vector<int> next;
      next.reserve(static_cast<size_t>(n_kept));
      for (int i : ScorerPress::TopK(scores, sub_pos, n_kept))
        next.push_back(candidates[static_cast<size_t>(i)]);
      kept = std::move(next);
    }
    inner()->RetainHead(ctx, g, kept);
  }

  int block_size_;
};

}  // namespace

PressInfo BlockPressInfo() {
  PressInfo info{"block",
                 "block-wise iterative compression: the kept slots plus the next block of "
                 "`block_size` slots are "
                 "re-scored on their own and cut back to max(1, floor(n*(1-r)))",
                 "KeyDiff, Park et al. 2025, arXiv:2504.15364; kvpress BlockPress",
                 "prefill, decode",
                 "the inner press's scores on each block's sub-cache",
                 {{"block_size", "128", "slots added per iteration"}},
                 [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
                   PressParams p(spec);
                   const int block_size = p.GetInt("block_size", 128, 1, kMaxPressTokens);
                   RETURN_IF_ERROR(p.Finish());
                   LayerCompressor* inner = nullptr;
                   ASSIGN_OR_RETURN(std::unique_ptr<Press> child,
                                    CreateChildPress(spec, 0, &inner));
                   ForwardInfo prefill;
                   prefill.n_tokens = 1;
                   ForwardInfo decode = prefill;
                   decode.phase = ForwardPhase::kDecode;
                   if (dynamic_cast<ScorerPress*>(child.get()) == nullptr ||
                       child->Request(prefill).Any() || child->Request(decode).Any()) {
                     return FailedPrecondition(
                         "block needs a scoring press that reads only the cache (knorm, "
                         "keydiff, streaming_llm, lagkv, ...), not '" +
                         spec.children[0].name + "'");
                   }
                   return std::unique_ptr<Press>(new BlockPress(std::move(child), block_size));
                 }};
  info.min_children = info.max_children = 1;
  info.children_help = "a scoring press that reads only keys/values/positions";
  return info;
}

}  // namespace kvpress
