// Sampler: greedy, seeded temperature sampling, top-k / top-p / min-p filters and the HF
// repetition penalty, checked on hand-built logits and by empirical frequencies.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "generate/sampler.h"

namespace kvpress {
namespace {

constexpr int kDraws = 20000;

SamplerParams Params(float temperature, uint64_t seed = 7) {
  SamplerParams p;
  p.temperature = temperature;
  p.seed = seed;
  return p;
}

// One draw on a fresh copy of `logits` (Sample uses its argument as scratch).
int32_t Draw(Sampler& s, const std::vector<float>& logits, const std::vector<int32_t>& history = {}) {
  std::vector<float> scratch = logits;
  return s.Sample(scratch, history);
}

std::vector<int32_t> Draws(Sampler& s, const std::vector<float>& logits, int n,
                           const std::vector<int32_t>& history = {}) {
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) out.push_back(Draw(s, logits, history));
  return out;
}

// Empirical frequency of every id over `n` draws.
std::vector<double> Frequencies(Sampler& s, const std::vector<float>& logits, int n,
                                const std::vector<int32_t>& history = {}) {
  std::vector<double> f(logits.size(), 0.0);
  for (int i = 0; i < n; ++i) {
    const int32_t t = Draw(s, logits, history);
    EXPECT_GE(t, 0);
    EXPECT_LT(t, static_cast<int32_t>(logits.size()));
    if (t >= 0 && t < static_cast<int32_t>(logits.size())) f[static_cast<size_t>(t)] += 1.0 / n;
  }
  return f;
}

// softmax(logits / T), optionally restricted to `keep` (others get 0) and renormalised.
std::vector<double> Softmax(const std::vector<float>& logits, double t, const std::vector<int>& keep = {}) {
  std::vector<double> p(logits.size(), 0.0);
  double mx = -INFINITY;
  for (float l : logits) mx = std::max(mx, l / t);
  double sum = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) {
    const bool kept = keep.empty() || std::find(keep.begin(), keep.end(), static_cast<int>(i)) != keep.end();
    p[i] = kept ? std::exp(logits[i] / t - mx) : 0.0;
    sum += p[i];
  }
  for (double& v : p) v /= sum;
  return p;
}

