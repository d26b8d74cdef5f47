// The wrapper presses (adakv, composed, pyramidkv, per_layer, decoding, compression_ratio_decoding,
// prefill_decoding, chunk, chunkkv, entropy_gated_chunkkv, block), simlayerkv, think and the nested
// spec syntax.
//
// Brute force: a tiny llama-shaped model with random weights runs through the real Transformer; a
// probe hook snapshots every layer's cache (positions and keys, widened to double) before and after
// the press, and an oracle recomputes from those keys alone — knorm score = −‖k‖ in double (RoPE
// keeps norms) — what the wrapper's definition keeps: global head-adaptive selection with safeguard
// (adakv), sequential presses (composed), per-layer budgets (per_layer, pyramidkv's formula), and
// the decoding schedule of upstream DecodingPress (step counting that includes the question's
// forward, targets from the tokens seen). Upstream kvpress has no decoding-phase goldens for these
// beyond step counting, so the decoding behaviour is checked here. Near ties (two scores closer than
// 1e-6 relative, where float and double may order differently) are counted and allowed at the cut.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <set>

#include "model/model.h"
#include "model/transformer.h"
#include "press/press_spec.h"
#include "press/registry.h"
#include "press_wrapper_probe.h"
#include "tiny_llama.h"

namespace kvpress {
namespace {

using ::testing::HasSubstr;

// ------------------------------------------------------------------------------------------------
// Spec syntax.

TEST(NestedPressSpec, ParsesChildrenAndParameters) {
  auto s = ParsePressSpec("adakv(snapkv:window=32,kernel=3):alpha=0.1");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->name, "adakv");
  EXPECT_EQ(s->params, (std::map<std::string, std::string>{{"alpha", "0.1"}}));
  ASSERT_EQ(s->children.size(), 1u);
  EXPECT_EQ(s->children[0].name, "snapkv");
  EXPECT_EQ(s->children[0].params, (std::map<std::string, std::string>{{"window", "32"}, {"kernel", "3"}}));

  auto c = ParsePressSpec("composed(knorm:ratio=0.3,streaming_llm:n_sink=2,keydiff)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->children.size(), 3u);
  EXPECT_EQ(c->children[0].params.at("ratio"), "0.3");
  EXPECT_EQ(c->children[1].name, "streaming_llm");
  EXPECT_EQ(c->children[1].params.at("n_sink"), "2");
  EXPECT_EQ(c->children[2].name, "keydiff");

  auto d = ParsePressSpec("prefill_decoding(snapkv,decoding(adakv(knorm)):target=256,interval=8)");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ(d->children.size(), 2u);
  EXPECT_EQ(d->children[1].name, "decoding");
  EXPECT_EQ(d->children[1].params.at("interval"), "8");
  EXPECT_EQ(d->children[1].children[0].children[0].name, "knorm");
  EXPECT_EQ(FormatPressSpec(*d), "prefill_decoding(snapkv,decoding(adakv(knorm)):interval=8,target=256)");
}

TEST(NestedPressSpec, MalformedNestingIsBadInputWithPlace) {
  const std::map<std::string, std::string> cases = {
      {"adakv(knorm", "missing ')'"},       {"adakv()", "missing press name"},
      {"composed(knorm,)", "missing press name"}, {"adakv(knorm))", "unexpected ')'"},
      {"adakv(knorm)x", "unexpected 'x'"},  {"adakv(knorm):", "expected key=value"},
      {"composed(knorm:a=1,b)", "expected ','"},
  };
  for (const auto& [text, what] : cases) {
    auto s = ParsePressSpec(text);
    if (text == "composed(knorm:a=1,b)") {  // b is a child name: valid syntax, unknown press later
      ASSERT_TRUE(s.ok()) << text;
      continue;
    }
    ASSERT_FALSE(s.ok()) << "'" << text << "' parsed";
    EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition) << text;
    EXPECT_THAT(s.status().message(), HasSubstr(what)) << text;
    EXPECT_THAT(s.status().message(), HasSubstr(" at ")) << text;
  }
}

StatusOr<std::unique_ptr<Press>> Create(const std::string& text, BudgetPolicy budget = {}) {
  auto spec = ParsePressSpec(text);
  if (!spec.ok()) return spec.status();
  spec->budget = budget;
  return CreatePress(*spec);
}

TEST(NestedPressSpec, WrapperErrorsNameTheProblem) {
  const std::map<std::string, std::string> cases = {
      {"knorm(snapkv)", "wraps no other press"},
      {"adakv", "takes 1 inner press"},
      {"adakv(knorm,snapkv)", "takes 1 inner press"},
      {"adakv(composed(knorm))", "needs a scoring press"},
      {"adakv(knorm):alpha=2", "alpha=2 is outside"},
      {"adakv(nosuch)", "unknown press 'nosuch'"},
      {"per_layer(knorm)", "exactly one of ratios"},
      {"per_layer(knorm):ratios=0.1/x", "not a finite number"},
      {"knorm:ratio=0.5,budget=3", "not both"},
      {"knorm:ratio=1.5", "ratio=1.5 is outside"},
      {"decoding(knorm):target=0", "target=0 is outside"},
      {"prefill_decoding(knorm)", "takes 2 inner press"},
  };
  for (const auto& [text, what] : cases) {
    auto p = Create(text);
    ASSERT_FALSE(p.ok()) << text;
    EXPECT_NE(p.status().code(), StatusCode::kInvalidArgument) << text << ": bad specs are exit 2, not usage";
    EXPECT_THAT(p.status().message(), HasSubstr(what)) << text;
  }
}

// ------------------------------------------------------------------------------------------------
// Tiny model + probe.

using testing_util::RandomMatrix;
using wrapper_probe::Choice;
using wrapper_probe::ExpectKept;
using wrapper_probe::Forward;
using wrapper_probe::TopK;

std::unique_ptr<Model> TinyModel(int n_layers, int n_kv_heads) {
  ModelConfig c;
  c.family = ModelFamily::kLlama;
  c.architecture = "wrappers-tiny";
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.n_layers = n_layers;
  c.n_heads = 2 * n_kv_heads;
  c.n_kv_heads = n_kv_heads;
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
  std::mt19937_64 rng(4321);
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
    L.wv = RandomMatrix(w, c.n_kv_heads * hd, d, 0.3f, rng);
    L.wo = RandomMatrix(w, d, c.n_heads * hd, 0.2f, rng);
    L.w_gate = RandomMatrix(w, f, d, 0.2f, rng);
    L.w_up = RandomMatrix(w, f, d, 0.2f, rng);
    L.w_down = RandomMatrix(w, d, f, 0.1f, rng);
    w.layers.push_back(std::move(L));
  }
  return m;
}

