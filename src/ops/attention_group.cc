// AttendGroup: one query position, the G query heads of a GQA group over their shared KV head.
// Scores come from MatMul's register-tiled kernel (keys as the weight rows, the G queries as the
// tokens: each key row is read once for all G heads; a thin prefix is its own MatMul), the softmax is vectorised with Highway's Exp,
// and the value sum reads each value row once for all G heads.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/attention_group.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

#include "ops/attention_group.h"
#include "ops/matmul.h"

HWY_BEFORE_NAMESPACE();
namespace kvpress {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;

// LoadWidened (included on every target pass: its guard toggles per target).
#include "ops/widen-inl.h"

// probs[g, j] = exp(s[g, j] - max_g) / Σ (s: scores with masked slots at -inf); false when a row has
// no visible slot (then all probs are 0).
bool SoftmaxRowsImpl(float* probs, int groups, int n) {
  const DF df;
  const size_t N = hn::Lanes(df);
  const size_t un = static_cast<size_t>(n);
  for (int g = 0; g < groups; ++g) {
    float* p = probs + static_cast<size_t>(g) * un;
    auto vmax = hn::Set(df, -HUGE_VALF);
    size_t j = 0;
    for (; j + N <= un; j += N) vmax = hn::Max(vmax, hn::LoadU(df, p + j));
    float mx = hn::GetLane(hn::MaxOfLanes(df, vmax));
    for (; j < un; ++j) mx = p[j] > mx ? p[j] : mx;
    if (mx == -HUGE_VALF) {
      for (size_t i = 0; i < un; ++i) p[i] = 0.0f;
      return false;
    }
    const auto vmx = hn::Set(df, mx);
    auto vsum = hn::Zero(df);
    for (j = 0; j + N <= un; j += N) {
      const auto e = hn::Exp(df, hn::Sub(hn::LoadU(df, p + j), vmx));  // exp(-inf) = 0
      hn::StoreU(e, df, p + j);
      vsum = hn::Add(vsum, e);
    }
    float sum = hn::GetLane(hn::SumOfLanes(df, vsum));
    for (; j < un; ++j) {
      p[j] = p[j] == -HUGE_VALF ? 0.0f : std::exp(p[j] - mx);
      sum += p[j];
    }
    const auto vinv = hn::Set(df, 1.0f / sum);
    for (j = 0; j + N <= un; j += N) hn::StoreU(hn::Mul(hn::LoadU(df, p + j), vinv), df, p + j);
    for (; j < un; ++j) p[j] *= 1.0f / sum;
  }
  return true;
}

// out[g, :] = Σ_j probs[g, j] · v_j for g < G, 4 vectors of dimensions at a time, each value row
// read once per chunk for all G heads. G ≤ kMaxAttendGroup.
void WeightedValuesImpl(const float* probs, int groups, const KVHeadView& kv, int head_dim, float* out) {
  const DF df;
  const size_t N = hn::Lanes(df), hd = static_cast<size_t>(head_dim);
  const size_t row_bytes = RowBytes(kv.dtype, hd);
  const auto* values = static_cast<const uint8_t*>(kv.values);
  const size_t un = static_cast<size_t>(kv.n);
  size_t i = 0;
  for (; i + 4 * N <= hd; i += 4 * N) {
    hn::Vec<DF> acc[kMaxAttendGroup][4];
    for (int g = 0; g < groups; ++g)
      for (int c = 0; c < 4; ++c) acc[g][c] = hn::Zero(df);
    for (size_t j = 0; j < un; ++j) {
      const void* row = values + j * row_bytes;
      hn::Vec<DF> v[4];
      for (int c = 0; c < 4; ++c) v[c] = LoadWidened(df, kv.dtype, row, i + c * N);
      for (int g = 0; g < groups; ++g) {
        const auto p = hn::Set(df, probs[static_cast<size_t>(g) * un + j]);
        for (int c = 0; c < 4; ++c) acc[g][c] = hn::MulAdd(p, v[c], acc[g][c]);
      }
    }
    for (int g = 0; g < groups; ++g)
      for (int c = 0; c < 4; ++c) hn::StoreU(acc[g][c], df, out + static_cast<size_t>(g) * hd + i + c * N);
  }
  for (; i < hd; ++i) {  // dimensions past the last 4-vector chunk (head_dim not a multiple of 4N)
    for (int g = 0; g < groups; ++g) {
      float s = 0.0f;
      for (size_t j = 0; j < un; ++j) s += probs[static_cast<size_t>(g) * un + j] * LoadElement(kv.dtype, values + j * row_bytes, i);
      out[static_cast<size_t>(g) * hd + i] = s;
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace kvpress
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <cstring>
#include <vector>

namespace kvpress {
namespace {

// Scores [G, n] = q · Kᵀ for a head with a thin prefix: its thin keys against the queries gathered
// to the kept channels, the rest against the full queries, each one MatMul, then interleaved.
// Out of line, so AttendGroup's frame stays what it was for caches without a thin prefix.
[[gnu::noinline]] void ThinPrefixScores(const float* q, int groups, const KVHeadView& kv, int head_dim, float* scores) {
  const size_t hd = static_cast<size_t>(head_dim), un = static_cast<size_t>(kv.n);
  const size_t nt = static_cast<size_t>(kv.n_thin), nf = un - nt, dk = static_cast<size_t>(kv.d_kept);
  std::vector<float> q_kept(static_cast<size_t>(groups) * dk);       // [G, d_kept]
  std::vector<float> thin(static_cast<size_t>(groups) * nt), full(static_cast<size_t>(groups) * nf);  // [G, n_thin], [G, n − n_thin]
  for (int g = 0; g < groups; ++g) GatherKeptChannels(kv, q + static_cast<size_t>(g) * hd, q_kept.data() + static_cast<size_t>(g) * dk);
  MatMul(MatrixView{kv.dtype, kv.n_thin, kv.d_kept, kv.thin_keys, RowBytes(kv.dtype, dk)}, q_kept.data(), groups, thin.data(),
         /*threads=*/1);
  if (nf > 0) {
    MatMul(MatrixView{kv.dtype, static_cast<int64_t>(nf), head_dim, kv.keys, RowBytes(kv.dtype, hd)}, q, groups, full.data(),
           /*threads=*/1);
  }
  for (size_t g = 0; g < static_cast<size_t>(groups); ++g) {
    std::memcpy(scores + g * un, thin.data() + g * nt, sizeof(float) * nt);
    if (nf > 0) std::memcpy(scores + g * un + nt, full.data() + g * nf, sizeof(float) * nf);
  }
}

}  // namespace

HWY_EXPORT(SoftmaxRowsImpl);
HWY_EXPORT(WeightedValuesImpl);

bool AttendGroup(const float* q, int groups, const KVHeadView& kv, int head_dim, int32_t q_pos, int window,
                 float scale, float* probs, float* out) {
  const size_t hd = static_cast<size_t>(head_dim), un = static_cast<size_t>(kv.n);
  if (kv.n == 0) {
    std::memset(out, 0, sizeof(float) * hd * static_cast<size_t>(groups));
    return false;
  }
  // Scores [G, n] = q · Kᵀ: the keys are MatMul's weight rows, the G query heads its tokens.
  if (kv.n_thin > 0) {
    ThinPrefixScores(q, groups, kv, head_dim, probs);
  } else {
    const MatrixView keys{kv.dtype, kv.n, head_dim, kv.keys, RowBytes(kv.dtype, hd)};
    MatMul(keys, q, groups, probs, /*threads=*/1);
  }
  for (size_t k = 0; k < un * static_cast<size_t>(groups); ++k) probs[k] *= scale;
  for (size_t j = 0; j < un; ++j) {
    const int32_t pos = kv.positions[j];
    if (pos <= q_pos && (window <= 0 || pos > q_pos - window)) continue;
    for (int g = 0; g < groups; ++g) probs[static_cast<size_t>(g) * un + j] = -HUGE_VALF;
  }
  if (!HWY_DYNAMIC_DISPATCH(SoftmaxRowsImpl)(probs, groups, kv.n)) {  // one mask for all rows
    std::memset(probs, 0, sizeof(float) * un * static_cast<size_t>(groups));
    std::memset(out, 0, sizeof(float) * hd * static_cast<size_t>(groups));
    return false;
  }
  HWY_DYNAMIC_DISPATCH(WeightedValuesImpl)(probs, groups, kv, head_dim, out);
  return true;
}

}  // namespace kvpress
#endif  // HWY_ONCE
