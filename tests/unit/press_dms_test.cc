// dms (src/press/dms_press.cc): the DMS eviction rule on a fixture — a tiny random model driven by
// the real Transformer, with knorm as the scorer. An oracle follows every forward in double
// precision: it scores each new token once (−‖k‖ of the key as cached; RoPE is orthogonal),
// remembers the processed positions in order, and expects the cache of every layer and KV head to
// hold exactly the positions that are either among the last `window` processed or scored ≥ τ,
// evictions happening at the end of each forward (its chunks attend densely, as upstream's
// prefill). Prefill only (decoding=0) and prefill + question + decoding (decoding=1), with chunked
// prefill.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include "model/model.h"
#include "model/transformer.h"
#include "press/press_spec.h"
#include "press/registry.h"
#include "tiny_llama.h"

namespace kvpress {
namespace {

std::unique_ptr<Model> TinyModel() { return testing_util::TinyLlama("dms-tiny", 21); }

// Wraps the press; checks each layer of each forward against the rule.
class Oracle : public LayerHook {
 public:
  Oracle(Press* press, double threshold, int window, bool decoding)
      : press_(press), threshold_(threshold), window_(window), decoding_(decoding) {}
  AttentionRequest Request(const ForwardInfo& info) const override { return press_->Request(info); }
  void AfterAttention(const LayerHookContext& ctx) override {
    const int KV = ctx.cache->n_kv_heads(), hd = ctx.cache->head_dim();
    State& st = state_[ctx.layer];
    const bool counted = ctx.info.phase == ForwardPhase::kPrefill || decoding_;
    std::vector<float> k(static_cast<size_t>(hd));
    for (int g = 0; g < KV && counted; ++g) {
      const int n = ctx.cache->Size(ctx.layer, g);
      for (int t = 0; t < ctx.n_tokens; ++t) {
        ctx.cache->KeyAt(ctx.layer, g, n - ctx.n_tokens + t, k.data());
        double ss = 0;
        for (float x : k) ss += static_cast<double>(x) * x;
        const double score = -std::sqrt(ss);
        st.score[g][ctx.positions[t]] = score;
        nearest_ = std::min(nearest_, std::abs(score - threshold_));
      }
    }
    for (int t = 0; t < ctx.n_tokens; ++t) {
      if (counted) st.order.push_back(ctx.positions[t]);
      st.all.push_back(ctx.positions[t]);
    }
    press_->AfterAttention(ctx);
    // Evictions happen at the end of a forward (its chunks attend densely, as upstream's prefill).
    const std::set<int32_t> recent(st.order.end() - std::min<ptrdiff_t>(window_, st.order.size()),
                                   st.order.end());
    for (int g = 0; g < KV; ++g) {
      if (ctx.info.last_chunk) {
        for (int32_t p : st.order) {
          if (!recent.count(p) && st.score[g][p] < threshold_) st.evicted[g].insert(p);
        }
      }
      std::set<int32_t> expect;
      for (int32_t p : st.all) {
        if (!st.evicted[g].count(p)) expect.insert(p);
      }
      const auto pos = ctx.cache->Positions(ctx.layer, g);
      ASSERT_EQ(std::set<int32_t>(pos.begin(), pos.end()), expect)
          << "layer " << ctx.layer << " head " << g;
      evicted_ = std::max<int64_t>(evicted_, static_cast<int64_t>(st.all.size() - pos.size()));
    }
    ++checks;
  }
  int checks = 0;
  int64_t evicted_ = 0;
  double nearest_ = 1e300;  // closest score to the threshold (must not be a rounding tie)

 private:
  struct State {
    std::vector<int32_t> order;  // scored positions, in processing order
    std::vector<int32_t> all;    // every position appended
    std::map<int, std::map<int32_t, double>> score;
    std::map<int, std::set<int32_t>> evicted;  // per KV head
  };
  Press* press_;
  double threshold_;
  int window_;
  bool decoding_;
  std::map<int, State> state_;
};

void RunCase(bool decoding) {
  const auto model = TinyModel();
  const double threshold = -4.0;  // evict keys with norm > 4 once they leave the window
  const int window = 10;
  auto spec = ParsePressSpec(fmt::format("dms(knorm):threshold={},window={},decoding={}", threshold,
                                         window, decoding ? 1 : 0));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  auto press = CreatePress(*spec);
  ASSERT_TRUE(press.ok()) << press.status().ToString();
  ASSERT_TRUE((*press)->Attach(model->config).ok());
  Oracle oracle(press->get(), threshold, window, decoding);
  Transformer tf(*model, 1);
  KVCache cache = tf.NewCache();
  std::mt19937 rng(4);
  std::uniform_int_distribution<int32_t> tok(0, 63);
  int32_t next = 0;
  std::vector<float> logits;
  auto forward = [&](int n, ForwardPhase phase) {
    std::vector<int32_t> ids, pos;
    for (int i = 0; i < n; ++i) {
      ids.push_back(tok(rng));
      pos.push_back(next++);
    }
    ForwardOptions opt;
    opt.hook = &oracle;
    opt.phase = phase;
    opt.max_chunk = 16;  // the 40-token prefill arrives in three chunks
    ASSERT_TRUE(tf.Forward(ids, pos, cache, opt, logits).ok());
  };
  forward(40, ForwardPhase::kPrefill);
  forward(5, ForwardPhase::kQuestion);
  for (int s = 0; s < 12; ++s) forward(1, ForwardPhase::kDecode);
  EXPECT_EQ(oracle.checks, 2 * (3 + 1 + 12));
  EXPECT_GT(oracle.evicted_, 5);                 // the rule bites
  EXPECT_LT(oracle.evicted_, 40 + 17 - window);  // and is not "evict all"
  EXPECT_GT(oracle.nearest_, 1e-4);              // no score sits on the threshold
}

TEST(Dms, PrefillOnlyFollowsTheRule) { RunCase(false); }
TEST(Dms, DecodingFollowsTheRule) { RunCase(true); }

TEST(Dms, NeedsThresholdAndAScorer) {
  for (const char* bad : {"dms(knorm)", "dms(knorm):threshold=x", "dms(adakv(knorm)):threshold=1",
                          "dms:threshold=1"}) {
    auto spec = ParsePressSpec(bad);
    if (!spec.ok()) continue;
    EXPECT_FALSE(CreatePress(*spec).ok()) << bad;
  }
}

}  // namespace
}  // namespace kvpress