struct HeadState {
  std::vector<int32_t> pos;
  std::vector<double> score;  // knorm: −‖k‖ in double, from the cached key
};

struct Event {
  int layer = 0;
  ForwardPhase phase = ForwardPhase::kPrefill;
  int n_tokens = 0;
  int32_t last_position = 0;
  std::vector<double> last_query;        // [H*hd] post-RoPE query of the forward's last token
  std::vector<std::vector<std::vector<double>>> keys;  // [KV][n][hd] keys before the press
  std::vector<HeadState> before, after;  // [KV]
};

std::vector<HeadState> Snapshot(const KVCache& cache, int layer) {
  std::vector<HeadState> out(static_cast<size_t>(cache.n_kv_heads()));
  std::vector<float> k(static_cast<size_t>(cache.head_dim()));
  for (int g = 0; g < cache.n_kv_heads(); ++g) {
    const auto pos = cache.Positions(layer, g);
    out[static_cast<size_t>(g)].pos.assign(pos.begin(), pos.end());
    for (int j = 0; j < cache.Size(layer, g); ++j) {
      cache.KeyAt(layer, g, j, k.data());
      double s = 0;
      for (float v : k) s += static_cast<double>(v) * v;
      out[static_cast<size_t>(g)].score.push_back(-std::sqrt(s));
    }
  }
  return out;
}

// Event of ctx.layer before the press: the forward's shape, last query, keys and knorm scores.
Event SnapshotBefore(const LayerHookContext& ctx) {
  Event e;
  e.layer = ctx.layer;
  e.phase = ctx.info.phase;
  e.n_tokens = ctx.info.n_tokens;
  e.last_position = ctx.positions.back();
  e.before = Snapshot(*ctx.cache, ctx.layer);
  if (ctx.queries != nullptr) {
    const int hd = ctx.cache->head_dim();
    const int hw =
        hd * 2 * ctx.cache->n_kv_heads();  // the tiny model has 2 query heads per KV head
    const float* q = ctx.queries + static_cast<size_t>(ctx.n_tokens - 1) * static_cast<size_t>(hw);
    e.last_query.assign(q, q + hw);
    std::vector<float> k(static_cast<size_t>(hd));
    e.keys.resize(static_cast<size_t>(ctx.cache->n_kv_heads()));
    for (int g = 0; g < ctx.cache->n_kv_heads(); ++g) {
      for (int j = 0; j < ctx.cache->Size(ctx.layer, g); ++j) {
        ctx.cache->KeyAt(ctx.layer, g, j, k.data());
        e.keys[static_cast<size_t>(g)].emplace_back(k.begin(), k.end());
      }
    }
  }
  return e;
}

// Runs `spec` over `forwards` (positions 0, 1, ...; random ids) and returns every hook event.
std::vector<Event> RunPress(const std::string& spec_text, BudgetPolicy budget, const std::vector<Forward>& forwards,
                       int n_layers = 3, int n_kv_heads = 3) {
  auto model = TinyModel(n_layers, n_kv_heads);
  auto press = Create(spec_text, budget);
  EXPECT_TRUE(press.ok()) << press.status().ToString();
  if (!press.ok()) return {};
  EXPECT_TRUE((*press)->Attach(model->config).ok());
  wrapper_probe::Probe<Event> probe(
      press->get(), SnapshotBefore,
      [](const LayerHookContext& ctx, Event& e) { e.after = Snapshot(*ctx.cache, ctx.layer); });
  wrapper_probe::RunForwards(*model, probe, forwards, /*token_seed=*/7);
  return probe.events;
}

std::set<int32_t> AsSet(const std::vector<int32_t>& v) { return {v.begin(), v.end()}; }

// ------------------------------------------------------------------------------------------------
// adakv: global top H·n_kept with per-head safeguard, ragged heads.

// The oracle of adakv for one layer event: returns the kept set per head.
std::vector<Choice> AdaKvOracle(const std::vector<HeadState>& before, int n_kept, double alpha) {
  const int H = static_cast<int>(before.size());
  int n_safe = static_cast<int>(n_kept * alpha);
  if (alpha > 0) n_safe = n_kept > 0 ? std::max(1, n_safe) : 0;
  std::vector<double> flat;
  std::vector<int32_t> fpos;
  std::vector<int> fhead;
  for (int g = 0; g < H; ++g) {
    std::vector<double> s = before[static_cast<size_t>(g)].score;
    const Choice safe = TopK(s, before[static_cast<size_t>(g)].pos, n_safe);
    for (size_t j = 0; j < s.size(); ++j) {
      if (safe.kept.count(before[static_cast<size_t>(g)].pos[j])) s[j] = std::numeric_limits<double>::infinity();
      flat.push_back(s[j]);
      fpos.push_back(before[static_cast<size_t>(g)].pos[j] * 16 + g);  // unique key, recency first
      fhead.push_back(g);
    }
  }
  const Choice all = TopK(flat, fpos, H * n_kept);
  std::vector<Choice> out(static_cast<size_t>(H));
  for (int32_t key : all.kept) out[static_cast<size_t>(key % 16)].kept.insert(key / 16);
  for (int32_t key : all.band) out[static_cast<size_t>(key % 16)].band.insert(key / 16);
  for (int g = 0; g < H; ++g) {  // a near tie at a head's safeguard cut moves that head's choice too
    const Choice safe = TopK(before[static_cast<size_t>(g)].score, before[static_cast<size_t>(g)].pos, n_safe);
    out[static_cast<size_t>(g)].band.insert(safe.band.begin(), safe.band.end());
  }
  return out;
}

