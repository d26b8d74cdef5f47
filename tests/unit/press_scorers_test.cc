// Catalogue part 2 scorers (expected_attention, cur, qfilter, non_causal_attention, cap, leverage)
// by brute force in double precision.
//
// A random tiny llama (MakeRandomModel "tiny": 4 layers, 4 query heads over 2 KV heads, hd 32) runs
// through the real Transformer; a probe hook records every layer's post-RoPE queries and the cache
// (positions, keys, values) before the press, and an oracle recomputes the press's definition from
// those alone in double: for expected_attention the pre-RoPE queries by explicit inverse rotation,
// mean and covariance two-pass, the averaged RoPE as the mean of full rotation matrices; for cur
// the block-normalised squared norms. Near ties at the cut (1e-5 relative) are allowed either way.
// The model goldens against upstream kvpress are in tests/model/press_catalogue_goldens_test.cc.
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
#include "test_util.h"

namespace kvpress {
namespace {

using Matrix = std::vector<std::vector<double>>;

struct LayerEvent {
  int layer = 0;
  ForwardPhase phase = ForwardPhase::kPrefill;
  std::vector<int32_t> query_pos;         // [n_tokens]
  Matrix queries;                         // [n_tokens][H*hd] post-RoPE
  std::vector<std::vector<int32_t>> pos;  // [KV][n] before the press
  std::vector<Matrix> keys, values;       // [KV][n][hd] before the press
  std::vector<std::set<int32_t>> kept;    // [KV] after the press
};

class Probe : public LayerHook {
 public:
  explicit Probe(Press* press, int qd) : press_(press), qd_(qd) {}
  AttentionRequest Request(const ForwardInfo& info) const override { return press_->Request(info); }
  void AfterAttention(const LayerHookContext& ctx) override {
    LayerEvent e;
    e.layer = ctx.layer;
    e.phase = ctx.info.phase;
    e.query_pos.assign(ctx.positions.begin(), ctx.positions.end());
    for (int t = 0; t < ctx.n_tokens; ++t) {
      const float* q = ctx.queries + static_cast<size_t>(t) * static_cast<size_t>(qd_);
      e.queries.emplace_back(q, q + qd_);
    }
    const int hd = ctx.cache->head_dim(), kv = ctx.cache->n_kv_heads();
    std::vector<float> row(static_cast<size_t>(hd));
    e.pos.resize(static_cast<size_t>(kv));
    e.keys.resize(static_cast<size_t>(kv));
    e.values.resize(static_cast<size_t>(kv));
    for (int g = 0; g < kv; ++g) {
      const auto p = ctx.cache->Positions(ctx.layer, g);
      e.pos[static_cast<size_t>(g)].assign(p.begin(), p.end());
      for (int j = 0; j < ctx.cache->Size(ctx.layer, g); ++j) {
        ctx.cache->KeyAt(ctx.layer, g, j, row.data());
        e.keys[static_cast<size_t>(g)].emplace_back(row.begin(), row.end());
        ctx.cache->ValueAt(ctx.layer, g, j, row.data());
        e.values[static_cast<size_t>(g)].emplace_back(row.begin(), row.end());
      }
    }
    press_->AfterAttention(ctx);
    for (int g = 0; g < kv; ++g) {
      const auto p = ctx.cache->Positions(ctx.layer, g);
      e.kept.emplace_back(p.begin(), p.end());
    }
    events.push_back(std::move(e));
  }
  std::vector<LayerEvent> events;

