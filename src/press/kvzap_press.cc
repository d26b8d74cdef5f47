// kvzap — Jegou et al., "KVzap: a fast approximation of KVzip" (arXiv:2601.07891); the scorer of
// upstream kvpress 0.5.5's KVzapPress, meant inside dms: `dms(kvzap:weights=FILE):threshold=τ`.
//
// A small trained model per layer maps the normalised layer input h_t [D] of each token to one
// score per KV head, once, when the token enters the cache:
//   linear:  s_t = W h_t + b                         W [H_kv, D]
//   mlp:     s_t = W2 GELU(W1 h_t + b1) + b2         W1 [F, D], W2 [H_kv, F]  (exact erf GELU)
// A slot keeps the score of its token for its whole life (higher = keep). Standalone with a ratio
// or a budget it prunes like any scorer; inside dms a token leaves with s < τ.
//
// Weights file (safetensors, f32/f16/bf16, the state-dict names of upstream's KVzapModel, so its
// published model.safetensors loads as is): per layer l
//   linear:  layers.{l}.weight [H_kv, D], layers.{l}.bias [H_kv]
//   mlp:     layers.{l}.0.weight [F, D], layers.{l}.0.bias [F], layers.{l}.2.weight [H_kv, F],
//            layers.{l}.2.bias [H_kv]
// The trained weights (nvidia/KVzap-{linear,mlp}-<model>) are downloaded by hand; tests use
// generated ones (tests/fixtures/kvzap/, scripts/goldens/make_kvzap_goldens.py).
#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <memory>

#include "core/mapped_file.h"
#include "model/safetensors.h"
#include "press/catalog.h"
#include "press/kvzap_weights.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

class KvzapPress : public ScorerPress {
 public:
  explicit KvzapPress(std::shared_ptr<const KvzapWeights> w) : w_(std::move(w)) {}
  std::string Name() const override { return "kvzap"; }
  std::unique_ptr<Press> Clone() const override { return std::make_unique<KvzapPress>(*this); }
  Status Attach(const ModelConfig& config) override {
    RETURN_IF_ERROR(Press::Attach(config));
    return w_->CheckShape(config);
  }
  void Reset() override {
    ScorerPress::Reset();
    by_position_.assign(static_cast<size_t>(config().n_layers) * config().n_kv_heads, {});
  }

 protected:
  // Scores the chunk's new tokens from their hidden states (every phase).
  void Observe(const LayerHookContext& ctx) override {
    const int KV = config().n_kv_heads;
    std::vector<float> s(static_cast<size_t>(KV));
    for (int t = 0; t < ctx.n_tokens; ++t) {
      w_->Score(ctx.layer, ctx.hidden + static_cast<size_t>(t) * w_->input_dim, s.data());
      const size_t p = static_cast<size_t>(ctx.positions[static_cast<size_t>(t)]);
      for (int g = 0; g < KV; ++g) {
        std::vector<float>& row = by_position_[static_cast<size_t>(ctx.layer) * KV + g];
        if (row.size() <= p) row.resize(p + 1, 0.0f);
        row[p] = s[static_cast<size_t>(g)];
      }
    }
  }
  void Score(const LayerHookContext& ctx, int kv_head, bool, std::vector<float>& scores) override {
    const std::vector<float>& row =
        by_position_[static_cast<size_t>(ctx.layer) * config().n_kv_heads + kv_head];
    const auto pos = ctx.cache->Positions(ctx.layer, kv_head);
    for (size_t j = 0; j < scores.size(); ++j) {
      const size_t p = static_cast<size_t>(pos[j]);
      // A slot whose token was never observed (cannot happen in one session) is kept.
      scores[j] = p < row.size() ? row[p] : INFINITY;
    }
  }

 private:
  std::shared_ptr<const KvzapWeights> w_;
  std::vector<std::vector<float>> by_position_;  // [L*KV][position] score of the token there
};

}  // namespace

PressInfo KvzapPressInfo() {
  return {
      "kvzap",
      "a trained linear/MLP map of each token's hidden state to one score per KV head (KVzip "
      "surrogate); meant inside dms",
      "Jegou et al. 2026, arXiv:2601.07891 (kvpress KVzapPress)",
      "prefill, decode",
      "hidden states; a weights file",
      {{"weights", "(required)",
        "safetensors with layers.{l}.weight/bias (linear) or layers.{l}.0/2.weight/bias (mlp)"}},
      [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
        PressParams p(spec);
        const std::string path = p.GetString("weights", "");
        RETURN_IF_ERROR(p.Finish());
        if (path.empty()) {
          return FailedPrecondition(
              "press 'kvzap' needs weights=FILE (the trained KVzap model as safetensors, e.g. "
              "nvidia/KVzap-mlp-<model>/model.safetensors)");
        }
        ASSIGN_OR_RETURN(KvzapWeights w, LoadKvzapWeights(path));
        return std::unique_ptr<Press>(
            new KvzapPress(std::make_shared<const KvzapWeights>(std::move(w))));
      }};
}

}  // namespace kvpress