TEST(AdaKvBruteForce, PrefillRatioAndDecodeBudgetMatchGlobalSelection) {
  for (const double alpha : {0.2, 0.0, 1.0}) {
    // Ratio mode: one prefill of 40 → H·⌊40·0.6⌋ slots over the layer.
    const std::string spec = "adakv(knorm):alpha=" + std::to_string(alpha);
    SCOPED_TRACE(spec);
    auto ev = RunPress(spec, BudgetPolicy{.removed_fraction = 0.4}, {{ForwardPhase::kPrefill, 40}});
    ASSERT_EQ(ev.size(), 3u);
    int band = 0, unequal_heads = 0;
    for (const Event& e : ev) {
      const auto want = AdaKvOracle(e.before, 24, alpha);
      int total = 0;
      for (size_t g = 0; g < e.after.size(); ++g) {
        band += ExpectKept(AsSet(e.after[g].pos), want[g], "layer " + std::to_string(e.layer));
        total += static_cast<int>(e.after[g].pos.size());
        if (e.after[g].pos.size() != 24) ++unequal_heads;
      }
      EXPECT_EQ(total, 3 * 24);
    }
    if (alpha < 1.0) {
      EXPECT_GT(unequal_heads, 0) << "head budgets should differ (ragged)";
    } else {
      EXPECT_EQ(unequal_heads, 0) << "alpha=1 safeguards n_kept per head: uniform";
    }
    EXPECT_LE(band, 2);
  }
  // Budget mode with decoding: every step brings the layer back to H·B slots in all.
  std::vector<Forward> fw = {{ForwardPhase::kPrefill, 30}};
  for (int i = 0; i < 8; ++i) fw.push_back({ForwardPhase::kDecode, 1});
  auto ev = RunPress("adakv(knorm)", BudgetPolicy{.cache_budget = 12}, fw);
  int prunes = 0;
  for (const Event& e : ev) {
    int before = 0, after = 0;
    for (size_t g = 0; g < e.after.size(); ++g) {
      before += static_cast<int>(e.before[g].pos.size());
      after += static_cast<int>(e.after[g].pos.size());
    }
    if (before <= 3 * 12) {
      EXPECT_EQ(after, before);
      continue;
    }
    ++prunes;
    EXPECT_EQ(after, 3 * 12);
    const auto want = AdaKvOracle(e.before, 12, 0.2);
    for (size_t g = 0; g < e.after.size(); ++g) ExpectKept(AsSet(e.after[g].pos), want[g], "decode");
  }
  EXPECT_EQ(prunes, 3 * 9);  // the prefill and each of the 8 steps, in every layer
}

// ------------------------------------------------------------------------------------------------
// composed: press after press on the same layer.

