// lagkv, rkv (official and compat=fork) and rkv_lsh: a small random cache is pruned by the press
// through the same hook the transformer calls, and the kept slots must equal a dense brute-force
// evaluation of each press's formula written here independently (double precision, explicit
// matrices, no press helpers). Plus an end-to-end run on stories260K.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "generate/generator.h"
#include "model/model.h"
#include "model/transformer.h"
#include "press/registry.h"
#include "test_util.h"

namespace kvpress {
namespace {

constexpr int kHeads = 4, kKv = 2, kHd = 8, kGroup = kHeads / kKv;
constexpr double kInf = std::numeric_limits<double>::infinity();

using Vec = std::vector<double>;

ModelConfig TinyConfig() {
  ModelConfig c;
  c.hidden_size = kHeads * kHd;
  c.intermediate_size = 64;
  c.n_layers = 1;
  c.n_heads = kHeads;
  c.n_kv_heads = kKv;
  c.head_dim = kHd;
  c.vocab_size = 16;
  return c;
}

// Everything the test knows about the sequence, independent of the press: every token's K/V per
// KV head and its query (post-RoPE, [H*hd]), by absolute position.
struct Sequence {
  std::mt19937 rng{1234};
  std::map<int32_t, std::vector<float>> keys[kKv], values[kKv];
  std::map<int32_t, std::vector<float>> queries;

