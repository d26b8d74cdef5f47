// Shared by the press_scorer_*_test files (expected_attention, cur, non_causal_attention, cap,
// leverage, qfilter brute-force tests): a random tiny llama (MakeRandomModel "tiny": 4 layers, 4
// query heads over 2 KV heads, hd 32) runs through the real Transformer; a probe hook records every
// layer's post-RoPE queries and the cache (positions, keys, values) before the press and what it
// kept, for an oracle to recompute the press's definition in double. Near ties at the cut (1e-5
// relative) are allowed either way. The model goldens against upstream kvpress are in
// tests/model/press_catalogue_goldens_test.cc.
#pragma once

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

namespace kvpress::scorer_probe {

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

inline const Model& Tiny() {
  static const std::unique_ptr<Model> m = [] {
    auto c = RandomModelPreset("tiny");
    return MakeRandomModel(*c, DType::kF32, 11);
  }();
  return *m;
}

// Runs `spec` on the tiny model: a prefill of `n_prefill` tokens (internal chunks of `max_chunk`),
// then `n_decode` single-token decode steps. Returns every hook event.
inline std::vector<LayerEvent> RunScorer(const std::string& spec_text, BudgetPolicy budget,
                                         int n_prefill, int max_chunk, int n_decode = 0) {
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
inline constexpr double kTieRel = 1e-5;

// Top k of score (ties to the higher position) and the near-tie band at the cut.
inline void ExpectTopK(const std::vector<double>& score, const std::vector<int32_t>& pos, int k,
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

}  // namespace kvpress::scorer_probe
