// key_rerotation (issue 14) without upstream: KVCache::Renumber against keys computed at the new
// positions from scratch, and the press on a random tiny llama through a real Session — after the
// prefill and after every decoding step under a budget, each head holds positions 0..k−1, its keys
// are the kept original keys re-rotated (checked against an uncompressed run of the same tokens),
// and the session's next position is the compacted length. The prefill is also checked against
// upstream kvpress itself in tests/model/press_catalogue_goldens_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "generate/session.h"
#include "model/random_model.h"
#include "model/transformer.h"
#include "ops/rope.h"
#include "press/press_spec.h"
#include "press/registry.h"

namespace kvpress {
namespace {

double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, static_cast<double>(std::abs(a[i] - b[i])));
  return m;
}

TEST(KvCacheRenumber, KeysBecomeTheKeysAtTheNewPositions) {
  for (const RopeStyle style : {RopeStyle::kRotateHalf, RopeStyle::kInterleaved}) {
    const int hd = 16;
    const std::vector<float> inv_freq = RopeInverseFrequencies(10000.0f, hd);
    std::mt19937 rng(3);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    KVCache cache(1, 1, hd);
    const std::vector<int32_t> old_pos = {3, 17, 40, 41, 400};
    std::vector<std::vector<float>> raw;  // [5][hd] pre-RoPE keys
    for (int32_t p : old_pos) {
      std::vector<float> k(hd), v(hd);
      for (auto& x : k) x = dist(rng);
      for (auto& x : v) x = dist(rng);
      raw.push_back(k);
      ApplyRope(k.data(), 1, hd, p, inv_freq.data(), style);
      cache.Append(0, 0, k.data(), v.data(), p, 1.0f);
    }
    const std::vector<int32_t> new_pos = {0, 1, 2, 3, 4};
    cache.Renumber(0, 0, new_pos, inv_freq.data(), style);
    EXPECT_EQ(std::vector<int32_t>(cache.Positions(0, 0).begin(), cache.Positions(0, 0).end()),
              new_pos);
    EXPECT_EQ(cache.NextPosition(), 5);
    for (int i = 0; i < 5; ++i) {
      std::vector<float> want = raw[static_cast<size_t>(i)], got(hd);
      ApplyRope(want.data(), 1, hd, new_pos[static_cast<size_t>(i)], inv_freq.data(), style);
      cache.KeyAt(0, 0, i, got.data());
      EXPECT_LT(MaxAbsDiff(got, want), 2e-4)
          << "slot " << i;  // 400 → 4: angles of a few hundred radians
    }
  }
}

std::unique_ptr<Press> Make(const std::string& text, BudgetPolicy budget) {
  auto spec = ParsePressSpec(text);
  EXPECT_TRUE(spec.ok());
  spec->budget = budget;
  auto p = CreatePress(*spec);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(p).value() : nullptr;
}

