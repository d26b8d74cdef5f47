// leverage: exact ridge leverage of the centred pre-RoPE keys, by brute force in double, and the
// sketched default (tiny-model probe and oracle helpers: tests/press_scorer_probe.h).
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

// leverage:sketch=0 in double: ridge leverage of the centred pre-RoPE keys (keys rotated back with
// the model's f32 frequencies), solved by Gaussian elimination; the sketched default is
// deterministic in the seed and keeps as many slots.
TEST(LeverageBruteForce, ExactRidgeLeverageOfCentredKeys) {
  const ModelConfig& c = Tiny().config;
  const int hd = c.head_dim, half = hd / 2, n = 30;
  const std::vector<float> inv_f = c.RopeInvFreq();
  const auto ev = RunScorer("leverage:sketch=0", BudgetPolicy{.removed_fraction = 0.5}, n, 256);
  ASSERT_EQ(ev.size(), static_cast<size_t>(c.n_layers));
  for (const LayerEvent& e : ev) {
    for (int g = 0; g < c.n_kv_heads; ++g) {
      Matrix k = e.keys[g];
      std::vector<double> mean(static_cast<size_t>(hd), 0.0);
      for (int j = 0; j < n; ++j) {
        const double p = e.pos[g][j];
        for (int i = 0; i < half; ++i) {
          const double a = p * static_cast<double>(inv_f[i]), x0 = k[j][i], x1 = k[j][i + half];
          k[j][i] = std::cos(a) * x0 + std::sin(a) * x1;
          k[j][i + half] = -std::sin(a) * x0 + std::cos(a) * x1;
        }
        for (int i = 0; i < hd; ++i) mean[i] += k[j][i] / n;
      }
      for (auto& r : k)
        for (int i = 0; i < hd; ++i) r[i] -= mean[i];
      Matrix gram(static_cast<size_t>(hd), std::vector<double>(static_cast<size_t>(hd), 0.0));
      for (int a = 0; a < hd; ++a) {
        gram[a][a] = 1e-2;
        for (int b = 0; b < hd; ++b)
          for (int j = 0; j < n; ++j) gram[a][b] += k[j][a] * k[j][b];
      }
      std::vector<double> score(static_cast<size_t>(n));
      for (int j = 0; j < n; ++j) {
        Matrix m = gram;
        std::vector<double> x = k[j];
        for (int col = 0; col < hd; ++col) {
          int piv = col;
          for (int r = col + 1; r < hd; ++r)
            if (std::abs(m[r][col]) > std::abs(m[piv][col])) piv = r;
          std::swap(m[col], m[piv]);
          std::swap(x[col], x[piv]);
          for (int r = col + 1; r < hd; ++r) {
            const double f = m[r][col] / m[col][col];
            for (int q = col; q < hd; ++q) m[r][q] -= f * m[col][q];
            x[r] -= f * x[col];
          }
        }
        for (int r = hd - 1; r >= 0; --r) {
          for (int q = r + 1; q < hd; ++q) x[r] -= m[r][q] * x[q];
          x[r] /= m[r][r];
        }
        double lev = 0;
        for (int i = 0; i < hd; ++i) lev += k[j][i] * x[i];
        score[j] = std::max(0.0, lev);
      }
      ExpectTopK(score, e.pos[g], n / 2, e.kept[g], "leverage layer " + std::to_string(e.layer));
    }
  }
  const auto a = RunScorer("leverage", BudgetPolicy{.removed_fraction = 0.5}, n, 256);
  const auto b = RunScorer("leverage", BudgetPolicy{.removed_fraction = 0.5}, n, 256);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].kept, b[i].kept);
    for (const auto& kept : a[i].kept) EXPECT_EQ(kept.size(), static_cast<size_t>(n / 2));
  }
}

}  // namespace
}  // namespace kvpress