  std::vector<float> Random(int n, float scale) {
    std::normal_distribution<float> nd(0.0f, scale);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = nd(rng);
    return v;
  }
  // Appends token `pos` to the cache (every KV head); some keys are near-copies of earlier ones so
  // the redundancy terms see real duplicates.
  void Add(KVCache& cache, int32_t pos) {
    for (int g = 0; g < kKv; ++g) {
      std::vector<float> k = Random(kHd, 1.5f);
      if (!keys[g].empty() && std::uniform_int_distribution<int>(0, 3)(rng) == 0) {
        auto it = keys[g].begin();
        std::advance(
            it, std::uniform_int_distribution<int>(0, static_cast<int>(keys[g].size()) - 1)(rng));
        const std::vector<float> noise = Random(kHd, 0.2f);
        for (int c = 0; c < kHd; ++c)
          k[static_cast<size_t>(c)] =
              it->second[static_cast<size_t>(c)] + noise[static_cast<size_t>(c)];
      }
      const std::vector<float> v = Random(kHd, 1.0f);
      double ss = 0.0;
      for (float x : k) ss += static_cast<double>(x) * x;
      cache.Append(0, g, k.data(), v.data(), pos, static_cast<float>(std::sqrt(ss)));
      keys[g][pos] = k;
      values[g][pos] = v;
    }
    queries[pos] = Random(kHeads * kHd, 1.0f);
  }
};

// Attention statistics computed densely, exactly as Transformer::Attention fills them.
AttentionStats DenseStats(const AttentionRequest& req, const KVCache& cache, const Sequence& seq,
                          const std::vector<int32_t>& qpos) {
  AttentionStats st;
  st.n_heads = kHeads;
  st.group = kGroup;
  const int n = static_cast<int>(qpos.size());
  st.window = std::min(req.last_queries, n);
  if (req.sum_all_queries) st.all_sum.assign(kHeads, {});
  if (st.window > 0) st.window_sum.assign(kHeads, {});
  for (int h = 0; h < kHeads; ++h) {
    const int g = h / kGroup;
    const auto pos = cache.Positions(0, g);
    const size_t slots = pos.size();
    if (req.sum_all_queries) st.all_sum[static_cast<size_t>(h)].assign(slots, 0.0f);
    if (st.window > 0) st.window_sum[static_cast<size_t>(h)].assign(slots, 0.0f);
    for (int t = 0; t < n; ++t) {
      const std::vector<float>& q = seq.queries.at(qpos[static_cast<size_t>(t)]);
      Vec logit(slots, -kInf);
      double mx = -kInf;
      for (size_t j = 0; j < slots; ++j) {
        if (pos[j] > qpos[static_cast<size_t>(t)]) continue;
        const std::vector<float>& k = seq.keys[g].at(pos[j]);
        double dot = 0;
        for (int c = 0; c < kHd; ++c)
          dot +=
              static_cast<double>(q[static_cast<size_t>(h * kHd + c)]) * k[static_cast<size_t>(c)];
        logit[j] = dot / std::sqrt(static_cast<double>(kHd));
        mx = std::max(mx, logit[j]);
      }
      double z = 0;
      for (double l : logit) z += std::exp(l - mx);
      for (size_t j = 0; j < slots; ++j) {
        const float p = static_cast<float>(std::exp(logit[j] - mx) / z);
        if (req.sum_all_queries) st.all_sum[static_cast<size_t>(h)][j] += p;
        if (t >= n - st.window) st.window_sum[static_cast<size_t>(h)][j] += p;
      }
    }
  }
  return st;
}

// Runs the press hook for one forward chunk of tokens `qpos` (already appended to the cache).
void RunHook(Press& press, KVCache& cache, const Sequence& seq, const std::vector<int32_t>& qpos,
             ForwardPhase phase) {
  const ForwardInfo info{phase, static_cast<int>(qpos.size()), true, true};
  std::vector<float> q;
  for (int32_t p : qpos) q.insert(q.end(), seq.queries.at(p).begin(), seq.queries.at(p).end());
  const AttentionRequest req = press.Request(info);
  AttentionStats stats;
  if (req.Any()) stats = DenseStats(req, cache, seq, qpos);
  LayerHookContext ctx;
  ctx.layer = 0;
  ctx.info = info;
  ctx.cache = &cache;
  ctx.positions = qpos;
  ctx.queries = q.data();
  ctx.n_tokens = static_cast<int>(qpos.size());
  ctx.stats = req.Any() ? &stats : nullptr;
  press.AfterAttention(ctx);
}

std::unique_ptr<Press> MakePress(const std::string& text, int budget, int interval = 0) {
  auto spec = ParsePressSpec(text);
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  spec->budget.cache_budget = budget;
  spec->budget.compression_interval = interval;
  spec->seed = 77;
  auto press = CreatePress(*spec);
  EXPECT_TRUE(press.ok()) << press.status().ToString();
  EXPECT_TRUE((*press)->Attach(TinyConfig()).ok());
  return std::move(*press);
}

// Positions kept by the brute force: the `budget` best scores, ties to the higher position.
std::vector<int32_t> BestPositions(const Vec& score, const std::vector<int32_t>& pos, int budget) {
  std::vector<int> idx(score.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](int a, int b) {
    if (score[static_cast<size_t>(a)] != score[static_cast<size_t>(b)])
      return score[static_cast<size_t>(a)] > score[static_cast<size_t>(b)];
    return pos[static_cast<size_t>(a)] > pos[static_cast<size_t>(b)];
  });
  std::vector<int32_t> out;
  for (int i = 0; i < std::min<int>(budget, static_cast<int>(idx.size())); ++i)
    out.push_back(pos[static_cast<size_t>(idx[static_cast<size_t>(i)])]);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int32_t> Kept(const KVCache& cache, int g) {
  const auto p = cache.Positions(0, g);
  return {p.begin(), p.end()};
}

double Dot(const std::vector<float>& a, size_t off, const std::vector<float>& b) {
  double s = 0;
  for (int c = 0; c < kHd; ++c)
    s += static_cast<double>(a[off + static_cast<size_t>(c)]) * b[static_cast<size_t>(c)];
  return s;
}

Vec Softmax(const Vec& x) {
  double mx = -kInf;
  for (double v : x) mx = std::max(mx, v);
  Vec out(x.size());
  double z = 0;
  for (size_t i = 0; i < x.size(); ++i) z += (out[i] = std::exp(x[i] - mx));
  for (double& v : out) v /= z;
  return out;
}

Vec MaxPool(const Vec& x, int kernel) {
  const int n = static_cast<int>(x.size()), pad = kernel / 2;
  Vec out(x.size(), -kInf);
  for (int i = 0; i < n; ++i) {
    for (int k = i - pad; k <= i + pad; ++k) {
      if (k >= 0 && k < n)
        out[static_cast<size_t>(i)] =
            std::max(out[static_cast<size_t>(i)], x[static_cast<size_t>(k)]);
    }
  }
  return out;
}

// ---------------------------------------------------------------- LagKV (reference §2.A)

Vec LagKvPartitionScore(const std::vector<std::vector<float>>& x, int first, int lag) {
  // x rows [first, first+lag) scored against the reference rows [first+lag, first+2lag).
  Vec sigma(static_cast<size_t>(lag));
  for (int t = 0; t < lag; ++t) {
    Vec norm(kHd);
    for (int c = 0; c < kHd; ++c) {
      double lo = kInf, hi = -kInf;
      for (int r = first + lag; r < first + 2 * lag; ++r) {
        lo = std::min(lo, static_cast<double>(x[static_cast<size_t>(r)][static_cast<size_t>(c)]));
        hi = std::max(hi, static_cast<double>(x[static_cast<size_t>(r)][static_cast<size_t>(c)]));
      }
      norm[static_cast<size_t>(c)] =
          (x[static_cast<size_t>(first + t)][static_cast<size_t>(c)] - lo) / (hi - lo);
    }
    const double mean = std::accumulate(norm.begin(), norm.end(), 0.0) / kHd;
    double ss = 0;
    for (double v : norm) ss += (v - mean) * (v - mean);
    sigma[static_cast<size_t>(t)] = std::sqrt(ss / (kHd - 1));
  }
  return Softmax(sigma);
}

Vec LagKvBrute(const Sequence& seq, int g, const std::vector<int32_t>& pos, int n_sink, int lag,
               bool cross) {
  const int n = static_cast<int>(pos.size());
  Vec s(static_cast<size_t>(n), 1.0);
  if (n < n_sink + 2 * lag) {
    for (int j = n_sink; j < n; ++j)
      s[static_cast<size_t>(j)] = static_cast<float>(j - n_sink) / static_cast<float>(n - n_sink);
    return s;
  }
  std::vector<std::vector<float>> K, V;
  for (int32_t p : pos) {
    K.push_back(seq.keys[g].at(p));
    V.push_back(seq.values[g].at(p));
  }
  const int parts = (n - n_sink) / lag;
  for (int p = 0; p < parts - 1; ++p) {
    const int first = n_sink + p * lag;
    const Vec a = LagKvPartitionScore(K, first, lag), b = LagKvPartitionScore(V, first, lag);
    for (int t = 0; t < lag; ++t) {
      const double v = (a[static_cast<size_t>(t)] + b[static_cast<size_t>(t)]) / 2;
      if (cross) {
        s[static_cast<size_t>(first + t)] = static_cast<float>(v);
        continue;
      }
      int rank = 0;  // slots of the partition scored lower (ties: the older one counts as lower)
      for (int u = 0; u < lag; ++u) {
        const double w = (a[static_cast<size_t>(u)] + b[static_cast<size_t>(u)]) / 2;
        if (w < v || (w == v && u < t)) ++rank;
      }
      s[static_cast<size_t>(first + t)] = static_cast<float>(rank) / static_cast<float>(lag);
    }
  }
  return s;
}

std::vector<int32_t> GappedPositions(int n) {
  std::vector<int32_t> p;
  for (int j = 0; j < n; ++j) p.push_back(3 * j + (j % 2));
  return p;
}

TEST(LagKvPress, PrefillKeepsBruteForceSet) {
  struct Case {
    std::string spec;
    int n_sink, lag;
    bool cross;
    int budget;
  };
  for (const Case& c :
       {Case{"lagkv:n_sink=2,lag=8", 2, 8, false, 20},
        Case{"lagkv:n_sink=3,lag=6,cross_scoring=1", 3, 6, true, 17},
        Case{"lagkv:n_sink=4,lag=7", 4, 7, false, 13}, Case{"lagkv", 4, 128, false, 12}}) {
    for (bool gapped : {false, true}) {
      Sequence seq;
      KVCache cache(1, kKv, kHd);
      std::vector<int32_t> pos(40);
      std::iota(pos.begin(), pos.end(), 0);
      if (gapped) pos = GappedPositions(40);
      for (int32_t p : pos) seq.Add(cache, p);
      auto press = MakePress(c.spec, c.budget);
      RunHook(*press, cache, seq, pos, ForwardPhase::kPrefill);
      for (int g = 0; g < kKv; ++g) {
        EXPECT_EQ(Kept(cache, g),
                  BestPositions(LagKvBrute(seq, g, pos, c.n_sink, c.lag, c.cross), pos, c.budget))
            << c.spec << " gapped=" << gapped << " head " << g;
      }
    }
  }
}

TEST(LagKvPress, DecodingScoresTheWholeCurrentCache) {
  Sequence seq;
  KVCache cache(1, kKv, kHd);
  const std::vector<int32_t> prompt = GappedPositions(30);
  for (int32_t p : prompt) seq.Add(cache, p);
  const int budget = 24;
  auto press = MakePress("lagkv:n_sink=2,lag=5", budget);
  RunHook(*press, cache, seq, prompt, ForwardPhase::kPrefill);
  ASSERT_EQ(cache.Size(0, 0), budget);
  int32_t next = prompt.back() + 2;
  for (int step = 0; step < 12; ++step, next += 1 + step % 3) {
    seq.Add(cache, next);
    std::vector<std::vector<int32_t>> before(kKv);
    for (int g = 0; g < kKv; ++g) before[static_cast<size_t>(g)] = Kept(cache, g);
    RunHook(*press, cache, seq, {next}, ForwardPhase::kDecode);
    for (int g = 0; g < kKv; ++g) {
      const auto& pos = before[static_cast<size_t>(g)];
      EXPECT_EQ(Kept(cache, g), BestPositions(LagKvBrute(seq, g, pos, 2, 5, false), pos, budget))
          << "step " << step;
    }
  }
}

// ---------------------------------------------------------------- R-KV

// Importance of the older slots under the last `window` queries (their positions in `qpos`).
Vec RkvImportance(const Sequence& seq, int g, const std::vector<int32_t>& pos,
                  const std::vector<int32_t>& qpos, int n_old, bool fork) {
  const int n = static_cast<int>(pos.size());
  const double scale = 1.0 / std::sqrt(static_cast<double>(kHd));
  Vec out(static_cast<size_t>(n_old), 0.0);
  if (!fork) {
    // Official: max over the group's heads of the logits, softmax over the older slots, mean.
    for (int32_t qp : qpos) {
      const std::vector<float>& q = seq.queries.at(qp);
      Vec m(static_cast<size_t>(n_old), -kInf);
      for (int j = 0; j < n_old; ++j) {
        if (pos[static_cast<size_t>(j)] > qp) continue;
        for (int h = g * kGroup; h < (g + 1) * kGroup; ++h) {
          m[static_cast<size_t>(j)] = std::max(
              m[static_cast<size_t>(j)],
              Dot(q, static_cast<size_t>(h * kHd), seq.keys[g].at(pos[static_cast<size_t>(j)])) *
                  scale);
        }
      }
      const Vec p = Softmax(m);
      for (int j = 0; j < n_old; ++j)
        out[static_cast<size_t>(j)] += p[static_cast<size_t>(j)] / static_cast<double>(qpos.size());
    }
    return out;
  }
  // Fork: per head, softmax over every visible slot, keep older columns, mean over queries; max
  // over the group.
  for (int h = g * kGroup; h < (g + 1) * kGroup; ++h) {
    Vec mean(static_cast<size_t>(n_old), 0.0);
    for (int32_t qp : qpos) {
      const std::vector<float>& q = seq.queries.at(qp);
      Vec l(static_cast<size_t>(n), -kInf);
      for (int j = 0; j < n; ++j) {
        if (pos[static_cast<size_t>(j)] <= qp)
          l[static_cast<size_t>(j)] =
              Dot(q, static_cast<size_t>(h * kHd), seq.keys[g].at(pos[static_cast<size_t>(j)])) *
              scale;
      }
      const Vec p = Softmax(l);
      for (int j = 0; j < n_old; ++j)
        mean[static_cast<size_t>(j)] +=
            p[static_cast<size_t>(j)] / static_cast<double>(qpos.size());
    }
    for (int j = 0; j < n_old; ++j) {
      out[static_cast<size_t>(j)] =
          h == g * kGroup ? mean[static_cast<size_t>(j)]
                          : std::max(out[static_cast<size_t>(j)], mean[static_cast<size_t>(j)]);
    }
  }
  return out;
}

std::vector<Vec> CosineMatrix(const Sequence& seq, int g, const std::vector<int32_t>& pos, int m) {
  std::vector<Vec> unit;
  for (int j = 0; j < m; ++j) {
    const std::vector<float>& k = seq.keys[g].at(pos[static_cast<size_t>(j)]);
    double ss = 0;
    for (float x : k) ss += static_cast<double>(x) * x;
    Vec u(kHd);
    for (int c = 0; c < kHd; ++c)
      u[static_cast<size_t>(c)] = k[static_cast<size_t>(c)] / (std::sqrt(ss) + 1e-8);
    unit.push_back(u);
  }
  std::vector<Vec> C(static_cast<size_t>(m), Vec(static_cast<size_t>(m), 0.0));
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < m; ++j) {
      if (i == j) continue;
      for (int c = 0; c < kHd; ++c)
        C[static_cast<size_t>(i)][static_cast<size_t>(j)] +=
            unit[static_cast<size_t>(i)][static_cast<size_t>(c)] *
            unit[static_cast<size_t>(j)][static_cast<size_t>(c)];
    }
  }
  return C;
}

