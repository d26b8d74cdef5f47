// snapkv — Li et al., "SnapKV: LLM Knows What You are Looking for Before Generation",
// NeurIPS 2024, arXiv:2404.14469.  snapkv_d — its per-decoding-step variant from the reasoning
// fork ("Hold Onto That Thought", reference §2.D).
//
// With w = min(window, n) the last w slots form the observation window and are always kept. For
// the n − w older slots:  a_j = mean over the group's query heads of the attention that the
// observation queries paid to slot j (mean over the window queries); score_j = AvgPool1d(a, kernel)
// with stride 1, zero padding kernel/2 on both ends and division by `kernel` everywhere.
// Observation queries: the last w queries of the prefill; in decoding, the current query alone.
#include <limits>

#include "press/catalog.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

class SnapKvPress : public ScorerPress {
 public:
  SnapKvPress(std::string name, int window, int kernel) : name_(std::move(name)), window_(window), kernel_(kernel) {}
  std::string Name() const override { return name_; }
  std::unique_ptr<Press> Clone() const override { return std::make_unique<SnapKvPress>(*this); }

  AttentionRequest Request(const ForwardInfo& info) const override {
    if (info.phase == ForwardPhase::kDecode) return {.last_queries = 1};
    if (info.phase == ForwardPhase::kPrefill && info.last_chunk) return {.last_queries = window_};
    return {};
  }

 protected:
  void Score(const LayerHookContext& ctx, int kv_head, bool, std::vector<float>& scores) override {
    const int n = static_cast<int>(scores.size());
    const int w = std::min(window_, n);
    std::vector<float> a;
    if (ctx.stats != nullptr && !ctx.stats->window_sum.empty()) {
      a = ctx.stats->ReduceGroup(ctx.stats->window_sum, kv_head, AttentionStats::Reduce::kMean);
      for (float& v : a) v /= static_cast<float>(ctx.stats->window);
    } else {
      a.assign(static_cast<size_t>(n), 0.0f);
    }
    const std::vector<float> pooled = AvgPool1d(std::span<const float>(a.data(), static_cast<size_t>(n - w)), kernel_);
    for (int j = 0; j < n - w; ++j) scores[static_cast<size_t>(j)] = pooled[static_cast<size_t>(j)];
    for (int j = n - w; j < n; ++j) scores[static_cast<size_t>(j)] = std::numeric_limits<float>::infinity();
  }

 private:
  std::string name_;
  int window_;
  int kernel_;
};

StatusOr<std::unique_ptr<Press>> Create(const PressSpec& spec, const std::string& name) {
  PressParams p(spec);
  const int window = p.GetInt("window", 64, 1, kMaxPressTokens);
  const int kernel = p.GetInt("kernel", 5, 1, kMaxPressTokens);
  RETURN_IF_ERROR(p.Finish());
  if (window < 1) return InvalidArgument(name + ": window must be >= 1");
  if (kernel < 1 || kernel % 2 == 0) return InvalidArgument(name + ": kernel must be odd and >= 1");
  return std::unique_ptr<Press>(new SnapKvPress(name, window, kernel));
}

}  // namespace

PressInfo SnapKvPressInfo() {
  return {"snapkv", "pooled attention of the last `window` queries; the window is kept",
          "Li et al. 2024, arXiv:2404.14469", "prefill, decode", "attention of the last w queries",
          {{"window", "64", "observation window (slots kept, queries observed)"},
           {"kernel", "5", "average-pooling width"}},
          [](const PressSpec& spec) { return Create(spec, "snapkv"); }};
}

PressInfo SnapKvDecodingPressInfo() {
  return {"snapkv_d",
          "SnapKV at every decoding step: current query's pooled attention on slots older than the last "
          "w = min(window, n); keeps the last w plus the best budget - w older slots",
          "Hold Onto That Thought (reasoning fork of kvpress); SnapKV arXiv:2404.14469", "prefill, decode",
          "attention of the current query",
          {{"window", "64", "recent slots always kept"}, {"kernel", "5", "average-pooling width"}},
          [](const PressSpec& spec) { return Create(spec, "snapkv_d"); }};
}

}  // namespace kvpress
