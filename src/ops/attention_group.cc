// AttendGroup: one query position, the G query heads of a GQA group over their shared KV head.
// Scores come from 16 keys at a time with the lane sums transposed into one vector (AVX-512; elsewhere
// MatMul's register-tiled kernel, keys as the weight rows and the G queries as the tokens; a thin
// prefix is its own MatMul), the softmax is vectorised with Highway's Exp,
// and the value sum reads each value row once for all G heads.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/attention_group.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/contrib/math/math-inl.h>
#include <hwy/cache_control.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cstring>
#include <vector>

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
// no visible slot (then all probs are 0). A row's last partial vector goes through a small buffer
// padded with -inf (Highway's masked loads and stores read or write whole vectors on SSE targets),
// so that every slot takes the vector Exp (the scalar tail through std::exp cost as much as the
// vectors at batched decoding's short caches).
bool SoftmaxRowsImpl(float* probs, int groups, int n) {
  const DF df;
  const size_t N = hn::Lanes(df);
  const size_t un = static_cast<size_t>(n), tail = un % N, body = un - tail;
  const auto neg_inf = hn::Set(df, -HUGE_VALF);
  HWY_ALIGN float buf[hn::MaxLanes(df)];  // the tail, padded with -inf
  for (int g = 0; g < groups; ++g) {
    float* p = probs + static_cast<size_t>(g) * un;
    auto vmax = neg_inf;
    for (size_t j = 0; j < body; j += N) vmax = hn::Max(vmax, hn::LoadU(df, p + j));
    hn::Store(neg_inf, df, buf);
    for (size_t k = 0; k < tail; ++k) buf[k] = p[body + k];
    const auto last = hn::Load(df, buf);
    vmax = hn::Max(vmax, last);
    // The lanes' max by hand: Highway's MaxOfLanes starts from the lowest finite float on some
    // targets (EMU128), which would hide a row with no visible slot.
    hn::Store(vmax, df, buf);
    float mx = -HUGE_VALF;
    for (size_t k = 0; k < N; ++k) mx = buf[k] > mx ? buf[k] : mx;
    if (mx == -HUGE_VALF) {
      for (size_t i = 0; i < un; ++i) p[i] = 0.0f;
      return false;
    }
    const auto vmx = hn::Set(df, mx);
    auto vsum = hn::Zero(df);
    for (size_t j = 0; j < body; j += N) {
      const auto e = hn::Exp(df, hn::Sub(hn::LoadU(df, p + j), vmx));  // exp(-inf) = 0
      hn::StoreU(e, df, p + j);
      vsum = hn::Add(vsum, e);
    }
    const auto e_last = hn::Exp(df, hn::Sub(last, vmx));  // 0 in the lanes past n
    vsum = hn::Add(vsum, e_last);
    const float sum = hn::GetLane(hn::SumOfLanes(df, vsum));
    const auto vinv = hn::Set(df, 1.0f / sum);
    for (size_t j = 0; j < body; j += N) hn::StoreU(hn::Mul(hn::LoadU(df, p + j), vinv), df, p + j);
    hn::Store(hn::Mul(e_last, vinv), df, buf);
    for (size_t k = 0; k < tail; ++k) p[body + k] = buf[k];
  }
  return true;
}

// Prefetches the first lines of each 4 KB page that rows [begin, end) (row_bytes apart from
// `base`; clipped to `n` rows) enter. The hardware prefetcher follows a stream only within a page,
// and each cache head's keys and values are short streams over their own 4 KB pages: batched
// decoding's attention (16 sequences × 192 heads of 16–80 slots) waited on every page's first
// lines (0.35B BF16 `kvpress bench --batch 16`, medians of 3-4 interleaved runs: 387 → 407
// tokens/s at depth 16-80, 303 → 316 at 128-192). Prefetching every line of the next rows instead
// gained the same and cost up to 20 % on keys already in cache (BM_Attend group3_f32/257); a page
// start is a few prefetches per 4 KB (BM_Attend unchanged).
constexpr size_t kPrefetchRows = 16;
constexpr size_t kPageBytes = 4096, kPageStartLines = 8;
HWY_INLINE void PrefetchPageStarts(const uint8_t* base, size_t begin, size_t end, size_t n, size_t row_bytes) {
  end = std::min(end, n);
  if (begin >= end) return;
  const uintptr_t first = reinterpret_cast<uintptr_t>(base + begin * row_bytes);
  const uintptr_t stop = reinterpret_cast<uintptr_t>(base + end * row_bytes);
  for (uintptr_t page = (first + kPageBytes - 1) & ~(kPageBytes - 1); page < stop; page += kPageBytes) {
    const uintptr_t lines_end = std::min(stop, page + kPageStartLines * 64);
    for (uintptr_t line = page; line < lines_end; line += 64) hwy::Prefetch(reinterpret_cast<const uint8_t*>(line));
  }
}

