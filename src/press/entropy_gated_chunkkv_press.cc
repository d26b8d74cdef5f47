// entropy_gated_chunkkv — upstream kvpress EntropyGatedChunkKVPress, after ChunkKV (Liu et al.,
// "ChunkKV: Semantic-Preserving KV Cache Compression", arXiv:2502.00299). With s_j the inner
// press's score summed over KV heads, chunks c of `length` slots (a trailing partial chunk is its
// own):
//   S_c = mean_{j∈c} s_j;   p_j = s̃_j / (Σ_{c} s̃ + 1e-8), s̃ = s − min(min_c s, 0);
//   E_c = clamp(−Σ p_j log(p_j + 1e-8) / log|c|, 0, 1)   (E = 0 for a one-slot chunk)
// Budget b = max(1, ⌊n(1−r)⌋). Chunks are visited by S_c descending; each keeps min(|c|, b) slots,
// at most `low_length` (its best by s) when S_c ≥ median S and E_c < median E (important but
// spiky), whole otherwise; b shrinks by what it kept. Budget left at the end goes to the best
// unkept slots by s. The same slots stay in every head (medians: the lower middle value, as torch).
//
// Phases: prefill (ratio, or budget B as r = 1 − B/n) and decode (when a layer exceeds B + interval
// slack). Upstream compresses the prefill only. When the heads of a layer differ in length (another
// press ran first) the inner press compresses each head on its own.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "press/budget_wrapper_press.h"
#include "press/catalog.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

constexpr double kEps = 1e-8;

// Normalised entropy of one chunk's scores (upstream's rebasing of negative scores).
double ChunkEntropy(std::span<const float> s) {
  if (s.size() <= 1) return 0.0;
  const float lo = std::min(*std::min_element(s.begin(), s.end()), 0.0f);
  double sum = 0;
  for (float v : s) sum += static_cast<double>(v - lo);
  double h = 0;
  for (float v : s) {
    const double p = static_cast<double>(v - lo) / (sum + kEps);
    h -= p * std::log(p + kEps);
  }
  return std::clamp(h / std::log(static_cast<double>(s.size())), 0.0, 1.0);
}