TEST(ComposedBruteForce, KnormThenStreamingEqualsSequentialApplication) {
  auto ev = RunPress("composed(knorm:ratio=0.25,streaming_llm:ratio=0.5)", {}, {{ForwardPhase::kPrefill, 40}});
  ASSERT_EQ(ev.size(), 3u);
  for (const Event& e : ev) {
    for (size_t g = 0; g < e.after.size(); ++g) {
      const Choice first = TopK(e.before[g].score, e.before[g].pos, 30);  // ⌊40·0.75⌋
      // streaming_llm on the 30 survivors: 4 sinks (first slots) + the 11 most recent (⌊30·0.5⌋ = 15).
      std::vector<int32_t> survivors(first.kept.begin(), first.kept.end());
      std::set<int32_t> want(survivors.begin(), survivors.begin() + 4);
      want.insert(survivors.end() - 11, survivors.end());
      if (first.band.empty()) {
        EXPECT_EQ(AsSet(e.after[g].pos), want) << "layer " << e.layer << " head " << g;
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// per_layer and pyramidkv: layer budgets.

TEST(PerLayerBruteForce, BudgetsHoldInPrefillAndDecoding) {
  std::vector<Forward> fw = {{ForwardPhase::kPrefill, 25}};
  for (int i = 0; i < 5; ++i) fw.push_back({ForwardPhase::kDecode, 1});
  auto ev = RunPress("per_layer(knorm):budgets=20/8/14", {}, fw);
  const int budgets[3] = {20, 8, 14};
  for (const Event& e : ev) {
    for (size_t g = 0; g < e.after.size(); ++g) {
      const int b = budgets[e.layer];
      const int n = static_cast<int>(e.before[g].pos.size());
      EXPECT_EQ(static_cast<int>(e.after[g].pos.size()), std::min(n, b));
      ExpectKept(AsSet(e.after[g].pos), TopK(e.before[g].score, e.before[g].pos, b), "per_layer");
    }
  }
  // Ratios: prefill only, layer l keeps max(1, ⌊n(1−r_l)⌋); r = 1 empties the layer as upstream.
  auto ev2 = RunPress("per_layer(knorm):ratios=0.5/0/0.9", {}, {{ForwardPhase::kPrefill, 25}, {ForwardPhase::kDecode, 1}});
  const int kept[3] = {12, 25, 2};
  for (const Event& e : ev2) {
    if (e.phase != ForwardPhase::kPrefill) {
      EXPECT_EQ(e.after[0].pos.size(), e.before[0].pos.size()) << "ratios never prune in decoding";
      continue;
    }
    for (size_t g = 0; g < e.after.size(); ++g) EXPECT_EQ(static_cast<int>(e.after[g].pos.size()), kept[e.layer]);
  }
  auto wrong = Create("per_layer(knorm):budgets=4/4");
  ASSERT_TRUE(wrong.ok());
  auto model = TinyModel(3, 3);
  const Status s = (*wrong)->Attach(model->config);
  EXPECT_THAT(s.message(), HasSubstr("2 budgets for a model of 3 layers"));
}

// PyramidKV's layer budgets recomputed in double from the formula of the paper's code.
int PyramidOracle(int n, double r, int l, int L, int w, int beta) {
  const double c = w + n * (1 - r);
  double lo = (c - w) / beta, hi = 2 * (c - w) - lo;
  if (hi >= n - w) {
    hi = n - w;
    lo = 2 * (c - w) - hi;
  }
  if (!(n >= hi && hi >= lo && lo >= w)) return std::max(1, static_cast<int>(std::nearbyint(n * (1 - r))));
  return static_cast<int>(std::nearbyint(hi - l * (hi - lo) / (L - 1)));
}

TEST(PyramidKvBruteForce, LayerBudgetsFollowThePyramid) {
  for (const double r : {0.25, 0.5, 0.75}) {
    auto ev = RunPress("pyramidkv(knorm):window=4,beta=2", BudgetPolicy{.removed_fraction = r}, {{ForwardPhase::kPrefill, 60}},
                  5, 2);
    std::vector<int> sizes;
    for (const Event& e : ev) {
      const int want = PyramidOracle(60, r, e.layer, 5, 4, 2);
      sizes.push_back(static_cast<int>(e.after[0].pos.size()));
      for (size_t g = 0; g < e.after.size(); ++g) {
        ExpectKept(AsSet(e.after[g].pos), TopK(e.before[g].score, e.before[g].pos, want), "pyramid");
      }
    }
    EXPECT_TRUE(std::is_sorted(sizes.rbegin(), sizes.rend())) << "budgets fall with depth";
    EXPECT_GT(sizes.front(), sizes.back()) << "r=" << r;
    EXPECT_EQ(sizes.front(), PyramidOracle(60, r, 0, 5, 4, 2));
  }
}

// ------------------------------------------------------------------------------------------------
// decoding wrappers: the schedule.

// Replays upstream DecodingPress's schedule: per layer, step += 1 for each non-prefill forward
// (the question's too when count_question), compress to `target(e)` when step ≥ interval or the
// forward has ≥ target tokens.
template <typename TargetFn>
void CheckSchedule(const std::vector<Event>& ev, int interval, bool count_question, TargetFn target, int* prunes) {
  std::map<int, int> steps;
  for (const Event& e : ev) {
    const int n = static_cast<int>(e.before[0].pos.size());
    bool fire = false;
    const int t = target(e);
    if (e.phase == ForwardPhase::kDecode || (e.phase == ForwardPhase::kQuestion && count_question)) {
      if (++steps[e.layer] >= interval || e.n_tokens >= t) {
        steps[e.layer] = 0;
        fire = n > t;
      }
    }
    for (size_t g = 0; g < e.after.size(); ++g) {
      if (!fire) {
        EXPECT_EQ(e.after[g].pos, e.before[g].pos) << "layer " << e.layer << " must not change";
        continue;
      }
      ExpectKept(AsSet(e.after[g].pos), TopK(e.before[g].score, e.before[g].pos, t), "decoding");
    }
    if (fire) ++*prunes;
  }
}

TEST(DecodingBruteForce, QuestionForwardCountsAsAStepLikeUpstream) {
  std::vector<Forward> fw = {{ForwardPhase::kPrefill, 30}, {ForwardPhase::kQuestion, 5}};
  for (int i = 0; i < 20; ++i) fw.push_back({ForwardPhase::kDecode, 1});
  for (const int count_question : {1, 0}) {
    const std::string spec = "decoding(knorm):target=24,interval=4,count_question=" + std::to_string(count_question);
    SCOPED_TRACE(spec);
    auto ev = RunPress(spec, {}, fw);
    int prunes = 0;
    CheckSchedule(ev, 4, count_question != 0, [](const Event&) { return 24; }, &prunes);
    EXPECT_EQ(prunes, 3 * 5);  // 21 counted steps (or 20) → 5 compressions per layer
    // The prefill is never compressed; the first compression comes after 3 (count_question=1) or 4
    // generated tokens: the cache length after the question is 35, then 36, 37, 38 → 24.
    const Event& first_decode_l0 = ev[3 * 2];
    EXPECT_EQ(first_decode_l0.phase, ForwardPhase::kDecode);
    int fired_at = -1;
    for (size_t i = 0; i < ev.size(); ++i) {
      if (ev[i].layer == 0 && ev[i].after[0].pos.size() < ev[i].before[0].pos.size()) {
        fired_at = static_cast<int>(ev[i].before[0].pos.size());
        break;
      }
    }
    EXPECT_EQ(fired_at, count_question ? 38 : 39);
  }
  // The question forward itself compresses when it has ≥ target tokens.
  auto ev = RunPress("decoding(knorm):target=4,interval=100", {}, {{ForwardPhase::kPrefill, 10}, {ForwardPhase::kQuestion, 6}});
  int prunes = 0;
  CheckSchedule(ev, 100, true, [](const Event&) { return 4; }, &prunes);
  EXPECT_EQ(prunes, 3);
}

TEST(DecodingBruteForce, CompressionRatioTargetFollowsTokensSeen) {
  std::vector<Forward> fw = {{ForwardPhase::kPrefill, 30}, {ForwardPhase::kQuestion, 3}};
  for (int i = 0; i < 12; ++i) fw.push_back({ForwardPhase::kDecode, 1});
  auto ev = RunPress("compression_ratio_decoding(knorm):target_ratio=0.5,interval=3", {}, fw);
  int prunes = 0;
  CheckSchedule(ev, 3, true, [](const Event& e) { return std::max(1, static_cast<int>((e.last_position + 1) * 0.5)); },
                &prunes);
  EXPECT_EQ(prunes, 3 * 4);
}

TEST(PrefillDecodingBruteForce, PrefillPressThenDecodingPress) {
  std::vector<Forward> fw = {{ForwardPhase::kPrefill, 30}, {ForwardPhase::kQuestion, 3}};
  for (int i = 0; i < 8; ++i) fw.push_back({ForwardPhase::kDecode, 1});
  auto ev = RunPress("prefill_decoding(streaming_llm,decoding(knorm):target=16,interval=3)",
                BudgetPolicy{.removed_fraction = 0.5}, fw);
  int prunes = 0;
  std::vector<Event> later;
  for (const Event& e : ev) {
    if (e.phase == ForwardPhase::kPrefill) {
      for (size_t g = 0; g < e.after.size(); ++g) {
        std::set<int32_t> want = {0, 1, 2, 3};  // streaming_llm: 4 sinks + the 11 most recent of 30
        for (int p = 19; p < 30; ++p) want.insert(p);
        EXPECT_EQ(AsSet(e.after[g].pos), want);
      }
    } else {
      later.push_back(e);
    }
  }
  CheckSchedule(later, 3, true, [](const Event&) { return 16; }, &prunes);
  EXPECT_EQ(prunes, 3 * 3);
}

// ------------------------------------------------------------------------------------------------
// block: the iteration of upstream BlockPress in double, with keydiff (whose anchor depends on the
// set it scores, so the blocks matter) in prefill (ratio) and in decoding (budget, interval).

// keydiff in double over the keys `idx` of one head: −cos(k_j, mean_i k_i/‖k_i‖).
std::vector<double> KeyDiffScores(const std::vector<std::vector<double>>& keys, const std::vector<int>& idx) {
  const size_t d = keys[0].size();
  std::vector<double> anchor(d, 0.0), norm(idx.size());
  for (size_t j = 0; j < idx.size(); ++j) {
    const auto& k = keys[static_cast<size_t>(idx[j])];
    double ss = 0;
    for (double v : k) ss += v * v;
    norm[j] = std::max(std::sqrt(ss), 1e-12);
    for (size_t i = 0; i < d; ++i) anchor[i] += k[i] / norm[j] / static_cast<double>(idx.size());
  }
  double an = 0;
  for (double v : anchor) an += v * v;
  an = std::max(std::sqrt(an), 1e-12);
  std::vector<double> out(idx.size());
  for (size_t j = 0; j < idx.size(); ++j) {
    double dot = 0;
    for (size_t i = 0; i < d; ++i) dot += keys[static_cast<size_t>(idx[j])][i] * anchor[i];
    out[j] = -dot / (norm[j] * an);
  }
  return out;
}

// The block iteration on one head's keys; `ties` counts iterations whose cut fell in a near-tie band.
Choice BlockOracle(const std::vector<std::vector<double>>& keys, const std::vector<int32_t>& pos, int n_kept,
                   int block, int* ties) {
  const int n = static_cast<int>(keys.size());
  std::vector<int> kept(static_cast<size_t>(n_kept));
  std::iota(kept.begin(), kept.end(), 0);
  Choice last;
  for (int b = n_kept; b < n; b += block) {
    std::vector<int> cand = kept;
    for (int j = b; j < std::min(n, b + block); ++j) cand.push_back(j);
    std::vector<int32_t> cpos;
    for (int j : cand) cpos.push_back(pos[static_cast<size_t>(j)]);
    last = TopK(KeyDiffScores(keys, cand), cpos, n_kept);
    if (!last.band.empty() && b + block < n) ++*ties;
    kept.clear();
    for (size_t i = 0; i < cand.size(); ++i) {
      if (last.kept.count(cpos[i])) kept.push_back(cand[i]);
    }
  }
  if (n <= n_kept) last.kept = AsSet(pos);
  return last;
}

TEST(BlockBruteForce, KeyDiffBlocksInPrefillAndDecoding) {
  // Prefill: 45 slots, r = 0.5 → 22 kept, blocks of 8 (3 iterations of 8 and one of 7).
  auto ev = RunPress("block(keydiff):block_size=8", BudgetPolicy{.removed_fraction = 0.5},
                     {{ForwardPhase::kPrefill, 45}});
  ASSERT_EQ(ev.size(), 3u);
  int ties = 0, checked = 0;
  for (const Event& e : ev) {
    for (size_t g = 0; g < e.after.size(); ++g) {
      const Choice want = BlockOracle(e.keys[g], e.before[g].pos, 22, 8, &ties);
      ExpectKept(AsSet(e.after[g].pos), want, "block prefill layer " + std::to_string(e.layer));
      ++checked;
    }
  }
  // The blocks matter: one global keydiff top-22 keeps a different set somewhere.
  int differs_from_global = 0;
  for (const Event& e : ev) {
    for (size_t g = 0; g < e.after.size(); ++g) {
      std::vector<int> all(e.keys[g].size());
      std::iota(all.begin(), all.end(), 0);
      differs_from_global += TopK(KeyDiffScores(e.keys[g], all), e.before[g].pos, 22).kept != AsSet(e.after[g].pos);
    }
  }
  EXPECT_GT(differs_from_global, 0);
  // Decoding: budget 12 with interval 4: a prune whenever a head reaches 12 + 4 slots, the 4 newest
  // slots forming the last block (block_size 3: two blocks, 3 then 1).
  auto dev = RunPress("block(keydiff):block_size=3", BudgetPolicy{.cache_budget = 12, .compression_interval = 4},
                      {{ForwardPhase::kPrefill, 20}, {ForwardPhase::kDecode, 1}, {ForwardPhase::kDecode, 1},
                       {ForwardPhase::kDecode, 1}, {ForwardPhase::kDecode, 1}, {ForwardPhase::kDecode, 1}});
  ASSERT_EQ(dev.size(), 18u);
  int decode_prunes = 0;
  for (const Event& e : dev) {
    for (size_t g = 0; g < e.after.size(); ++g) {
      const int n = static_cast<int>(e.before[g].pos.size());
      if (e.phase == ForwardPhase::kDecode && n < 16) {
        EXPECT_EQ(e.after[g].pos, e.before[g].pos) << "no prune below budget + interval";
        continue;
      }
      const Choice want = BlockOracle(e.keys[g], e.before[g].pos, 12, 3, &ties);
      ExpectKept(AsSet(e.after[g].pos), want, "block layer " + std::to_string(e.layer));
      decode_prunes += e.phase == ForwardPhase::kDecode;
      ++checked;
    }
  }
  EXPECT_EQ(decode_prunes, 9);  // the 4th decode step of each of 3 layers × 3 heads
  // Budget 12 without interval: every step has 13 slots, one block covering the whole head.
  auto step = RunPress("block(keydiff):block_size=8", BudgetPolicy{.cache_budget = 12},
                       {{ForwardPhase::kPrefill, 12}, {ForwardPhase::kDecode, 1}, {ForwardPhase::kDecode, 1}});
  ASSERT_EQ(step.size(), 9u);
  for (const Event& e : step) {
    if (e.phase != ForwardPhase::kDecode) continue;
    for (size_t g = 0; g < e.after.size(); ++g) {
      ASSERT_EQ(e.before[g].pos.size(), 13u);
      ExpectKept(AsSet(e.after[g].pos), BlockOracle(e.keys[g], e.before[g].pos, 12, 8, &ties), "block step");
      ++checked;
    }
  }
  EXPECT_EQ(ties, 0) << "a near tie inside the iteration makes the final set ambiguous";
  EXPECT_EQ(checked, 9 + 9 + 9 + 18);
}

TEST(NestedPressSpec, BlockRefusesStatisticsScorers) {
  auto p = Create("block(snapkv)");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("reads only the cache"));
  EXPECT_TRUE(Create("block(knorm):block_size=4").ok());
}

// ------------------------------------------------------------------------------------------------
// think: channels of lowest mean_q(q_c²)·mean_k(k_c²) zeroed in the context's keys, in double.

TEST(ThinkBruteForce, PrunesLowestQueryAwareChannelsAfterPrefillOnly) {
  // window=1: the one query the probe records (the prefill's last); 2 query heads per KV head.
  auto ev = RunPress("think:key_channel_ratio=0.5,window=1", BudgetPolicy{},
                     {{ForwardPhase::kPrefill, 24}, {ForwardPhase::kDecode, 1}, {ForwardPhase::kDecode, 1}});
  ASSERT_EQ(ev.size(), 9u);
  int prefill_heads = 0;
  for (const Event& e : ev) {
    for (size_t g = 0; g < e.after.size(); ++g) {
      EXPECT_EQ(e.after[g].pos, e.before[g].pos) << "think evicts no slot";
      if (e.phase != ForwardPhase::kPrefill) {
        // The decoded key keeps every channel; the context's stay as the prefill left them.
        EXPECT_EQ(e.after[g].score, e.before[g].score);
        continue;
      }
      const auto& keys = e.keys[g];
      const size_t hd = keys[0].size();
      std::vector<double> score(hd);
      for (size_t c = 0; c < hd; ++c) {
        double q = 0, k = 0;
        for (size_t h = 2 * g; h < 2 * g + 2; ++h) q += e.last_query[h * hd + c] * e.last_query[h * hd + c] / 2;
        for (const auto& key : keys) k += key[c] * key[c] / static_cast<double>(keys.size());
        score[c] = q * k;
      }
      std::vector<size_t> order(hd);
      std::iota(order.begin(), order.end(), 0);
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] < score[b]; });
      const size_t n_pruned = hd / 2;
      ASSERT_GT(score[order[n_pruned]] - score[order[n_pruned - 1]], 1e-6 * score[order[n_pruned]]) << "near tie";
      const std::set<size_t> pruned(order.begin(), order.begin() + static_cast<long>(n_pruned));
      for (size_t j = 0; j < keys.size(); ++j) {
        double kept = 0;
        for (size_t c = 0; c < hd; ++c) kept += pruned.count(c) ? 0.0 : keys[j][c] * keys[j][c];
        EXPECT_NEAR(e.after[g].score[j], -std::sqrt(kept), 1e-5 * std::sqrt(kept) + 1e-7)
            << "layer " << e.layer << " head " << g << " slot " << j;
      }
      ++prefill_heads;
    }
  }
  EXPECT_EQ(prefill_heads, 9);
}

