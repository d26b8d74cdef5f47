// non_causal_attention: chunked non-causal attention column sums with upstream padding, by brute
// force in double (tiny-model probe and oracle helpers: tests/press_scorer_probe.h).
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

// non_causal_attention: chunked non-causal attention in double, including upstream's padding of a
// short last chunk (n = 30, chunk 8: two padded rows/keys) and an exact multiple (n = 32).
TEST(NonCausalAttentionBruteForce, ChunkedColumnSumsWithUpstreamPadding) {
  const ModelConfig& c = Tiny().config;
  const int hd = c.head_dim, H = c.n_heads, group = H / c.n_kv_heads, C = 8;
  for (const int n : {30, 32}) {
    const auto ev =
        RunScorer("non_causal_attention:chunk=8", BudgetPolicy{.removed_fraction = 0.5}, n, 256);
    ASSERT_EQ(ev.size(), static_cast<size_t>(c.n_layers));
    for (const LayerEvent& e : ev) {
      for (int g = 0; g < c.n_kv_heads; ++g) {
        std::vector<double> a(static_cast<size_t>(n), 0.0);
        for (int h = g * group; h < (g + 1) * group; ++h) {
          for (int start = 0; start < n; start += C) {
            const int end = std::min(n, start + C);
            // Rows: the chunk's real queries, then zero rows; columns: real keys, then zero keys.
            for (int i = start; i < start + C; ++i) {
              std::vector<double> l(static_cast<size_t>(C));
              for (int j = start; j < start + C; ++j) {
                double dot = 0;
                if (i < end && j < end) {
                  for (int d = 0; d < hd; ++d) dot += e.queries[i][h * hd + d] * e.keys[g][j][d];
                }
                l[j - start] = j < end ? dot : -1e-9;
              }
              double mx = *std::max_element(l.begin(), l.end()), total = 0;
              for (double& x : l) total += (x = std::exp(x - mx));
              for (int j = start; j < end; ++j) a[j] += l[j - start] / total / group;
            }
          }
        }
        std::vector<double> w(static_cast<size_t>(n)), score(static_cast<size_t>(n));
        for (int j = 0; j < n; ++j) {
          double vn = 0;
          for (double v : e.values[g][j]) vn += v * v;
          w[j] = a[j] * std::sqrt(vn);
        }
        for (int j = 0; j < n; ++j)
          score[j] = ((j > 0 ? w[j - 1] : 0) + w[j] + (j + 1 < n ? w[j + 1] : 0)) / 3;
        ExpectTopK(score, e.pos[g], n / 2, e.kept[g],
                   "n " + std::to_string(n) + " layer " + std::to_string(e.layer));
      }
    }
  }
}

}  // namespace
}  // namespace kvpress