TEST(KeyRerotationBruteForce, CompactedPositionsAndKeysInPrefillAndDecoding) {
  auto config = RandomModelPreset("tiny");
  ASSERT_TRUE(config.ok());
  auto model = MakeRandomModel(*config, DType::kF32, 5);
  Transformer t(*model, 1);
  const std::vector<float> inv_freq = model->config.RopeInvFreq();
  std::mt19937 rng(9);
  std::uniform_int_distribution<int32_t> tok(3, model->config.vocab_size - 1);
  std::vector<int32_t> prompt(40);
  for (auto& x : prompt) x = tok(rng);
  const int budget = 16;
  auto press = Make("key_rerotation(knorm)", BudgetPolicy{.cache_budget = budget});
  ASSERT_NE(press, nullptr);
  EXPECT_TRUE(press->RenumbersPositions());
  Session s(t, press.get(), DType::kF32, 256);
  std::vector<float> logits;
  ASSERT_TRUE(s.Prefill(prompt, ForwardPhase::kPrefill, logits).ok());
  EXPECT_EQ(s.next_position(), budget);
  // Oracle for the prefill: the uncompressed cache, knorm's top 16 per head (ties: the later slot),
  // re-rotated to 0..15.
  KVCache full = t.NewCache();
  std::vector<int32_t> pos(prompt.size());
  for (size_t i = 0; i < pos.size(); ++i) pos[i] = static_cast<int32_t>(i);
  std::vector<float> scratch;
  ASSERT_TRUE(t.Forward(prompt, pos, full, ForwardOptions{}, scratch).ok());
  const int hd = model->config.head_dim;
  std::vector<float> k(static_cast<size_t>(hd)), want(k);
  for (int l = 0; l < model->config.n_layers; ++l) {
    for (int g = 0; g < model->config.n_kv_heads; ++g) {
      ASSERT_EQ(s.cache().Size(l, g), budget);
      const auto norms = full.KeyNorms(l, g);
      std::vector<int> order(norms.size());
      for (size_t j = 0; j < order.size(); ++j) order[j] = static_cast<int>(j);
      std::sort(order.begin(), order.end(), [&](int a, int b) {
        return norms[static_cast<size_t>(a)] != norms[static_cast<size_t>(b)]
                   ? norms[static_cast<size_t>(a)] < norms[static_cast<size_t>(b)]
                   : a > b;
      });
      std::vector<int> kept(order.begin(), order.begin() + budget);
      std::sort(kept.begin(), kept.end());
      for (int i = 0; i < budget; ++i) {
        EXPECT_EQ(s.cache().Positions(l, g)[static_cast<size_t>(i)], i);
        full.KeyAt(l, g, kept[static_cast<size_t>(i)], want.data());
        ApplyRope(want.data(), 1, hd, i - kept[static_cast<size_t>(i)], inv_freq.data(),
                  model->config.rope_style);
        s.cache().KeyAt(l, g, i, k.data());
        EXPECT_LT(MaxAbsDiff(k, want), 1e-5) << "layer " << l << " head " << g << " slot " << i;
      }
    }
  }
  // Decoding: every step appends at `budget`, prunes back to 16 and re-numbers to 0..15.
  DecodeLoopOptions opt;
  opt.max_new_tokens = 8;
  int steps = 0;
  opt.on_cache = [&](const KVCache& cache) {
    ++steps;
    for (int l = 0; l < cache.n_layers(); ++l) {
      for (int g = 0; g < cache.n_kv_heads(); ++g) {
        ASSERT_EQ(cache.Size(l, g), budget);
        for (int i = 0; i < budget; ++i)
          EXPECT_EQ(cache.Positions(l, g)[static_cast<size_t>(i)], i);
      }
    }
    EXPECT_EQ(s.next_position(), budget);
  };
  auto r = s.Decode(logits, opt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(steps, 7);  // no forward after the last token
}

// finch (upstream FinchPress; its kept sets are checked against upstream in
// press_catalogue_goldens_test): the question's token count must come with the prefill; the
// question's slots are always kept, the kept slots compacted to 0..k−1 with values untouched.
TEST(FinchPress, NeedsTheQuestionAndKeepsItCompacted) {
  auto config = RandomModelPreset("tiny");
  ASSERT_TRUE(config.ok());
  auto model = MakeRandomModel(*config, DType::kF32, 5);
  Transformer t(*model, 1);
  std::mt19937 rng(11);
  std::uniform_int_distribution<int32_t> tok(3, model->config.vocab_size - 1);
  std::vector<int32_t> prompt(40);
  for (auto& x : prompt) x = tok(rng);
  const int w = 6, n_kept = 20;  // ratio 0.5 of 40
  auto press = Make("finch", BudgetPolicy{.removed_fraction = 0.5});
  ASSERT_NE(press, nullptr);
  EXPECT_TRUE(press->NeedsQuestionTokens());
  std::vector<float> logits;
  {
    Session s(t, press.get(), DType::kF32, 256);
    const Status no_question = s.Prefill(prompt, ForwardPhase::kPrefill, logits);
    EXPECT_EQ(no_question.code(), StatusCode::kFailedPrecondition) << no_question.ToString();
    EXPECT_NE(no_question.message().find("question"), std::string::npos);
    EXPECT_EQ(s.Prefill(prompt, ForwardPhase::kPrefill, logits, 40).code(),
              StatusCode::kInvalidArgument);
  }
  // Chunks of 16: the question's queries end the last one.
  Session s(t, press.get(), DType::kF32, 16);
  ASSERT_TRUE(s.Prefill(prompt, ForwardPhase::kPrefill, logits, w).ok());
  EXPECT_EQ(s.next_position(), n_kept);
  KVCache full = t.NewCache();
  std::vector<int32_t> pos(prompt.size());
  for (size_t i = 0; i < pos.size(); ++i) pos[i] = static_cast<int32_t>(i);
  std::vector<float> scratch;
  ASSERT_TRUE(t.Forward(prompt, pos, full, ForwardOptions{}, scratch).ok());
  const int hd = model->config.head_dim;
  std::vector<float> v(static_cast<size_t>(hd)), want(v);
  for (int l = 0; l < model->config.n_layers; ++l) {
    for (int g = 0; g < model->config.n_kv_heads; ++g) {
      ASSERT_EQ(s.cache().Size(l, g), n_kept);
      for (int i = 0; i < n_kept; ++i)
        EXPECT_EQ(s.cache().Positions(l, g)[static_cast<size_t>(i)], i);
      // The question's slots end the head (values equal up to the chunking's rounding).
      for (int i = 0; i < w; ++i) {
        s.cache().ValueAt(l, g, n_kept - w + i, v.data());
        full.ValueAt(l, g, 40 - w + i, want.data());
        EXPECT_LT(MaxAbsDiff(v, want), 1e-5)
            << "layer " << l << " head " << g << " question token " << i;
      }
    }
  }
}

// finch's scores in double from the layer's post-RoPE queries and keys (the header's formula), its
// top-k per head (ties: the later slot) against the slots the press keeps (rerotate_keys=0 keeps
// the original positions), every layer.
class FinchOracle : public LayerHook {
 public:
  FinchOracle(Press& press, int n_heads, int w, double ratio, bool normalize)
      : press_(press), n_heads_(n_heads), w_(w), ratio_(ratio), normalize_(normalize) {}
  AttentionRequest Request(const ForwardInfo& info) const override { return press_.Request(info); }
  void AfterAttention(const LayerHookContext& ctx) override {
    std::vector<std::vector<int32_t>> want;  // [kv_heads][k]
    const bool prunes = ctx.info.phase == ForwardPhase::kPrefill && ctx.info.last_chunk;
    for (int g = 0; prunes && g < ctx.cache->n_kv_heads(); ++g) want.push_back(Expected(ctx, g));
    press_.AfterAttention(ctx);
    for (int g = 0; prunes && g < ctx.cache->n_kv_heads(); ++g) {
      const auto got = ctx.cache->Positions(ctx.layer, g);
      EXPECT_EQ(std::vector<int32_t>(got.begin(), got.end()), want[static_cast<size_t>(g)])
          << "layer " << ctx.layer << " head " << g;
      ++checked_;
    }
  }
  int checked() const { return checked_; }

 private:
  std::vector<int32_t> Expected(const LayerHookContext& ctx, int g) const {
    const int n = ctx.cache->Size(ctx.layer, g), hd = ctx.cache->head_dim();
    const int H = n_heads_;
    const int group = H / ctx.cache->n_kv_heads();
    const auto pos = ctx.cache->Positions(ctx.layer, g);
    std::vector<std::vector<float>> keys(static_cast<size_t>(n),
                                         std::vector<float>(static_cast<size_t>(hd)));
    for (int j = 0; j < n; ++j)
      ctx.cache->KeyAt(ctx.layer, g, j, keys[static_cast<size_t>(j)].data());
    std::vector<double> score(static_cast<size_t>(n), 0.0);
    for (int i = 0; i < w_; ++i) {
      const int row = ctx.n_tokens - w_ + i;
      for (int h = g * group; h < (g + 1) * group; ++h) {
        const float* q = ctx.queries + (static_cast<size_t>(row) * H + h) * hd;
        std::vector<double> e(static_cast<size_t>(n), 0.0);
        double mx = -INFINITY, sum = 0;
        for (int j = 0;
             j < n && pos[static_cast<size_t>(j)] <= ctx.positions[static_cast<size_t>(row)]; ++j) {
          double d = 0;
          for (int c = 0; c < hd; ++c)
            d += static_cast<double>(q[c]) * keys[static_cast<size_t>(j)][static_cast<size_t>(c)];
          e[static_cast<size_t>(j)] = d / std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, e[static_cast<size_t>(j)]);
        }
        for (int j = 0;
             j < n && pos[static_cast<size_t>(j)] <= ctx.positions[static_cast<size_t>(row)]; ++j)
          sum += std::exp(e[static_cast<size_t>(j)] - mx);
        for (int j = 0;
             j < n - w_ && pos[static_cast<size_t>(j)] <= ctx.positions[static_cast<size_t>(row)];
             ++j) {
          score[static_cast<size_t>(j)] +=
              (normalize_ ? n - w_ + i : 1) * std::exp(e[static_cast<size_t>(j)] - mx) / sum;
        }
      }
    }
    for (int j = n - w_; j < n; ++j) score[static_cast<size_t>(j)] = INFINITY;
    std::vector<int> order(static_cast<size_t>(n));
    for (int j = 0; j < n; ++j) order[static_cast<size_t>(j)] = j;
    std::sort(order.begin(), order.end(), [&](int a, int b) {
      return score[static_cast<size_t>(a)] != score[static_cast<size_t>(b)]
                 ? score[static_cast<size_t>(a)] > score[static_cast<size_t>(b)]
                 : a > b;
    });
    std::vector<int32_t> kept;
    for (int k = 0; k < std::max(1, static_cast<int>(n * (1.0 - ratio_))); ++k)
      kept.push_back(pos[static_cast<size_t>(order[static_cast<size_t>(k)])]);
    std::sort(kept.begin(), kept.end());
    return kept;
  }
  Press& press_;
  int n_heads_;
  int w_;
  double ratio_;
  bool normalize_;
  int checked_ = 0;
};

