// merging (merge-on-evict wrapper), cam, kvcompose and compactor on a random tiny llama, by brute
// force in double.
//
// A probe hook records each layer's cache (positions, keys, values) before the press and after it;
// the merging oracle recomputes, from the "before" cache and the kept set alone, every kept value
// as the reference formula defines it (cosine nearest survivor, both gates, norm-weighted average)
// and checks the press's values against it, the keys untouched and the kept set equal to the inner
// scorer's alone. compactor: sinks kept, exact sizes, chunked prefill = one-shot prefill, seeded
// sketch deterministic. cam: the whole decoding-phase merge-then-evict recomputed in double from
// the recorded caches and last queries. Upstream goldens:
// tests/model/press_catalogue_goldens_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include "model/random_model.h"
#include "model/transformer.h"
#include "press/press_spec.h"
#include "press/registry.h"

namespace kvpress {
namespace {

using Rows = std::vector<std::vector<double>>;  // [n][hd]

struct HeadState {
  std::vector<int32_t> pos;  // [n]
  Rows keys, values;         // [n][hd]
};

struct Event {
  int layer = 0;
  int n_tokens = 0;
  std::vector<double> last_query;            // [H*hd] post-RoPE query of the forward's last token
  std::vector<std::vector<double>> queries;  // [n_tokens][H*hd] every post-RoPE query of the chunk
  std::vector<HeadState> before, after;      // [KV]
};

HeadState Snapshot(const KVCache& cache, int layer, int g) {
  HeadState s;
  const auto p = cache.Positions(layer, g);
  s.pos.assign(p.begin(), p.end());
  std::vector<float> row(static_cast<size_t>(cache.head_dim()));
  for (int j = 0; j < cache.Size(layer, g); ++j) {
    cache.KeyAt(layer, g, j, row.data());
    s.keys.emplace_back(row.begin(), row.end());
    cache.ValueAt(layer, g, j, row.data());
    s.values.emplace_back(row.begin(), row.end());
  }
  return s;
}

class Probe : public LayerHook {
 public:
  Probe(Press* press, int n_heads) : press_(press), n_heads_(n_heads) {}
  AttentionRequest Request(const ForwardInfo& info) const override { return press_->Request(info); }
  void AfterAttention(const LayerHookContext& ctx) override {
    Event e;
    e.layer = ctx.layer;
    e.n_tokens = ctx.info.n_tokens;
    const size_t qd = static_cast<size_t>(ctx.cache->head_dim()) * static_cast<size_t>(n_heads_);
    const float* q = ctx.queries + static_cast<size_t>(ctx.n_tokens - 1) * qd;
    e.last_query.assign(q, q + qd);
    for (int t = 0; t < ctx.n_tokens; ++t)
      e.queries.emplace_back(ctx.queries + static_cast<size_t>(t) * qd,
                             ctx.queries + static_cast<size_t>(t + 1) * qd);
    for (int g = 0; g < ctx.cache->n_kv_heads(); ++g)
      e.before.push_back(Snapshot(*ctx.cache, ctx.layer, g));
    press_->AfterAttention(ctx);
    for (int g = 0; g < ctx.cache->n_kv_heads(); ++g)
      e.after.push_back(Snapshot(*ctx.cache, ctx.layer, g));
    events.push_back(std::move(e));
  }
  std::vector<Event> events;

