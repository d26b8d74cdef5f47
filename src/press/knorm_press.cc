// knorm — Devoto et al., "A Simple and Effective L2 Norm-Based Strategy for KV Cache Compression",
// EMNLP 2024, arXiv:2406.11430.  score_j = −‖k_j‖₂ (keep low-norm keys).
// The norm is the one of the key before RoPE, recorded when the slot was appended: RoPE is
// orthogonal so it is the same number in exact arithmetic, and repeated tokens tie exactly so the
// recency tie-break decides between them.
#include "press/catalog.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

class KnormPress : public ScorerPress {
 public:
  std::string Name() const override { return "knorm"; }
  std::unique_ptr<Press> Clone() const override { return std::make_unique<KnormPress>(*this); }

 protected:
  void Score(const LayerHookContext& ctx, int kv_head, bool, std::vector<float>& scores) override {
    const std::span<const float> norms = ctx.cache->KeyNorms(ctx.layer, kv_head);
    for (size_t j = 0; j < scores.size(); ++j) scores[j] = -norms[j];
  }
};

}  // namespace

PressInfo KnormPressInfo() {
  return {"knorm", "score -||k|| (pre-RoPE key norm); keeps low-norm keys",
          "Devoto et al. 2024, arXiv:2406.11430", "prefill, decode", "key norms", {},
          [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
            PressParams p(spec);
            RETURN_IF_ERROR(p.Finish());
            return std::unique_ptr<Press>(new KnormPress());
          }};
}

}  // namespace kvpress
