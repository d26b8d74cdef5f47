#include "press/rkv_common.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kvpress {

void RkvScorerPress::Reset() {
  ScorerPress::Reset();
  queries_.Reset(config().n_layers, config().n_heads, config().head_dim, window_);
}

void RkvScorerPress::Observe(const LayerHookContext& ctx) { queries_.Push(ctx); }

void RkvScorerPress::Score(const LayerHookContext& ctx, int kv_head, bool,
                           std::vector<float>& scores) {
  const int n = static_cast<int>(scores.size()), d = ctx.cache->head_dim();
  const int n_old = n - std::min(window_, n);
  std::fill(scores.begin(), scores.end(), std::numeric_limits<float>::infinity());
  if (n_old <= 0) return;
  const std::vector<float> keys = LoadKeys(ctx, kv_head);
  const std::vector<float> importance =
      MaxPool1d(WindowImportance(queries_, ctx, kv_head, keys, n_old, mode_), kernel_);
  const std::vector<double> redundancy = Redundancy(keys, n, d, n_old);
  const double sign = subtract_redundancy_ ? -1.0 : 1.0;
  for (int j = 0; j < n_old; ++j) {
    scores[static_cast<size_t>(j)] =
        static_cast<float>(lambda_ * importance[static_cast<size_t>(j)] +
                           sign * (1.0 - lambda_) * redundancy[static_cast<size_t>(j)]);
  }
}

Status CheckRkvParams(const std::string& press, double lambda, int kernel, int window) {
  if (!(lambda >= 0.0 && lambda <= 1.0))
    return InvalidArgument(press + ": lambda must be in [0, 1]");
  if (kernel < 1 || kernel % 2 == 0)
    return InvalidArgument(press + ": kernel must be odd and >= 1");
  if (window < 1) return InvalidArgument(press + ": window must be >= 1");
  return Status::Ok();
}

double InverseKeyNorm(const float* k, int d) {
  double ss = 0.0;
  for (int c = 0; c < d; ++c) ss += static_cast<double>(k[c]) * k[c];
  return 1.0 / (std::sqrt(ss) + 1e-8);
}

void SoftmaxInPlace(std::vector<double>& x) {
  if (x.empty()) return;
  const double mx = *std::max_element(x.begin(), x.end());
  double sum = 0.0;
  for (double& v : x) sum += (v = std::exp(v - mx));
  for (double& v : x) v /= sum;
}

}  // namespace kvpress