struct RkvParams {
  double lambda;
  int kernel, window;
  bool fork;
};

Vec RkvBrute(const Sequence& seq, int g, const std::vector<int32_t>& pos,
             const std::vector<int32_t>& qpos, const RkvParams& prm) {
  const int n = static_cast<int>(pos.size());
  const int n_old = n - std::min(prm.window, n);
  const Vec imp = MaxPool(RkvImportance(seq, g, pos, qpos, n_old, prm.fork), prm.kernel);
  Vec red(static_cast<size_t>(n_old));
  if (prm.fork) {
    const std::vector<Vec> C = CosineMatrix(seq, g, pos, n_old);
    Vec mean(static_cast<size_t>(n_old));
    for (int i = 0; i < n_old; ++i)
      mean[static_cast<size_t>(i)] =
          std::accumulate(C[static_cast<size_t>(i)].begin(), C[static_cast<size_t>(i)].end(), 0.0) /
          n_old;
    red = Softmax(mean);
  } else {
    std::vector<Vec> C = CosineMatrix(seq, g, pos, n);
    for (int i = 0; i < n; ++i) {
      int last = 0;  // most recent near-duplicate (cosine > 0.5), or column 0 when none
      for (int j = 0; j < n; ++j) {
        if (C[static_cast<size_t>(i)][static_cast<size_t>(j)] > 0.5) last = j;
      }
      C[static_cast<size_t>(i)][static_cast<size_t>(last)] = 0.0;
    }
    Vec col(static_cast<size_t>(n), 0.0);
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j)
        col[static_cast<size_t>(j)] += C[static_cast<size_t>(i)][static_cast<size_t>(j)] / n;
    }
    const Vec r = Softmax(col);
    red.assign(r.begin(), r.begin() + n_old);
  }
  Vec s(static_cast<size_t>(n), kInf);
  for (int j = 0; j < n_old; ++j) {
    s[static_cast<size_t>(j)] = prm.fork ? prm.lambda * imp[static_cast<size_t>(j)] +
                                               (1 - prm.lambda) * red[static_cast<size_t>(j)]
                                         : prm.lambda * imp[static_cast<size_t>(j)] -
                                               (1 - prm.lambda) * red[static_cast<size_t>(j)];
  }
  return s;
}