 private:
  Press* press_;
  int n_heads_;
};

const Model& Tiny() {
  static const std::unique_ptr<Model> m = [] {
    auto c = RandomModelPreset("tiny");
    return MakeRandomModel(*c, DType::kF32, 11);
  }();
  return *m;
}

// Runs `spec_text` under `budget`: a prefill of n_prefill tokens (chunks of max_chunk), then
// n_decode single-token steps. Returns every hook event (and the final positions in *final_pos).
std::vector<Event> RunPress(const std::string& spec_text, BudgetPolicy budget, int n_prefill,
                            int max_chunk, int n_decode = 0,
                            std::vector<std::vector<std::vector<int32_t>>>* final_pos = nullptr) {
  const Model& model = Tiny();
  Transformer t(model, 1);
  auto spec = ParsePressSpec(spec_text);
  EXPECT_TRUE(spec.ok());
  spec->budget = budget;
  auto press = CreatePress(*spec);
  EXPECT_TRUE(press.ok()) << press.status().ToString();
  if (!press.ok()) return {};
  EXPECT_TRUE((*press)->Attach(model.config).ok());
  Probe probe(press->get(), model.config.n_heads);
  KVCache cache = t.NewCache();
  std::mt19937 rng(7);
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
    const std::vector<int32_t> one_id = {tok(rng)}, one_pos = {n_prefill + i};
    EXPECT_TRUE(t.Forward(one_id, one_pos, cache, opt, logits).ok());
  }
  if (final_pos != nullptr) {  // [L][KV] positions held at the end
    final_pos->assign(static_cast<size_t>(model.config.n_layers), {});
    for (int l = 0; l < model.config.n_layers; ++l)
      for (int g = 0; g < model.config.n_kv_heads; ++g) {
        const auto p = cache.Positions(l, g);
        (*final_pos)[static_cast<size_t>(l)].emplace_back(p.begin(), p.end());
      }
  }
  return probe.events;
}

double Norm(const std::vector<double>& x) {
  double ss = 0;
  for (double v : x) ss += v * v;
  return std::sqrt(ss);
}

// The kept values MergingPress must leave, from the cache before the press and the kept positions.
Rows MergedValues(const HeadState& before, const std::vector<int32_t>& kept_pos, double threshold,
                  double fraction) {
  std::vector<int> keep, evict;
  for (size_t j = 0; j < before.pos.size(); ++j) {
    (std::count(kept_pos.begin(), kept_pos.end(), before.pos[j]) ? keep : evict)
        .push_back(static_cast<int>(j));
  }
  auto cosine = [&](int a, int b) {
    double dot = 0;
    for (size_t c = 0; c < before.keys[a].size(); ++c) dot += before.keys[a][c] * before.keys[b][c];
    return dot / (std::max(Norm(before.keys[a]), 1e-6) * std::max(Norm(before.keys[b]), 1e-6));
  };
  std::vector<double> sim;
  std::vector<int> target;
  for (int e : evict) {
    int best = 0;
    for (size_t i = 1; i < keep.size(); ++i)
      if (cosine(e, keep[i]) > cosine(e, keep[best])) best = static_cast<int>(i);
    sim.push_back(cosine(e, keep[best]));
    target.push_back(best);
  }
  std::vector<bool> ok;
  for (double s : sim) ok.push_back(s >= threshold);
  if (fraction < 1.0 && std::count(ok.begin(), ok.end(), true) > 0) {
    std::vector<double> g;
    for (size_t e = 0; e < sim.size(); ++e) g.push_back(ok[e] ? sim[e] : -INFINITY);
    std::sort(g.begin(), g.end());
    const double at = (1 - fraction) * static_cast<double>(g.size() - 1);
    const size_t lo = static_cast<size_t>(at), hi = std::min(g.size() - 1, lo + 1);
    const double cut = g[lo] + (g[hi] - g[lo]) * (at - static_cast<double>(lo));
    for (size_t e = 0; e < sim.size(); ++e) ok[e] = ok[e] && sim[e] >= cut;
  }
  Rows out;
  for (int k : keep) out.push_back(before.values[k]);
  std::vector<double> wsum(keep.size(), 0.0);
  Rows acc(keep.size(), std::vector<double>(before.values[0].size(), 0.0));
  for (size_t e = 0; e < evict.size(); ++e) {
    if (!ok[e]) continue;
    const double ve = Norm(before.values[evict[e]]), vt = Norm(before.values[keep[target[e]]]);
    const double w = std::max(sim[e], 0.0) * ve / (ve + vt + 1e-6);
    wsum[target[e]] += w;
    for (size_t c = 0; c < acc[0].size(); ++c) acc[target[e]][c] += w * before.values[evict[e]][c];
  }
  for (size_t i = 0; i < keep.size(); ++i) {
    if (wsum[i] <= 0) continue;
    for (size_t c = 0; c < acc[0].size(); ++c) out[i][c] = (out[i][c] + acc[i][c]) / (1 + wsum[i]);
  }
  return out;
}

// Checks every pruning event of `merged` against the oracle and the same run of the inner press
// alone (`plain`: same kept sets, values untouched there). Returns the number of values changed.
int CheckMerging(const std::vector<Event>& merged, const std::vector<Event>& plain,
                 double threshold, double fraction) {
  EXPECT_EQ(merged.size(), plain.size());
  int pruned = 0, changed = 0;
  for (size_t i = 0; i < std::min(merged.size(), plain.size()); ++i) {
    for (size_t g = 0; g < merged[i].after.size(); ++g) {
      const HeadState &b = merged[i].before[g], &a = merged[i].after[g];
      EXPECT_EQ(a.pos, plain[i].after[g].pos) << "event " << i << " head " << g;
      if (a.pos.size() == b.pos.size()) {
        EXPECT_EQ(a.values, b.values);  // nothing evicted, nothing merged
        continue;
      }
      ++pruned;
      const Rows want = MergedValues(b, a.pos, threshold, fraction);
      for (size_t j = 0; j < a.pos.size(); ++j) {
        const size_t src =
            static_cast<size_t>(std::find(b.pos.begin(), b.pos.end(), a.pos[j]) - b.pos.begin());
        EXPECT_EQ(a.keys[j], b.keys[src]) << "keys must stay";
        changed += a.values[j] != b.values[src];
        for (size_t c = 0; c < want[j].size(); ++c)
          EXPECT_NEAR(a.values[j][c], want[j][c], 1e-5 * (1 + std::abs(want[j][c])))
              << "layer " << merged[i].layer << " head " << g << " slot " << j;
      }
    }
  }
  EXPECT_GT(pruned, 0);
  return changed;
}

TEST(MergingBruteForce, PrefillRatioMatchesTheFormula) {
  const BudgetPolicy half{.removed_fraction = 0.5};
  const auto plain = RunPress("knorm", half, 40, 16);
  const int changed = CheckMerging(RunPress("merging(knorm)", half, 40, 16), plain, 0.0, 1.0);
  EXPECT_GT(changed, 0) << "merging left every value as hard eviction would";
  const int gated = CheckMerging(
      RunPress("merging(knorm):threshold=0.2,fraction=0.5", half, 40, 16), plain, 0.2, 0.5);
  EXPECT_GT(gated, 0);
  EXPECT_LT(gated, changed) << "the gates should merge fewer slots";
}

TEST(MergingBruteForce, DecodingBudgetMergesEveryEviction) {
  const BudgetPolicy budget{.cache_budget = 24};
  const auto plain = RunPress("snapkv:window=4", budget, 30, 256, 6);
  EXPECT_GT(CheckMerging(RunPress("merging(snapkv:window=4)", budget, 30, 256, 6), plain, 0.0, 1.0),
            0);
}

TEST(MergingPress, NeedsAScorer) {
  auto spec = ParsePressSpec("merging(adakv(knorm))");
  ASSERT_TRUE(spec.ok());
  EXPECT_FALSE(CreatePress(*spec).ok());
  auto bad = ParsePressSpec("merging(knorm):fraction=0");
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(CreatePress(*bad).ok());
}

TEST(CompactorPress, SinksSizesChunkingAndSeed) {
  const ModelConfig& c = Tiny().config;
  const int n = 40;
  const BudgetPolicy ratio{.removed_fraction = 0.75};
  const std::string spec = "compactor:sink_start=4,sink_end=2,chunk=8,sketch=0";
  const auto one = RunPress(spec, ratio, n, 256), chunked = RunPress(spec, ratio, n, 7);
  ASSERT_EQ(one.size(), static_cast<size_t>(c.n_layers));
  ASSERT_EQ(chunked.size(), static_cast<size_t>(c.n_layers) * 6);  // ⌈40/7⌉ chunks per layer
  for (size_t i = 0; i < one.size(); ++i) {
    const Event& last = chunked[chunked.size() - one.size() + i];
    for (int g = 0; g < c.n_kv_heads; ++g) {
      const auto& kept = one[i].after[static_cast<size_t>(g)].pos;
      EXPECT_EQ(kept.size(), static_cast<size_t>(n / 4));
      for (int32_t p : {0, 1, 2, 3, n - 2, n - 1})
        EXPECT_TRUE(std::count(kept.begin(), kept.end(), p)) << p;
      EXPECT_EQ(kept, last.after[static_cast<size_t>(g)].pos) << "chunked prefill";
    }
  }
  const auto a = RunPress("compactor", ratio, n, 256), b = RunPress("compactor", ratio, n, 256);
  for (size_t i = 0; i < a.size(); ++i)
    for (int g = 0; g < c.n_kv_heads; ++g) EXPECT_EQ(a[i].after[g].pos, b[i].after[g].pos);
}

// cam:merge=expected in double: running last-query attention (recomputed from the recorded query
// and keys), knorm scores averaged over heads, merge candidates, windows, probabilities, values.
TEST(CamBruteForce, MergeThenEvictDuringDecoding) {
  const ModelConfig& c = Tiny().config;
  const int T = 20, interval = 4, budget = 3, hd = c.head_dim, group = c.n_heads / c.n_kv_heads;
  const int n_prefill = 30, n_decode = 13;
  const auto ev = RunPress("cam(knorm):target=20,interval=4,merge_budget=3,merge=expected", {},
                           n_prefill, 256, n_decode);
  ASSERT_EQ(ev.size(), static_cast<size_t>(c.n_layers * (1 + n_decode)));
  std::vector<std::vector<std::vector<double>>> attn(
      static_cast<size_t>(c.n_layers));  // [L][G][slots]
  std::vector<int> steps(static_cast<size_t>(c.n_layers), 0);
  int compressions = 0, merged_values = 0;
  for (size_t i = static_cast<size_t>(c.n_layers); i < ev.size(); ++i) {  // decode events
    const Event& e = ev[i];
    auto& a = attn[static_cast<size_t>(e.layer)];
    a.resize(static_cast<size_t>(c.n_kv_heads));
    for (int g = 0; g < c.n_kv_heads; ++g) {
      const HeadState& b = e.before[static_cast<size_t>(g)];
      const size_t n = b.pos.size();
      a[g].resize(n, 0.0);
      for (int h = g * group; h < (g + 1) * group; ++h) {
        std::vector<double> logit(n);
        double mx = -INFINITY, total = 0;
        for (size_t j = 0; j < n; ++j) {
          double dot = 0;
          for (int d = 0; d < hd; ++d)
            dot += e.last_query[static_cast<size_t>(h * hd + d)] * b.keys[j][d];
          mx = std::max(mx, logit[j] = dot / std::sqrt(static_cast<double>(hd)));
        }
        for (double& l : logit) total += (l = std::exp(l - mx));
        for (size_t j = 0; j < n; ++j) a[g][j] += logit[j] / total / group;
      }
    }
    const int n = static_cast<int>(e.before[0].pos.size());
    if (++steps[static_cast<size_t>(e.layer)] < interval || n <= T) {
      for (int g = 0; g < c.n_kv_heads; ++g) EXPECT_EQ(e.after[g].pos, e.before[g].pos);
      continue;
    }
    steps[static_cast<size_t>(e.layer)] = 0;
    ++compressions;
    std::vector<double> score(static_cast<size_t>(n), 0.0);
    for (int g = 0; g < c.n_kv_heads; ++g)
      for (int j = 0; j < n; ++j) score[j] -= Norm(e.before[g].keys[j]) / c.n_kv_heads;
    std::vector<int> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](int x, int y) { return score[x] != score[y] ? score[x] > score[y] : x > y; });
    std::vector<int> keep(order.begin(), order.begin() + T),
        merge(order.begin() + T, order.begin() + T + interval);
    std::sort(keep.begin(), keep.end());
    for (int g = 0; g < c.n_kv_heads; ++g) {
      const HeadState &b = e.before[g], &af = e.after[g];
      ASSERT_EQ(af.pos.size(), static_cast<size_t>(T));
      Rows want;
      for (int k : keep) want.push_back(b.values[k]);
      for (int m : merge) {
        const int start =
            static_cast<int>(std::upper_bound(keep.begin(), keep.end(), m) - keep.begin());
        const int end = std::min(T, start + budget);
        if (end <= start) continue;
        double mean = 0;
        for (int w = start; w < end; ++w) mean += a[g][keep[w]] / (end - start);
        const double p = std::clamp(a[g][m] / mean, 0.0, 1.0);
        for (int w = start; w < end; ++w)
          for (int d = 0; d < hd; ++d) want[w][d] += p * b.values[m][d] / (end - start);
      }
      for (int w = 0; w < T; ++w) {
        EXPECT_EQ(af.pos[w], b.pos[keep[w]]) << "layer " << e.layer << " head " << g;
        EXPECT_EQ(af.keys[w], b.keys[keep[w]]);
        merged_values += af.values[w] != b.values[keep[w]];
        for (int d = 0; d < hd; ++d)
          EXPECT_NEAR(af.values[w][d], want[w][d], 1e-5 * (1 + std::abs(want[w][d])))
              << "layer " << e.layer;
      }
      std::vector<double> pruned;
      for (int k : keep) pruned.push_back(a[g][k]);
      a[g] = pruned;
    }
  }
  EXPECT_EQ(compressions, c.n_layers * 3);  // steps 4, 8, 12
  EXPECT_GT(merged_values, 0);
  // merge=sample: deterministic in the seed, the same kept slots.
  const auto s1 =
      RunPress("cam(knorm):target=20,interval=4,merge_budget=3", {}, n_prefill, 256, n_decode);
  const auto s2 =
      RunPress("cam(knorm):target=20,interval=4,merge_budget=3", {}, n_prefill, 256, n_decode);
  for (size_t i = 0; i < s1.size(); ++i)
    for (int g = 0; g < c.n_kv_heads; ++g) {
      EXPECT_EQ(s1[i].after[g].values, s2[i].after[g].values);
      EXPECT_EQ(s1[i].after[g].pos, ev[i].after[g].pos);
    }
}

