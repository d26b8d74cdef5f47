// ShadowKV (src/press/shadowkv_press.cc) against brute force.
//
// - The truncated SVD helper against matrices with known singular values.
// - Full rank and a budget above the context: the decode logits equal the dense model's.
// - Low rank and a small budget on a tiny random model: at every decode step and layer, a probe
//   that runs after the press's BeforeAttention compares what attention will read with an oracle
//   computed here in double precision from the exact context keys (a dense run): the positions =
//   outlier chunks ∪ local tail ∪ tokens since the prefill ∪ top-k chunks by the group's summed
//   softmax over landmarks; the reconstructed keys = RoPE(V_r V_rᵀ k_pre) with V_r from power
//   iteration on KᵀK; values exact. After attention the cache is back to the exact slots, and
//   kv_bytes_live = exact slots + factors + values + landmarks.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "model/model.h"
#include "model/transformer.h"
#include "press/low_rank.h"
#include "press/press_spec.h"
#include "press/registry.h"
#include "tiny_llama.h"

namespace kvpress {
namespace {

std::unique_ptr<Model> TinyModel() { return testing_util::TinyLlama("shadowkv-tiny", 7); }

std::unique_ptr<Press> MakePress(const std::string& text, const ModelConfig& c) {
  auto spec = ParsePressSpec(text);
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  auto press = CreatePress(*spec);
  EXPECT_TRUE(press.ok()) << press.status().ToString();
  EXPECT_TRUE((*press)->Attach(c).ok());
  return std::move(press).value();
}

TEST(LowRank, RecoversKnownSingularValues) {
  // X = U diag(σ) Vᵀ, U [30, 6] and V [6, 6] orthonormal (Gram–Schmidt of random columns).
  const int m = 30, D = 6;
  const std::vector<double> sigma = {9, 5, 3, 2, 0.5, 0.1};
  std::mt19937_64 rng(3);
  std::normal_distribution<double> nd;
  auto orthonormal = [&](int rows, int cols) {
    std::vector<std::vector<double>> q(static_cast<size_t>(cols),
                                       std::vector<double>(static_cast<size_t>(rows)));
    for (int c = 0; c < cols; ++c) {
      for (double& x : q[static_cast<size_t>(c)]) x = nd(rng);
      for (int p = 0; p < c; ++p) {
        double dot = 0;
        for (int r = 0; r < rows; ++r) dot += q[c][r] * q[p][r];
        for (int r = 0; r < rows; ++r) q[c][r] -= dot * q[p][r];
      }
      double n = 0;
      for (double x : q[c]) n += x * x;
      for (double& x : q[c]) x /= std::sqrt(n);
    }
    return q;  // [cols][rows]
  };
  const auto U = orthonormal(m, D), V = orthonormal(D, D);
  std::vector<float> x(static_cast<size_t>(m * D));
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < D; ++j) {
      double s = 0;
      for (int k = 0; k < D; ++k) s += U[k][i] * sigma[k] * V[k][j];
      x[static_cast<size_t>(i * D + j)] = static_cast<float>(s);
    }
  }
  for (int r : {1, 3, 6}) {
    std::vector<float> a, b;
    ASSERT_EQ(LowRankFactors(x, m, D, r, a, b), r);
    double err2 = 0;
    for (int i = 0; i < m; ++i) {
      for (int j = 0; j < D; ++j) {
        double s = 0;
        for (int k = 0; k < r; ++k) s += static_cast<double>(a[i * r + k]) * b[k * D + j];
        err2 += (s - x[i * D + j]) * (s - x[i * D + j]);
      }
    }
    double optimum = 0;  // Eckart–Young: Σ_{k ≥ r} σ_k²
    for (int k = r; k < D; ++k) optimum += sigma[k] * sigma[k];
    EXPECT_NEAR(std::sqrt(err2), std::sqrt(optimum), 1e-4) << "rank " << r;
  }
  std::vector<float> a, b;
  EXPECT_EQ(LowRankFactors(x, m, D, 100, a, b), D);  // clamped
}

