// keydiff — "KeyDiff: Key Similarity-Based KV Cache Eviction for Long-Context LLM Inference in
// Resource-Constrained Environments", 2025, arXiv:2504.15364.
// Anchor a = mean_j k_j/‖k_j‖ over the head's slots; score_j = −cos(k_j, a): keep the keys least
// similar to the average key. Keys are the cached (post-RoPE) ones, as in kvpress.
#include <cmath>

#include "press/catalog.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

class KeyDiffPress : public ScorerPress {
 public:
  std::string Name() const override { return "keydiff"; }
  std::unique_ptr<Press> Clone() const override { return std::make_unique<KeyDiffPress>(*this); }

 protected:
  void Score(const LayerHookContext& ctx, int kv_head, bool, std::vector<float>& scores) override {
    const int n = static_cast<int>(scores.size()), d = ctx.cache->head_dim();
    std::vector<float> keys(static_cast<size_t>(n) * d);
    std::vector<double> anchor(static_cast<size_t>(d), 0.0);
    std::vector<double> norms(static_cast<size_t>(n));
    for (int j = 0; j < n; ++j) {
      float* k = keys.data() + static_cast<size_t>(j) * d;
      ctx.cache->KeyAt(ctx.layer, kv_head, j, k);
      double ss = 0.0;
      for (int i = 0; i < d; ++i) ss += static_cast<double>(k[i]) * k[i];
      norms[static_cast<size_t>(j)] = std::max(std::sqrt(ss), 1e-12);
      for (int i = 0; i < d; ++i) anchor[static_cast<size_t>(i)] += k[i] / norms[static_cast<size_t>(j)] / n;
    }
    double an = 0.0;
    for (double v : anchor) an += v * v;
    an = std::max(std::sqrt(an), 1e-12);
    for (int j = 0; j < n; ++j) {
      const float* k = keys.data() + static_cast<size_t>(j) * d;
      double dot = 0.0;
      for (int i = 0; i < d; ++i) dot += k[i] * anchor[static_cast<size_t>(i)];
      scores[static_cast<size_t>(j)] = static_cast<float>(-dot / (norms[static_cast<size_t>(j)] * an));
    }
  }
};

}  // namespace

PressInfo KeyDiffPressInfo() {
  return {"keydiff", "score -cos(k, mean normalised key); keeps distinctive keys",
          "KeyDiff 2025, arXiv:2504.15364", "prefill, decode", "keys", {},
          [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
            PressParams p(spec);
            RETURN_IF_ERROR(p.Finish());
            return std::unique_ptr<Press>(new KeyDiffPress());
          }};
}

}  // namespace kvpress
