// Shared by press_wrappers_test and press_critical_test (brute-force checks of the wrapper presses
// on a tiny random llama through the real Transformer): a probe hook that snapshots each layer's
// cache before and after the press, the driver that runs a press over a list of forwards with
// random token ids, and the oracle's top-k with a near-tie band at the cut.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <iterator>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "model/transformer.h"
#include "press/press.h"

namespace kvpress::wrapper_probe {

// One forward of a run: its phase and how many new tokens it carries.
struct Forward {
  ForwardPhase phase;
  int n_tokens;
};

// Runs `press` after each layer's attention, recording one Event per layer and forward:
// `before(ctx)` makes it before the press runs, `after(ctx, event)` completes it afterwards.
template <class Event>
class Probe : public LayerHook {
 public:
  Probe(Press* press, std::function<Event(const LayerHookContext&)> before,
        std::function<void(const LayerHookContext&, Event&)> after)
      : press_(press), before_(std::move(before)), after_(std::move(after)) {}
  AttentionRequest Request(const ForwardInfo& info) const override { return press_->Request(info); }
  void AfterAttention(const LayerHookContext& ctx) override {
    Event e = before_(ctx);
    press_->AfterAttention(ctx);
    after_(ctx, e);
    events.push_back(std::move(e));
  }
  std::vector<Event> events;

 private:
  Press* press_;
  std::function<Event(const LayerHookContext&)> before_;
  std::function<void(const LayerHookContext&, Event&)> after_;
};

// Runs `forwards` through `model` with `hook` (positions 0, 1, ...; ids uniform in [0, 63] from
// std::mt19937(token_seed)); the press inside the hook must be attached to the model already.
inline void RunForwards(const Model& model, LayerHook& hook, const std::vector<Forward>& forwards,
                        uint32_t token_seed) {
  Transformer t(model, 1);
  KVCache cache = t.NewCache();
  std::mt19937 rng(token_seed);
  std::uniform_int_distribution<int32_t> tok(0, 63);
  int32_t next = 0;
  std::vector<float> logits;
  for (const Forward& f : forwards) {
    std::vector<int32_t> ids, pos;
    for (int i = 0; i < f.n_tokens; ++i) {
      ids.push_back(tok(rng));
      pos.push_back(next++);
    }
    ForwardOptions opt;
    opt.hook = &hook;
    opt.phase = f.phase;
    EXPECT_TRUE(t.Forward(ids, pos, cache, opt, logits).ok());
  }
}

// The kept set of one head for the top `k` of `score` (ties to the higher position), and the
// positions inside a near-tie band (1e-6 relative) at the cut, which may go either way.
struct Choice {
  std::set<int32_t> kept;
  std::set<int32_t> band;
};

inline bool Better(double sa, int32_t pa, double sb, int32_t pb) {
  return sa != sb ? sa > sb : pa > pb;
}

inline Choice TopK(const std::vector<double>& score, const std::vector<int32_t>& pos, int k) {
  std::vector<size_t> idx(score.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(),
            [&](size_t a, size_t b) { return Better(score[a], pos[a], score[b], pos[b]); });
  Choice c;
  for (size_t i = 0; i < idx.size() && static_cast<int>(i) < k; ++i) c.kept.insert(pos[idx[i]]);
  if (k > 0 && static_cast<size_t>(k) < idx.size()) {
    const double cut_in = score[idx[static_cast<size_t>(k) - 1]];
    const double cut_out = score[idx[static_cast<size_t>(k)]];
    const double tol = 1e-6 * std::max(1.0, std::abs(cut_in));
    if (std::isfinite(cut_in) && cut_in - cut_out <= tol) {
      for (size_t j = 0; j < score.size(); ++j) {
        if (std::abs(score[j] - cut_in) <= tol || std::abs(score[j] - cut_out) <= tol) {
          c.band.insert(pos[j]);
        }
      }
    }
  }
  return c;
}

// Expects `got` to equal `want` outside the band (a test failure per other difference, naming
// `where`) and of the same size; returns the number of band decisions.
inline int ExpectKept(const std::set<int32_t>& got, const Choice& want, const std::string& where) {
  int band = 0;
  std::vector<int32_t> diff;
  std::set_symmetric_difference(got.begin(), got.end(), want.kept.begin(), want.kept.end(),
                                std::back_inserter(diff));
  for (int32_t p : diff) {
    if (want.band.count(p)) {
      ++band;
    } else {
      ADD_FAILURE() << where << ": position " << p
                    << (got.count(p) ? " kept only by the press" : " evicted by the press");
    }
  }
  EXPECT_EQ(got.size(), want.kept.size()) << where;
  return band;
}

}  // namespace kvpress::wrapper_probe