#if HWY_TARGET <= HWY_AVX3
// One 16-lane vector whose lane k is the sum of the 16 lanes of a[k] (a transpose folded into
// adds: 15 adds and 30 shuffles for 16 rows, where a horizontal sum per row costs ~8 operations).
HWY_INLINE __m512 LaneSumsOf16(const __m512 (&a)[16]) {
  __m512 pairs[8];  // per 128-bit lane: a[2i] and a[2i + 1] interleaved, half summed
  for (int i = 0; i < 8; ++i) {
    pairs[i] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]), _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]));
  }
  __m512 quads[4];  // per 128-bit lane: one partial sum of each of 4 rows
  for (int i = 0; i < 4; ++i) {
    const __m512d x = _mm512_castps_pd(pairs[2 * i]), y = _mm512_castps_pd(pairs[2 * i + 1]);
    quads[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)), _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
  }
  __m512 halves[2];  // 128-bit lanes of 4 rows each, two partial sums apart
  for (int i = 0; i < 2; ++i) {
    halves[i] = _mm512_add_ps(_mm512_shuffle_f32x4(quads[2 * i], quads[2 * i + 1], 0x88),
                              _mm512_shuffle_f32x4(quads[2 * i], quads[2 * i + 1], 0xDD));
  }
  return _mm512_add_ps(_mm512_shuffle_f32x4(halves[0], halves[1], 0x88),
                       _mm512_shuffle_f32x4(halves[0], halves[1], 0xDD));
}

// Bytes per element of the float key/value types (F32, F16, BF16), at compile time.
template <DType kT>
constexpr size_t ElemBytes() {
  return kT == DType::kF32 ? 4 : 2;
}

// scores[g, k] = q_g · key_k for the G query heads and the 16 keys of `block` (rows row_bytes
// apart), the lanes k in `mask` stored: per head, 16 accumulators of dimension chunks, then LaneSumsOf16.
// MatMul's register tile did a horizontal sum per (key, head), which dominated at head_dim 64
// (BM_Attend group3_f32 at 2048 keys: 55 of 99 µs in the scores). kHD > 0 fixes head_dim (and so
// the row stride) at compile time: the 16 rows are then immediate offsets from one pointer; with
// the stride known only at run time the compiler kept 16 row addresses and spilled the
// accumulators (BM_Attend group2_f32, 48 keys: 0.94–1.23 µs then, 0.59–0.69 µs now).
template <DType kT, int kHD>
HWY_INLINE void ScoreBlock16(const float* q, int groups, const uint8_t* block, size_t hd_runtime, __mmask16 mask,
                             float scale, size_t un, float* scores) {
  const DF df;
  const size_t hd = kHD > 0 ? static_cast<size_t>(kHD) : hd_runtime;
  const size_t row_bytes = hd * ElemBytes<kT>();
  const __m512 vscale = _mm512_set1_ps(scale);
  for (int g = 0; g < groups; ++g) {
    __m512 acc[16];
    for (auto& a : acc) a = _mm512_setzero_ps();
    const float* qg = q + static_cast<size_t>(g) * hd;
    for (size_t c = 0; c < hd; c += 16) {
      const __m512 qv = hn::LoadU(df, qg + c).raw;
      for (int k = 0; k < 16; ++k) acc[k] = _mm512_fmadd_ps(LoadWidened<kT>(df, block + k * row_bytes, c).raw, qv, acc[k]);
    }
    _mm512_mask_storeu_ps(scores + static_cast<size_t>(g) * un, mask, _mm512_mul_ps(LaneSumsOf16(acc), vscale));
  }
}