// entropy_gated_chunkkv in double from the head-summed knorm scores.
std::set<int32_t> EntropyGatedOracle(const std::vector<HeadState>& heads, int length, int low, int budget) {
  const int n = static_cast<int>(heads[0].pos.size());
  std::vector<double> s(static_cast<size_t>(n), 0.0);
  for (const HeadState& h : heads) {
    for (int j = 0; j < n; ++j) s[static_cast<size_t>(j)] += h.score[static_cast<size_t>(j)];
  }
  const int n_chunks = (n + length - 1) / length;
  std::vector<double> mean, entropy;
  for (int c = 0; c < n_chunks; ++c) {
    const int a = c * length, len = std::min(length, n - a);
    double sum = 0, lo = 0;
    for (int j = a; j < a + len; ++j) lo = std::min(lo, s[static_cast<size_t>(j)]);
    for (int j = a; j < a + len; ++j) sum += s[static_cast<size_t>(j)];
    mean.push_back(sum / len);
    double shifted = sum - lo * len, h = 0;
    for (int j = a; j < a + len; ++j) {
      const double p = (s[static_cast<size_t>(j)] - lo) / (shifted + 1e-8);
      h -= p * std::log(p + 1e-8);
    }
    entropy.push_back(len <= 1 ? 0.0 : std::clamp(h / std::log(static_cast<double>(len)), 0.0, 1.0));
  }
  auto lower_median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[(v.size() - 1) / 2];
  };
  const double ms = lower_median(mean), me = lower_median(entropy);
  std::vector<int> order(static_cast<size_t>(n_chunks));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return mean[static_cast<size_t>(a)] > mean[static_cast<size_t>(b)]; });
  std::set<int32_t> kept;
  const auto& pos = heads[0].pos;
  for (int c : order) {
    if (budget <= 0) break;
    const int a = c * length, len = std::min(length, n - a);
    int take = std::min(len, budget);
    if (mean[static_cast<size_t>(c)] >= ms && entropy[static_cast<size_t>(c)] < me) take = std::min(take, low);
    const std::vector<double> cs(s.begin() + a, s.begin() + a + len);
    const std::vector<int32_t> cp(pos.begin() + a, pos.begin() + a + len);
    const Choice ch = TopK(cs, cp, take);
    EXPECT_TRUE(ch.band.empty());
    kept.insert(ch.kept.begin(), ch.kept.end());
    budget -= take;
  }
  std::vector<double> ls;
  std::vector<int32_t> lp;
  for (int j = 0; j < n; ++j) {
    if (kept.count(pos[static_cast<size_t>(j)])) continue;
    ls.push_back(s[static_cast<size_t>(j)]);
    lp.push_back(pos[static_cast<size_t>(j)]);
  }
  if (budget > 0) {
    const Choice ch = TopK(ls, lp, std::min(budget, static_cast<int>(ls.size())));
    kept.insert(ch.kept.begin(), ch.kept.end());
  }
  return kept;
}

