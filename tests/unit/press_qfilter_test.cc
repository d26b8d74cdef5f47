// qfilter: the query-statistics collector (top eigenvector, filter file) and the qfilter press
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

TEST(QueryStats, TopEigenvectorOfAKnownMatrix) {
  // Q diag(5, 2, 1) Qᵀ with Q a rotation in the (0, 2) plane: top eigenvector (cos a, 0, sin a).
  const double a = 0.3, c = std::cos(a), s = std::sin(a);
  const std::vector<double> m = {5 * c * c + 1 * s * s, 0, (5 - 1) * c * s,      0, 2, 0,
                                 (5 - 1) * c * s,       0, 5 * s * s + 1 * c * c};
  const std::vector<double> u = TopEigenvector(m, 3);
  EXPECT_NEAR(std::abs(u[0] * c + u[2] * s), 1.0, 1e-12);
  EXPECT_NEAR(u[1], 0.0, 1e-12);
}

PressSpec Spec(const std::string& text) {
  auto s = ParsePressSpec(text);
  EXPECT_TRUE(s.ok()) << text;
  return s.ok() ? *s : PressSpec{};
}

// kvpress stats' collector on the tiny model: mean/cov of the pre-RoPE queries and the Q-filters
// (top eigenvector of the group's Σ q qᵀ, post-RoPE) against double recomputations from the probe;
// the file round trip; qfilter keeps the top u·k.
TEST(QueryStats, CollectorFileAndQFilterPress) {
  const Model& model = Tiny();
  const ModelConfig& c = model.config;
  const int hd = c.head_dim, group = c.n_heads / c.n_kv_heads, n = 40;
  Transformer t(model, 1);
  QueryStatsCollector collector(c, 4);
  struct Tee : LayerHook {
    QueryStatsCollector* collector;
    Matrix q0;  // layer 0 post-RoPE queries [n][H*hd]
    void AfterAttention(const LayerHookContext& ctx) override {
      collector->AfterAttention(ctx);
      if (ctx.layer != 0) return;
      for (int i = 0; i < ctx.n_tokens; ++i) {
        const float* q = ctx.queries + static_cast<size_t>(i) * ctx.cache->head_dim() * 4;
        q0.emplace_back(q, q + ctx.cache->head_dim() * 4);
      }
    }
  } tee;
  tee.collector = &collector;
  std::vector<int32_t> ids, pos;
  for (int i = 0; i < n; ++i) ids.push_back(3 + (i * 37) % 500), pos.push_back(i);
  KVCache cache = t.NewCache();
  std::vector<float> logits;
  ForwardOptions opt;
  opt.hook = &tee;
  ASSERT_TRUE(t.Forward(ids, pos, cache, opt, logits).ok());
  const QueryStats stats = collector.Finish();
  ASSERT_TRUE(stats.CheckShape(c, true, true).ok());
  EXPECT_EQ(stats.n_queries[0], n - 4);
  // Filter of layer 0, KV head 1 against Σ q qᵀ in double: an eigenvector with the largest Rayleigh
  // quotient.
  Matrix m(static_cast<size_t>(hd), std::vector<double>(static_cast<size_t>(hd), 0.0));
  std::vector<double> mean(static_cast<size_t>(hd), 0.0);
  for (int i = 4; i < n; ++i) {
    for (int h = group; h < 2 * group; ++h) {
      const double* q = tee.q0[i].data() + h * hd;
      for (int a = 0; a < hd; ++a) {
        mean[a] += q[a];
        for (int b = 0; b < hd; ++b) m[a][b] += q[a] * q[b];
      }
    }
  }
  const float* u = stats.filters.data() + static_cast<size_t>(1) * hd;  // [L=0, KV=1]
  std::vector<double> mu(static_cast<size_t>(hd), 0.0);
  double rayleigh = 0, proj = 0, scale = 0;
  for (int a = 0; a < hd; ++a) {
    for (int b = 0; b < hd; ++b) mu[a] += m[a][b] * u[b];
    rayleigh += u[a] * mu[a];
    proj += u[a] * mean[a];
    scale = std::max(scale, std::abs(m[a][a]));
  }
  for (int a = 0; a < hd; ++a) EXPECT_NEAR(mu[a], rayleigh * u[a], 1e-4 * scale) << a;
  EXPECT_GT(proj, 0.0) << "filter signed towards the mean query";
  std::mt19937 rng(3);
  std::normal_distribution<double> nd;
  for (int trial = 0; trial < 20; ++trial) {  // no direction has a larger quotient
    std::vector<double> v(static_cast<size_t>(hd));
    double vv = 0, vmv = 0;
    for (double& x : v) x = nd(rng), vv += x * x;
    for (int a = 0; a < hd; ++a)
      for (int b = 0; b < hd; ++b) vmv += v[a] * m[a][b] * v[b];
    EXPECT_LE(vmv / vv, rayleigh * (1 + 1e-6));
  }
  // Round trip through the file.
  const std::string path = testing::TempDir("qstats") + "/stats.safetensors";
  ASSERT_TRUE(SaveQueryStats(path, stats).ok());
  auto back = LoadQueryStats(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->mean, stats.mean);
  EXPECT_EQ(back->cov, stats.cov);
  EXPECT_EQ(back->filters, stats.filters);
  // qfilter with that file keeps the top u·k of every head.
  const auto ev =
      RunScorer("qfilter:filters=" + path, BudgetPolicy{.removed_fraction = 0.5}, 36, 256);
  ASSERT_EQ(ev.size(), static_cast<size_t>(c.n_layers));
  for (const LayerEvent& e : ev) {
    for (int g = 0; g < c.n_kv_heads; ++g) {
      const float* f = stats.filters.data() + static_cast<size_t>(e.layer * c.n_kv_heads + g) * hd;
      std::vector<double> score;
      for (const auto& k : e.keys[g]) {
        double x = 0;
        for (int i = 0; i < hd; ++i) x += f[i] * k[i];
        score.push_back(x);
      }
      ExpectTopK(score, e.pos[g], 18, e.kept[g], "qfilter layer " + std::to_string(e.layer));
    }
  }
  // Errors: no file, a file without filters for qfilter, a shape mismatch.
  auto none = ParsePressSpec("qfilter");
  EXPECT_FALSE(CreatePress(*none).ok());
  QueryStats no_filters = stats;
  no_filters.filters.clear();
  const std::string path2 = testing::TempDir("qstats2") + "/mean_only.safetensors";
  no_filters.cov.clear();
  ASSERT_TRUE(SaveQueryStats(path2, no_filters).ok());
  EXPECT_FALSE(CreatePress(Spec("qfilter:filters=" + path2)).ok());
  auto ea = CreatePress(Spec("expected_attention:stats=" + path2));
  ASSERT_TRUE(ea.ok());
  EXPECT_FALSE((*ea)->Attach(c).ok()) << "covariance needed unless use_covariance=0";
  auto ea_mean = CreatePress(Spec("expected_attention:use_covariance=0,stats=" + path2));
  ASSERT_TRUE(ea_mean.ok());
  EXPECT_TRUE((*ea_mean)->Attach(c).ok());
  ModelConfig other = c;
  other.n_layers += 1;
  EXPECT_FALSE((*ea_mean)->Attach(other).ok());
}

}  // namespace
}  // namespace kvpress
