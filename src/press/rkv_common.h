// The scoring skeleton shared by the R-KV-style presses rkv and rkv_lsh (Cai et al.,
// arXiv:2505.24133; the reasoning fork's RKVPress / RKVLSHPress, reference §2.D). Each press file
// documents its own formula; they differ only in the redundancy term.
//
// Per KV head with n slots, w = min(window, n): the last w slots get +inf (always kept). For the
// n_old = n − w older slots j:
//   I_j = MaxPool1d(WindowImportance(recent queries, keys, n_old, mode), kernel)
//   s_j = λ·I_j ∓ (1−λ)·R_j      R = Redundancy(keys, n, hd, n_old); "−" when the redundancy is
//                                subtracted (official R-KV), "+" when added (the fork's form)
// Decoding prunes back to the budget every 64 steps unless --compression-interval is given.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "press/recent_queries.h"
#include "press/scorer_press.h"

namespace kvpress {

// Base of rkv / rkv_lsh: observes the recent queries, scores as above; a subclass supplies
// Name(), Clone() and Redundancy().
class RkvScorerPress : public ScorerPress {
 public:
  // Clears the per-layer ring of recent queries (and the ScorerPress state).
  void Reset() override;

 protected:
  // lambda ∈ [0, 1] weighs importance against redundancy; kernel: odd max-pooling width; window:
  // recent slots kept and queries observed; mode: how window attention becomes importance;
  // subtract_redundancy: s = λI − (1−λ)R when true, λI + (1−λ)R when false.
  RkvScorerPress(double lambda, int kernel, int window, WindowAttention mode,
                 bool subtract_redundancy)
      : lambda_(lambda),
        kernel_(kernel),
        window_(window),
        mode_(mode),
        subtract_redundancy_(subtract_redundancy) {}

  int DefaultInterval() const override { return 64; }
  void Observe(const LayerHookContext& ctx) override;
  void Score(const LayerHookContext& ctx, int kv_head, bool decoding,
             std::vector<float>& scores) final;

  // Redundancy R_j of the older slots j < n_old (n_old ≥ 1) of one KV head, given all its keys
  // [n, d] as f32 (post-RoPE, in slot order). Returns [n_old].
  virtual std::vector<double> Redundancy(const std::vector<float>& keys, int n, int d,
                                         int n_old) const = 0;

 private:
  double lambda_;
  int kernel_;
  int window_;
  WindowAttention mode_;
  bool subtract_redundancy_;
  RecentQueries queries_;
};

// The parameter checks rkv and rkv_lsh share: lambda ∈ [0, 1], kernel odd and ≥ 1, window ≥ 1.
// Returns InvalidArgument("<press>: …") for the first that fails, else Ok.
Status CheckRkvParams(const std::string& press, double lambda, int kernel, int window);

// 1 / (‖k‖ + 1e-8) for a key of `d` floats (norm accumulated in double), R-KV's key normaliser.
double InverseKeyNorm(const float* k, int d);

// x ← softmax(x) (max-subtracted, in double). No-op on an empty vector.
void SoftmaxInPlace(std::vector<double>& x);

}  // namespace kvpress
