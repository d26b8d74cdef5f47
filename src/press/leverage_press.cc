// leverage — approximate statistical leverage of the pre-RoPE keys, the geometric half of
// Compactor: Chari & Van Durme, "Compactor: Calibrated Query-Agnostic KV Cache Compression with
// Approximate Leverage Scores", arXiv:2507.08143 (upstream kvpress LeverageScorePress).
//
// Per KV head, over the n slots of the prefill: pre-RoPE keys K [n, d] centred over the sequence,
// sketched on the right by a Gaussian Φ [d, s] with entries N(0, 1/s):  X = (K − mean K) Φ  [n, s];
// with G = XᵀX + λI (λ = 1e−2, upstream's first Cholesky jitter)
//     score_j = max(0, x_jᵀ G⁻¹ x_j)
// sketch=0 uses X = K − mean K itself (exact ridge leverage, no randomness).
// Differences from upstream, on purpose: Φ comes from our std::mt19937_64 seeded by the spec's
// seed, drawn once per (layer, head) per sequence (upstream: torch.randn at every call, not
// reproducible, so no golden); upstream's final z-scoring over the layer (one shift and scale) is
// skipped (ranking unchanged). Pre-RoPE keys are the cached keys rotated back by their position.
// Prefill only, as upstream (the scores are defined over the prefill's keys); decoding does not
// prune.
#include <cmath>
#include <random>

#include "press/catalog.h"
#include "press/compactor_scores.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

class LeveragePress : public ScorerPress {
 public:
  LeveragePress(int sketch, uint64_t seed) : sketch_(sketch), seed_(seed) {}
  std::string Name() const override { return "leverage"; }
  std::unique_ptr<Press> Clone() const override { return std::make_unique<LeveragePress>(*this); }

  Status Attach(const ModelConfig& config) override {
    RETURN_IF_ERROR(Press::Attach(config));
    inv_freq_ = config.RopeInvFreq();
    return Status::Ok();
  }

 protected:
  void OnDecode(const LayerHookContext&) override {}
  void OnQuestion(const LayerHookContext&) override {}

  void Score(const LayerHookContext& ctx, int kv_head, bool, std::vector<float>& scores) override {
    const int n = static_cast<int>(scores.size()), d = config().head_dim;
    const auto pos = ctx.cache->Positions(ctx.layer, kv_head);
    std::vector<double> k(static_cast<size_t>(n) * d);  // [n, d]
    std::vector<float> row(static_cast<size_t>(d));
    for (int j = 0; j < n; ++j) {
      ctx.cache->KeyAt(ctx.layer, kv_head, j, row.data());
      ApplyRope(row.data(), 1, d, -pos[static_cast<size_t>(j)], inv_freq_.data(),
                config().rope_style);
      for (int i = 0; i < d; ++i) k[static_cast<size_t>(j) * d + i] = row[static_cast<size_t>(i)];
    }
    const std::vector<double> lev =
        RidgeLeverageScores(k, n, d, sketch_,
                            seed_ * 1000003ULL + static_cast<uint64_t>(ctx.layer) * 1009ULL +
                                static_cast<uint64_t>(kv_head));
    for (int j = 0; j < n; ++j)
      scores[static_cast<size_t>(j)] = static_cast<float>(lev[static_cast<size_t>(j)]);
  }

 private:
  int sketch_;
  uint64_t seed_;
  std::vector<float> inv_freq_;  // [hd/2]
};

}  // namespace

std::vector<double> RidgeLeverageScores(std::span<const double> k, int n, int d, int sketch,
                                        uint64_t rng_seed) {
  constexpr double kRidge = 1e-2;
  std::vector<double> mean(static_cast<size_t>(d), 0.0);  // [d]
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < d; ++i)
      mean[static_cast<size_t>(i)] += k[static_cast<size_t>(j) * d + i] / static_cast<double>(n);
  const int s = sketch > 0 ? sketch : d;
  std::vector<double> phi;  // [d, s]
  if (sketch > 0) {
    std::mt19937_64 rng(rng_seed);
    std::normal_distribution<double> normal(0.0, 1.0 / std::sqrt(static_cast<double>(s)));
    phi.resize(static_cast<size_t>(d) * s);
    for (double& x : phi) x = normal(rng);
  }
  std::vector<double> x(static_cast<size_t>(n) * s);  // [n, s]
  for (int j = 0; j < n; ++j) {
    for (int c = 0; c < s; ++c) {
      double v = 0;
      if (sketch > 0) {
        for (int i = 0; i < d; ++i)
          v += (k[static_cast<size_t>(j) * d + i] - mean[static_cast<size_t>(i)]) *
               phi[static_cast<size_t>(i) * s + c];
      } else {
        v = k[static_cast<size_t>(j) * d + c] - mean[static_cast<size_t>(c)];
      }
      x[static_cast<size_t>(j) * s + c] = v;
    }
  }
  // G = XᵀX + λI and its Cholesky factor L (lower, in place).
  std::vector<double> l(static_cast<size_t>(s) * s, 0.0);
  for (int a = 0; a < s; ++a) {
    for (int b = 0; b <= a; ++b) {
      double v = a == b ? kRidge : 0.0;
      for (int j = 0; j < n; ++j)
        v += x[static_cast<size_t>(j) * s + a] * x[static_cast<size_t>(j) * s + b];
      l[static_cast<size_t>(a) * s + b] = v;
    }
  }
  for (int a = 0; a < s; ++a) {
    for (int b = 0; b <= a; ++b) {
      double v = l[static_cast<size_t>(a) * s + b];
      for (int p = 0; p < b; ++p)
        v -= l[static_cast<size_t>(a) * s + p] * l[static_cast<size_t>(b) * s + p];
      l[static_cast<size_t>(a) * s + b] =
          a == b ? std::sqrt(v) : v / l[static_cast<size_t>(b) * s + b];
    }
  }
  std::vector<double> y(static_cast<size_t>(s)), out(static_cast<size_t>(n));  // [s], [n]
  for (int j = 0; j < n; ++j) {  // x_jᵀ G⁻¹ x_j = ‖L⁻¹ x_j‖²
    double lev = 0;
    for (int a = 0; a < s; ++a) {
      double v = x[static_cast<size_t>(j) * s + a];
      for (int p = 0; p < a; ++p)
        v -= l[static_cast<size_t>(a) * s + p] * y[static_cast<size_t>(p)];
      y[static_cast<size_t>(a)] = v / l[static_cast<size_t>(a) * s + a];
      lev += y[static_cast<size_t>(a)] * y[static_cast<size_t>(a)];
    }
    out[static_cast<size_t>(j)] = std::max(0.0, lev);
  }
  return out;
}

PressInfo LeveragePressInfo() {
  return {"leverage",
          "ridge leverage x^T (X^T X + 0.01 I)^-1 x of the sequence-centred pre-RoPE keys, "
          "Gaussian-sketched to `sketch` "
          "dims (seeded)",
          "Chari & Van Durme 2025 (Compactor), arXiv:2507.08143",
          "prefill (as upstream)",
          "keys",
          {{"sketch", "48", "sketch dimension (0 = exact, no sketch)"}},
          [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
            PressParams p(spec);
            const int sketch = p.GetInt("sketch", 48, 0, 4096);
            RETURN_IF_ERROR(p.Finish());
            return std::unique_ptr<Press>(new LeveragePress(sketch, spec.seed));
          }};
}

}  // namespace kvpress
