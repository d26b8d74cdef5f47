// cap: the weighted leverage of the values (capacity matrix solved in double), by brute force
// (tiny-model probe and oracle helpers: tests/press_scorer_probe.h).
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

// cap in double: anchor = R̄ · mean of the pre-RoPE queries, cosine weights, capacity matrix solved
// by Gaussian elimination (the press uses Cholesky).
TEST(CapBruteForce, WeightedLeverageOfValues) {
  const ModelConfig& c = Tiny().config;
  const int hd = c.head_dim, half = hd / 2, group = c.n_heads / c.n_kv_heads, n = 36, n_sink = 4,
            F = 40;
  const double tau = 5.0, eps = 1e-6;
  const auto ev = RunScorer("cap:n_future=40", BudgetPolicy{.removed_fraction = 0.5}, n, 12);
  const std::vector<float> inv_f = c.RopeInvFreq();
  int checked = 0;
  for (size_t e = 0; e < ev.size(); ++e) {
    if (ev[e].query_pos.back() != n - 1) continue;
    std::vector<double> mu(static_cast<size_t>(c.n_heads * hd), 0.0);
    int m_q = 0;
    for (size_t f = 0; f <= e; ++f) {
      if (ev[f].layer != ev[e].layer) continue;
      for (size_t t = 0; t < ev[f].queries.size(); ++t) {
        const int32_t p = ev[f].query_pos[t];
        if (p < n_sink) continue;
        ++m_q;
        for (int h = 0; h < c.n_heads; ++h) {
          for (int i = 0; i < half; ++i) {
            const double a = p * static_cast<double>(inv_f[i]), x0 = ev[f].queries[t][h * hd + i],
                         x1 = ev[f].queries[t][h * hd + i + half];
            mu[h * hd + i] += std::cos(a) * x0 + std::sin(a) * x1;
            mu[h * hd + i + half] += -std::sin(a) * x0 + std::cos(a) * x1;
          }
        }
      }
    }
    for (int g = 0; g < c.n_kv_heads; ++g) {
      const auto& keys = ev[e].keys[g];
      const auto& vals = ev[e].values[g];
      std::vector<double> score(static_cast<size_t>(n), std::numeric_limits<double>::infinity());
      for (int j = n_sink; j < n; ++j) score[j] = 0;
      for (int h = g * group; h < (g + 1) * group; ++h) {
        std::vector<double> anchor(static_cast<size_t>(hd), 0.0);
        for (int i = 0; i < half; ++i) {
          double cs = 0, sn = 0;
          for (int p = n; p < n + F; ++p)
            cs += std::cos(p * static_cast<double>(inv_f[i])) / F,
                sn += std::sin(p * static_cast<double>(inv_f[i])) / F;
          const double m0 = mu[h * hd + i] / m_q, m1 = mu[h * hd + i + half] / m_q;
          anchor[i] = cs * m0 - sn * m1;
          anchor[i + half] = sn * m0 + cs * m1;
        }
        double an = 0;
        for (double x : anchor) an += x * x;
        std::vector<double> w(static_cast<size_t>(n), 0.0);
        double smax = -2;
        for (int j = n_sink; j < n; ++j) {
          double dot = 0, kn = 0;
          for (int i = 0; i < hd; ++i) dot += anchor[i] * keys[j][i], kn += keys[j][i] * keys[j][i];
          w[j] = std::clamp(dot / std::sqrt(an * kn), -1.0, 1.0);
          smax = std::max(smax, w[j]);
        }
        Matrix a(static_cast<size_t>(hd), std::vector<double>(static_cast<size_t>(hd), 0.0));
        for (int i = 0; i < hd; ++i) a[i][i] = 1;
        for (int j = n_sink; j < n; ++j) {
          w[j] = std::exp(tau * (w[j] - smax));
          for (int i = 0; i < hd; ++i)
            for (int k = 0; k < hd; ++k) a[i][k] += (w[j] + eps) * vals[j][i] * vals[j][k];
        }
        for (int j = n_sink; j < n; ++j) {  // solve a x = v by elimination with partial pivoting
          Matrix m = a;
          std::vector<double> x = vals[j];
          for (int col = 0; col < hd; ++col) {
            int piv = col;
            for (int r = col + 1; r < hd; ++r)
              if (std::abs(m[r][col]) > std::abs(m[piv][col])) piv = r;
            std::swap(m[col], m[piv]);
            std::swap(x[col], x[piv]);
            for (int r = col + 1; r < hd; ++r) {
              const double f = m[r][col] / m[col][col];
              for (int k = col; k < hd; ++k) m[r][k] -= f * m[col][k];
              x[r] -= f * x[col];
            }
          }
          for (int r = hd - 1; r >= 0; --r) {
            for (int k = r + 1; k < hd; ++k) x[r] -= m[r][k] * x[k];
            x[r] /= m[r][r];
          }
          double lev = 0;
          for (int i = 0; i < hd; ++i) lev += vals[j][i] * x[i];
          score[j] += w[j] * lev / group;
        }
      }
      ExpectTopK(score, ev[e].pos[g], n / 2, ev[e].kept[g],
                 "cap layer " + std::to_string(ev[e].layer));
      ++checked;
    }
  }
  EXPECT_EQ(checked, c.n_layers * c.n_kv_heads);
}

}  // namespace
}  // namespace kvpress
