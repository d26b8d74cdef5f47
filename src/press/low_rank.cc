#include "press/low_rank.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/check.h"

namespace kvpress {

void SymmetricEigen(std::vector<double>& a, int n, std::vector<double>& values, std::vector<double>& vectors) {
  CHECK(static_cast<int>(a.size()) == n * n);
  const auto at = [n](std::vector<double>& m, int r, int c) -> double& {
    return m[static_cast<size_t>(r) * n + c];
  };
  std::vector<double> v(static_cast<size_t>(n) * n, 0.0);  // [n, n] accumulated rotations
  for (int i = 0; i < n; ++i) at(v, i, i) = 1.0;
  double total = 0.0;
  for (double x : a) total += x * x;
  for (int sweep = 0; sweep < 60; ++sweep) {
    double off = 0.0;
    for (int p = 0; p < n; ++p) {
      for (int q = p + 1; q < n; ++q) off += at(a, p, q) * at(a, p, q);
    }
    if (off <= 1e-30 * total || off == 0.0) break;
    for (int p = 0; p < n; ++p) {
      for (int q = p + 1; q < n; ++q) {
        const double apq = at(a, p, q);
        if (std::abs(apq) <= 1e-300) continue;
        const double theta = (at(a, q, q) - at(a, p, p)) / (2.0 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1.0));
        const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
        for (int k = 0; k < n; ++k) {  // columns p, q
          const double akp = at(a, k, p), akq = at(a, k, q);
          at(a, k, p) = c * akp - s * akq;
          at(a, k, q) = s * akp + c * akq;
        }
        for (int k = 0; k < n; ++k) {  // rows p, q
          const double apk = at(a, p, k), aqk = at(a, q, k);
          at(a, p, k) = c * apk - s * aqk;
          at(a, q, k) = s * apk + c * aqk;
        }
        for (int k = 0; k < n; ++k) {
          const double vkp = at(v, k, p), vkq = at(v, k, q);
          at(v, k, p) = c * vkp - s * vkq;
          at(v, k, q) = s * vkp + c * vkq;
        }
      }
    }
  }
  std::vector<int> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int i, int j) { return at(a, i, i) > at(a, j, j); });
  values.resize(static_cast<size_t>(n));
  vectors.assign(static_cast<size_t>(n) * n, 0.0);
  for (int c = 0; c < n; ++c) {
    const int src = order[static_cast<size_t>(c)];
    values[static_cast<size_t>(c)] = at(a, src, src);
    for (int r = 0; r < n; ++r) at(vectors, r, c) = at(v, r, src);
  }
}

int LowRankFactors(const std::vector<float>& x, int m, int D, int r, std::vector<float>& a, std::vector<float>& b) {
  CHECK(static_cast<int64_t>(x.size()) == static_cast<int64_t>(m) * D);
  r = std::max(1, std::min({r, m, D}));
  std::vector<double> gram(static_cast<size_t>(D) * D, 0.0);  // [D, D] XᵀX
  for (int i = 0; i < m; ++i) {
    const float* row = x.data() + static_cast<size_t>(i) * D;
    for (int p = 0; p < D; ++p) {
      const double xp = row[p];
      double* g = gram.data() + static_cast<size_t>(p) * D;
      for (int q = p; q < D; ++q) g[q] += xp * row[q];
    }
  }
  for (int p = 0; p < D; ++p) {
    for (int q = 0; q < p; ++q) gram[static_cast<size_t>(p) * D + q] = gram[static_cast<size_t>(q) * D + p];
  }
  std::vector<double> values, vectors;
  SymmetricEigen(gram, D, values, vectors);
  b.assign(static_cast<size_t>(r) * D, 0.0f);  // [r, D] = V_rᵀ
  for (int k = 0; k < r; ++k) {
    for (int q = 0; q < D; ++q) b[static_cast<size_t>(k) * D + q] = static_cast<float>(vectors[static_cast<size_t>(q) * D + k]);
  }
  a.assign(static_cast<size_t>(m) * r, 0.0f);  // [m, r] = X V_r
  for (int i = 0; i < m; ++i) {
    const float* row = x.data() + static_cast<size_t>(i) * D;
    for (int k = 0; k < r; ++k) {
      double s = 0.0;
      for (int q = 0; q < D; ++q) s += static_cast<double>(row[q]) * vectors[static_cast<size_t>(q) * D + k];
      a[static_cast<size_t>(i) * r + k] = static_cast<float>(s);
    }
  }
  return r;
}

}  // namespace kvpress