TEST(FinchPress, KeptSlotsEqualADoubleOracle) {
  auto config = RandomModelPreset("tiny");
  ASSERT_TRUE(config.ok());
  auto model = MakeRandomModel(*config, DType::kF32, 5);
  Transformer t(*model, 1);
  std::mt19937 rng(13);
  std::uniform_int_distribution<int32_t> tok(3, model->config.vocab_size - 1);
  std::vector<int32_t> prompt(50), pos(50);
  for (size_t i = 0; i < prompt.size(); ++i) {
    prompt[i] = tok(rng);
    pos[i] = static_cast<int32_t>(i);
  }
  for (const bool normalize : {true, false}) {
    auto press =
        Make(std::string("finch:rerotate_keys=0,normalize_scores=") + (normalize ? "1" : "0"),
             BudgetPolicy{.removed_fraction = 0.6});
    ASSERT_NE(press, nullptr);
    ASSERT_TRUE(press->Attach(model->config).ok());
    FinchOracle oracle(*press, model->config.n_heads, 7, 0.6, normalize);
    KVCache cache = t.NewCache();
    ForwardOptions fwd;
    fwd.hook = &oracle;
    fwd.question_tokens = 7;
    fwd.max_chunk = 16;
    std::vector<float> logits;
    ASSERT_TRUE(t.Forward(prompt, pos, cache, fwd, logits).ok());
    EXPECT_EQ(oracle.checked(), model->config.n_layers * model->config.n_kv_heads);
    EXPECT_EQ(cache.MaxSize(), 20);  // ⌊50 · 0.4⌋
  }
}

TEST(KeyRerotationSpec, NeedsAScoringPress) {
  auto spec = ParsePressSpec("key_rerotation(composed(knorm))");
  ASSERT_TRUE(spec.ok());
  auto p = CreatePress(*spec);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("needs a scoring press"), std::string::npos);
}

}  // namespace
}  // namespace kvpress