// kvcompose in double: causal attention of the prefill recomputed from the recorded queries and
// keys, mean over the queries that see each slot, group mean + head mean, composite curves, the
// global top over layers (or heads) and each head's own top k.
void CheckKvCompose(bool structured, double ratio, bool vnorm) {
  const ModelConfig& c = Tiny().config;
  const int L = c.n_layers, G = c.n_kv_heads, H = c.n_heads, group = H / G, hd = c.head_dim, n = 36;
  std::vector<std::vector<std::vector<int32_t>>> got;
  const auto ev = RunPress(std::string("kvcompose:structured=") + (structured ? "1" : "0") +
                               ",vnorm=" + (vnorm ? "1" : "0"),
                           BudgetPolicy{.removed_fraction = ratio}, n, 256, 0, &got);
  ASSERT_EQ(ev.size(), static_cast<size_t>(L));
  std::vector<std::vector<std::vector<double>>> s(static_cast<size_t>(L));  // [L][G][n]
  for (const Event& e : ev) {
    auto& sl = s[static_cast<size_t>(e.layer)];
    sl.assign(static_cast<size_t>(G), std::vector<double>(static_cast<size_t>(n), 0.0));
    for (int h = 0; h < H; ++h) {
      const int g = h / group;
      std::vector<double> sum(static_cast<size_t>(n), 0.0);
      for (int i = 0; i < n; ++i) {
        std::vector<double> l(static_cast<size_t>(i + 1));
        double mx = -INFINITY, total = 0;
        for (int j = 0; j <= i; ++j) {
          double dot = 0;
          for (int d = 0; d < hd; ++d)
            dot += e.queries[i][static_cast<size_t>(h * hd + d)] * e.before[g].keys[j][d];
          mx = std::max(mx, l[j] = dot / std::sqrt(static_cast<double>(hd)));
        }
        for (double& x : l) total += (x = std::exp(x - mx));
        for (int j = 0; j <= i; ++j) sum[j] += l[j] / total;
      }
      for (int j = 0; j < n; ++j) sl[g][j] += sum[j] / (n - j) / group;
    }
    if (vnorm)
      for (int g = 0; g < G; ++g)
        for (int j = 0; j < n; ++j) sl[g][j] *= Norm(e.before[g].values[j]);
    std::vector<double> mean(static_cast<size_t>(n), 0.0);
    for (int g = 0; g < G; ++g)
      for (int j = 0; j < n; ++j) mean[j] += sl[g][j] / G;
    for (int g = 0; g < G; ++g)
      for (int j = 0; j < n; ++j) sl[g][j] += mean[j];
  }
  const int n_curves = structured ? L : L * G;
  std::vector<std::vector<double>> curve(static_cast<size_t>(n_curves),
                                         std::vector<double>(static_cast<size_t>(n), 0.0));
  for (int l = 0; l < L; ++l)
    for (int g = 0; g < G; ++g) {
      std::vector<double> sorted = s[l][g];
      std::sort(sorted.rbegin(), sorted.rend());
      for (int r = 0; r < n; ++r)
        curve[structured ? l : l * G + g][r] += structured ? sorted[r] / G : sorted[r];
    }
  if (structured)
    for (int l = 1; l < L; ++l)
      for (int r = 0; r < n; ++r) curve[0][r] = std::max(curve[0][r], curve[l][r]);
  std::vector<std::pair<double, int>> all;
  for (int cv = 0; cv < n_curves; ++cv)
    for (double x : curve[cv]) all.push_back({x, cv});
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  const int total = std::max(1, static_cast<int>(n_curves * n * (1 - ratio)));
  std::vector<int> count(static_cast<size_t>(n_curves), 0);
  for (int i = 0; i < total; ++i) ++count[all[i].second];
  int distinct = 0;
  for (int l = 0; l < L; ++l)
    for (int g = 0; g < G; ++g) {
      const int k = std::max(1, count[structured ? l : l * G + g]);
      EXPECT_EQ(got[l][g].size(), static_cast<size_t>(k)) << "layer " << l << " head " << g;
      distinct += got[l][g].size() != got[0][0].size();
      std::vector<int> idx(static_cast<size_t>(n));
      std::iota(idx.begin(), idx.end(), 0);
      std::sort(idx.begin(), idx.end(), [&](int a, int b) {
        return s[l][g][a] != s[l][g][b] ? s[l][g][a] > s[l][g][b] : a > b;
      });
      std::set<int32_t> want;
      for (int i = 0; i < k; ++i) want.insert(idx[i]);
      EXPECT_EQ(std::set<int32_t>(got[l][g].begin(), got[l][g].end()), want)
          << "layer " << l << " head " << g;
    }
  // With value norms the random model's layers (heads) differ enough to get different budgets; its
  // attention alone is too uniform for that.
  if (vnorm) {
    EXPECT_GT(distinct, 0) << "budgets should differ across layers/heads";
  }
}

TEST(KvComposeBruteForce, StructuredLayerBudgets) { CheckKvCompose(true, 0.5, true); }
TEST(KvComposeBruteForce, UnstructuredHeadBudgets) { CheckKvCompose(false, 0.75, true); }
TEST(KvComposeBruteForce, DefaultScores) { CheckKvCompose(true, 0.25, false); }

}  // namespace
}  // namespace kvpress
