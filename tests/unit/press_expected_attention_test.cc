// expected_attention: the pre-RoPE query statistics (mean, covariance, averaged RoPE) and the
// expected attention of each key, by brute force in double (tiny-model probe and oracle helpers:
// tests/press_scorer_probe.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include "model/random_model.h"
#include "model/transformer.h"
#include "press/press_spec.h"
#include "press/query_stats.h"
#include "press/registry.h"
#include "press_scorer_probe.h"
#include "test_util.h"

namespace kvpress {
namespace {

using namespace scorer_probe;

// expected_attention in double from the recorded queries (all events of `layer` up to `upto`) and
// the cache of event `upto`.
std::vector<double> ExpectedAttentionOracle(const std::vector<LayerEvent>& ev, size_t upto,
                                            int kv_head, int n_sink, int n_future) {
  const ModelConfig& c = Tiny().config;
  const int hd = c.head_dim, half = hd / 2, group = c.n_heads / c.n_kv_heads;
  const LayerEvent& now = ev[upto];
  const std::vector<float> inv_f = c.RopeInvFreq();  // the model's own frequencies (f32)
  const std::vector<double> inv(inv_f.begin(), inv_f.end());
  // Pre-RoPE queries [m][H*hd] of every token seen by this layer at positions ≥ n_sink.
  Matrix pre;
  for (size_t e = 0; e <= upto; ++e) {
    if (ev[e].layer != now.layer) continue;
    for (size_t t = 0; t < ev[e].queries.size(); ++t) {
      const int32_t p = ev[e].query_pos[t];
      if (p < n_sink) continue;
      std::vector<double> q = ev[e].queries[t];
      for (int h = 0; h < c.n_heads; ++h) {
        double* x = q.data() + static_cast<size_t>(h) * hd;
        for (int i = 0; i < half; ++i) {
          const double a = p * inv[static_cast<size_t>(i)], co = std::cos(a), si = std::sin(a);
          const double x0 = x[i], x1 = x[i + half];
          x[i] = co * x0 + si * x1;
          x[i + half] = -si * x0 + co * x1;
        }
      }
      pre.push_back(std::move(q));
    }
  }
  // R̄ = mean over future positions of the full rotation matrix.
  const int q_len = now.query_pos.back() + 1;
  Matrix r(static_cast<size_t>(hd), std::vector<double>(static_cast<size_t>(hd), 0.0));
  for (int p = q_len; p < q_len + n_future; ++p) {
    for (int i = 0; i < half; ++i) {
      const double a = p * inv[static_cast<size_t>(i)];
      r[i][i] += std::cos(a) / n_future, r[i + half][i + half] += std::cos(a) / n_future;
      r[i][i + half] -= std::sin(a) / n_future, r[i + half][i] += std::sin(a) / n_future;
    }
  }
  const auto& keys = now.keys[static_cast<size_t>(kv_head)];
  const int n = static_cast<int>(keys.size());
  std::vector<double> acc(static_cast<size_t>(n), 0.0);
  for (int h = kv_head * group; h < (kv_head + 1) * group; ++h) {
    std::vector<double> mu(static_cast<size_t>(hd), 0.0);
    for (const auto& q : pre)
      for (int i = 0; i < hd; ++i) mu[i] += q[h * hd + i] / pre.size();
    Matrix cov(static_cast<size_t>(hd), std::vector<double>(static_cast<size_t>(hd), 0.0));
    for (const auto& q : pre) {
      for (int i = 0; i < hd; ++i) {
        for (int k = 0; k < hd; ++k)
          cov[i][k] += (q[h * hd + i] - mu[i]) * (q[h * hd + k] - mu[k]) / pre.size();
      }
    }
    std::vector<double> mr(static_cast<size_t>(hd), 0.0);
    Matrix cr(static_cast<size_t>(hd), std::vector<double>(static_cast<size_t>(hd), 0.0));
    for (int i = 0; i < hd; ++i)
      for (int k = 0; k < hd; ++k) mr[i] += r[i][k] * mu[k];
    Matrix rc(static_cast<size_t>(hd), std::vector<double>(static_cast<size_t>(hd), 0.0));  // R̄ Σ
    for (int i = 0; i < hd; ++i)
      for (int a = 0; a < hd; ++a)
        for (int b = 0; b < hd; ++b) rc[i][b] += r[i][a] * cov[a][b];
    for (int i = 0; i < hd; ++i)
      for (int k = 0; k < hd; ++k)
        for (int b = 0; b < hd; ++b) cr[i][k] += rc[i][b] * r[k][b];
    std::vector<double> z(static_cast<size_t>(n), 0.0);
    double zmax = -1e300, total = 0;
    for (int j = n_sink; j < n; ++j) {
      double lin = 0, quad = 0;
      for (int i = 0; i < hd; ++i) {
        lin += mr[i] * keys[j][i];
        for (int k = 0; k < hd; ++k) quad += keys[j][i] * cr[i][k] * keys[j][k];
      }
      z[j] = lin / std::sqrt(hd) + quad / (2.0 * hd);
      zmax = std::max(zmax, z[j]);
    }
    for (int j = n_sink; j < n; ++j) total += std::exp(z[j] - zmax);
    for (int j = n_sink; j < n; ++j) acc[j] += std::exp(z[j] - zmax) / total / group;
  }
  std::vector<double> score(static_cast<size_t>(n));
  for (int j = 0; j < n; ++j) {
    double vn = 0;
    for (double v : now.values[static_cast<size_t>(kv_head)][j]) vn += v * v;
    score[j] = j < n_sink ? std::numeric_limits<double>::infinity() : acc[j] * std::sqrt(vn);
  }
  return score;
}

TEST(ExpectedAttentionBruteForce, PrefillRatioChunkedPrefillAndDecodeBudget) {
  const int n = 32;
  // One forward, then the same prefill in chunks of 12 (statistics accumulated across chunks).
  for (const int chunk : {256, 12}) {
    const auto ev = RunScorer("expected_attention:n_future=48",
                              BudgetPolicy{.removed_fraction = 0.5}, n, chunk);
    int checked = 0;
    for (size_t e = 0; e < ev.size(); ++e) {
      if (ev[e].query_pos.back() != n - 1) continue;  // the last chunk prunes
      for (int g = 0; g < Tiny().config.n_kv_heads; ++g) {
        ExpectTopK(ExpectedAttentionOracle(ev, e, g, 4, 48), ev[e].pos[g], n / 2, ev[e].kept[g],
                   "chunk " + std::to_string(chunk) + " layer " + std::to_string(ev[e].layer));
        ++checked;
      }
    }
    EXPECT_EQ(checked, Tiny().config.n_layers * Tiny().config.n_kv_heads);
  }
  // cache_budget 16: prefill prunes to 16, every decode step back to 16 with running statistics.
  const auto ev = RunScorer("expected_attention:n_future=32,n_sink=2",
                            BudgetPolicy{.cache_budget = 16}, 24, 256, 3);
  int decode_checked = 0;
  for (size_t e = 0; e < ev.size(); ++e) {
    for (int g = 0; g < Tiny().config.n_kv_heads; ++g) {
      ExpectTopK(ExpectedAttentionOracle(ev, e, g, 2, 32), ev[e].pos[g], 16, ev[e].kept[g],
                 "budget event " + std::to_string(e));
      if (ev[e].phase == ForwardPhase::kDecode) ++decode_checked;
    }
  }
  EXPECT_EQ(decode_checked, 3 * Tiny().config.n_layers * Tiny().config.n_kv_heads);
}

}  // namespace
}  // namespace kvpress
