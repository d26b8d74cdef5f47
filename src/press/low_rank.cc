#include "press/low_rank.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/check.h"

namespace kvpress {

namespace {

// Householder reduction of the symmetric v [n, n] to tridiagonal form: diagonal d [n],
// sub-diagonal e [n] (e[0] = 0), and v becomes the accumulated orthogonal transform.
void Tridiagonalize(int n, std::vector<double>& v, std::vector<double>& d, std::vector<double>& e) {
  const auto V = [&](int r, int c) -> double& { return v[static_cast<size_t>(r) * n + c]; };
  for (int j = 0; j < n; ++j) d[j] = V(n - 1, j);
  for (int i = n - 1; i > 0; --i) {
    double scale = 0.0, h = 0.0;
    for (int k = 0; k < i; ++k) scale += std::abs(d[k]);
    if (scale == 0.0) {
      e[i] = d[i - 1];
      for (int j = 0; j < i; ++j) {
        d[j] = V(i - 1, j);
        V(i, j) = 0.0;
        V(j, i) = 0.0;
      }
    } else {
      for (int k = 0; k < i; ++k) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      double f = d[i - 1];
      double g = f > 0 ? -std::sqrt(h) : std::sqrt(h);
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (int j = 0; j < i; ++j) e[j] = 0.0;
      for (int j = 0; j < i; ++j) {
        f = d[j];
        V(j, i) = f;
        g = e[j] + V(j, j) * f;
        for (int k = j + 1; k <= i - 1; ++k) {
          g += V(k, j) * d[k];
          e[k] += V(k, j) * f;
        }
        e[j] = g;
      }
      f = 0.0;
      for (int j = 0; j < i; ++j) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const double hh = f / (h + h);
      for (int j = 0; j < i; ++j) e[j] -= hh * d[j];
      for (int j = 0; j < i; ++j) {
        f = d[j];
        g = e[j];
        for (int k = j; k <= i - 1; ++k) V(k, j) -= f * e[k] + g * d[k];
        d[j] = V(i - 1, j);
        V(i, j) = 0.0;
      }
    }
    d[i] = h;
  }
  for (int i = 0; i < n - 1; ++i) {
    V(n - 1, i) = V(i, i);
    V(i, i) = 1.0;
    const double h = d[i + 1];
    if (h != 0.0) {
      for (int k = 0; k <= i; ++k) d[k] = V(k, i + 1) / h;
      for (int j = 0; j <= i; ++j) {
        double g = 0.0;
        for (int k = 0; k <= i; ++k) g += V(k, i + 1) * V(k, j);
        for (int k = 0; k <= i; ++k) V(k, j) -= g * d[k];
      }
    }
    for (int k = 0; k <= i; ++k) V(k, i + 1) = 0.0;
  }
  for (int j = 0; j < n; ++j) {
    d[j] = V(n - 1, j);
    V(n - 1, j) = 0.0;
  }
  V(n - 1, n - 1) = 1.0;
  e[0] = 0.0;
}

// Implicit QL iterations on the tridiagonal (d, e), rotating the columns of v along: d becomes
// the eigenvalues, the columns of v the eigenvectors (unsorted).
void DiagonalizeTridiagonal(int n, std::vector<double>& v, std::vector<double>& d,
                            std::vector<double>& e) {
  const auto V = [&](int r, int c) -> double& { return v[static_cast<size_t>(r) * n + c]; };
  for (int i = 1; i < n; ++i) e[i - 1] = e[i];
  e[n - 1] = 0.0;
  double f = 0.0, tst1 = 0.0;
  const double eps = std::ldexp(1.0, -52);
  for (int l = 0; l < n; ++l) {
    tst1 = std::max(tst1, std::abs(d[l]) + std::abs(e[l]));
    int m = l;
    while (m < n - 1 && std::abs(e[m]) > eps * tst1) ++m;
    if (m > l) {
      for (int iter = 0; iter < 100; ++iter) {
        double g = d[l];
        double p = (d[l + 1] - g) / (2.0 * e[l]);
        double r = std::hypot(p, 1.0);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const double dl1 = d[l + 1];
        double h = g - d[l];
        for (int i = l + 2; i < n; ++i) d[i] -= h;
        f += h;
        p = d[m];
        double c = 1.0, c2 = 1.0, c3 = 1.0, s = 0.0, s2 = 0.0;
        const double el1 = e[l + 1];
        for (int i = m - 1; i >= l; --i) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = std::hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          for (int k = 0; k < n; ++k) {
            const double vk1 = V(k, i + 1);
            V(k, i + 1) = s * V(k, i) + c * vk1;
            V(k, i) = c * V(k, i) - s * vk1;
          }
        }
        p = -s * s2 * c3 * el1 * e[l] / dl1;
        e[l] = s * p;
        d[l] = c * p;
        if (std::abs(e[l]) <= eps * tst1) break;
      }
    }
    d[l] += f;
    e[l] = 0.0;
  }
}

}  // namespace

void SymmetricEigen(std::vector<double>& a, int n, std::vector<double>& values,
                    std::vector<double>& vectors) {
  CHECK(static_cast<int>(a.size()) == n * n);
  std::vector<double> d(static_cast<size_t>(n)), e(static_cast<size_t>(n));
  Tridiagonalize(n, a, d, e);
  DiagonalizeTridiagonal(n, a, d, e);
  std::vector<int> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int i, int j) { return d[i] > d[j]; });
  values.resize(static_cast<size_t>(n));
  vectors.assign(static_cast<size_t>(n) * n, 0.0);
  for (int c = 0; c < n; ++c) {
    const int src = order[static_cast<size_t>(c)];
    values[static_cast<size_t>(c)] = d[src];
    for (int r = 0; r < n; ++r)
      vectors[static_cast<size_t>(r) * n + c] = a[static_cast<size_t>(r) * n + src];
  }
}

int LowRankFactors(const std::vector<float>& x, int m, int D, int r, std::vector<float>& a,
                   std::vector<float>& b) {
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
    for (int q = 0; q < p; ++q)
      gram[static_cast<size_t>(p) * D + q] = gram[static_cast<size_t>(q) * D + p];
  }
  std::vector<double> values, vectors;
  SymmetricEigen(gram, D, values, vectors);
  b.assign(static_cast<size_t>(r) * D, 0.0f);  // [r, D] = V_rᵀ
  for (int k = 0; k < r; ++k) {
    for (int q = 0; q < D; ++q)
      b[static_cast<size_t>(k) * D + q] =
          static_cast<float>(vectors[static_cast<size_t>(q) * D + k]);
  }
  a.assign(static_cast<size_t>(m) * r, 0.0f);  // [m, r] = X V_r
  for (int i = 0; i < m; ++i) {
    const float* row = x.data() + static_cast<size_t>(i) * D;
    for (int k = 0; k < r; ++k) {
      double s = 0.0;
      const float* bk = b.data() + static_cast<size_t>(k) * D;  // contiguous row of B = V_rᵀ
      for (int q = 0; q < D; ++q) s += static_cast<double>(row[q]) * bk[q];
      a[static_cast<size_t>(i) * r + k] = static_cast<float>(s);
    }
  }
  return r;
}

}  // namespace kvpress