// torch.median: the lower of the two middle values for an even count.
double LowerMedian(std::vector<double> v) {
  const size_t k = (v.size() - 1) / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

class EntropyGatedChunkKvPress : public BudgetWrapperPress {
 public:
  EntropyGatedChunkKvPress(std::unique_ptr<Press> inner, int length, int low_length)
      : BudgetWrapperPress(std::move(inner)), length_(length), low_length_(low_length) {}
  std::string Name() const override { return "entropy_gated_chunkkv"; }
  std::unique_ptr<Press> Clone() const override {
    return CloneAs<EntropyGatedChunkKvPress>(length_, low_length_);
  }

 protected:
  void CompressToTarget(const LayerHookContext& ctx, const LayerTarget& t, bool decoding) override {
    const int n = ctx.cache->MaxSize(ctx.layer);
    const int H = ctx.cache->n_kv_heads();
    for (int g = 0; g < H; ++g) {
      if (ctx.cache->Size(ctx.layer, g) != n) {
        inner()->CompressLayer(ctx, t.n_kept, t.ratio, decoding);
        return;
      }
    }
    std::vector<float> summed(static_cast<size_t>(n), 0.0f),
        scores;  // [n]: Σ over heads, as upstream (f32)
    for (int g = 0; g < H; ++g) {
      inner()->ScoreHead(ctx, g, decoding, scores);
      for (int j = 0; j < n; ++j) summed[static_cast<size_t>(j)] += scores[static_cast<size_t>(j)];
    }
    const std::vector<int> keep =
        Select(summed, ctx.cache->Positions(ctx.layer, 0), UpstreamKept(n, t.ratio));
    if (static_cast<int>(keep.size()) == n) return;
    for (int g = 0; g < H; ++g) inner()->RetainHead(ctx, g, keep);
  }

 private:
  // The gated chunk selection over head-summed scores s [n]; ascending slot indices.
  std::vector<int> Select(const std::vector<float>& s, std::span<const int32_t> pos,
                          int budget) const {
    const int n = static_cast<int>(s.size());
    const int n_chunks = (n + length_ - 1) / length_;
    std::vector<double> mean(static_cast<size_t>(n_chunks)), entropy(static_cast<size_t>(n_chunks));
    for (int c = 0; c < n_chunks; ++c) {
      const int start = c * length_, len = std::min(length_, n - start);
      const std::span<const float> chunk(s.data() + start, static_cast<size_t>(len));
      float sum = 0;
      for (float v : chunk) sum += v;
      mean[static_cast<size_t>(c)] = sum / static_cast<float>(len);
      entropy[static_cast<size_t>(c)] = ChunkEntropy(chunk);
    }
    const double score_median = LowerMedian(mean), entropy_median = LowerMedian(entropy);
    std::vector<int> order(static_cast<size_t>(n_chunks));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      return mean[static_cast<size_t>(a)] > mean[static_cast<size_t>(b)];
    });
    std::vector<bool> kept(static_cast<size_t>(n), false);
    for (int c : order) {
      if (budget <= 0) break;
      const int start = c * length_, len = std::min(length_, n - start);
      int take = std::min(len, budget);
      if (mean[static_cast<size_t>(c)] >= score_median &&
          entropy[static_cast<size_t>(c)] < entropy_median) {
        take = std::min(take, low_length_);
      }
      const std::span<const float> chunk(s.data() + start, static_cast<size_t>(len));
      for (int j : ScorerPress::TopK(
               chunk, pos.subspan(static_cast<size_t>(start), static_cast<size_t>(len)), take)) {
        kept[static_cast<size_t>(start + j)] = true;
      }
      budget -= take;
    }
    if (budget > 0) {  // the best unkept slots
      std::vector<int> left;
      std::vector<float> left_s;
      std::vector<int32_t> left_p;
      for (int j = 0; j < n; ++j) {
        if (kept[static_cast<size_t>(j)]) continue;
        left.push_back(j);
        left_s.push_back(s[static_cast<size_t>(j)]);
        left_p.push_back(pos[static_cast<size_t>(j)]);
      }
      for (int i :
           ScorerPress::TopK(left_s, left_p, std::min(budget, static_cast<int>(left.size())))) {
        kept[static_cast<size_t>(left[static_cast<size_t>(i)])] = true;
      }
    }
    std::vector<int> keep;
    for (int j = 0; j < n; ++j) {
      if (kept[static_cast<size_t>(j)]) keep.push_back(j);
    }
    return keep;
  }

  int length_, low_length_;
};

}  // namespace

PressInfo EntropyGatedChunkKvPressInfo() {
  PressInfo info{
      "entropy_gated_chunkkv",
      "chunkkv whose important but spiky chunks (score >= median, entropy < median) keep only "
      "their best "
      "`low_length` slots; the freed budget goes to further chunks",
      "kvpress EntropyGatedChunkKVPress, after ChunkKV, Liu et al. 2025, arXiv:2502.00299",
      "prefill, decode",
      "the inner press's scores",
      {{"length", "10", "chunk length in slots"},
       {"low_length", "4", "slots kept from a spiky chunk (< length)"}},
      [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
        PressParams p(spec);
        const int length = p.GetInt("length", 10, 2, kMaxPressTokens);
        const int low_length = p.GetInt("low_length", 4, 1, kMaxPressTokens);
        RETURN_IF_ERROR(p.Finish());
        if (low_length >= length) {
          return FailedPrecondition("entropy_gated_chunkkv needs low_length < length (got " +
                                    std::to_string(low_length) + " >= " + std::to_string(length) +
                                    ")");
        }
        LayerCompressor* inner = nullptr;
        ASSIGN_OR_RETURN(std::unique_ptr<Press> child, CreateChildPress(spec, 0, &inner));
        if (dynamic_cast<ScorerPress*>(child.get()) == nullptr) {
          return FailedPrecondition(
              "entropy_gated_chunkkv needs a scoring press inside (knorm, snapkv, "
              "...), not '" +
              spec.children[0].name + "'");
        }
        return std::unique_ptr<Press>(
            new EntropyGatedChunkKvPress(std::move(child), length, low_length));
      }};
  info.min_children = info.max_children = 1;
  info.children_help = "a scoring press";
  return info;
}

}  // namespace kvpress
