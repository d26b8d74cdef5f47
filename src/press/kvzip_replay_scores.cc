// The scoring kernel of kvzip's context replay (kvzip_replay_scores.h): per logit row, a max pass,
// an exp-and-sum pass that keeps the exponentials in place, and a max-update pass over the context
// slots, all vectorised with Highway (runtime dispatch); tails in scalar code.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "press/kvzip_replay_scores.cc"
// foreach_target.h must come first: it re-includes this file once per SIMD target.
// clang-format off
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>
// clang-format on

#include "press/kvzip_replay_scores.h"

#include <algorithm>
#include <cmath>

HWY_BEFORE_NAMESPACE();
namespace kvpress {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// One row: e[j] = exp(l[j] - max l) in place for j < n; returns 1 / sum e.
HWY_INLINE float ExpRowInPlace(float* l, size_t n) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  size_t j = 0;
  auto vmax = hn::Set(df, hwy::LowestValue<float>());
  for (; j + N <= n; j += N) vmax = hn::Max(vmax, hn::LoadU(df, l + j));
  float mx = hn::GetLane(hn::MaxOfLanes(df, vmax));
  for (; j < n; ++j) mx = std::max(mx, l[j]);
  const auto vmx = hn::Set(df, mx);
  auto vsum = hn::Zero(df);
  j = 0;
  for (; j + N <= n; j += N) {
    const auto e = hn::Exp(df, hn::Sub(hn::LoadU(df, l + j), vmx));
    hn::StoreU(e, df, l + j);
    vsum = hn::Add(vsum, e);
  }
  float sum = hn::GetLane(hn::SumOfLanes(df, vsum));
  for (; j < n; ++j) {
    l[j] = std::exp(l[j] - mx);
    sum += l[j];
  }
  return 1.0f / sum;
}

void AccumulateReplayMaxAttentionImpl(float* logits, size_t stride, int rows, const int* visible,
                                      int lo, int hi, float* best) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  const size_t width = hi > lo ? static_cast<size_t>(hi - lo) : 0;
  for (int r = 0; r < rows; ++r) {
    float* e = logits + static_cast<size_t>(r) * stride;
    const float inv = ExpRowInPlace(e, static_cast<size_t>(visible[r]));
    const float* a = e + lo;
    const auto vinv = hn::Set(df, inv);
    size_t j = 0;
    for (; j + N <= width; j += N) {
      const auto v = hn::Mul(hn::LoadU(df, a + j), vinv);
      hn::StoreU(hn::Max(hn::LoadU(df, best + j), v), df, best + j);
    }
    for (; j < width; ++j) best[j] = std::max(best[j], a[j] * inv);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace kvpress
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace kvpress {

HWY_EXPORT(AccumulateReplayMaxAttentionImpl);

void AccumulateReplayMaxAttention(float* logits, size_t stride, int rows, const int* visible,
                                  int lo, int hi, float* best) {
  HWY_DYNAMIC_DISPATCH(AccumulateReplayMaxAttentionImpl)
  (logits, stride, rows, visible, lo, hi, best);
}

}  // namespace kvpress
#endif  // HWY_ONCE