TEST(LowRank, SymmetricEigenSolvesRandomMatrices) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> nd;
  for (int n : {1, 2, 7, 40}) {
    std::vector<double> a(static_cast<size_t>(n * n));
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j <= i; ++j) a[i * n + j] = a[j * n + i] = nd(rng);
    }
    std::vector<double> work = a, values, vectors;
    SymmetricEigen(work, n, values, vectors);
    for (int c = 0; c < n; ++c) {
      if (c > 0) {
        EXPECT_GE(values[c - 1], values[c]);
      }
      for (int r = 0; r < n; ++r) {  // (A v)_r = λ v_r
        double av = 0;
        for (int k = 0; k < n; ++k) av += a[r * n + k] * vectors[k * n + c];
        EXPECT_NEAR(av, values[c] * vectors[r * n + c], 1e-10) << n;
      }
      for (int c2 = 0; c2 < n; ++c2) {  // orthonormal columns
        double dot = 0;
        for (int r = 0; r < n; ++r) dot += vectors[r * n + c] * vectors[r * n + c2];
        EXPECT_NEAR(dot, c == c2 ? 1.0 : 0.0, 1e-10);
      }
    }
  }
}

// Runs prefill (ctx tokens) + `steps` greedy decode steps; returns the logits of every step.
std::vector<std::vector<float>> RunModel(const Model& model, LayerHook* hook, int ctx, int steps,
                                         KVCache* out = nullptr) {
  Transformer tf(model, 1);
  KVCache cache = tf.NewCache();
  std::mt19937 rng(11);
  std::uniform_int_distribution<int32_t> tok(0, model.config.vocab_size - 1);
  std::vector<int32_t> ids, pos;
  for (int i = 0; i < ctx; ++i) {
    ids.push_back(tok(rng));
    pos.push_back(i);
  }
  ForwardOptions opt;
  opt.hook = hook;
  opt.max_chunk = 32;
  std::vector<float> logits;
  EXPECT_TRUE(tf.Forward(ids, pos, cache, opt, logits).ok());
  std::vector<std::vector<float>> all;
  for (int s = 0; s < steps; ++s) {
    const int32_t next =
        static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    const std::vector<int32_t> one = {next}, p = {ctx + s};
    opt.phase = ForwardPhase::kDecode;
    EXPECT_TRUE(tf.Forward(one, p, cache, opt, logits).ok());
    all.push_back(logits);
  }
  if (out != nullptr) *out = cache;
  return all;
}

TEST(ShadowKv, FullRankAndFullBudgetEqualsDense) {
  const auto model = TinyModel();
  auto press = MakePress("shadowkv:rank=16,chunk=4,local=2,outliers=0,budget=1000", model->config);
  const auto dense = RunModel(*model, nullptr, 70, 6);
  KVCache cache(1, 1, 1);
  const auto sparse = RunModel(*model, press.get(), 70, 6, &cache);
  ASSERT_EQ(dense.size(), sparse.size());
  for (size_t s = 0; s < dense.size(); ++s) {
    for (size_t v = 0; v < dense[s].size(); ++v)
      EXPECT_NEAR(dense[s][v], sparse[s][v], 2e-4) << s << " " << v;
  }
  // 70 = 15 chunks of 4 in low rank + 10 exact, then 6 generated tokens, no outlier chunks.
  EXPECT_EQ(cache.Size(0, 0), 10 + 6);
  EXPECT_GT(cache.SideBytes(), 0u);
  EXPECT_EQ(cache.LiveBytes(), cache.SideBytes() + 2 * 2 * 16 * cache.SlotBytes());
}

// A second prefill forward after the layer was compressed (chunked prefill) sees every chunk.
TEST(ShadowKv, LaterPrefillForwardAttendsEveryChunk) {
  const auto model = TinyModel();
  auto run = [&](Press* press) {
    Transformer tf(*model, 1);
    KVCache cache = tf.NewCache();
    std::vector<float> logits, all;
    ForwardOptions opt;
    opt.hook = press;
    for (int part = 0; part < 2; ++part) {
      std::vector<int32_t> ids, pos;
      for (int i = 0; i < 40; ++i) {
        ids.push_back((i * 7 + part * 3) % 64);
        pos.push_back(part * 40 + i);
      }
      EXPECT_TRUE(tf.Forward(ids, pos, cache, opt, logits).ok());
      all.insert(all.end(), logits.begin(), logits.end());
    }
    return all;
  };
  auto press = MakePress("shadowkv:rank=16,chunk=4,local=2,outliers=0,budget=4", model->config);
  const auto dense = run(nullptr);
  const auto sparse = run(press.get());
  ASSERT_EQ(dense.size(), sparse.size());
  for (size_t v = 0; v < dense.size(); ++v) EXPECT_NEAR(dense[v], sparse[v], 2e-4) << v;
}

