// finch — Corallo & Papotti, "FINCH: Prompt-guided Key-Value Cache Compression for Large Language
// Models", TACL 2024 (doi:10.1162/tacl_a_00716); upstream kvpress 0.5.5 FinchPress.
//
// A query-aware prefill: the prompt is context + question, both compressed together, and the
// question's w tokens (ForwardInfo::question_tokens) are SnapKV's observation window. Per layer and
// KV head g, over the cache's n slots (question included), with the group's G query heads h and
// the window's queries i = 0..w−1 at positions p_i:
//   p_{h,i,j} = softmax_j(q_{h,i}·k_j / √d) over the slots with pos_j ≤ p_i  (causal, f32 in
//   upstream) score_j   = 1/(G·w) Σ_h Σ_i c_i · p_{h,i,j}   for the n − w context slots,  c_i = n −
//   w + i
//               (normalize_scores: c_i, the number of earlier keys, offsets the wider softmax of
//               later queries; c_i = 1 without it)
//   score_j   = +∞ for the w question slots (upstream: the layer's max + 1; always kept)
// keep = the top max(1, ⌊n(1 − r)⌋) by score (ties: the more recent slot); with chunk_length = c,
// each chunk [s, s + c) of the slots keeps its own top max(1, ⌊len(1 − r)⌋). With rerotate_keys the
// kept slots are re-numbered to 0..k−1 and their keys re-rotated (key_rerotation's compaction), and
// the answer continues at k, as upstream's pipeline does (context_length = cache length).
//
// The split: upstream marks it with a delimiter token added to the tokenizer (and removed again
// from the embeddings, so the model never sees it); here the caller gives the question's token
// count with the prefill (generate --context C --question Q, eval --query-aware): the prompt's ids
// are the same as upstream's with the delimiter removed (the question tokenized on its own, as the
// special token splits it off). --cache-budget B keeps B slots instead of the ratio's count.
// Prefill only, as upstream (no decoding compression). Intentional differences: kept slots are in
// position order (upstream sorts them too when re-rotating); scores are accumulated in double.
#include <algorithm>
#include <cmath>
#include <limits>

#include "press/catalog.h"
#include "press/eviction_log.h"
#include "press/layer_compressor.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

struct FinchOptions {
  int chunk_length = 0;  // 0 = one selection over the whole cache
  bool normalize_scores = true;
  bool rerotate_keys = true;
};

class FinchPress : public Press {
 public:
  explicit FinchPress(FinchOptions o) : o_(o) {}
  std::string Name() const override { return "finch"; }
  std::unique_ptr<Press> Clone() const override { return std::make_unique<FinchPress>(*this); }
  bool NeedsQuestionTokens() const override { return true; }
  bool RenumbersPositions() const override { return o_.rerotate_keys; }
  Status Attach(const ModelConfig& config) override {
    inv_freq_ = config.RopeInvFreq();
    return Press::Attach(config);
  }
  // The question's queries all in the last chunk of the forward.
  AttentionRequest Request(const ForwardInfo& info) const override {
    if (info.phase == ForwardPhase::kPrefill) return {.last_queries = info.question_tokens};
    return {};
  }

 protected:
  void OnPrefill(const LayerHookContext& ctx) override {
    const int w = ctx.info.question_tokens;
    if (!ctx.info.last_chunk || w <= 0 || w > ctx.n_tokens) return;
    for (int g = 0; g < ctx.cache->n_kv_heads(); ++g) {
      const int n = ctx.cache->Size(ctx.layer, g);
      int n_kept = n;
      if (budget_.cache_budget > 0) {
        n_kept = std::min(n, budget_.cache_budget);
      } else if (budget_.removed_fraction > 0) {
        n_kept = UpstreamKept(n, budget_.removed_fraction);
      }
      if (n_kept >= n || n <= w) continue;
      const std::vector<float> scores = Score(ctx, g, w);  // [n]
      const auto positions = ctx.cache->Positions(ctx.layer, g);
      std::vector<int> keep;
      if (o_.chunk_length <= 0 || budget_.cache_budget > 0) {
        keep = ScorerPress::TopK(scores, positions, n_kept);
      } else {
        for (int start = 0; start < n; start += o_.chunk_length) {
          const int len = std::min(o_.chunk_length, n - start);
          const auto part = ScorerPress::TopK(
              std::span<const float>(scores).subspan(static_cast<size_t>(start),
                                                     static_cast<size_t>(len)),
              positions.subspan(static_cast<size_t>(start), static_cast<size_t>(len)),
              UpstreamKept(len, budget_.removed_fraction));
          for (int j : part) keep.push_back(start + j);
        }
      }
      if (static_cast<int>(keep.size()) >= n) continue;
      if (eviction_log_ != nullptr) eviction_log_->Record(ctx, g, keep);
      ctx.cache->Retain(ctx.layer, g, keep);
      if (o_.rerotate_keys) {
        std::vector<int32_t> compact(keep.size());  // [k] slot i → position i
        for (size_t i = 0; i < compact.size(); ++i) compact[i] = static_cast<int32_t>(i);
        ctx.cache->Renumber(ctx.layer, g, compact, inv_freq_.data(), config().rope_style);
      }
    }
  }
  void OnDecode(const LayerHookContext&) override {}