TEST(EntropyGatedChunkKvBruteForce, GatedChunksInPrefillAndDecoding) {
  // Prefill: 43 slots (8 chunks of 5 + one of 3), r = 0.5 → 21 kept.
  auto ev = RunPress("entropy_gated_chunkkv(knorm):length=5,low_length=2", BudgetPolicy{.removed_fraction = 0.5},
                     {{ForwardPhase::kPrefill, 43}});
  ASSERT_EQ(ev.size(), 3u);
  int partial_chunks = 0;
  for (const Event& e : ev) {
    const std::set<int32_t> want = EntropyGatedOracle(e.before, 5, 2, 21);
    EXPECT_EQ(want.size(), 21u);
    for (size_t g = 0; g < e.after.size(); ++g) EXPECT_EQ(AsSet(e.after[g].pos), want) << "layer " << e.layer;
    for (int c = 0; c < 9; ++c) {  // some chunk is kept in part (the gate or the budget cut it)
      int in = 0;
      for (int j = c * 5; j < std::min(43, c * 5 + 5); ++j) in += static_cast<int>(want.count(j));
      partial_chunks += in > 0 && in < std::min(5, 43 - c * 5);
    }
  }
  EXPECT_GT(partial_chunks, 0);
  // Decoding: budget 16, interval 3: a prune when the layer reaches 16 + 3 slots.
  auto dev = RunPress("entropy_gated_chunkkv(knorm):length=5,low_length=2",
                      BudgetPolicy{.cache_budget = 16, .compression_interval = 3},
                      {{ForwardPhase::kPrefill, 30}, {ForwardPhase::kDecode, 1}, {ForwardPhase::kDecode, 1},
                       {ForwardPhase::kDecode, 1}});
  ASSERT_EQ(dev.size(), 12u);
  int prunes = 0;
  for (const Event& e : dev) {
    const int n = static_cast<int>(e.before[0].pos.size());
    if (e.phase == ForwardPhase::kDecode && n < 19) {
      EXPECT_EQ(e.after[0].pos, e.before[0].pos);
      continue;
    }
    const std::set<int32_t> want = EntropyGatedOracle(e.before, 5, 2, 16);
    for (size_t g = 0; g < e.after.size(); ++g) EXPECT_EQ(AsSet(e.after[g].pos), want) << "layer " << e.layer;
    prunes += e.phase == ForwardPhase::kDecode;
  }
  EXPECT_EQ(prunes, 3);  // the 3rd decode step of each layer
}

