// criticalkv and criticaladakv (issue 14) by brute force: a tiny llama-shaped model with random
// weights runs through the real Transformer (its W_o stored as f32, and as f16 to exercise the
// widening path); a probe snapshots each layer's cache before the press (positions, pre-RoPE key
// norms, values widened to double) and an oracle recomputes in double what the definition keeps:
// the inner knorm score s = −‖k‖, stage 1 = top n₁ by s, stage 2 s' = (s + ε)·N_j with
// N_j = mean_h Σ_r |Σ_i W_o[r, h·hd + i] v_j[i]| over the KV head's query heads, top n_kept of s'
// (criticaladakv: AdaKV's safeguard and head budgets around it). Upstream kvpress has no decoding
// phase for these, so decoding (budget mode) is checked here; the prefill is also checked against
// upstream itself in tests/model/press_catalogue_goldens_test.cc. Near ties (closer than 1e-6
// relative) at a cut are allowed either way and counted.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <set>

#include "model/model.h"
#include "model/transformer.h"
#include "ops/dtype.h"
#include "press/press_spec.h"
#include "press/registry.h"
#include "press_wrapper_probe.h"
#include "tiny_llama.h"

namespace kvpress {
namespace {

constexpr double kEps = 1e-4;

using testing_util::RandomMatrix;
using wrapper_probe::Choice;
using wrapper_probe::ExpectKept;
using wrapper_probe::Forward;
using wrapper_probe::TopK;

// 3 layers, 3 KV heads, 2 query heads per KV head, head_dim 8, d = 32.
std::unique_ptr<Model> TinyModel(DType wo_dtype) {
  ModelConfig c;
  c.family = ModelFamily::kLlama;
  c.architecture = "critical-tiny";
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.n_layers = 3;
  c.n_heads = 6;
  c.n_kv_heads = 3;
  c.head_dim = 8;
  c.vocab_size = 64;
  c.max_position = 4096;
  c.rms_norm_eps = 1e-5f;
  c.rope_theta = 10000.0f;
  c.rope_style = RopeStyle::kRotateHalf;
  c.bos_token_id = 1;
  auto m = std::make_unique<Model>();
  m->config = c;
  ModelWeights& w = m->weights;
  std::mt19937_64 rng(97);
  const int64_t d = c.hidden_size, f = c.intermediate_size, hd = c.head_dim;
  w.embed = RandomMatrix(w, c.vocab_size, d, 1.0f, rng);
  w.lm_head = RandomMatrix(w, c.vocab_size, d, 0.1f, rng);
  w.final_norm.assign(static_cast<size_t>(d), 1.0f);
  for (int l = 0; l < c.n_layers; ++l) {
    LayerWeights L;
    L.attn_norm.assign(static_cast<size_t>(d), 1.0f);
    L.ffn_norm.assign(static_cast<size_t>(d), 1.0f);
    L.wq = RandomMatrix(w, c.n_heads * hd, d, 0.25f, rng);
    L.wk = RandomMatrix(w, c.n_kv_heads * hd, d, 0.5f, rng);
    L.wv = RandomMatrix(w, c.n_kv_heads * hd, d, 0.6f, rng);
    L.wo = RandomMatrix(w, d, c.n_heads * hd, 0.2f, rng, wo_dtype);
    L.w_gate = RandomMatrix(w, f, d, 0.2f, rng);
    L.w_up = RandomMatrix(w, f, d, 0.2f, rng);
    L.w_down = RandomMatrix(w, d, f, 0.1f, rng);
    w.layers.push_back(std::move(L));
  }
  return m;
}

struct HeadState {
  std::vector<int32_t> pos;
  std::vector<double> score;  // knorm: −‖k‖ (the pre-RoPE norm the cache records)
  std::vector<double> norm;   // N_j in double
};

struct Event {
  int layer = 0;
  std::vector<HeadState> before;
  std::vector<std::set<int32_t>> after;  // [KV] kept positions
};

// The cache of ctx.layer before the press: positions, knorm scores and N_j (W_o of the layer,
// `n_heads` query heads), in double.
Event SnapshotBefore(const LayerHookContext& ctx, int n_heads) {
  const KVCache& cache = *ctx.cache;
  const int kv = cache.n_kv_heads(), hd = cache.head_dim(), group = n_heads / kv;
  const int64_t d = ctx.wo->rows;
  Event e;
  e.layer = ctx.layer;
  std::vector<float> v(static_cast<size_t>(hd));
  for (int g = 0; g < kv; ++g) {
    HeadState h;
    const auto pos = cache.Positions(ctx.layer, g);
    h.pos.assign(pos.begin(), pos.end());
    for (int j = 0; j < cache.Size(ctx.layer, g); ++j) {
      h.score.push_back(-static_cast<double>(cache.KeyNorms(ctx.layer, g)[static_cast<size_t>(j)]));
      cache.ValueAt(ctx.layer, g, j, v.data());
      double sum = 0;
      for (int qh = g * group; qh < (g + 1) * group; ++qh) {
        for (int64_t r = 0; r < d; ++r) {
          double y = 0;
          for (int i = 0; i < hd; ++i) {
            y += static_cast<double>(
                     LoadElement(ctx.wo->dtype, ctx.wo->Row(r), static_cast<size_t>(qh * hd + i))) *
                 v[static_cast<size_t>(i)];
          }
          sum += std::abs(y);
        }
      }
      h.norm.push_back(sum / group);
    }
    e.before.push_back(std::move(h));
  }
  return e;
}

std::vector<Event> RunPress(const std::string& text, BudgetPolicy budget,
                            const std::vector<Forward>& forwards, DType wo_dtype = DType::kF32) {
  auto model = TinyModel(wo_dtype);
  auto spec = ParsePressSpec(text);
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  if (!spec.ok()) return {};
  spec->budget = budget;
  auto press = CreatePress(*spec);
  EXPECT_TRUE(press.ok()) << press.status().ToString();
  if (!press.ok()) return {};
  EXPECT_TRUE((*press)->Attach(model->config).ok());
  const int n_heads = model->config.n_heads;
  wrapper_probe::Probe<Event> probe(
      press->get(), [n_heads](const LayerHookContext& ctx) { return SnapshotBefore(ctx, n_heads); },
      [](const LayerHookContext& ctx, Event& e) {
        for (int g = 0; g < ctx.cache->n_kv_heads(); ++g) {
          const auto pos = ctx.cache->Positions(ctx.layer, g);
          e.after.emplace_back(pos.begin(), pos.end());
        }
      });
  wrapper_probe::RunForwards(*model, probe, forwards, /*token_seed=*/11);
  return probe.events;
}

// Stage 2 of one head: forced slots (+∞) and the top `keep` of (s + ε)·N.
Choice StageTwo(const HeadState& h, const std::set<int32_t>& forced, const std::set<int32_t>& band,
                int keep) {
  std::vector<double> s2(h.score.size());
  for (size_t j = 0; j < s2.size(); ++j) {
    s2[j] = forced.count(h.pos[j]) ? std::numeric_limits<double>::infinity()
                                   : (h.score[j] + kEps) * h.norm[j];
  }
  Choice c = TopK(s2, h.pos, keep);
  c.band.insert(band.begin(), band.end());  // a near tie in stage 1 moves stage 2's input too
  return c;
}

Choice CriticalOracle(const HeadState& h, int n_kept, int n_first) {
  const Choice first = TopK(h.score, h.pos, n_first);
  return StageTwo(h, first.kept, first.band, n_kept);
}

std::vector<Choice> CriticalAdaOracle(const std::vector<HeadState>& before, int n_kept,
                                      double alpha) {
  const int H = static_cast<int>(before.size());
  const int n_safe = n_kept > 0 ? std::max(1, static_cast<int>(n_kept * alpha)) : 0;
  std::vector<double> flat;
  std::vector<int32_t> key;  // position·16 + head: unique, recency first
  std::vector<Choice> safe(static_cast<size_t>(H));
  for (int g = 0; g < H; ++g) {
    const HeadState& h = before[static_cast<size_t>(g)];
    safe[static_cast<size_t>(g)] = TopK(h.score, h.pos, n_safe);
    for (size_t j = 0; j < h.score.size(); ++j) {
      flat.push_back(safe[static_cast<size_t>(g)].kept.count(h.pos[j])
                         ? std::numeric_limits<double>::infinity()
                         : h.score[j]);
      key.push_back(h.pos[j] * 16 + g);
    }
  }
  const Choice all = TopK(flat, key, H * n_kept);
  std::vector<int> budget(static_cast<size_t>(H), 0);
  for (int32_t k : all.kept) ++budget[static_cast<size_t>(k % 16)];
  std::vector<Choice> out;
  for (int g = 0; g < H; ++g) {
    const HeadState& h = before[static_cast<size_t>(g)];
    const Choice first = TopK(h.score, h.pos, budget[static_cast<size_t>(g)] / 2);
    std::set<int32_t> forced = first.kept, band = first.band;
    forced.insert(safe[static_cast<size_t>(g)].kept.begin(),
                  safe[static_cast<size_t>(g)].kept.end());
    band.insert(safe[static_cast<size_t>(g)].band.begin(), safe[static_cast<size_t>(g)].band.end());
    for (int32_t k : all.band) {
      if (k % 16 == g) band.insert(k / 16);
    }
    out.push_back(StageTwo(h, forced, band, budget[static_cast<size_t>(g)]));
  }
  return out;
}

TEST(CriticalKvBruteForce, PrefillRatioAndDecodeBudgetFollowTheTwoStages) {
  for (const DType wo : {DType::kF32, DType::kF16}) {
    SCOPED_TRACE(wo == DType::kF32 ? "W_o f32" : "W_o f16");
    // Ratio 0.4 over 40 tokens: n_kept = 24, stage 1 = ⌊0.6·40·0.5⌋ = 12.
    auto ev = RunPress("criticalkv(knorm)", BudgetPolicy{.removed_fraction = 0.4},
                       {{ForwardPhase::kPrefill, 40}}, wo);
    ASSERT_EQ(ev.size(), 3u);
    int band = 0, differs_from_knorm = 0;
    for (const Event& e : ev) {
      for (size_t g = 0; g < e.after.size(); ++g) {
        band += ExpectKept(e.after[g], CriticalOracle(e.before[g], 24, 12),
                           "layer " + std::to_string(e.layer));
        differs_from_knorm += e.after[g] != TopK(e.before[g].score, e.before[g].pos, 24).kept;
      }
    }
    EXPECT_GT(differs_from_knorm, 0) << "stage 2 should change some head's choice";
    EXPECT_LE(band, 2);
    // Budget 12 with decoding: every step past the budget, stage 1 = ⌊12·0.5⌋ = 6.
    std::vector<Forward> fw = {{ForwardPhase::kPrefill, 30}};
    for (int i = 0; i < 8; ++i) fw.push_back({ForwardPhase::kDecode, 1});
    ev = RunPress("criticalkv(knorm)", BudgetPolicy{.cache_budget = 12}, fw, wo);
    int prunes = 0;
    for (const Event& e : ev) {
      for (size_t g = 0; g < e.after.size(); ++g) {
        if (e.before[g].pos.size() <= 12) continue;
        ++prunes;
        ExpectKept(e.after[g], CriticalOracle(e.before[g], 12, 6),
                   "decode layer " + std::to_string(e.layer));
      }
    }
    EXPECT_EQ(prunes, 3 * 3 * 9);  // layers × heads × (prefill + 8 steps)
  }
}

TEST(CriticalKvBruteForce, FirstStageRatioOneIsTheInnerPress) {
  auto ev = RunPress("criticalkv(knorm):first_stage_ratio=1", BudgetPolicy{.removed_fraction = 0.5},
                     {{ForwardPhase::kPrefill, 32}});
  for (const Event& e : ev) {
    for (size_t g = 0; g < e.after.size(); ++g) {
      ExpectKept(e.after[g], TopK(e.before[g].score, e.before[g].pos, 16),
                 "layer " + std::to_string(e.layer));
    }
  }
}

TEST(CriticalAdaKvBruteForce, HeadBudgetsThenTwoStagesInPrefillAndDecoding) {
  auto ev = RunPress("criticaladakv(knorm)", BudgetPolicy{.removed_fraction = 0.4},
                     {{ForwardPhase::kPrefill, 40}}, DType::kF16);
  ASSERT_EQ(ev.size(), 3u);
  int ragged = 0;
  for (const Event& e : ev) {
    const auto want = CriticalAdaOracle(e.before, 24, 0.2);
    size_t total = 0;
    for (size_t g = 0; g < e.after.size(); ++g) {
      ExpectKept(e.after[g], want[g], "layer " + std::to_string(e.layer));
      total += e.after[g].size();
      ragged += e.after[g].size() != 24;
    }
    EXPECT_EQ(total, 3u * 24);
  }
  EXPECT_GT(ragged, 0) << "head budgets should differ";
  std::vector<Forward> fw = {{ForwardPhase::kPrefill, 30}};
  for (int i = 0; i < 6; ++i) fw.push_back({ForwardPhase::kDecode, 1});
  ev = RunPress("criticaladakv(knorm)", BudgetPolicy{.cache_budget = 12}, fw);
  int prunes = 0;
  for (const Event& e : ev) {
    size_t before = 0, after = 0;
    for (size_t g = 0; g < e.after.size(); ++g) {
      before += e.before[g].pos.size();
      after += e.after[g].size();
    }
    if (before <= 3 * 12) continue;
    ++prunes;
    EXPECT_EQ(after, 3u * 12);
    const auto want = CriticalAdaOracle(e.before, 12, 0.2);
    for (size_t g = 0; g < e.after.size(); ++g) ExpectKept(e.after[g], want[g], "decode");
  }
  EXPECT_EQ(prunes, 3 * 7);
}

TEST(CriticalKvSpec, NeedsAScoringPress) {
  for (const char* text : {"criticalkv(composed(knorm))", "criticaladakv(adakv(knorm))"}) {
    auto spec = ParsePressSpec(text);
    ASSERT_TRUE(spec.ok());
    auto p = CreatePress(*spec);
    ASSERT_FALSE(p.ok()) << text;
    EXPECT_THAT(p.status().message(), ::testing::HasSubstr("needs a scoring press")) << text;
  }
}

}  // namespace
}  // namespace kvpress
