// cur: the block-normalised product of squared key/value norms, by brute force in double
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

TEST(CurBruteForce, BlockNormalisedProductOfSquaredNorms) {
  for (const std::string type : {"kv_product", "key", "value", "kv_avg"}) {
    const auto ev =
        RunScorer("cur:type=" + type + ",window=8", BudgetPolicy{.removed_fraction = 0.4}, 45, 256);
    ASSERT_EQ(ev.size(), static_cast<size_t>(Tiny().config.n_layers));
    for (const LayerEvent& e : ev) {
      for (int g = 0; g < Tiny().config.n_kv_heads; ++g) {
        const int n = static_cast<int>(e.pos[g].size());
        std::vector<double> k2(n), v2(n), s(n);
        for (int j = 0; j < n; ++j) {
          for (double x : e.keys[g][j]) k2[j] += x * x;
          for (double x : e.values[g][j]) v2[j] += x * x;
        }
        for (auto* x : {&k2, &v2}) {
          for (int b = 0; b < n; b += 8) {
            double sum = 0;
            for (int j = b; j < std::min(n, b + 8); ++j) sum += (*x)[j];
            for (int j = b; j < std::min(n, b + 8); ++j) (*x)[j] /= sum;
          }
        }
        for (int j = 0; j < n; ++j) {
          s[j] = type == "key"      ? k2[j]
                 : type == "value"  ? v2[j]
                 : type == "kv_avg" ? (k2[j] + v2[j]) / 2
                                    : k2[j] * v2[j];
          if (j < 4) s[j] = std::numeric_limits<double>::infinity();
        }
        ExpectTopK(s, e.pos[g], static_cast<int>(45 * 0.6), e.kept[g],
                   type + " layer " + std::to_string(e.layer));
      }
    }
  }
  auto bad = ParsePressSpec("cur:type=both");
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(CreatePress(*bad).ok());
}

}  // namespace
}  // namespace kvpress