// ------------------------------------------------------------------------------------------------
// chunk and chunkkv.

TEST(ChunkBruteForce, EachChunkKeepsItsOwnBest) {
  auto ev = RunPress("chunk(knorm):length=10", BudgetPolicy{.removed_fraction = 0.5}, {{ForwardPhase::kPrefill, 35}});
  ASSERT_EQ(ev.size(), 3u);
  for (const Event& e : ev) {
    for (size_t g = 0; g < e.after.size(); ++g) {
      Choice want;
      for (int start = 0; start < 35; start += 10) {
        const int len = std::min(10, 35 - start);
        const std::vector<double> s(e.before[g].score.begin() + start, e.before[g].score.begin() + start + len);
        const std::vector<int32_t> p(e.before[g].pos.begin() + start, e.before[g].pos.begin() + start + len);
        const Choice c = TopK(s, p, std::max(1, len / 2));
        want.kept.insert(c.kept.begin(), c.kept.end());
        want.band.insert(c.band.begin(), c.band.end());
      }
      EXPECT_EQ(want.kept.size(), 17u);  // 5 + 5 + 5 + 2
      ExpectKept(AsSet(e.after[g].pos), want, "chunk");
    }
  }
}

TEST(ChunkKvBruteForce, WholeChunksByMeanHeadSummedScore) {
  auto ev = RunPress("chunkkv(knorm):length=5", BudgetPolicy{.removed_fraction = 0.5}, {{ForwardPhase::kPrefill, 32}});
  ASSERT_EQ(ev.size(), 3u);
  for (const Event& e : ev) {
    // 6 complete chunks + one of 2 slots: 7 chunks, ⌊7·0.5⌋ = 3 kept.
    std::vector<double> chunk_score;
    std::vector<int32_t> chunk_id;
    for (int c = 0; c < 7; ++c) {
      const int start = c * 5, len = std::min(5, 32 - start);
      double s = 0;
      for (const HeadState& h : e.before) {
        for (int j = start; j < start + len; ++j) s += h.score[static_cast<size_t>(j)];
      }
      chunk_score.push_back(s / len);
      chunk_id.push_back(c);
    }
    const Choice chunks = TopK(chunk_score, chunk_id, 3);
    ASSERT_TRUE(chunks.band.empty());
    std::set<int32_t> want;
    for (int32_t c : chunks.kept) {
      for (int j = c * 5; j < std::min(32, c * 5 + 5); ++j) want.insert(e.before[0].pos[static_cast<size_t>(j)]);
    }
    for (size_t g = 0; g < e.after.size(); ++g) EXPECT_EQ(AsSet(e.after[g].pos), want) << "layer " << e.layer;
  }
}