// Captures the dense context keys/values (no press) for the oracle.
struct DenseContext {
  std::vector<std::vector<std::vector<double>>> keys;   // [L][KV][n·hd] post-RoPE
  std::vector<std::vector<std::vector<float>>> values;  // [L][KV][n·hd]
};

class Checker : public LayerHook {
 public:
  Checker(Press* press, const ModelConfig& c, const DenseContext& dense, int rank, int chunk,
          int local, int outliers, int budget)
      : press_(press),
        c_(c),
        dense_(dense),
        rank_(rank),
        chunk_(chunk),
        local_(local),
        outliers_(outliers),
        budget_(budget) {}
  AttentionRequest Request(const ForwardInfo& info) const override { return press_->Request(info); }
  void BeforeAttention(const LayerHookContext& ctx) override {
    press_->BeforeAttention(ctx);
    if (ctx.info.phase == ForwardPhase::kDecode) Check(ctx);
  }
  void AfterAttention(const LayerHookContext& ctx) override {
    press_->AfterAttention(ctx);
    if (ctx.info.phase == ForwardPhase::kDecode) {
      // Back to the exact slots: outlier chunks, local tail, decode tokens.
      for (int g = 0; g < c_.n_kv_heads; ++g) {
        const auto pos = ctx.cache->Positions(ctx.layer, g);
        EXPECT_EQ(pos.size(),
                  Exact(ctx.layer, g).size() + static_cast<size_t>(ctx.positions[0] - n_ctx_ + 1));
      }
    }
  }
  int checks = 0;
  int n_ctx_ = 0;

 private:
  static constexpr int kD = 8;
  std::vector<double> Rope(std::vector<double> x, int pos) const {
    const auto inv = c_.RopeInvFreq();
    for (int i = 0; i < kD / 2; ++i) {
      const double a = static_cast<double>(static_cast<float>(pos) * inv[i]);
      const double c = std::cos(a), s = std::sin(a), x0 = x[i], x1 = x[i + kD / 2];
      x[i] = x0 * c - x1 * s;
      x[i + kD / 2] = x1 * c + x0 * s;
    }
    return x;
  }
  int M() const { return (n_ctx_ / chunk_ - local_) * chunk_; }
  // Outlier chunk ids of (layer, g) by the definition (lowest min cosine to the chunk mean).
  std::vector<int> Outliers(int l, int g, std::vector<std::vector<double>>& landmarks) const {
    const auto& k = dense_.keys[l][g];
    const int nc = M() / chunk_;
    std::vector<std::pair<double, int>> worst;
    landmarks.assign(static_cast<size_t>(nc), std::vector<double>(kD, 0.0));
    for (int c = 0; c < nc; ++c) {
      for (int i = c * chunk_; i < (c + 1) * chunk_; ++i) {
        for (int j = 0; j < kD; ++j) landmarks[c][j] += k[i * kD + j] / chunk_;
      }
      double w = 1.0, ln = 0;
      for (double x : landmarks[c]) ln += x * x;
      for (int i = c * chunk_; i < (c + 1) * chunk_; ++i) {
        double dot = 0, kn = 0;
        for (int j = 0; j < kD; ++j)
          dot += k[i * kD + j] * landmarks[c][j], kn += k[i * kD + j] * k[i * kD + j];
        w = std::min(w, dot / std::sqrt(kn * ln));
      }
      worst.push_back({w, c});
    }
    std::stable_sort(worst.begin(), worst.end(),
                     [](auto& a, auto& b) { return a.first < b.first; });
    std::vector<int> out;
    for (int i = 0; i < outliers_; ++i) out.push_back(worst[i].second);
    return out;
  }
  std::set<int32_t> Exact(int l, int g) const {
    std::vector<std::vector<double>> lm;
    std::set<int32_t> s;
    for (int c : Outliers(l, g, lm)) {
      for (int i = c * chunk_; i < (c + 1) * chunk_; ++i) s.insert(i);
    }
    for (int i = M(); i < n_ctx_; ++i) s.insert(i);
    return s;
  }
  // Top rank_ eigenvectors of KᵀK (pre-RoPE keys of all KV heads) by power iteration + deflation.
  std::vector<std::vector<double>> Basis(int l) const {
    const int D = c_.n_kv_heads * kD, m = M();
    std::vector<std::vector<double>> rows(static_cast<size_t>(m), std::vector<double>(D));
    for (int g = 0; g < c_.n_kv_heads; ++g) {
      for (int i = 0; i < m; ++i) {
        std::vector<double> k(dense_.keys[l][g].begin() + i * kD,
                              dense_.keys[l][g].begin() + (i + 1) * kD);
        k = Rope(k, -i);
        std::copy(k.begin(), k.end(), rows[i].begin() + g * kD);
      }
    }
    std::vector<std::vector<double>> G(D, std::vector<double>(D, 0.0));
    for (const auto& r : rows) {
      for (int p = 0; p < D; ++p) {
        for (int q = 0; q < D; ++q) G[p][q] += r[p] * r[q];
      }
    }
    std::vector<std::vector<double>> basis;
    for (int k = 0; k < rank_; ++k) {
      std::vector<double> v(D, 1.0);
      v[k] += 1.0;
      double lambda = 0;
      for (int it = 0; it < 5000; ++it) {
        std::vector<double> w(D, 0.0);
        for (int p = 0; p < D; ++p) {
          for (int q = 0; q < D; ++q) w[p] += G[p][q] * v[q];
        }
        double n = 0;
        for (double x : w) n += x * x;
        lambda = std::sqrt(n);
        for (int p = 0; p < D; ++p) v[p] = w[p] / lambda;
      }
      for (int p = 0; p < D; ++p) {
        for (int q = 0; q < D; ++q) G[p][q] -= lambda * v[p] * v[q];
      }
      basis.push_back(v);
    }
    return basis;
  }

