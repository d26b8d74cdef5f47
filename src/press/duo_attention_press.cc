// duo_attention — Xiao et al., "DuoAttention: Efficient Long-Context LLM Inference with Retrieval
// and Streaming Heads", ICLR 2025, arXiv:2410.10819; the rule of upstream kvpress 0.5.5's
// DuoAttentionPress.
//
// Each (layer, KV head) has a pattern score a_{l,g} (src/press/duo_patterns.h). The
// round(L·H_kv·r) heads with the lowest scores (r = --compression-ratio, upstream's
// head_compression_ratio) become streaming heads: after the prefill they keep the first `sink` and
// the last `recent` slots; retrieval heads keep every slot. Scores come from patterns=FILE
// (kvpress stats --duo-patterns writes one from calibration text), or, with no file, are
// estimated on the fly as upstream's duo_attention_on_the_fly does, per layer:
//   q̄ = mean over the text's tokens of the pre-RoPE queries [H, hd];
//   k̄ = the same for the keys [H_kv, hd];
//   Q_i = RoPE_i(q̄), K_j = RoPE_j(k̄) for positions 0..499;
//   p = softmax_j(Q_499·K_j / √hd);
//   a_h = mean_j Σ_{i<=j} p_i  (area under the cumulated attention curve);
//   a_{l,g} = mean of a_h over the group's query heads (then over texts when there are several).
// Defaults sink = 128, recent = 256 (upstream's on-the-fly values; the published patterns carry
// their own in config.json).
//
// Intentional differences from upstream:
// - On the fly, upstream averages over 50 BookSum chapters (a dataset download); here the text is
//   the context being prefilled (one sample, the pattern decided at the end of the first prefill
//   forward of a sequence; later prefills reuse it). The golden feeds upstream that same context
//   as its only sample.
// - Streaming heads really shrink (the ragged cache frees their slots; kv_bytes_live drops);
//   upstream keeps full-length tensors and masks keys.
// - Pre-RoPE queries and keys are recovered by rotating the post-RoPE ones back (exact in real
//   arithmetic); queries of Qwen3/Gemma3 already carry q_norm/k_norm, as upstream applies them.
// - decoding=1 (not upstream, the paper's constant-memory streaming heads) also keeps streaming
//   heads at sink + recent slots after every decoding step; decoding=0 (upstream) keeps every
//   question and generated token.
// - recent=0 keeps the sinks only (upstream's slice [sink:-0] would mask nothing).
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <numeric>

#include "press/catalog.h"
#include "press/duo_patterns.h"
#include "press/eviction_log.h"

namespace kvpress {
namespace {

class DuoAttentionPress : public Press {
 public:
  struct Options {
    std::shared_ptr<const DuoPatterns> patterns;  // null = on the fly
    std::string patterns_path;
    int sink = 128;
    int recent = 256;
    bool decoding = false;
  };
  explicit DuoAttentionPress(Options o) : o_(std::move(o)) {}
  std::string Name() const override { return "duo_attention"; }
  std::unique_ptr<Press> Clone() const override {
    auto copy = std::make_unique<DuoAttentionPress>(*this);
    if (collector_ != nullptr)
      copy->collector_ = std::make_shared<DuoPatternCollector>(*collector_);
    return copy;
  }

  Status Attach(const ModelConfig& config) override {
    RETURN_IF_ERROR(Press::Attach(config));
    if (budget().cache_budget > 0 || budget().target_size > 0) {
      return FailedPrecondition(
          "duo_attention turns a fraction of the KV heads into streaming heads: give that fraction "
          "with --compression-ratio (upstream head_compression_ratio), not a budget");
    }
    if (o_.patterns != nullptr && (o_.patterns->n_layers != config.n_layers ||
                                   o_.patterns->n_kv_heads != config.n_kv_heads)) {
      return FailedPrecondition(fmt::format(
          "duo_attention patterns {} are for {} layers x {} KV heads, the model has {} x {}",
          o_.patterns_path, o_.patterns->n_layers, o_.patterns->n_kv_heads, config.n_layers,
          config.n_kv_heads));
    }
    Reset();
    return Status::Ok();
  }