// ------------------------------------------------------------------------------------------------
// simlayerkv: lazy layers from the last query's dense attention, recomputed in double.

// Σ over the first n_initial and the n_recent slots before the last of the last query's attention,
// softmax over every slot, mean over the query heads.
double LazyScore(const Event& e, int n_initial, int n_recent) {
  const int KV = static_cast<int>(e.keys.size()), G = 2, hd = 8;
  double total = 0;
  for (int h = 0; h < KV * G; ++h) {
    const auto& keys = e.keys[static_cast<size_t>(h / G)];
    const int n = static_cast<int>(keys.size());
    std::vector<double> logit(static_cast<size_t>(n));
    double mx = -1e300;
    for (int j = 0; j < n; ++j) {
      double dot = 0;
      for (int c = 0; c < hd; ++c) dot += e.last_query[static_cast<size_t>(h * hd + c)] * keys[static_cast<size_t>(j)][static_cast<size_t>(c)];
      logit[static_cast<size_t>(j)] = dot / std::sqrt(static_cast<double>(hd));
      mx = std::max(mx, logit[static_cast<size_t>(j)]);
    }
    double z = 0;
    for (double& v : logit) z += (v = std::exp(v - mx));
    for (int j = 0; j < n; ++j) {
      if (j < n_initial || (j >= n - 1 - n_recent && j < n - 1)) total += logit[static_cast<size_t>(j)] / z;
    }
  }
  return total / (KV * G);
}

TEST(SimLayerKvBruteForce, LazyLayersKeepSinksAndRecentInPrefillAndDecoding) {
  std::vector<Forward> fw = {{ForwardPhase::kPrefill, 40}};
  for (int i = 0; i < 4; ++i) fw.push_back({ForwardPhase::kDecode, 1});
  // Scores of every layer from a run with the press off, then a threshold between them.
  auto off = RunPress("simlayerkv:n_initial=2,n_recent=10", {}, fw, 4, 2);
  std::vector<double> scores;
  for (const Event& e : off) {
    if (e.phase == ForwardPhase::kPrefill) scores.push_back(LazyScore(e, 2, 10));
    EXPECT_EQ(e.after[0].pos, e.before[0].pos) << "threshold 1 is off";
  }
  ASSERT_EQ(scores.size(), 4u);
  std::vector<double> sorted = scores;
  std::sort(sorted.begin(), sorted.end());
  const double threshold = (sorted[1] + sorted[2]) / 2;
  ASSERT_GT(sorted[2] - sorted[1], 1e-4) << "scores too close to split";
  auto ev = RunPress("simlayerkv:n_initial=2,n_recent=10,threshold=" + std::to_string(threshold), {}, fw, 4, 2);
  int lazy_layers = 0;
  for (const Event& e : ev) {
    const bool lazy = scores[static_cast<size_t>(e.layer)] > std::stod(std::to_string(threshold));
    if (e.phase == ForwardPhase::kPrefill) lazy_layers += lazy ? 1 : 0;
    for (size_t g = 0; g < e.after.size(); ++g) {
      const auto& pos = e.before[g].pos;
      if (!lazy) {
        EXPECT_EQ(e.after[g].pos, pos) << "layer " << e.layer << " is not lazy";
        continue;
      }
      std::vector<int32_t> want(pos.begin(), pos.begin() + 2);  // 2 sinks + the last 9
      want.insert(want.end(), pos.end() - 9, pos.end());
      EXPECT_EQ(e.after[g].pos, want) << "layer " << e.layer << (e.phase == ForwardPhase::kDecode ? " decode" : "");
    }
  }
  EXPECT_EQ(lazy_layers, 2);
}

}  // namespace
}  // namespace kvpress