// All scores [G, n] in blocks of 16 keys, every block through the same unrolled 16-key code: a last
// partial block is the 16 keys ending at n (overlapping the previous block, only its new lanes
// stored), or, below 16 keys, a zero-padded copy (no key past n is read).
template <DType kT, int kHD>
void GroupScoresTyped(const float* q, int groups, const KVHeadView& kv, int head_dim, float scale, float* scores) {
  const size_t hd = kHD > 0 ? static_cast<size_t>(kHD) : static_cast<size_t>(head_dim), un = static_cast<size_t>(kv.n);
  const size_t row_bytes = hd * ElemBytes<kT>();
  const auto* keys = static_cast<const uint8_t*>(kv.keys);
  constexpr __mmask16 kAll = 0xFFFF;
  size_t j0 = 0;
  for (; j0 + 16 <= un; j0 += 16) {
    PrefetchPageStarts(keys, j0 + kPrefetchRows, j0 + kPrefetchRows + 16, un, row_bytes);
    ScoreBlock16<kT, kHD>(q, groups, keys + j0 * row_bytes, hd, kAll, scale, un, scores + j0);
  }
  const size_t rest = un - j0;
  if (rest == 0) return;
  if (un >= 16) {
    const __mmask16 new_lanes = static_cast<__mmask16>(kAll << (16 - rest));
    ScoreBlock16<kT, kHD>(q, groups, keys + (un - 16) * row_bytes, hd, new_lanes, scale, un, scores + (un - 16));
    return;
  }
  static thread_local std::vector<uint8_t> padded;  // [16, hd] of kT
  padded.assign(16 * row_bytes, 0);
  std::memcpy(padded.data(), keys, un * row_bytes);
  ScoreBlock16<kT, kHD>(q, groups, padded.data(), hd, static_cast<__mmask16>((1u << un) - 1), scale, un, scores);
}

// GroupScoresTyped with the common head sizes (64, 128) fixed at compile time.
template <DType kT>
void ScoresOfType(const float* q, int groups, const KVHeadView& kv, int head_dim, float scale, float* scores) {
  switch (head_dim) {
    case 64: return GroupScoresTyped<kT, 64>(q, groups, kv, head_dim, scale, scores);
    case 128: return GroupScoresTyped<kT, 128>(q, groups, kv, head_dim, scale, scores);
    default: return GroupScoresTyped<kT, 0>(q, groups, kv, head_dim, scale, scores);
  }
}
#endif  // HWY_TARGET <= HWY_AVX3

// The scores of AttendGroup times `scale` on AVX-512 for float keys (F32/F16/BF16) and head_dim a
// multiple of 16 (the same f32 products as scaling after); false (nothing written) elsewhere, where
// MatMul computes them.
bool GroupScoresImpl(const float* q, int groups, const KVHeadView& kv, int head_dim, float scale, float* scores) {
#if HWY_TARGET <= HWY_AVX3
  if (head_dim % 16 != 0) return false;
  switch (kv.dtype) {
    case DType::kF32: ScoresOfType<DType::kF32>(q, groups, kv, head_dim, scale, scores); return true;
    case DType::kF16: ScoresOfType<DType::kF16>(q, groups, kv, head_dim, scale, scores); return true;
    case DType::kBF16: ScoresOfType<DType::kBF16>(q, groups, kv, head_dim, scale, scores); return true;
    default: return false;
  }
#else
  (void)q, (void)groups, (void)kv, (void)head_dim, (void)scale, (void)scores;
  return false;
#endif
}

// out[g, :] = Σ_j probs[g, j] · v_j for g < G, 4 vectors of dimensions at a time, each value row
// read once per chunk for all G heads; the value dtype and G fixed at compile time, so the 4·G
// accumulators stay in registers (with G and the dtype known only at run time they were kept on
// the stack and each load went through a switch: 8× slower, BM_Attend group3_f32).
template <DType kT, int G>
void WeightedValuesTyped(const float* probs, const KVHeadView& kv, int head_dim, float* out) {
  const DF df;
  const size_t N = hn::Lanes(df), hd = static_cast<size_t>(head_dim);
  const size_t row_bytes = RowBytes(kT, hd);
  const auto* values = static_cast<const uint8_t*>(kv.values);
  const size_t un = static_cast<size_t>(kv.n);
  size_t i = 0;
  for (; i + 4 * N <= hd; i += 4 * N) {
    hn::Vec<DF> acc[G][4];
    for (int g = 0; g < G; ++g)
      for (int c = 0; c < 4; ++c) acc[g][c] = hn::Zero(df);
    for (size_t j = 0; j < un; ++j) {
      if (i == 0 && j % 16 == 0) PrefetchPageStarts(values, j + kPrefetchRows, j + kPrefetchRows + 16, un, row_bytes);
      const void* row = values + j * row_bytes;
      hn::Vec<DF> v[4];
      for (int c = 0; c < 4; ++c) v[c] = LoadWidened<kT>(df, row, i + c * N);
      for (int g = 0; g < G; ++g) {
        const auto p = hn::Set(df, probs[static_cast<size_t>(g) * un + j]);
        for (int c = 0; c < 4; ++c) acc[g][c] = hn::MulAdd(p, v[c], acc[g][c]);
      }
    }
    for (int g = 0; g < G; ++g)
      for (int c = 0; c < 4; ++c) hn::StoreU(acc[g][c], df, out + static_cast<size_t>(g) * hd + i + c * N);
  }
  for (; i < hd; ++i) {  // dimensions past the last 4-vector chunk (head_dim not a multiple of 4N)
    for (int g = 0; g < G; ++g) {
      float s = 0.0f;
      for (size_t j = 0; j < un; ++j) s += probs[static_cast<size_t>(g) * un + j] * LoadElement(kT, values + j * row_bytes, i);
      out[static_cast<size_t>(g) * hd + i] = s;
    }
  }
}