  void Reset() override {
    streaming_.clear();
    collector_ = std::make_shared<DuoPatternCollector>(config());
  }

  // [L·H_kv], 1 = streaming head; empty before the first prefill ends.
  const std::vector<uint8_t>& streaming() const { return streaming_; }

 protected:
  void OnPrefill(const LayerHookContext& ctx) override {
    if (streaming_.empty() && o_.patterns == nullptr) collector_->AfterAttention(ctx);
    if (!ctx.info.last_chunk || ctx.layer != config().n_layers - 1) return;
    // Every layer is prefilled: decide the heads once, then trim every streaming head.
    if (streaming_.empty()) streaming_ = DuoStreamingMask(HeadScores(), budget().removed_fraction);
    for (int l = 0; l < config().n_layers; ++l) TrimLayer(ctx, l);
  }

  void OnDecode(const LayerHookContext& ctx) override {
    if (o_.decoding && !streaming_.empty()) TrimLayer(ctx, ctx.layer);
  }

 private:
  std::vector<double> HeadScores() {
    if (o_.patterns != nullptr) return o_.patterns->head_scores;
    collector_->EndSample();
    return collector_->Finish().head_scores;
  }

  // Streaming heads of layer l keep their first `sink` and last `recent` slots.
  void TrimLayer(const LayerHookContext& ctx, int l) {
    LayerHookContext at = ctx;
    at.layer = l;
    for (int g = 0; g < config().n_kv_heads; ++g) {
      if (streaming_[static_cast<size_t>(l * config().n_kv_heads + g)] == 0) continue;
      const int n = ctx.cache->Size(l, g);
      if (n <= o_.sink + o_.recent) continue;
      std::vector<int> keep(static_cast<size_t>(o_.sink));
      std::iota(keep.begin(), keep.end(), 0);
      for (int j = n - o_.recent; j < n; ++j) keep.push_back(j);
      if (eviction_log_ != nullptr) eviction_log_->Record(at, g, keep);
      ctx.cache->Retain(l, g, keep);
    }
  }

  Options o_;
  std::vector<uint8_t> streaming_;                  // [L·H_kv]
  std::shared_ptr<DuoPatternCollector> collector_;  // the first prefill's sums (on the fly)
};

}  // namespace

PressInfo DuoAttentionPressInfo() {
  return {
      "duo_attention",
      "retrieval heads keep every slot, the lowest-scoring fraction of KV heads (the ratio) "
      "become streaming heads (sink + recent slots); head scores from a patterns file or "
      "estimated from the context's mean query and key (upstream's on-the-fly estimate)",
      "Xiao et al. 2025 (DuoAttention), arXiv:2410.10819",
      "prefill (decode with decoding=1)",
      "pre-RoPE queries and keys of the first prefill (on the fly) or a patterns file",
      {{"patterns", "",
        "head scores: full_attention_heads.tsv or .safetensors 'head_scores' [L, H_kv]; "
        "empty = estimate on the fly from the context"},
       {"sink", "128", "slots a streaming head keeps at the start"},
       {"recent", "256", "most recent slots a streaming head keeps"},
       {"decoding", "0", "1: streaming heads stay at sink + recent while decoding (upstream: 0)"}},
      [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
        PressParams p(spec);
        DuoAttentionPress::Options o;
        o.patterns_path = p.GetString("patterns", "");
        o.sink = p.GetInt("sink", 128, 0, kMaxPressTokens);
        o.recent = p.GetInt("recent", 256, 0, kMaxPressTokens);
        o.decoding = p.GetInt("decoding", 0, 0, 1) != 0;
        RETURN_IF_ERROR(p.Finish());
        if (!o.patterns_path.empty()) {
          ASSIGN_OR_RETURN(DuoPatterns loaded, LoadDuoPatterns(o.patterns_path));
          o.patterns = std::make_shared<const DuoPatterns>(std::move(loaded));
        }
        return std::unique_ptr<Press>(new DuoAttentionPress(std::move(o)));
      }};
}

}  // namespace kvpress
