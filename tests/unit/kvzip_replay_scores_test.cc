// kvzip's SIMD replay-scoring kernel (src/press/kvzip_replay_scores.h) against a double-precision
// brute force: softmax of each row over its visible prefix, running max on the slots [lo, hi).
#include "press/kvzip_replay_scores.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace kvpress {
namespace {

struct Case {
  int rows;
  int stride;
  int lo;
  int hi;
};

void RunCase(const Case& c, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> logit(0.0f, 3.0f);
  std::vector<float> logits(static_cast<size_t>(c.rows) * c.stride);  // [rows, stride]
  for (float& x : logits) x = logit(rng);
  std::vector<int> visible(static_cast<size_t>(c.rows));  // [rows], each in [hi, stride]
  std::uniform_int_distribution<int> width(std::max(c.hi, 1), c.stride);
  for (int& v : visible) v = width(rng);
  std::vector<float> start(static_cast<size_t>(c.hi - c.lo));  // [hi - lo] earlier maxima
  std::uniform_real_distribution<float> prior(0.0f, 0.05f);
  for (float& x : start) x = prior(rng);

  std::vector<double> want(start.begin(), start.end());
  for (int r = 0; r < c.rows; ++r) {
    const float* l = &logits[static_cast<size_t>(r) * c.stride];
    const int n = visible[static_cast<size_t>(r)];
    const double mx = *std::max_element(l, l + n);
    double sum = 0;
    for (int j = 0; j < n; ++j) sum += std::exp(static_cast<double>(l[j]) - mx);
    for (int j = c.lo; j < c.hi; ++j) {
      const double a = std::exp(static_cast<double>(l[j]) - mx) / sum;
      want[static_cast<size_t>(j - c.lo)] = std::max(want[static_cast<size_t>(j - c.lo)], a);
    }
  }
  std::vector<float> best = start;
  AccumulateReplayMaxAttention(logits.data(), static_cast<size_t>(c.stride), c.rows, visible.data(),
                               c.lo, c.hi, best.data());
  for (int j = 0; j < c.hi - c.lo; ++j) {
    const double w = want[static_cast<size_t>(j)];
    EXPECT_NEAR(best[static_cast<size_t>(j)], w, 1e-5 * w + 1e-12)
        << "slot " << c.lo + j << " (rows " << c.rows << ", stride " << c.stride << ")";
  }
}

TEST(KvzipReplayScores, MatchesDoubleSoftmaxMax) {
  // Widths around the SIMD lane counts (4, 8, 16) and their tails, a single visible key, an
  // empty slot range.
  const Case cases[] = {{1, 1, 0, 1},   {3, 7, 1, 5},    {5, 17, 4, 15},  {8, 33, 0, 33},
                        {6, 64, 4, 40}, {4, 129, 2, 97}, {2, 300, 10, 10}};
  uint32_t seed = 7;
  for (const Case& c : cases) RunCase(c, seed++);
}

TEST(KvzipReplayScores, LargeLogitsStayFinite) {
  // A row with logits near the float range's useful top: the max shift keeps exp finite.
  std::vector<float> logits = {80.0f, 88.0f, 70.0f, 88.0f, -90.0f};  // [1, 5]
  const int visible = 5;
  std::vector<float> best(5, 0.0f);
  AccumulateReplayMaxAttention(logits.data(), 5, 1, &visible, 0, 5, best.data());
  EXPECT_NEAR(best[1], 0.5, 1e-3);
  EXPECT_NEAR(best[3], 0.5, 1e-3);
  EXPECT_GT(best[0], 0.0f);
  EXPECT_EQ(best[4], 0.0f);  // exp(-178) underflows to 0 in f32
}

}  // namespace
}  // namespace kvpress