// ---------------------------------------------------------------- RKV-LSH (reference §2.D)

Vec RkvLshBrute(const Sequence& seq, int g, const std::vector<int32_t>& pos,
                const std::vector<int32_t>& qpos, int bits, uint64_t seed) {
  const int n = static_cast<int>(pos.size());
  const int n_old = n - std::min(8, n);
  const Vec imp = MaxPool(RkvImportance(seq, g, pos, qpos, n_old, true), 5);
  // Gaussian projection [hd][bits], row-major, from mt19937_64(seed).
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> P(static_cast<size_t>(kHd * bits));
  for (float& v : P) v = nd(rng);
  std::vector<int> code(static_cast<size_t>(n_old), 0);
  std::map<int, int> count;
  for (int j = 0; j < n_old; ++j) {
    const std::vector<float>& k = seq.keys[g].at(pos[static_cast<size_t>(j)]);
    double ss = 0;
    for (float x : k) ss += static_cast<double>(x) * x;
    for (int b = 0; b < bits; ++b) {
      double dot = 0;
      for (int c = 0; c < kHd; ++c)
        dot += k[static_cast<size_t>(c)] / (std::sqrt(ss) + 1e-8) *
               P[static_cast<size_t>(c * bits + b)];
      if (dot > 0) code[static_cast<size_t>(j)] += 1 << b;
    }
    ++count[code[static_cast<size_t>(j)]];
  }
  Vec a(static_cast<size_t>(n_old));
  for (int j = 0; j < n_old; ++j) {
    double s = 0;
    for (int c2 = 0; c2 < (1 << bits); ++c2) {
      int ham = 0;
      for (int b = 0; b < bits; ++b)
        ham += ((code[static_cast<size_t>(j)] >> b) & 1) != ((c2 >> b) & 1);
      s += (count.count(c2) ? count[c2] : 0) * std::cos(static_cast<double>(ham) / bits);
    }
    a[static_cast<size_t>(j)] = s / n_old;
  }
  const Vec red = Softmax(a);
  Vec s(static_cast<size_t>(n), kInf);
  for (int j = 0; j < n_old; ++j)
    s[static_cast<size_t>(j)] =
        0.1 * imp[static_cast<size_t>(j)] + 0.9 * red[static_cast<size_t>(j)];
  return s;
}