  void Check(const LayerHookContext& ctx) {
    const int l = ctx.layer, group = c_.n_heads / c_.n_kv_heads, D = c_.n_kv_heads * kD;
    const auto basis = Basis(l);
    for (int g = 0; g < c_.n_kv_heads; ++g) {
      std::vector<std::vector<double>> lm;
      const auto outl = Outliers(l, g, lm);
      std::vector<std::pair<double, int>> score;
      std::vector<int> cand;
      for (int c = 0; c < M() / chunk_; ++c) {
        if (std::find(outl.begin(), outl.end(), c) == outl.end()) cand.push_back(c);
      }
      std::vector<double> s(cand.size(), 0.0);
      for (int h = g * group; h < (g + 1) * group; ++h) {
        std::vector<double> e(cand.size());
        double z = 0, mx = -1e300;
        for (size_t i = 0; i < cand.size(); ++i) {
          double dot = 0;
          for (int j = 0; j < kD; ++j) dot += ctx.queries[h * kD + j] * lm[cand[i]][j];
          e[i] = dot / std::sqrt(8.0);
          mx = std::max(mx, e[i]);
        }
        for (double& x : e) z += (x = std::exp(x - mx));
        for (size_t i = 0; i < cand.size(); ++i) s[i] += e[i] / z;
      }
      for (size_t i = 0; i < cand.size(); ++i) score.push_back({s[i], cand[i]});
      std::sort(score.begin(), score.end(), [](auto& a, auto& b) { return a.first > b.first; });
      std::set<int32_t> expect = Exact(l, g);
      std::set<int32_t> chosen;
      for (int i = 0; i < budget_ / chunk_; ++i) {
        for (int p = score[i].second * chunk_; p < (score[i].second + 1) * chunk_; ++p)
          chosen.insert(p);
      }
      expect.insert(chosen.begin(), chosen.end());
      for (int32_t p = n_ctx_; p <= ctx.positions[0]; ++p) expect.insert(p);
      const auto pos = ctx.cache->Positions(l, g);
      ASSERT_EQ(std::set<int32_t>(pos.begin(), pos.end()), expect)
          << "layer " << l << " head " << g;
      std::vector<float> k(kD), v(kD);
      for (size_t slot = 0; slot < pos.size(); ++slot) {
        const int32_t p = pos[slot];
        if (p >= n_ctx_) continue;
        ctx.cache->KeyAt(l, g, static_cast<int>(slot), k.data());
        ctx.cache->ValueAt(l, g, static_cast<int>(slot), v.data());
        for (int j = 0; j < kD; ++j) EXPECT_EQ(v[j], dense_.values[l][g][p * kD + j]);
        std::vector<double> want(dense_.keys[l][g].begin() + p * kD,
                                 dense_.keys[l][g].begin() + (p + 1) * kD);
        if (chosen.count(p)) {  // reconstructed: RoPE(V_r V_rᵀ k_pre) on this head's columns
          std::vector<double> full(D, 0.0);
          for (int gg = 0; gg < c_.n_kv_heads; ++gg) {
            std::vector<double> kk(dense_.keys[l][gg].begin() + p * kD,
                                   dense_.keys[l][gg].begin() + (p + 1) * kD);
            kk = Rope(kk, -p);
            std::copy(kk.begin(), kk.end(), full.begin() + gg * kD);
          }
          std::vector<double> proj(D, 0.0);
          for (const auto& b : basis) {
            double dot = 0;
            for (int q = 0; q < D; ++q) dot += b[q] * full[q];
            for (int q = 0; q < D; ++q) proj[q] += dot * b[q];
          }
          want = Rope(std::vector<double>(proj.begin() + g * kD, proj.begin() + (g + 1) * kD), p);
        }
        for (int j = 0; j < kD; ++j) EXPECT_NEAR(k[j], want[j], 2e-4) << "pos " << p;
      }
      ++checks;
    }
  }