 private:
  // score_j of the header for KV head g: [n]; the last w slots (the question) get +∞.
  std::vector<float> Score(const LayerHookContext& ctx, int g, int w) const {
    const int n = ctx.cache->Size(ctx.layer, g), hd = ctx.cache->head_dim();
    const int H = config().n_heads, group = H / ctx.cache->n_kv_heads();
    const auto positions = ctx.cache->Positions(ctx.layer, g);
    std::vector<float> keys(static_cast<size_t>(n) * hd);  // [n, hd]
    for (int j = 0; j < n; ++j)
      ctx.cache->KeyAt(ctx.layer, g, j, keys.data() + static_cast<size_t>(j) * hd);
    const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
    std::vector<double> acc(static_cast<size_t>(n - w), 0.0),
        logit(static_cast<size_t>(n));  // [n − w], [n]
    for (int i = 0; i < w; ++i) {
      const int row = ctx.n_tokens - w + i;  // the query's row in this chunk
      const int32_t q_pos = ctx.positions[static_cast<size_t>(row)];
      const double weight = o_.normalize_scores ? static_cast<double>(n - w + i) : 1.0;
      for (int h = g * group; h < (g + 1) * group; ++h) {
        const float* q =
            ctx.queries + (static_cast<size_t>(row) * H + static_cast<size_t>(h)) * hd;  // [hd]
        double max_logit = -std::numeric_limits<double>::infinity();
        for (int j = 0; j < n; ++j) {
          if (positions[static_cast<size_t>(j)] > q_pos) {
            logit[static_cast<size_t>(j)] = -std::numeric_limits<double>::infinity();
            continue;
          }
          const float* k = keys.data() + static_cast<size_t>(j) * hd;
          double dot = 0;
          for (int c = 0; c < hd; ++c) dot += static_cast<double>(q[c]) * k[c];
          logit[static_cast<size_t>(j)] = dot * scale;
          max_logit = std::max(max_logit, logit[static_cast<size_t>(j)]);
        }
        double sum = 0;
        for (int j = 0; j < n; ++j) {
          const double e = std::exp(logit[static_cast<size_t>(j)] - max_logit);  // exp(−∞) = 0
          logit[static_cast<size_t>(j)] = e;
          sum += e;
        }
        for (int j = 0; j < n - w; ++j)
          acc[static_cast<size_t>(j)] += weight * logit[static_cast<size_t>(j)] / sum;
      }
    }
    std::vector<float> scores(static_cast<size_t>(n), std::numeric_limits<float>::infinity());
    for (int j = 0; j < n - w; ++j) {
      scores[static_cast<size_t>(j)] =
          static_cast<float>(acc[static_cast<size_t>(j)] / (static_cast<double>(w) * group));
    }
    return scores;
  }

  FinchOptions o_;
  std::vector<float> inv_freq_;  // [head_dim/2] the model's RoPE inverse frequencies
};

}  // namespace

PressInfo FinchPressInfo() {
  return {
      "finch",
      "SnapKV-style attention of the question's queries (question-aware prefill: context + "
      "question "
      "compressed together), each query's row weighted by its count of earlier keys; the question "
      "is "
      "kept; kept slots re-numbered to 0..k-1 with re-rotated keys",
      "Corallo & Papotti, FINCH, TACL 2024 (doi:10.1162/tacl_a_00716)",
      "prefill only (needs the question in the prefill: generate --context C --question Q, eval "
      "--query-aware)",
      "queries of the question, keys",
      {{"chunk_length", "0",
        "select within each chunk of this many slots (0 = whole cache; ratio mode)"},
       {"normalize_scores", "1", "weigh query i's attention by its count of earlier keys (1/0)"},
       {"rerotate_keys", "1", "re-number the kept slots 0..k-1 and re-rotate their keys (1/0)"}},
      [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
        PressParams p(spec);
        FinchOptions o;
        o.chunk_length = p.GetInt("chunk_length", 0, 0, kMaxPressTokens);
        o.normalize_scores = p.GetInt("normalize_scores", 1, 0, 1) != 0;
        o.rerotate_keys = p.GetInt("rerotate_keys", 1, 0, 1) != 0;
        RETURN_IF_ERROR(p.Finish());
        if (o.chunk_length > 0 && spec.budget.cache_budget > 0) {
          return FailedPrecondition(
              "finch: chunk_length selects a ratio of each chunk; use --compression-ratio, "
              "not --cache-budget");
        }
        return std::unique_ptr<Press>(new FinchPress(o));
      }};
}

}  // namespace kvpress