// Brute-force score of (head g) for the given press name.
using BruteFn = std::function<Vec(const Sequence&, int, const std::vector<int32_t>&,
                                  const std::vector<int32_t>&)>;

struct RkvCase {
  std::string spec;
  BruteFn brute;
};

std::vector<RkvCase> RkvCases() {
  return {
      {"rkv",
       [](const Sequence& s, int g, const auto& p, const auto& q) {
         return RkvBrute(s, g, p, q, {0.07, 7, 8, false});
       }},
      {"rkv:compat=fork",
       [](const Sequence& s, int g, const auto& p, const auto& q) {
         return RkvBrute(s, g, p, q, {0.1, 5, 8, true});
       }},
      {"rkv:lambda=0.5,kernel=3,window=6",
       [](const Sequence& s, int g, const auto& p, const auto& q) {
         return RkvBrute(s, g, p, q, {0.5, 3, 6, false});
       }},
      {"rkv_lsh", [](const Sequence& s, int g, const auto& p,
                     const auto& q) { return RkvLshBrute(s, g, p, q, 6, 77); }},
      {"rkv_lsh:bits=3,seed=5", [](const Sequence& s, int g, const auto& p,
                                   const auto& q) { return RkvLshBrute(s, g, p, q, 3, 5); }},
  };
}

