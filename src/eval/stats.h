// Uncertainty of accuracies for `kvpress report`: confidence intervals of a proportion (Wilson score,
// percentile bootstrap over samples), paired comparisons of two runs on the same samples (McNemar's
// exact test, paired bootstrap of the accuracy difference) and Holm's step-down correction for a
// family of tests. Checked against scipy/statsmodels (scripts/goldens/stats_goldens.py).
//
// The bootstrap is reproducible bit for bit: its resampling indices come from SplitMix64 (Steele et
// al. 2014), reduced to [0, n) by rejection (no modulo bias), so any implementation of those few
// lines (the golden script's Python one) draws the same indices from the same seed.
#pragma once

#include <cstdint>
#include <vector>

namespace kvpress::eval {

// SplitMix64: state += 0x9E3779B97F4A7C15, then two xor-shift-multiply rounds.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  // Uniform in [0, n) for n >= 1: draws until the value lies below the largest multiple of n that
  // fits in 2^64, then takes it modulo n.
  uint64_t Below(uint64_t n);

 private:
  uint64_t state_;
};

// A two-sided interval [lo, hi] around an estimate.
struct Interval {
  double lo = 0;
  double hi = 0;
};

// The standard normal quantile for a two-sided 95% interval, Phi^-1(0.975).
inline constexpr double kZ95 = 1.959963984540054;

// Wilson score interval of `successes` out of `n` (n >= 1) at z (default: 95%); [0, 0] for n = 0.
// statsmodels.stats.proportion.proportion_confint(method="wilson").
Interval WilsonInterval(int64_t successes, int64_t n, double z = kZ95);

// Settings of the percentile bootstrap.
struct BootstrapOptions {
  int resamples = 10000;  // B
  uint64_t seed = 20260101;
  double level = 0.95;    // two-sided: the (1-level)/2 and (1+level)/2 percentiles
};

// The q-quantile (0 <= q <= 1) of `values` with linear interpolation between order statistics
// (numpy.percentile's default "linear" method). Sorts a copy; 0 for an empty vector.
double Quantile(std::vector<double> values, double q);

// Percentile bootstrap interval of the mean of `x` (one value per sample, e.g. 0/1 correct):
// B resamples of n indices drawn with replacement (SplitMix64 from `seed`, sample-major: resample b
// takes draws b*n .. b*n+n-1), the mean of each, then the two percentiles. [0, 0] for empty `x`.
Interval BootstrapMeanInterval(const std::vector<double>& x, const BootstrapOptions& options = {});

// The same for the difference of means of two paired vectors (same length, sample i of `a` paired
// with sample i of `b`): each resample draws one index vector and takes mean(b) - mean(a) on it.
Interval PairedBootstrapDiffInterval(const std::vector<double>& a, const std::vector<double>& b,
                                     const BootstrapOptions& options = {});

// McNemar's exact test of two paired binary outcomes: with b = #(a right, b wrong) and c = #(a wrong,
// b right), the two-sided binomial test of min(b, c) out of b + c at p = 1/2:
// min(1, 2 * P[Binomial(b + c, 1/2) <= min(b, c)]); 1 when b + c = 0.
// statsmodels.stats.contingency_tables.mcnemar(exact=True).
double McNemarExactP(int64_t b, int64_t c);

// Holm's step-down adjusted p-values (statsmodels multipletests(method="holm")): sort ascending,
// p_(i) * (m - i) for i = 0..m-1, running maximum, capped at 1; returned in the input order.
std::vector<double> HolmAdjust(const std::vector<double>& p);

}  // namespace kvpress::eval