  Press* press_;
  const ModelConfig& c_;
  const DenseContext& dense_;
  int rank_, chunk_, local_, outliers_, budget_;
};

TEST(ShadowKv, DecodeAttendsToExactlyTheSelectedReconstruction) {
  const auto model = TinyModel();
  const ModelConfig& c = model->config;
  const int ctx = 90, chunk = 4, local = 2, rank = 5, outliers = 2, budget = 16;
  KVCache dense_cache(1, 1, 1);
  RunModel(*model, nullptr, ctx, 0, &dense_cache);
  DenseContext dense;
  dense.keys.resize(c.n_layers);
  dense.values.resize(c.n_layers);
  std::vector<float> buf(8);
  for (int l = 0; l < c.n_layers; ++l) {
    for (int g = 0; g < c.n_kv_heads; ++g) {
      dense.keys[l].emplace_back();
      dense.values[l].emplace_back();
      for (int i = 0; i < ctx; ++i) {
        dense_cache.KeyAt(l, g, i, buf.data());
        dense.keys[l][g].insert(dense.keys[l][g].end(), buf.begin(), buf.end());
        dense_cache.ValueAt(l, g, i, buf.data());
        dense.values[l][g].insert(dense.values[l][g].end(), buf.begin(), buf.end());
      }
    }
  }
  auto press = MakePress(fmt::format("shadowkv:rank={},chunk={},local={},outliers={},budget={}",
                                     rank, chunk, local, outliers, budget),
                         c);
  Checker checker(press.get(), c, dense, rank, chunk, local, outliers, budget);
  checker.n_ctx_ = ctx;
  KVCache cache(1, 1, 1);
  RunModel(*model, &checker, ctx, 5, &cache);
  EXPECT_EQ(checker.checks, 5 * c.n_layers * c.n_kv_heads);
  // kv_bytes_live: exact slots (2 outlier chunks + 10 local + 5 generated) + A [80, 5] + B [5, 16]
  // + values [2][80, 8] + landmarks [2][20, 8] per layer, f32.
  const size_t side_per_layer = (80 * 5 + 5 * 16 + 2 * 80 * 8 + 2 * 20 * 8) * sizeof(float);
  EXPECT_EQ(cache.SideBytes(), 2 * side_per_layer);
  EXPECT_EQ(cache.LiveBytes(), 2 * side_per_layer + 2 * 2 * (8 + 10 + 5) * cache.SlotBytes());
}

TEST(ShadowKv, ShortContextStaysDenseAndBadParamsAreRejected) {
  const auto model = TinyModel();
  auto press = MakePress("shadowkv:chunk=8,local=4", model->config);
  KVCache cache(1, 1, 1);
  const auto sparse = RunModel(*model, press.get(), 30, 3, &cache);
  const auto dense = RunModel(*model, nullptr, 30, 3);
  for (size_t s = 0; s < dense.size(); ++s) EXPECT_EQ(dense[s], sparse[s]);
  EXPECT_EQ(cache.SideBytes(), 0u);
  auto spec = ParsePressSpec("shadowkv:rank=0");
  ASSERT_TRUE(spec.ok());
  EXPECT_FALSE(CreatePress(*spec).ok());
}

}  // namespace
}  // namespace kvpress