std::vector<int32_t> LastQueries(const std::vector<int32_t>& qpos, int w) {
  return {qpos.end() - std::min<int>(w, static_cast<int>(qpos.size())), qpos.end()};
}

TEST(RkvPresses, PrefillKeepsBruteForceSet) {
  for (const RkvCase& c : RkvCases()) {
    const int window = c.spec.find("window=6") != std::string::npos ? 6 : 8;
    for (bool gapped : {false, true}) {
      for (int budget : {12, 25}) {
        Sequence seq;
        KVCache cache(1, kKv, kHd);
        std::vector<int32_t> pos(40);
        std::iota(pos.begin(), pos.end(), 0);
        if (gapped) pos = GappedPositions(40);
        for (int32_t p : pos) seq.Add(cache, p);
        auto press = MakePress(c.spec, budget);
        RunHook(*press, cache, seq, pos, ForwardPhase::kPrefill);
        for (int g = 0; g < kKv; ++g) {
          const std::vector<int32_t> want =
              BestPositions(c.brute(seq, g, pos, LastQueries(pos, window)), pos, budget);
          EXPECT_EQ(Kept(cache, g), want)
              << c.spec << " gapped=" << gapped << " budget " << budget << " head " << g;
          // The observation window is always kept.
          for (int j = 40 - window; j < 40; ++j)
            EXPECT_TRUE(std::count(want.begin(), want.end(), pos[static_cast<size_t>(j)]));
        }
      }
    }
  }
}

