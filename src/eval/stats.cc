#include "eval/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/check.h"

namespace kvpress::eval {

uint64_t SplitMix64::Next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t SplitMix64::Below(uint64_t n) {
  CHECK(n >= 1);
  // Largest multiple of n that fits: values at or above it would favour small remainders.
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % n + 1) % n;  // = n * floor(2^64 / n) - 1
  uint64_t v;
  do v = Next();
  while (v > limit);
  return v % n;
}

Interval WilsonInterval(int64_t successes, int64_t n, double z) {
  if (n <= 0) return {};
  const double nn = static_cast<double>(n);
  const double p = static_cast<double>(successes) / nn;
  const double z2 = z * z;
  const double center = (p + z2 / (2 * nn)) / (1 + z2 / nn);
  const double half = z / (1 + z2 / nn) * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
  return {std::max(0.0, center - half), std::min(1.0, center + half)};
}

double Quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double pos = q * static_cast<double>(values.size() - 1);
  const size_t i = static_cast<size_t>(std::floor(pos));
  if (i + 1 >= values.size()) return values.back();
  const double frac = pos - static_cast<double>(i);
  return values[i] + frac * (values[i + 1] - values[i]);
}

namespace {

// Percentile interval of the B statistics.
Interval PercentileInterval(std::vector<double> stats, double level) {
  const double tail = (1 - level) / 2;
  return {Quantile(stats, tail), Quantile(stats, 1 - tail)};
}

}  // namespace

Interval BootstrapMeanInterval(const std::vector<double>& x, const BootstrapOptions& options) {
  if (x.empty() || options.resamples <= 0) return {};
  SplitMix64 rng(options.seed);
  const uint64_t n = x.size();
  std::vector<double> means(static_cast<size_t>(options.resamples));
  for (double& m : means) {
    double sum = 0;
    for (uint64_t i = 0; i < n; ++i) sum += x[rng.Below(n)];
    m = sum / static_cast<double>(n);
  }
  return PercentileInterval(std::move(means), options.level);
}

Interval PairedBootstrapDiffInterval(const std::vector<double>& a, const std::vector<double>& b,
                                     const BootstrapOptions& options) {
  CHECK(a.size() == b.size());
  if (a.empty() || options.resamples <= 0) return {};
  SplitMix64 rng(options.seed);
  const uint64_t n = a.size();
  std::vector<double> diffs(static_cast<size_t>(options.resamples));
  for (double& d : diffs) {
    double sum = 0;
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t j = rng.Below(n);
      sum += b[j] - a[j];
    }
    d = sum / static_cast<double>(n);
  }
  return PercentileInterval(std::move(diffs), options.level);
}

double McNemarExactP(int64_t b, int64_t c) {
  CHECK(b >= 0 && c >= 0);
  const int64_t n = b + c;
  if (n == 0) return 1.0;
  const int64_t k = std::min(b, c);
  // P[X <= k] for X ~ Binomial(n, 1/2), summed in log space (n may be large enough for 2^-n to underflow).
  const double log_half_n = static_cast<double>(n) * std::log(0.5);
  const double lg_n1 = std::lgamma(static_cast<double>(n) + 1);
  std::vector<double> logs;
  logs.reserve(static_cast<size_t>(k + 1));
  for (int64_t i = 0; i <= k; ++i) {
    logs.push_back(lg_n1 - std::lgamma(static_cast<double>(i) + 1) - std::lgamma(static_cast<double>(n - i) + 1) +
                   log_half_n);
  }
  const double top = *std::max_element(logs.begin(), logs.end());
  double sum = 0;
  for (double l : logs) sum += std::exp(l - top);
  return std::min(1.0, 2 * std::exp(top + std::log(sum)));
}

std::vector<double> HolmAdjust(const std::vector<double>& p) {
  const size_t m = p.size();
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t i, size_t j) { return p[i] < p[j]; });
  std::vector<double> adjusted(m);
  double running = 0;
  for (size_t r = 0; r < m; ++r) {
    running = std::max(running, std::min(1.0, p[order[r]] * static_cast<double>(m - r)));
    adjusted[order[r]] = running;
  }
  return adjusted;
}

}  // namespace kvpress::eval