 private:
  Press* press_;
  int qd_;
};

const Model& Tiny() {
  static const std::unique_ptr<Model> m = [] {
    auto c = RandomModelPreset("tiny");
    return MakeRandomModel(*c, DType::kF32, 11);
  }();
  return *m;
}

// Runs `spec` on the tiny model: a prefill of `n_prefill` tokens (internal chunks of `max_chunk`),
// then `n_decode` single-token decode steps. Returns every hook event.
std::vector<LayerEvent> RunScorer(const std::string& spec_text, BudgetPolicy budget, int n_prefill,
                                  int max_chunk, int n_decode = 0) {
  const Model& model = Tiny();
  Transformer t(model, 1);
  auto spec = ParsePressSpec(spec_text);
  EXPECT_TRUE(spec.ok());
  spec->budget = budget;
  auto press = CreatePress(*spec);
  EXPECT_TRUE(press.ok()) << press.status().ToString();
  if (!press.ok()) return {};
  EXPECT_TRUE((*press)->Attach(model.config).ok());
  Probe probe(press->get(), model.config.n_heads * model.config.head_dim);
  KVCache cache = t.NewCache();
  std::mt19937 rng(5);
  std::uniform_int_distribution<int32_t> tok(2, model.config.vocab_size - 1);
  std::vector<int32_t> ids, pos;
  for (int i = 0; i < n_prefill; ++i) ids.push_back(tok(rng)), pos.push_back(i);
  std::vector<float> logits;
  ForwardOptions opt;
  opt.hook = &probe;
  opt.max_chunk = max_chunk;
  EXPECT_TRUE(t.Forward(ids, pos, cache, opt, logits).ok());
  opt.phase = ForwardPhase::kDecode;
  for (int i = 0; i < n_decode; ++i) {
    const int32_t p = n_prefill + i;
    const std::vector<int32_t> one_id = {tok(rng)}, one_pos = {p};
    EXPECT_TRUE(t.Forward(one_id, one_pos, cache, opt, logits).ok());
  }
  return probe.events;
}

// Near-tie tolerance: the press takes RoPE angles in f32 as the model does (position · inv_freq
// rounded to f32, ~5e-6 rad at position 80), the oracle in double.
constexpr double kTieRel = 1e-5;

// Top k of score (ties to the higher position) and the near-tie band at the cut.
void ExpectTopK(const std::vector<double>& score, const std::vector<int32_t>& pos, int k,
                const std::set<int32_t>& got, const std::string& where) {
  std::vector<size_t> idx(score.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    return score[a] != score[b] ? score[a] > score[b] : pos[a] > pos[b];
  });
  std::set<int32_t> want, band;
  for (int i = 0; i < k && i < static_cast<int>(idx.size()); ++i)
    want.insert(pos[idx[static_cast<size_t>(i)]]);
  if (k > 0 && static_cast<size_t>(k) < idx.size()) {
    const double in = score[idx[static_cast<size_t>(k - 1)]],
                 out = score[idx[static_cast<size_t>(k)]];
    const double tol = kTieRel * std::max(std::abs(in), 1e-30);
    for (size_t j = 0; j < score.size(); ++j) {
      if (std::isfinite(in) && (std::abs(score[j] - in) <= tol || std::abs(score[j] - out) <= tol))
        band.insert(pos[j]);
    }
  }
  EXPECT_EQ(got.size(), want.size()) << where;
  std::vector<int32_t> diff;
  std::set_symmetric_difference(got.begin(), got.end(), want.begin(), want.end(),
                                std::back_inserter(diff));
  for (int32_t p : diff) {
    if (!band.count(p))
      ADD_FAILURE() << where << ": position " << p
                    << (got.count(p) ? " kept only by the press" : " evicted by the press");
  }
}

// expected_attention in double from the recorded queries (all events of `layer` up to `upto`) and
// the cache of event `upto`.
std::vector<double> ExpectedAttentionOracle(const std::vector<LayerEvent>& ev, size_t upto,
                                            int kv_head, int n_sink, int n_future) {
  const ModelConfig& c = Tiny().config;
  const int hd = c.head_dim, half = hd / 2, group = c.n_heads / c.n_kv_heads;
  const LayerEvent& now = ev[upto];
  const std::vector<float> inv_f = c.RopeInvFreq();  // the model's own frequencies (f32)
  const std::vector<double> inv(inv_f.begin(), inv_f.end());
  // Pre-RoPE queries [m][H*hd] of every token seen by this layer at positions ≥ n_sink.
  Matrix pre;
  for (size_t e = 0; e <= upto; ++e) {
    if (ev[e].layer != now.layer) continue;
    for (size_t t = 0; t < ev[e].queries.size(); ++t) {
      const int32_t p = ev[e].query_pos[t];
      if (p < n_sink) continue;
      std::vector<double> q = ev[e].queries[t];
      for (int h = 0; h < c.n_heads; ++h) {
        double* x = q.data() + static_cast<size_t>(h) * hd;
        for (int i = 0; i < half; ++i) {
          const double a = p * inv[static_cast<size_t>(i)], co = std::cos(a), si = std::sin(a);
          const double x0 = x[i], x1 = x[i + half];
          x[i] = co * x0 + si * x1;
          x[i + half] = -si * x0 + co * x1;
        }
      }
      pre.push_back(std::move(q));
    }
  }
  // R̄ = mean over future positions of the full rotation matrix.
  const int q_len = now.query_pos.back() + 1;
  Matrix r(static_cast<size_t>(hd), std::vector<double>(static_cast<size_t>(hd), 0.0));
  for (int p = q_len; p < q_len + n_future; ++p) {
    for (int i = 0; i < half; ++i) {
      const double a = p * inv[static_cast<size_t>(i)];
      r[i][i] += std::cos(a) / n_future, r[i + half][i + half] += std::cos(a) / n_future;
      r[i][i + half] -= std::sin(a) / n_future, r[i + half][i] += std::sin(a) / n_future;
    }
  }
  const auto& keys = now.keys[static_cast<size_t>(kv_head)];
  const int n = static_cast<int>(keys.size());
  std::vector<double> acc(static_cast<size_t>(n), 0.0);
  for (int h = kv_head * group; h < (kv_head + 1) * group; ++h) {
    std::vector<double> mu(static_cast<size_t>(hd), 0.0);
    for (const auto& q : pre)
      for (int i = 0; i < hd; ++i) mu[i] += q[h * hd + i] / pre.size();
    Matrix cov(static_cast<size_t>(hd), std::vector<double>(static_cast<size_t>(hd), 0.0));
    for (const auto& q : pre) {
      for (int i = 0; i < hd; ++i) {
        for (int k = 0; k < hd; ++k)
          cov[i][k] += (q[h * hd + i] - mu[i]) * (q[h * hd + k] - mu[k]) / pre.size();
      }
    }
    std::vector<double> mr(static_cast<size_t>(hd), 0.0);
    Matrix cr(static_cast<size_t>(hd), std::vector<double>(static_cast<size_t>(hd), 0.0));
    for (int i = 0; i < hd; ++i)
      for (int k = 0; k < hd; ++k) mr[i] += r[i][k] * mu[k];
    Matrix rc(static_cast<size_t>(hd), std::vector<double>(static_cast<size_t>(hd), 0.0));  // R̄ Σ
    for (int i = 0; i < hd; ++i)
      for (int a = 0; a < hd; ++a)
        for (int b = 0; b < hd; ++b) rc[i][b] += r[i][a] * cov[a][b];
    for (int i = 0; i < hd; ++i)
      for (int k = 0; k < hd; ++k)
        for (int b = 0; b < hd; ++b) cr[i][k] += rc[i][b] * r[k][b];
    std::vector<double> z(static_cast<size_t>(n), 0.0);
    double zmax = -1e300, total = 0;
    for (int j = n_sink; j < n; ++j) {
      double lin = 0, quad = 0;
      for (int i = 0; i < hd; ++i) {
        lin += mr[i] * keys[j][i];
        for (int k = 0; k < hd; ++k) quad += keys[j][i] * cr[i][k] * keys[j][k];
      }
      z[j] = lin / std::sqrt(hd) + quad / (2.0 * hd);
      zmax = std::max(zmax, z[j]);
    }
    for (int j = n_sink; j < n; ++j) total += std::exp(z[j] - zmax);
    for (int j = n_sink; j < n; ++j) acc[j] += std::exp(z[j] - zmax) / total / group;
  }
  std::vector<double> score(static_cast<size_t>(n));
  for (int j = 0; j < n; ++j) {
    double vn = 0;
    for (double v : now.values[static_cast<size_t>(kv_head)][j]) vn += v * v;
    score[j] = j < n_sink ? std::numeric_limits<double>::infinity() : acc[j] * std::sqrt(vn);
  }
  return score;
}

TEST(ExpectedAttentionBruteForce, PrefillRatioChunkedPrefillAndDecodeBudget) {
  const int n = 32;
  // One forward, then the same prefill in chunks of 12 (statistics accumulated across chunks).
  for (const int chunk : {256, 12}) {
    const auto ev = RunScorer("expected_attention:n_future=48",
                              BudgetPolicy{.compression_ratio = 0.5}, n, chunk);
    int checked = 0;
    for (size_t e = 0; e < ev.size(); ++e) {
      if (ev[e].query_pos.back() != n - 1) continue;  // the last chunk prunes
      for (int g = 0; g < Tiny().config.n_kv_heads; ++g) {
        ExpectTopK(ExpectedAttentionOracle(ev, e, g, 4, 48), ev[e].pos[g], n / 2, ev[e].kept[g],
                   "chunk " + std::to_string(chunk) + " layer " + std::to_string(ev[e].layer));
        ++checked;
      }
    }
    EXPECT_EQ(checked, Tiny().config.n_layers * Tiny().config.n_kv_heads);
  }
  // cache_budget 16: prefill prunes to 16, every decode step back to 16 with running statistics.
  const auto ev = RunScorer("expected_attention:n_future=32,n_sink=2",
                            BudgetPolicy{.cache_budget = 16}, 24, 256, 3);
  int decode_checked = 0;
  for (size_t e = 0; e < ev.size(); ++e) {
    for (int g = 0; g < Tiny().config.n_kv_heads; ++g) {
      ExpectTopK(ExpectedAttentionOracle(ev, e, g, 2, 32), ev[e].pos[g], 16, ev[e].kept[g],
                 "budget event " + std::to_string(e));
      if (ev[e].phase == ForwardPhase::kDecode) ++decode_checked;
    }
  }
  EXPECT_EQ(decode_checked, 3 * Tiny().config.n_layers * Tiny().config.n_kv_heads);
}

TEST(CurBruteForce, BlockNormalisedProductOfSquaredNorms) {
  for (const std::string type : {"kv_product", "key", "value", "kv_avg"}) {
    const auto ev = RunScorer("cur:type=" + type + ",window=8",
                              BudgetPolicy{.compression_ratio = 0.4}, 45, 256);
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

// non_causal_attention: chunked non-causal attention in double, including upstream's padding of a
// short last chunk (n = 30, chunk 8: two padded rows/keys) and an exact multiple (n = 32).
TEST(NonCausalAttentionBruteForce, ChunkedColumnSumsWithUpstreamPadding) {
  const ModelConfig& c = Tiny().config;
  const int hd = c.head_dim, H = c.n_heads, group = H / c.n_kv_heads, C = 8;
  for (const int n : {30, 32}) {
    const auto ev =
        RunScorer("non_causal_attention:chunk=8", BudgetPolicy{.compression_ratio = 0.5}, n, 256);
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

// cap in double: anchor = R̄ · mean of the pre-RoPE queries, cosine weights, capacity matrix solved
// by Gaussian elimination (the press uses Cholesky).
TEST(CapBruteForce, WeightedLeverageOfValues) {
  const ModelConfig& c = Tiny().config;
  const int hd = c.head_dim, half = hd / 2, group = c.n_heads / c.n_kv_heads, n = 36, n_sink = 4,
            F = 40;
  const double tau = 5.0, eps = 1e-6;
  const auto ev = RunScorer("cap:n_future=40", BudgetPolicy{.compression_ratio = 0.5}, n, 12);
  const std::vector<float> inv_f = c.RopeInvFreq();
  int checked = 0;
  for (size_t e = 0; e < ev.size(); ++e) {
    if (ev[e].query_pos.back() != n - 1) continue;
    std::vector<double> mu(static_cast<size_t>(c.n_heads * hd), 0.0);
    int m_q = 0;
    for (size_t f = 0; f <= e; ++f) {
      if (ev[f].layer != ev[e].layer) continue;
      for (size_t t = 0; t < ev[f].queries.size(); ++t) {
        const int32_t p = ev[f].query_pos[t];
        if (p < n_sink) continue;
        ++m_q;
        for (int h = 0; h < c.n_heads; ++h) {
          for (int i = 0; i < half; ++i) {
            const double a = p * static_cast<double>(inv_f[i]), x0 = ev[f].queries[t][h * hd + i],
                         x1 = ev[f].queries[t][h * hd + i + half];
            mu[h * hd + i] += std::cos(a) * x0 + std::sin(a) * x1;
            mu[h * hd + i + half] += -std::sin(a) * x0 + std::cos(a) * x1;
          }
        }
      }
    }
    for (int g = 0; g < c.n_kv_heads; ++g) {
      const auto& keys = ev[e].keys[g];
      const auto& vals = ev[e].values[g];
      std::vector<double> score(static_cast<size_t>(n), std::numeric_limits<double>::infinity());
      for (int j = n_sink; j < n; ++j) score[j] = 0;
      for (int h = g * group; h < (g + 1) * group; ++h) {
        std::vector<double> anchor(static_cast<size_t>(hd), 0.0);
        for (int i = 0; i < half; ++i) {
          double cs = 0, sn = 0;
          for (int p = n; p < n + F; ++p)
            cs += std::cos(p * static_cast<double>(inv_f[i])) / F,
                sn += std::sin(p * static_cast<double>(inv_f[i])) / F;
          const double m0 = mu[h * hd + i] / m_q, m1 = mu[h * hd + i + half] / m_q;
          anchor[i] = cs * m0 - sn * m1;
          anchor[i + half] = sn * m0 + cs * m1;
        }
        double an = 0;
        for (double x : anchor) an += x * x;
        std::vector<double> w(static_cast<size_t>(n), 0.0);
        double smax = -2;
        for (int j = n_sink; j < n; ++j) {
          double dot = 0, kn = 0;
          for (int i = 0; i < hd; ++i) dot += anchor[i] * keys[j][i], kn += keys[j][i] * keys[j][i];
          w[j] = std::clamp(dot / std::sqrt(an * kn), -1.0, 1.0);
          smax = std::max(smax, w[j]);
        }
        Matrix a(static_cast<size_t>(hd), std::vector<double>(static_cast<size_t>(hd), 0.0));
        for (int i = 0; i < hd; ++i) a[i][i] = 1;
        for (int j = n_sink; j < n; ++j) {
          w[j] = std::exp(tau * (w[j] - smax));
          for (int i = 0; i < hd; ++i)
            for (int k = 0; k < hd; ++k) a[i][k] += (w[j] + eps) * vals[j][i] * vals[j][k];
        }
        for (int j = n_sink; j < n; ++j) {  // solve a x = v by elimination with partial pivoting
          Matrix m = a;
          std::vector<double> x = vals[j];
          for (int col = 0; col < hd; ++col) {
            int piv = col;
            for (int r = col + 1; r < hd; ++r)
              if (std::abs(m[r][col]) > std::abs(m[piv][col])) piv = r;
            std::swap(m[col], m[piv]);
            std::swap(x[col], x[piv]);
            for (int r = col + 1; r < hd; ++r) {
              const double f = m[r][col] / m[col][col];
              for (int k = col; k < hd; ++k) m[r][k] -= f * m[col][k];
              x[r] -= f * x[col];
            }
          }
          for (int r = hd - 1; r >= 0; --r) {
            for (int k = r + 1; k < hd; ++k) x[r] -= m[r][k] * x[k];
            x[r] /= m[r][r];
          }
          double lev = 0;
          for (int i = 0; i < hd; ++i) lev += vals[j][i] * x[i];
          score[j] += w[j] * lev / group;
        }
      }
      ExpectTopK(score, ev[e].pos[g], n / 2, ev[e].kept[g],
                 "cap layer " + std::to_string(ev[e].layer));
      ++checked;
    }
  }
  EXPECT_EQ(checked, c.n_layers * c.n_kv_heads);
}

// leverage:sketch=0 in double: ridge leverage of the centred pre-RoPE keys (keys rotated back with
// the model's f32 frequencies), solved by Gaussian elimination; the sketched default is
// deterministic in the seed and keeps as many slots.
TEST(LeverageBruteForce, ExactRidgeLeverageOfCentredKeys) {
  const ModelConfig& c = Tiny().config;
  const int hd = c.head_dim, half = hd / 2, n = 30;
  const std::vector<float> inv_f = c.RopeInvFreq();
  const auto ev = RunScorer("leverage:sketch=0", BudgetPolicy{.compression_ratio = 0.5}, n, 256);
  ASSERT_EQ(ev.size(), static_cast<size_t>(c.n_layers));
  for (const LayerEvent& e : ev) {
    for (int g = 0; g < c.n_kv_heads; ++g) {
      Matrix k = e.keys[g];
      std::vector<double> mean(static_cast<size_t>(hd), 0.0);
      for (int j = 0; j < n; ++j) {
        const double p = e.pos[g][j];
        for (int i = 0; i < half; ++i) {
          const double a = p * static_cast<double>(inv_f[i]), x0 = k[j][i], x1 = k[j][i + half];
          k[j][i] = std::cos(a) * x0 + std::sin(a) * x1;
          k[j][i + half] = -std::sin(a) * x0 + std::cos(a) * x1;
        }
        for (int i = 0; i < hd; ++i) mean[i] += k[j][i] / n;
      }
      for (auto& r : k)
        for (int i = 0; i < hd; ++i) r[i] -= mean[i];
      Matrix gram(static_cast<size_t>(hd), std::vector<double>(static_cast<size_t>(hd), 0.0));
      for (int a = 0; a < hd; ++a) {
        gram[a][a] = 1e-2;
        for (int b = 0; b < hd; ++b)
          for (int j = 0; j < n; ++j) gram[a][b] += k[j][a] * k[j][b];
      }
      std::vector<double> score(static_cast<size_t>(n));
      for (int j = 0; j < n; ++j) {
        Matrix m = gram;
        std::vector<double> x = k[j];
        for (int col = 0; col < hd; ++col) {
          int piv = col;
          for (int r = col + 1; r < hd; ++r)
            if (std::abs(m[r][col]) > std::abs(m[piv][col])) piv = r;
          std::swap(m[col], m[piv]);
          std::swap(x[col], x[piv]);
          for (int r = col + 1; r < hd; ++r) {
            const double f = m[r][col] / m[col][col];
            for (int q = col; q < hd; ++q) m[r][q] -= f * m[col][q];
            x[r] -= f * x[col];
          }
        }
        for (int r = hd - 1; r >= 0; --r) {
          for (int q = r + 1; q < hd; ++q) x[r] -= m[r][q] * x[q];
          x[r] /= m[r][r];
        }
        double lev = 0;
        for (int i = 0; i < hd; ++i) lev += k[j][i] * x[i];
        score[j] = std::max(0.0, lev);
      }
      ExpectTopK(score, e.pos[g], n / 2, e.kept[g], "leverage layer " + std::to_string(e.layer));
    }
  }
  const auto a = RunScorer("leverage", BudgetPolicy{.compression_ratio = 0.5}, n, 256);
  const auto b = RunScorer("leverage", BudgetPolicy{.compression_ratio = 0.5}, n, 256);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].kept, b[i].kept);
    for (const auto& kept : a[i].kept) EXPECT_EQ(kept.size(), static_cast<size_t>(n / 2));
  }
}

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
      RunScorer("qfilter:filters=" + path, BudgetPolicy{.compression_ratio = 0.5}, 36, 256);
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