// Prefill (chunked, pruned to the budget), then decoding: no prune until the cache holds
// budget + interval slots (interval 64 by default for these presses), then a prune back to the
// budget scored with the queries of the last `window` tokens (decode steps, and prompt tokens
// when fewer steps passed), each at its own position.
TEST(RkvPresses, DecodingPrunesEveryIntervalWithTheLastWindowQueries) {
  for (const RkvCase& c : RkvCases()) {
    const int window = c.spec.find("window=6") != std::string::npos ? 6 : 8;
    for (int interval : {0, 5}) {
      const int every = interval > 0 ? interval : 64;
      const int budget = 20;
      Sequence seq;
      KVCache cache(1, kKv, kHd);
      const std::vector<int32_t> prompt = GappedPositions(36);
      for (int32_t p : prompt) seq.Add(cache, p);
      auto press = MakePress(c.spec, budget, interval);
      // Two prefill chunks: the window queries straddle them only if the last chunk is short.
      const std::vector<int32_t> chunk1(prompt.begin(), prompt.end() - 3),
          chunk2(prompt.end() - 3, prompt.end());
      {
        KVCache staged(1, kKv, kHd);  // the first chunk's hook sees only its own slots
        for (int32_t p : chunk1) {
          for (int g = 0; g < kKv; ++g) {
            staged.Append(0, g, seq.keys[g][p].data(), seq.values[g][p].data(), p, 1.0f);
          }
        }
        ForwardInfo info{ForwardPhase::kPrefill, 36, true, false};
        std::vector<float> q;
        for (int32_t p : chunk1) q.insert(q.end(), seq.queries[p].begin(), seq.queries[p].end());
        LayerHookContext ctx;
        ctx.info = info;
        ctx.cache = &staged;
        ctx.positions = chunk1;
        ctx.queries = q.data();
        ctx.n_tokens = static_cast<int>(chunk1.size());
        press->AfterAttention(ctx);
        ASSERT_EQ(staged.Size(0, 0), static_cast<int>(chunk1.size()))
            << "no prune before the last chunk";
      }
      RunHook(*press, cache, seq, chunk2, ForwardPhase::kPrefill);
      for (int g = 0; g < kKv; ++g) {
        EXPECT_EQ(
            Kept(cache, g),
            BestPositions(c.brute(seq, g, prompt, LastQueries(prompt, window)), prompt, budget))
            << c.spec << " prefill head " << g;
      }
      std::vector<int32_t> history = prompt;  // every token the layer processed, in order
      int32_t next = prompt.back() + 1;
      int prunes = 0;
      for (int step = 0; step < 2 * every + 3; ++step, next += 1 + step % 2) {
        seq.Add(cache, next);
        history.push_back(next);
        std::vector<std::vector<int32_t>> before(kKv);
        for (int g = 0; g < kKv; ++g) before[static_cast<size_t>(g)] = Kept(cache, g);
        const int n = static_cast<int>(before[0].size());
        RunHook(*press, cache, seq, {next}, ForwardPhase::kDecode);
        if (n < budget + every) {
          ASSERT_EQ(cache.Size(0, 0), n) << c.spec << " step " << step;
          continue;
        }
        ++prunes;
        const std::vector<int32_t> window_q = LastQueries(history, window);
        for (int g = 0; g < kKv; ++g) {
          const auto& pos = before[static_cast<size_t>(g)];
          EXPECT_EQ(Kept(cache, g), BestPositions(c.brute(seq, g, pos, window_q), pos, budget))
              << c.spec << " interval " << interval << " step " << step << " head " << g;
        }
      }
      EXPECT_EQ(prunes, 2) << c.spec;
    }
  }
}

