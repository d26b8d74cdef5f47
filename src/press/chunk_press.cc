// chunk — upstream kvpress ChunkPress (after FINCH, Corallo & Papotti, TACL 2024): the context is cut
// into chunks of `length` slots and each chunk keeps its own best max(1, ⌊len_c(1−r)⌋) slots by the
// inner press's score, so compression is spread evenly over the context.
// chunkkv — Liu et al., "ChunkKV: Semantic-Preserving KV Cache Compression", arXiv:2502.00299:
// chunks are kept or dropped whole. chunk score = mean over the chunk's slots of the score summed over
// KV heads (a trailing partial chunk is a chunk of its own); the best max(1, ⌊#chunks(1−r)⌋) chunks
// stay, at the same positions in every head. With no complete chunk the inner press decides alone.
//
// Both in prefill with --compression-ratio r; with --cache-budget B, r = 1 − B/n for the n slots
// present, at the prefill and whenever a decoding step finds the layer above B (+ interval slack).
// Intentional difference (chunk): upstream re-runs the inner press on each chunk's own hidden states,
// keys and values; here the inner press scores the whole cache once and each chunk ranks its slots
// by those scores. Identical for key/value scorers whose score of a slot does not depend on the
// others (knorm); for window-attention scorers (snapkv) the chunk's "window" is the context's.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "press/budget_wrapper_press.h"
#include "press/catalog.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

class ChunkPress : public BudgetWrapperPress {
 public:
  ChunkPress(std::unique_ptr<Press> inner, std::string name, int length)
      : BudgetWrapperPress(std::move(inner)), name_(std::move(name)), length_(length) {}
  std::string Name() const override { return name_; }
  std::unique_ptr<Press> Clone() const override { return CloneAs<ChunkPress>(name_, length_); }

 protected:
  void CompressToTarget(const LayerHookContext& ctx, const LayerTarget& t, bool decoding) override {
    if (name_ == "chunk") {
      ChunkWise(ctx, t.ratio, decoding);
    } else {
      WholeChunks(ctx, t, decoding);
    }
  }

 private:
  // chunk: per head, each chunk keeps its top max(1, ⌊len(1−r)⌋).
  void ChunkWise(const LayerHookContext& ctx, double ratio, bool decoding) {
    std::vector<float> scores;
    for (int g = 0; g < ctx.cache->n_kv_heads(); ++g) {
      const int n = ctx.cache->Size(ctx.layer, g);
      inner()->ScoreHead(ctx, g, decoding, scores);
      const auto pos = ctx.cache->Positions(ctx.layer, g);
      std::vector<int> keep;
      for (int start = 0; start < n; start += length_) {
        const int len = std::min(length_, n - start);
        const std::span<const float> s(scores.data() + start, static_cast<size_t>(len));
        for (int j : ScorerPress::TopK(s, pos.subspan(static_cast<size_t>(start), static_cast<size_t>(len)),
                                       UpstreamKept(len, ratio))) {
          keep.push_back(start + j);
        }
      }
      if (static_cast<int>(keep.size()) < n) inner()->RetainHead(ctx, g, keep);
    }
  }

  // chunkkv: whole chunks by their mean head-summed score, the same slots in every head.
  void WholeChunks(const LayerHookContext& ctx, const LayerTarget& t, bool decoding) {
    const int H = ctx.cache->n_kv_heads();
    const int n = ctx.cache->Size(ctx.layer, 0);
    for (int g = 1; g < H; ++g) {
      if (ctx.cache->Size(ctx.layer, g) != n) {  // heads differ (another press ran first): per head
        inner()->CompressLayer(ctx, t.n_kept, t.ratio, decoding);
        return;
      }
    }
    const int complete = n / length_, rest = n % length_;
    if (complete == 0) {
      inner()->CompressLayer(ctx, t.n_kept, t.ratio, decoding);
      return;
    }
    std::vector<double> summed(static_cast<size_t>(n), 0.0);
    std::vector<float> scores;
    for (int g = 0; g < H; ++g) {
      inner()->ScoreHead(ctx, g, decoding, scores);
      for (int j = 0; j < n; ++j) summed[static_cast<size_t>(j)] += scores[static_cast<size_t>(j)];
    }
    const int n_chunks = complete + (rest > 0 ? 1 : 0);
    std::vector<float> chunk_score(static_cast<size_t>(n_chunks));
    std::vector<int32_t> chunk_rank_pos(static_cast<size_t>(n_chunks));  // ties: the later chunk
    for (int c = 0; c < n_chunks; ++c) {
      const int start = c * length_, len = std::min(length_, n - start);
      double s = 0;
      for (int j = start; j < start + len; ++j) s += summed[static_cast<size_t>(j)];
      chunk_score[static_cast<size_t>(c)] = static_cast<float>(s / len);
      chunk_rank_pos[static_cast<size_t>(c)] = c;
    }
    const int kept_chunks = std::max(1, static_cast<int>(n_chunks * (1.0 - t.ratio)));
    std::vector<int> keep;
    for (int c : ScorerPress::TopK(chunk_score, chunk_rank_pos, kept_chunks)) {
      const int start = c * length_, len = std::min(length_, n - start);
      for (int j = start; j < start + len; ++j) keep.push_back(j);
    }
    if (static_cast<int>(keep.size()) == n) return;
    for (int g = 0; g < H; ++g) inner()->RetainHead(ctx, g, keep);
  }

  std::string name_;
  int length_;
};

PressInfo Info(const std::string& name, const std::string& summary, const std::string& paper, int default_length) {
  PressInfo info{name,
                 summary,
                 paper,
                 "prefill, decode",
                 "the inner press's scores",
                 {{"length", std::to_string(default_length), "chunk length in slots"}},
                 [name, default_length](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
                   PressParams p(spec);
                   const int length = p.GetInt("length", default_length, 1, kMaxPressTokens);
                   RETURN_IF_ERROR(p.Finish());
                   LayerCompressor* inner = nullptr;
                   ASSIGN_OR_RETURN(std::unique_ptr<Press> child, CreateChildPress(spec, 0, &inner));
                   if (dynamic_cast<ScorerPress*>(child.get()) == nullptr) {
                     return FailedPrecondition(name + " needs a scoring press inside (knorm, snapkv, ...), not '" +
                                               spec.children[0].name + "'");
                   }
                   return std::unique_ptr<Press>(new ChunkPress(std::move(child), name, length));
                 }};
  info.min_children = info.max_children = 1;
  info.children_help = "a scoring press";
  return info;
}

}  // namespace

PressInfo ChunkPressInfo() {
  return Info("chunk", "each chunk of `length` slots keeps its own best max(1, floor(len*(1-r))) slots",
              "kvpress ChunkPress; FINCH, Corallo & Papotti, TACL 2024", 1024);
}

PressInfo ChunkKvPressInfo() {
  return Info("chunkkv",
              "whole chunks of `length` slots kept or dropped by their mean head-summed score (same slots in "
              "every head)",
              "Liu et al. 2025, arXiv:2502.00299", 20);
}

}  // namespace kvpress