template <DType kT>
void WeightedValuesOfType(const float* probs, int groups, const KVHeadView& kv, int head_dim, float* out) {
  switch (groups) {
    case 1: return WeightedValuesTyped<kT, 1>(probs, kv, head_dim, out);
    case 2: return WeightedValuesTyped<kT, 2>(probs, kv, head_dim, out);
    case 3: return WeightedValuesTyped<kT, 3>(probs, kv, head_dim, out);
    case 4: return WeightedValuesTyped<kT, 4>(probs, kv, head_dim, out);
    case 5: return WeightedValuesTyped<kT, 5>(probs, kv, head_dim, out);
    case 6: return WeightedValuesTyped<kT, 6>(probs, kv, head_dim, out);
    case 7: return WeightedValuesTyped<kT, 7>(probs, kv, head_dim, out);
    default: return WeightedValuesTyped<kT, kMaxAttendGroup>(probs, kv, head_dim, out);
  }
}
static_assert(kMaxAttendGroup == 8, "WeightedValuesOfType's cases cover 1 .. kMaxAttendGroup");

// G ≤ kMaxAttendGroup; values F32, F16 or BF16.
void WeightedValuesImpl(const float* probs, int groups, const KVHeadView& kv, int head_dim, float* out) {
  switch (kv.dtype) {
    case DType::kF32: return WeightedValuesOfType<DType::kF32>(probs, groups, kv, head_dim, out);
    case DType::kBF16: return WeightedValuesOfType<DType::kBF16>(probs, groups, kv, head_dim, out);
    default: return WeightedValuesOfType<DType::kF16>(probs, groups, kv, head_dim, out);
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
         /*threads=*/1, /*exact_float=*/true);
  if (nf > 0) {
    MatMul(MatrixView{kv.dtype, static_cast<int64_t>(nf), head_dim, kv.keys, RowBytes(kv.dtype, hd)}, q, groups, full.data(),
           /*threads=*/1, /*exact_float=*/true);
  }
  for (size_t g = 0; g < static_cast<size_t>(groups); ++g) {
    std::memcpy(scores + g * un, thin.data() + g * nt, sizeof(float) * nt);
    if (nf > 0) std::memcpy(scores + g * un + nt, full.data() + g * nf, sizeof(float) * nf);
  }
}

}  // namespace

HWY_EXPORT(SoftmaxRowsImpl);
HWY_EXPORT(WeightedValuesImpl);
HWY_EXPORT(GroupScoresImpl);

bool AttendGroup(const float* q, int groups, const KVHeadView& kv, int head_dim, int32_t q_pos, int window,
                 float scale, float* probs, float* out) {
  const size_t hd = static_cast<size_t>(head_dim), un = static_cast<size_t>(kv.n);
  if (kv.n == 0) {
    std::memset(out, 0, sizeof(float) * hd * static_cast<size_t>(groups));
    return false;
  }
  // Scores [G, n] = q · Kᵀ: the keys are MatMul's weight rows, the G query heads its tokens.
  // (The AVX-512 kernel applies the scale itself.)
  bool scaled = false;
  if (kv.n_thin > 0) {
    ThinPrefixScores(q, groups, kv, head_dim, probs);
  } else if (HWY_DYNAMIC_DISPATCH(GroupScoresImpl)(q, groups, kv, head_dim, scale, probs)) {
    scaled = true;
  } else {
    const MatrixView keys{kv.dtype, kv.n, head_dim, kv.keys, RowBytes(kv.dtype, hd)};
    MatMul(keys, q, groups, probs, /*threads=*/1, /*exact_float=*/true);
  }
  if (!scaled) {
    for (size_t k = 0; k < un * static_cast<size_t>(groups); ++k) probs[k] *= scale;
  }
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