// Frequencies within `tol` (absolute) of the expected probabilities; exact zeros stay zero.
void ExpectFrequencies(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (want[i] == 0.0) {
      EXPECT_EQ(got[i], 0.0) << "id " << i << " must never be sampled";
    } else {
      EXPECT_NEAR(got[i], want[i], tol) << "id " << i;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Greedy.

TEST(Sampler, ArgmaxTiesGoToLowestId) {
  EXPECT_EQ(Sampler::Argmax(std::vector<float>{1.0f, 5.0f, 5.0f, 2.0f}), 1);
  EXPECT_EQ(Sampler::Argmax(std::vector<float>{0.0f, 0.0f, 0.0f}), 0);
  EXPECT_EQ(Sampler::Argmax(std::vector<float>{-3.0f, -1.0f, -1.0f}), 1);
  EXPECT_EQ(Sampler::Argmax(std::vector<float>{-INFINITY, -1e30f, 7.0f}), 2);
  EXPECT_EQ(Sampler::Argmax(std::vector<float>{4.0f}), 0);
}

TEST(Sampler, GreedyIsArgmaxWithTiesToLowestId) {
  Sampler s(Params(0.0f));
  EXPECT_EQ(Draw(s, {0.1f, 2.0f, -1.0f, 1.9f}), 1);
  EXPECT_EQ(Draw(s, {1.0f, 3.0f, 2.0f, 3.0f, 3.0f}), 1);
  EXPECT_EQ(Draw(s, {-2.0f, -2.0f}), 0);
  // Negative temperature is treated as greedy too, and the seed does not matter.
  for (uint64_t seed : {0ull, 1ull, 99ull}) {
    SamplerParams p = Params(-1.0f, seed);
    p.top_k = 3;
    p.top_p = 0.5f;
    Sampler g(p);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(Draw(g, {0.5f, 0.7f, 0.7f, 0.1f}), 1);
  }
}

// ---------------------------------------------------------------------------------------------
// Seeded temperature sampling.

TEST(Sampler, FixedSeedIsDeterministicAndSeedsDiffer) {
  const std::vector<float> logits = {0.3f, 0.1f, 0.0f, 0.2f, -0.1f, 0.05f, 0.15f, 0.25f};
  Sampler a(Params(1.0f, 42)), b(Params(1.0f, 42)), c(Params(1.0f, 43));
  const std::vector<int32_t> da = Draws(a, logits, 100), db = Draws(b, logits, 100), dc = Draws(c, logits, 100);
  EXPECT_EQ(da, db);
  EXPECT_NE(da, dc);
  // It really samples: many distinct ids over 100 draws of a near-uniform distribution.
  std::vector<bool> seen(logits.size(), false);
  for (int32_t t : da) seen[static_cast<size_t>(t)] = true;
  EXPECT_GE(std::count(seen.begin(), seen.end(), true), 6);
  // The same seed restarts the same sequence.
  Sampler again(Params(1.0f, 42));
  EXPECT_EQ(Draws(again, logits, 100), da);
}

TEST(Sampler, FrequenciesMatchSoftmaxOverTemperature) {
  const std::vector<float> logits = {2.0f, 1.0f, 0.5f, 0.0f, -1.0f, 1.5f};
  for (float t : {0.5f, 1.0f, 2.0f}) {
    SCOPED_TRACE(t);
    Sampler s(Params(t, 2024));
    ExpectFrequencies(Frequencies(s, logits, kDraws), Softmax(logits, t), 0.015);
  }
}

TEST(Sampler, VeryLowTemperatureIsNearlyGreedyAndStable) {
  // Large logits / tiny temperature: the softmax must not overflow.
  Sampler s(Params(1e-3f));
  const std::vector<float> logits = {100.0f, 250.0f, 249.9f, -300.0f};
  for (int i = 0; i < 200; ++i) EXPECT_EQ(Draw(s, logits), 1);
}

// ---------------------------------------------------------------------------------------------
// Filters.

TEST(Sampler, TopK1IsGreedy) {
  const std::vector<float> logits = {0.2f, 1.1f, -0.4f, 1.0f, 0.9f};
  SamplerParams p = Params(5.0f);  // a high temperature would spread mass everywhere
  p.top_k = 1;
  Sampler s(p);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(Draw(s, logits), 1);
  // Ties: the lowest id.
  for (int i = 0; i < 100; ++i) EXPECT_EQ(Draw(s, {0.0f, 2.0f, 1.0f, 2.0f}), 1);
}

TEST(Sampler, TopK2NeverLeavesTheTop2) {
  const std::vector<float> logits = {0.1f, 3.0f, 2.9f, 2.8f, 1.0f, 2.85f};
  SamplerParams p = Params(1.0f);
  p.top_k = 2;
  Sampler s(p);
  ExpectFrequencies(Frequencies(s, logits, kDraws), Softmax(logits, 1.0, {1, 2}), 0.015);
  // top_k larger than the vocabulary is no filter.
  p.top_k = 100;
  Sampler all(p);
  ExpectFrequencies(Frequencies(all, logits, kDraws), Softmax(logits, 1.0), 0.015);
}

TEST(Sampler, SmallTopPKeepsOnlyTheBest) {
  const std::vector<float> logits = {0.5f, 0.2f, 0.6f, 0.1f};
  SamplerParams p = Params(3.0f);
  p.top_p = 0.01f;
  Sampler s(p);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(Draw(s, logits), 2);
}

TEST(Sampler, TopPKeepsTheSmallestPrefixReachingP) {
  // Probabilities 0.5, 0.3, 0.2: top_p = 0.7 keeps {0, 1} (0.5 < 0.7 <= 0.8).
  const std::vector<float> logits = {std::log(0.3f), std::log(0.5f), std::log(0.2f)};
  SamplerParams p = Params(1.0f, 5);
  p.top_p = 0.7f;
  Sampler s(p);
  ExpectFrequencies(Frequencies(s, logits, kDraws), {0.375, 0.625, 0.0}, 0.015);
  // top_p = 1 is no filter.
  p.top_p = 1.0f;
  Sampler all(p);
  ExpectFrequencies(Frequencies(all, logits, kDraws), {0.3, 0.5, 0.2}, 0.015);
}

TEST(Sampler, MinPDropsTokensBelowAFractionOfTheBest) {
  // Probabilities 0.5, 0.3, 0.15, 0.05; min_p = 0.2 -> threshold 0.1: id 3 goes.
  const std::vector<float> logits = {std::log(0.15f), std::log(0.5f), std::log(0.05f), std::log(0.3f)};
  SamplerParams p = Params(1.0f, 11);
  p.min_p = 0.2f;
  Sampler s(p);
  ExpectFrequencies(Frequencies(s, logits, kDraws), {0.15 / 0.95, 0.5 / 0.95, 0.0, 0.3 / 0.95}, 0.015);
  // min_p = 0.5 -> threshold 0.25 keeps {1, 3}.
  p.min_p = 0.5f;
  Sampler s2(p);
  ExpectFrequencies(Frequencies(s2, logits, kDraws), {0.0, 0.5 / 0.8, 0.0, 0.3 / 0.8}, 0.015);
  // min_p = 1 keeps only the best.
  p.min_p = 1.0f;
  Sampler best(p);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(Draw(best, logits), 1);
}

TEST(Sampler, FiltersCombine) {
  // top_k = 3 keeps {0, 1, 2}; then top_p = 0.6 over softmax(2, 1.5, 1) keeps {0, 1}.
  const std::vector<float> logits = {2.0f, 1.5f, 1.0f, 0.9f};
  SamplerParams p = Params(1.0f, 3);
  p.top_k = 3;
  p.top_p = 0.6f;
  Sampler s(p);
  ExpectFrequencies(Frequencies(s, logits, kDraws), Softmax(logits, 1.0, {0, 1}), 0.015);
}

// ---------------------------------------------------------------------------------------------
// Repetition penalty (HF: a seen token's logit is divided by the penalty when positive,
// multiplied when negative; each seen id is penalised once).

TEST(Sampler, RepetitionPenaltyDividesPositiveLogits) {
  SamplerParams p = Params(0.0f);
  p.repetition_penalty = 1.5f;
  Sampler s(p);
  const std::vector<float> logits = {2.0f, 1.8f, -0.5f};
  EXPECT_EQ(Draw(s, logits), 0);                  // no history: no penalty
  EXPECT_EQ(Draw(s, logits, {0}), 1);             // 2.0 / 1.5 = 1.33 < 1.8
  EXPECT_EQ(Draw(s, logits, {2}), 0);             // unrelated token
  SamplerParams off = Params(0.0f);
  Sampler none(off);
  EXPECT_EQ(Draw(none, logits, {0}), 0);          // penalty 1 = off
}

TEST(Sampler, RepetitionPenaltyMultipliesNegativeLogits) {
  // With all logits negative, dividing -1.0 by 1.5 would keep id 0 the best (-0.67); HF
  // multiplies: -1.5 < -1.2, so id 1 wins.
  SamplerParams p = Params(0.0f);
  p.repetition_penalty = 1.5f;
  Sampler s(p);
  EXPECT_EQ(Draw(s, {-1.0f, -1.2f, -5.0f}, {0}), 1);
  // A zero logit stays zero.
  EXPECT_EQ(Draw(s, {0.0f, -0.1f}, {0}), 0);
}

TEST(Sampler, RepetitionPenaltyAppliesOncePerDistinctToken) {
  // 3.0 / 1.1 = 2.73 > 2.5 keeps id 0; applying it three times (2.25) would not.
  SamplerParams p = Params(0.0f);
  p.repetition_penalty = 1.1f;
  Sampler s(p);
  EXPECT_EQ(Draw(s, {3.0f, 2.5f}, {0, 0, 0}), 0);
  // Ids outside the vocabulary are ignored.
  EXPECT_EQ(Draw(s, {3.0f, 2.5f}, {-1, 7, 1000000}), 0);
}

TEST(Sampler, RepetitionPenaltyShapesTheSampledDistribution) {
  // {1, 1} with id 0 seen and penalty 2 -> {0.5, 1}.
  SamplerParams p = Params(1.0f, 9);
  p.repetition_penalty = 2.0f;
  Sampler s(p);
  const std::vector<float> logits = {1.0f, 1.0f};
  ExpectFrequencies(Frequencies(s, logits, kDraws, {0}), Softmax({0.5f, 1.0f}, 1.0), 0.015);
}

}  // namespace
}  // namespace kvpress
