#include "ops/norm.h"

#include <cmath>

namespace kvpress {

void RmsNorm(const float* x, const float* w, float* y, int n, size_t dim, float eps) {
  for (int t = 0; t < n; ++t) {
    const float* xr = x + static_cast<size_t>(t) * dim;
    float* yr = y + static_cast<size_t>(t) * dim;
    double ss = 0.0;  // double: exact enough that the scalar reference and this path agree
    for (size_t i = 0; i < dim; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(dim) + eps));
    for (size_t i = 0; i < dim; ++i) yr[i] = w[i] * (xr[i] * inv);
  }
}

}  // namespace kvpress
