// simlayerkv — Zhang et al., "SimLayerKV: A Simple Framework for Layer-Level KV Cache Reduction",
// arXiv:2410.13846. Lazy layers (whose last query looks mostly at the first and the most recent
// tokens) keep only those; the other layers keep everything.
//
// At the end of the prefill, for a layer of n > n_initial + n_recent + n_last slots: with a_j = the
// attention the last query pays to slot j (softmax over all n slots, mean over all query heads),
//   lazy  ⇔  Σ_{j < n_initial} a_j + Σ_{n−1−n_recent ≤ j < n−1} a_j  >  threshold
// (the last slot, the query's own, is left out as upstream's window attention drops it). A lazy layer
// keeps its first n_initial slots and its last n_recent − n_last. threshold = 1 (default) turns the
// press off, as upstream; the paper recommends 0.9 (Llama-3), 0.65 (Llama-2), 0.8 (Mistral), 0.85
// (Qwen). Decoding (the paper's SLKV-decode): a layer found lazy stays a streaming layer — after each
// step it is trimmed back to n_initial + n_recent − n_last slots; other layers are never pruned.
// Budget flags are not used (the press decides its own sizes).
#include <vector>

#include "press/catalog.h"
#include "press/eviction_log.h"
#include "press/press.h"

namespace kvpress {
namespace {

class SimLayerKvPress : public Press {
 public:
  SimLayerKvPress(double threshold, int n_initial, int n_recent, int n_last)
      : threshold_(threshold), n_initial_(n_initial), n_recent_(n_recent), n_last_(n_last) {}
  std::string Name() const override { return "simlayerkv"; }
  std::unique_ptr<Press> Clone() const override { return std::make_unique<SimLayerKvPress>(*this); }
  void Reset() override { lazy_.assign(static_cast<size_t>(config().n_layers), false); }

  AttentionRequest Request(const ForwardInfo& info) const override {
    if (info.phase == ForwardPhase::kPrefill && info.last_chunk && threshold_ < 1.0) return {.last_queries = 1};
    return {};
  }

  // Layers found lazy at the prefill (for reports and tests).
  const std::vector<bool>& lazy() const { return lazy_; }

 protected:
  void OnPrefill(const LayerHookContext& ctx) override {
    if (!ctx.info.last_chunk || threshold_ >= 1.0 || ctx.stats == nullptr || ctx.stats->window_sum.empty()) return;
    const int n = ctx.cache->MaxSize(ctx.layer);
    if (n <= n_initial_ + n_recent_ + n_last_) return;
    const AttentionStats& st = *ctx.stats;
    double score = 0;
    for (int h = 0; h < st.n_heads; ++h) {
      const std::vector<float>& row = st.window_sum[static_cast<size_t>(h)];
      const int m = static_cast<int>(row.size());  // this head's group's slots (n, all heads equal here)
      for (int j = 0; j < n_initial_; ++j) score += row[static_cast<size_t>(j)];
      for (int j = m - 1 - n_recent_; j < m - 1; ++j) score += row[static_cast<size_t>(j)];
    }
    score /= static_cast<double>(st.n_heads) * st.window;
    if (score > threshold_) {
      lazy_[static_cast<size_t>(ctx.layer)] = true;
      Trim(ctx);
    }
  }
  void OnDecode(const LayerHookContext& ctx) override {
    if (lazy_.size() > static_cast<size_t>(ctx.layer) && lazy_[static_cast<size_t>(ctx.layer)]) Trim(ctx);
  }

 private:
  // Keeps the first n_initial and the last n_recent − n_last slots of every head of ctx.layer.
  void Trim(const LayerHookContext& ctx) {
    const int tail = n_recent_ - n_last_;
    for (int g = 0; g < ctx.cache->n_kv_heads(); ++g) {
      const int n = ctx.cache->Size(ctx.layer, g);
      if (n <= n_initial_ + tail) continue;
      std::vector<int> keep;
      for (int j = 0; j < n_initial_; ++j) keep.push_back(j);
      for (int j = n - tail; j < n; ++j) keep.push_back(j);
      if (eviction_log_ != nullptr) eviction_log_->Record(ctx, g, keep);
      ctx.cache->Retain(ctx.layer, g, keep);
    }
  }

  double threshold_;
  int n_initial_, n_recent_, n_last_;
  std::vector<bool> lazy_;  // [L]
};

}  // namespace

PressInfo SimLayerKvPressInfo() {
  return {"simlayerkv",
          "lazy layers (last query's attention on the first n_initial + last n_recent slots > threshold) keep "
          "only those slots, at the prefill and at every decoding step; other layers keep everything",
          "Zhang et al. 2024, arXiv:2410.13846",
          "prefill, decode",
          "attention of the last query",
          {{"threshold", "1", "laziness threshold (1 = off; paper: 0.9 Llama-3, 0.65 Llama-2, 0.8 Mistral, 0.85 Qwen)"},
           {"n_initial", "4", "first slots a lazy layer keeps"},
           {"n_recent", "1024", "recent window (a lazy layer keeps n_recent - n_last)"},
           {"n_last", "1", "queries observed"}},
          [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
            PressParams p(spec);
            const double threshold = p.GetDouble("threshold", 1.0, 0.0, 1.0);
            const int n_initial = p.GetInt("n_initial", 4, 0, kMaxPressTokens);
            const int n_recent = p.GetInt("n_recent", 1024, 1, kMaxPressTokens);
            const int n_last = p.GetInt("n_last", 1, 1, 1);
            RETURN_IF_ERROR(p.Finish());
            return std::unique_ptr<Press>(new SimLayerKvPress(threshold, n_initial, n_recent, n_last));
          }};
}

}  // namespace kvpress