// Press::Clone carries the per-layer query ring (and the interval state): a clone and the original
// fed the same steps on copies of the cache keep the same slots.
TEST(RkvPresses, CloneCarriesPerLayerState) {
  for (const char* spec : {"rkv", "rkv_lsh", "lagkv:n_sink=2,lag=4"}) {
    Sequence seq;
    KVCache cache(1, kKv, kHd);
    const std::vector<int32_t> prompt = GappedPositions(30);
    for (int32_t p : prompt) seq.Add(cache, p);
    auto press = MakePress(spec, 16, 6);
    RunHook(*press, cache, seq, prompt, ForwardPhase::kPrefill);
    int32_t next = prompt.back() + 1;
    for (int step = 0; step < 4; ++step, ++next) {
      seq.Add(cache, next);
      RunHook(*press, cache, seq, {next}, ForwardPhase::kDecode);
    }
    std::unique_ptr<Press> clone = press->Clone();
    ASSERT_NE(clone, nullptr) << spec;
    KVCache copy = cache;
    for (int step = 0; step < 9; ++step, ++next) {
      seq.Add(cache, next);
      for (int g = 0; g < kKv; ++g) {
        copy.Append(0, g, seq.keys[g][next].data(), seq.values[g][next].data(), next, 1.0f);
      }
      RunHook(*press, cache, seq, {next}, ForwardPhase::kDecode);
      RunHook(*clone, copy, seq, {next}, ForwardPhase::kDecode);
      for (int g = 0; g < kKv; ++g)
        EXPECT_EQ(Kept(copy, g), Kept(cache, g)) << spec << " step " << step;
    }
  }
}

TEST(RkvPresses, RejectsBadParameters) {
  for (const char* text :
       {"rkv:compat=nope", "rkv:kernel=4", "rkv:lambda=2", "rkv:window=0", "rkv:foo=1",
        "rkv_lsh:bits=0", "rkv_lsh:bits=40", "lagkv:lag=1", "lagkv:cross_scoring=2"}) {
    auto spec = ParsePressSpec(text);
    ASSERT_TRUE(spec.ok());
    EXPECT_FALSE(CreatePress(*spec).ok()) << text;
  }
}

// ---------------------------------------------------------------- end to end on stories260K

TEST(RkvPresses, Stories260KBudget64IsDeterministicAndBounded) {
  const std::string bin = testing::SharedData("models/stories260K/stories260K.bin");
  SKIP_IF_NO_SHARED(bin);
  auto model = LoadModel(bin);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  Transformer t(**model, 2);
  struct Case {
    std::string spec;
    int interval;  // the press's decoding interval with none given
  };
  for (const Case& c : {Case{"rkv", 64}, Case{"rkv:compat=fork", 64}, Case{"rkv_lsh", 64},
                        Case{"lagkv:lag=16", 1}, Case{"lagkv", 1}}) {
    std::vector<int32_t> first;
    for (int run = 0; run < 2; ++run) {
      auto press = MakePress(c.spec, 64);
      GenerateOptions opt;
      opt.max_new_tokens = 256;
      opt.press = press.get();
      auto r = Generate(t, {1}, opt);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_LE(r->metrics.kv_tokens_per_head_max, 64 + c.interval) << c.spec;
      EXPECT_GT(r->metrics.evictions, 0) << c.spec;
      if (run == 0)
        first = r->tokens;
      else
        EXPECT_EQ(r->tokens, first) << c.spec << ": two runs differ";
    }
  }
}

TEST(RkvPresses, Stories260KBudgetAboveLengthEqualsFullCache) {
  const std::string bin = testing::SharedData("models/stories260K/stories260K.bin");
  SKIP_IF_NO_SHARED(bin);
  auto model = LoadModel(bin);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  Transformer t(**model, 2);
  GenerateOptions opt;
  opt.max_new_tokens = 200;
  auto full = Generate(t, {1}, opt);
  ASSERT_TRUE(full.ok());
  for (const char* spec : {"rkv", "rkv:compat=fork", "rkv_lsh", "lagkv"}) {
    auto press = MakePress(spec, 512);
    opt.press = press.get();
    auto r = Generate(t, {1}, opt);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->tokens, full->tokens) << spec;
    EXPECT_EQ(r->metrics.evictions, 0) << spec;
  }
}

}  // namespace
}  // namespace kvpress
