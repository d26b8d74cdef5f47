// Highway kernels of AttendBlocked. A work item is one KV head × one query tile of `tq` queries; its
// rows are the tq·group (query, head) pairs, row r = (t0 + r / group, head g·group + r % group), held
// in the lanes of SIMD vectors. Queries are stored transposed and pre-scaled ([head_dim, rows]), so
// both products are outer-product micro-kernels with no horizontal sums:
//   scores S[j, r] = Σ_d K[j, d] · Qᵀ[d, r]        (one key tile against all rows)
//   Oᵀ[d, r]      += Σ_j V[j, d] · P[j, r]         (P = exp(S − running max))
// Pass 1 keeps the running max m[r] and sum l[r] (online softmax) and writes out = Oᵀ / l.
// Pass 2 (only when presses ask for column sums) recomputes S per key tile and adds
// exp(S − m) / l over the rows, parallel over key tiles so no two threads write one slot.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/flash_attention.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
#include <hwy/contrib/math/math-inl.h>

#include "ops/flash_attention.h"

#ifndef KVPRESS_OPS_FLASH_ATTENTION_PLAN_
#define KVPRESS_OPS_FLASH_ATTENTION_PLAN_
#include <algorithm>
#include <cstddef>

namespace kvpress {
namespace flash {

constexpr int kKeyTile = 32;         // keys per tile
constexpr int kRowsPerTile = 64;     // target (query, head) rows per work item
constexpr float kMaskedScore = -1e30f;  // score of a masked (query, key) pair

// One KV head with keys and values as f32 rows (the cache's own rows when it stores f32).
struct KeyValues {
  const float* keys = nullptr;         // [n, head_dim]
  const float* values = nullptr;       // [n, head_dim]
  const int32_t* positions = nullptr;  // [n] ascending
  int n = 0;
};

// Everything a work item needs; built once per AttendBlocked call.
struct Plan {
  const float* q = nullptr;            // [n, n_heads, hd]
  const int32_t* qpos = nullptr;       // [n]
  float* out = nullptr;                // [n, n_heads, hd]
  const KeyValues* kv = nullptr;       // [n_kv]
  int n = 0, n_heads = 0, n_kv = 0, group = 1, hd = 0;
  int tq = 1;          // queries per tile
  int n_tiles = 0;     // query tiles: ceil(n / tq)
  int rs = 0;          // row stride: tq·group rounded up to whole vectors
  int window = 0;      // sliding window (0 = none)
  float scale = 1.0f;
  float* qt = nullptr;  // [n_kv, n_tiles, hd, rs] scale · Qᵀ per work item (pass 2 reuses it)
  float* m = nullptr;   // [n_kv, n_tiles, rs] final running max per row
  float* l = nullptr;   // [n_kv, n_tiles, rs] final softmax denominator per row

  size_t Item(int g, int tile) const { return static_cast<size_t>(g) * n_tiles + tile; }
  int FirstQuery(int tile) const { return tile * tq; }
  int Queries(int tile) const { return std::min(tq, n - tile * tq); }
};

// First index in ascending positions[0, n) whose position is > p.
inline int UpperBound(const int32_t* positions, int n, int32_t p) {
  return static_cast<int>(std::upper_bound(positions, positions + n, p) - positions);
}

// The slots [lo, hi) of `kv` some query with position in [qmin, qmax] can see.
inline void VisibleRange(const KeyValues& kv, int32_t qmin, int32_t qmax, int window, int& lo,
                         int& hi) {
  lo = window > 0 ? UpperBound(kv.positions, kv.n, qmin - window) : 0;
  hi = UpperBound(kv.positions, kv.n, qmax);
}

// Whether every query with position in [qmin, qmax] sees all slots [j0, j1).
inline bool TileFullyVisible(const KeyValues& kv, int j0, int j1, int32_t qmin, int32_t qmax,
                             int window) {
  return kv.positions[j1 - 1] <= qmin && (window <= 0 || kv.positions[j0] > qmax - window);
}

}  // namespace flash
}  // namespace kvpress
#endif  // KVPRESS_OPS_FLASH_ATTENTION_PLAN_

HWY_BEFORE_NAMESPACE();
namespace kvpress {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using flash::KeyValues;
using flash::Plan;

using DF = hn::ScalableTag<float>;
using DI = hn::RebindToSigned<DF>;
using VF = hn::Vec<DF>;

// C[a, v·N..] (+)= Σ_{b < nb} A[a·sa + b·sb] · B[b, v·N..] for KA values of a and VR vectors v.
template <int VR, int KA, bool kAcc>
HWY_INLINE void OuterBlock(const float* A, size_t sa, size_t sb, int nb, const float* B, size_t ldb,
                           float* C, size_t ldc) {
  const DF df;
  const size_t N = hn::Lanes(df);
  VF acc[KA][VR];
  for (int a = 0; a < KA; ++a)
    for (int v = 0; v < VR; ++v) acc[a][v] = kAcc ? hn::LoadU(df, C + a * ldc + v * N) : hn::Zero(df);
  for (int b = 0; b < nb; ++b) {
    VF bv[VR];
    for (int v = 0; v < VR; ++v) bv[v] = hn::LoadU(df, B + b * ldb + v * N);
    for (int a = 0; a < KA; ++a) {
      const VF s = hn::Set(df, A[a * sa + b * sb]);
      for (int v = 0; v < VR; ++v) acc[a][v] = hn::MulAdd(s, bv[v], acc[a][v]);
    }
  }
  for (int a = 0; a < KA; ++a)
    for (int v = 0; v < VR; ++v) hn::StoreU(acc[a][v], df, C + a * ldc + v * N);
}

template <int VR, bool kAcc>
HWY_INLINE void OuterRows(const float* A, size_t sa, size_t sb, int na, int nb, const float* B,
                          size_t ldb, float* C, size_t ldc) {
  int a = 0;
  for (; a + 4 <= na; a += 4) OuterBlock<VR, 4, kAcc>(A + a * sa, sa, sb, nb, B, ldb, C + a * ldc, ldc);
  switch (na - a) {
    case 3: return OuterBlock<VR, 3, kAcc>(A + a * sa, sa, sb, nb, B, ldb, C + a * ldc, ldc);
    case 2: return OuterBlock<VR, 2, kAcc>(A + a * sa, sa, sb, nb, B, ldb, C + a * ldc, ldc);
    case 1: return OuterBlock<VR, 1, kAcc>(A + a * sa, sa, sb, nb, B, ldb, C + a * ldc, ldc);
    default: return;
  }
}

// C[a, :rs] (+)= Σ_{b < nb} A[a·sa + b·sb] · B[b, :rs] for a < na (rs a whole number of vectors),
// four vectors of columns at a time.
template <bool kAcc>
void Outer(const float* A, size_t sa, size_t sb, int na, int nb, const float* B, size_t ldb,
           float* C, size_t ldc, int rs) {
  const size_t N = hn::Lanes(DF());
  const int nvec = rs / static_cast<int>(N);
  for (int v = 0; v < nvec; v += 4) {
    const float* Bv = B + v * N;
    float* Cv = C + v * N;
    switch (std::min(4, nvec - v)) {
      case 4: OuterRows<4, kAcc>(A, sa, sb, na, nb, Bv, ldb, Cv, ldc); break;
      case 3: OuterRows<3, kAcc>(A, sa, sb, na, nb, Bv, ldb, Cv, ldc); break;
      case 2: OuterRows<2, kAcc>(A, sa, sb, na, nb, Bv, ldb, Cv, ldc); break;
      default: OuterRows<1, kAcc>(A, sa, sb, na, nb, Bv, ldb, Cv, ldc); break;
    }
  }
}

size_t LanesImpl() { return hn::Lanes(DF()); }

// The rows of one work item and their query positions (padding rows get the last real position).
struct Rows {
  int t0 = 0, nt = 0, rows = 0;
  int32_t qmin = 0, qmax = 0;
};

Rows RowsOf(const Plan& p, int tile, int32_t* lane_pos /* [rs] */) {
  Rows r;
  r.t0 = p.FirstQuery(tile);
  r.nt = p.Queries(tile);
  r.rows = r.nt * p.group;
  for (int i = 0; i < p.rs; ++i) lane_pos[i] = p.qpos[r.t0 + std::min(i, r.rows - 1) / p.group];
  r.qmin = p.qpos[r.t0];
  r.qmax = p.qpos[r.t0 + r.nt - 1];
  return r;
}

// S[jj, :] = kMaskedScore where slot j0 + jj is not visible from the row's query.
void MaskTile(const KeyValues& kv, int j0, int tk, const int32_t* lane_pos, int window, int rs,
              float* S) {
  const DF df;
  const DI di;
  const size_t N = hn::Lanes(df);
  const VF masked = hn::Set(df, flash::kMaskedScore);
  for (int jj = 0; jj < tk; ++jj) {
    const auto kp = hn::Set(di, kv.positions[j0 + jj]);
    for (size_t v = 0; v < static_cast<size_t>(rs); v += N) {
      const auto qp = hn::LoadU(di, lane_pos + v);
      auto visible = hn::Gt(hn::Add(qp, hn::Set(di, 1)), kp);  // kp ≤ qp
      if (window > 0) visible = hn::And(visible, hn::Gt(kp, hn::Sub(qp, hn::Set(di, window))));
      float* s = S + static_cast<size_t>(jj) * rs + v;
      hn::StoreU(hn::IfThenElse(hn::RebindMask(df, visible), hn::LoadU(df, s), masked), df, s);
    }
  }
}

// Scores of slots [j0, j0 + tk) against the rows of Qᵀ, masked unless the tile is fully visible.
void ScoreTile(const Plan& p, const KeyValues& kv, const float* qt, const int32_t* lane_pos,
               const Rows& r, int j0, int tk, float* S /* [tk, rs] */) {
  Outer<false>(kv.keys + static_cast<size_t>(j0) * p.hd, p.hd, 1, tk, p.hd, qt, p.rs, S, p.rs, p.rs);
  if (!flash::TileFullyVisible(kv, j0, j0 + tk, r.qmin, r.qmax, p.window)) {
    MaskTile(kv, j0, tk, lane_pos, p.window, p.rs, S);
  }
}

// Pass 1 for KV head g, query tile `tile`.
void AttendItem(const Plan& p, int g, int tile) {
  const DF df;
  const size_t N = hn::Lanes(df);
  const size_t rs = static_cast<size_t>(p.rs), hd = static_cast<size_t>(p.hd);
  static thread_local std::vector<float> scratch;
  scratch.resize((flash::kKeyTile + hd) * rs);
  float* S = scratch.data();                          // [kKeyTile, rs] scores, then probabilities
  float* ot = S + flash::kKeyTile * rs;               // [hd, rs] Oᵀ accumulator
  static thread_local std::vector<int32_t> lane_pos;  // [rs] query position of each row
  lane_pos.resize(rs);
  const KeyValues& kv = p.kv[g];
  const Rows r = RowsOf(p, tile, lane_pos.data());
  float* qt = p.qt + p.Item(g, tile) * hd * rs;  // [hd, rs]
  for (size_t d = 0; d < hd; ++d) {
    for (int i = 0; i < p.rs; ++i) {
      const int t = r.t0 + i / p.group, h = g * p.group + i % p.group;
      qt[d * rs + i] = i < r.rows ? p.scale * p.q[(static_cast<size_t>(t) * p.n_heads + h) * hd + d] : 0.0f;
    }
  }
  std::fill(ot, ot + hd * rs, 0.0f);
  float* m = p.m + p.Item(g, tile) * rs;  // [rs]
  float* l = p.l + p.Item(g, tile) * rs;  // [rs]
  std::fill(m, m + rs, flash::kMaskedScore);
  std::fill(l, l + rs, 0.0f);
  int lo, hi;
  flash::VisibleRange(kv, r.qmin, r.qmax, p.window, lo, hi);
  const VF masked = hn::Set(df, flash::kMaskedScore);
  for (int j0 = lo; j0 < hi; j0 += flash::kKeyTile) {
    const int tk = std::min(flash::kKeyTile, hi - j0);
    ScoreTile(p, kv, qt, lane_pos.data(), r, j0, tk, S);
    const bool full = flash::TileFullyVisible(kv, j0, j0 + tk, r.qmin, r.qmax, p.window);
    for (size_t v = 0; v < rs; v += N) {
      VF mt = hn::LoadU(df, m + v);
      for (int jj = 0; jj < tk; ++jj) mt = hn::Max(mt, hn::LoadU(df, S + jj * rs + v));
      const VF alpha = hn::Exp(df, hn::Sub(hn::LoadU(df, m + v), mt));
      VF sum = hn::Zero(df);
      for (int jj = 0; jj < tk; ++jj) {
        const VF s = hn::LoadU(df, S + jj * rs + v);
        VF e = hn::Exp(df, hn::Sub(s, mt));
        if (!full) e = hn::IfThenZeroElse(hn::Eq(s, masked), e);
        hn::StoreU(e, df, S + jj * rs + v);
        sum = hn::Add(sum, e);
      }
      hn::StoreU(mt, df, m + v);
      hn::StoreU(hn::MulAdd(hn::LoadU(df, l + v), alpha, sum), df, l + v);
      for (size_t d = 0; d < hd; ++d) hn::StoreU(hn::Mul(hn::LoadU(df, ot + d * rs + v), alpha), df, ot + d * rs + v);
    }
    Outer<true>(kv.values + static_cast<size_t>(j0) * hd, 1, hd, p.hd, tk, S, rs, ot, rs, p.rs);
  }
  for (int i = 0; i < r.rows; ++i) {
    const int t = r.t0 + i / p.group, h = g * p.group + i % p.group;
    const float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
    float* o = p.out + (static_cast<size_t>(t) * p.n_heads + h) * hd;
    for (size_t d = 0; d < hd; ++d) o[d] = ot[d * rs + i] * inv;
  }
}

// Pass 2 for KV head g, slots [j0, j0 + tk): adds each row's probabilities into the column sums.
// Rows of queries before `first_all` are left out of `all`, those before `first_window` out of
// `window` (a sum with first_* ≥ n is not wanted).
void SumItem(const Plan& p, int g, int j0, int first_all, int first_window,
             float* const* all, float* const* window) {
  const DF df;
  const size_t N = hn::Lanes(df);
  const size_t rs = static_cast<size_t>(p.rs);
  const KeyValues& kv = p.kv[g];
  const int tk = std::min(flash::kKeyTile, kv.n - j0);
  static thread_local std::vector<float> scratch;
  scratch.resize(5 * flash::kKeyTile * rs);
  float* S = scratch.data();                    // [kKeyTile, rs] scores, then probabilities
  float* col_all = S + flash::kKeyTile * rs;    // [kKeyTile, rs] Σ over tiles of weighted p
  float* col_win = col_all + flash::kKeyTile * rs;  // [kKeyTile, rs]
  float* w_all = col_win + flash::kKeyTile * rs;    // [rs] 1 / l for rows summed into `all`, else 0
  float* w_win = w_all + rs;                        // [rs] the same for `window`
  std::fill(col_all, col_all + 2 * flash::kKeyTile * rs, 0.0f);
  static thread_local std::vector<int32_t> lane_pos;  // [rs]
  lane_pos.resize(rs);
  const VF masked = hn::Set(df, flash::kMaskedScore);
  const int first = std::min(first_all, first_window);
  for (int tile = first / p.tq; tile < p.n_tiles; ++tile) {
    const Rows r = RowsOf(p, tile, lane_pos.data());
    if (kv.positions[j0] > r.qmax) continue;
    if (p.window > 0 && kv.positions[j0 + tk - 1] <= r.qmin - p.window) continue;
    const float* m = p.m + p.Item(g, tile) * rs;
    const float* l = p.l + p.Item(g, tile) * rs;
    for (int i = 0; i < p.rs; ++i) {
      const int t = r.t0 + i / p.group;
      const float inv = i < r.rows && l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
      w_all[i] = t >= first_all ? inv : 0.0f;
      w_win[i] = t >= first_window ? inv : 0.0f;
    }
    ScoreTile(p, kv, p.qt + p.Item(g, tile) * p.hd * rs, lane_pos.data(), r, j0, tk, S);
    for (size_t v = 0; v < rs; v += N) {
      const VF mv = hn::LoadU(df, m + v), wa = hn::LoadU(df, w_all + v), ww = hn::LoadU(df, w_win + v);
      for (int jj = 0; jj < tk; ++jj) {
        const VF s = hn::LoadU(df, S + jj * rs + v);
        const VF e = hn::IfThenZeroElse(hn::Eq(s, masked), hn::Exp(df, hn::Sub(s, mv)));
        float* ca = col_all + jj * rs + v;
        float* cw = col_win + jj * rs + v;
        hn::StoreU(hn::MulAdd(e, wa, hn::LoadU(df, ca)), df, ca);
        hn::StoreU(hn::MulAdd(e, ww, hn::LoadU(df, cw)), df, cw);
      }
    }
  }
  const int rows = p.tq * p.group;
  for (int jj = 0; jj < tk; ++jj) {
    for (int i = 0; i < rows; ++i) {
      const int h = g * p.group + i % p.group;
      if (all != nullptr) all[h][j0 + jj] += col_all[jj * rs + i];
      if (window != nullptr) window[h][j0 + jj] += col_win[jj * rs + i];
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace kvpress
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "core/thread_pool.h"

#include <vector>

#include "ops/matmul.h"

namespace kvpress {

HWY_EXPORT(LanesImpl);
HWY_EXPORT(AttendItem);
HWY_EXPORT(SumItem);

bool PreferBlockedAttention(int n, int group) { return n >= 2 && static_cast<size_t>(n) * group >= 16; }

namespace {

// Widens slots [lo, kv.n) of a KV head to f32 rows in `keys` / `values` ([kv.n, hd] each; rows
// below lo, which no query of the chunk sees, stay zero). F32 caches without a thin prefix are used
// in place; thin keys are widened with zeros in their pruned channels (the same q·k).
flash::KeyValues Widen(const KVHeadView& kv, int hd, int lo, std::vector<float>& keys,
                       std::vector<float>& values) {
  flash::KeyValues out{static_cast<const float*>(kv.keys), static_cast<const float*>(kv.values),
                       kv.positions, kv.n};
  if (kv.dtype == DType::kF32 && kv.n_thin == 0) return out;
  const size_t row = RowBytes(kv.dtype, static_cast<size_t>(hd)), uhd = static_cast<size_t>(hd);
  const size_t thin_row = RowBytes(kv.dtype, static_cast<size_t>(kv.d_kept));
  keys.assign(static_cast<size_t>(kv.n) * uhd, 0.0f);
  values.assign(static_cast<size_t>(kv.n) * uhd, 0.0f);
  std::vector<float> kept(static_cast<size_t>(kv.d_kept));  // [d_kept]
  for (int j = lo; j < kv.n; ++j) {
    if (j < kv.n_thin) {
      DequantizeRow(kv.dtype, static_cast<const uint8_t*>(kv.thin_keys) + thin_row * j, kept.data(), kept.size());
      for (int c = 0; c < kv.d_kept; ++c) keys[j * uhd + static_cast<size_t>(kv.kept_channels[c])] = kept[static_cast<size_t>(c)];
    } else {
      AxpyRow(1.0f, kv.dtype, static_cast<const uint8_t*>(kv.keys) + row * (j - kv.n_thin), keys.data() + j * uhd, uhd);
    }
    AxpyRow(1.0f, kv.dtype, static_cast<const uint8_t*>(kv.values) + row * j, values.data() + j * uhd, uhd);
  }
  out.keys = keys.data();
  out.values = values.data();
  return out;
}

}  // namespace

void AttendBlocked(const AttentionQueries& queries, std::span<const KVHeadView> kv, int window,
                   float scale, const AttentionColumnSums* sums, float* out, int threads) {
  if (queries.n <= 0) return;
  flash::Plan p;
  p.q = queries.q;
  p.qpos = queries.positions;
  p.out = out;
  p.n = queries.n;
  p.n_heads = queries.n_heads;
  p.n_kv = static_cast<int>(kv.size());
  p.group = p.n_heads / p.n_kv;
  p.hd = queries.head_dim;
  p.window = window;
  p.scale = scale;
  p.tq = std::max(1, flash::kRowsPerTile / p.group);
  p.n_tiles = (p.n + p.tq - 1) / p.tq;
  const int lanes = static_cast<int>(HWY_DYNAMIC_DISPATCH(LanesImpl)());
  p.rs = (p.tq * p.group + lanes - 1) / lanes * lanes;
  // Per KV head: the f32 rows of slots any query of the chunk can see.
  static thread_local std::vector<std::vector<float>> widened;  // [2 n_kv][slots, hd]
  widened.resize(2 * kv.size());
  std::vector<flash::KeyValues> kvs(kv.size());  // [n_kv]
  for (size_t g = 0; g < kv.size(); ++g) {
    const int lo = window > 0 ? flash::UpperBound(kv[g].positions, kv[g].n, p.qpos[0] - window) : 0;
    kvs[g] = Widen(kv[g], p.hd, lo, widened[2 * g], widened[2 * g + 1]);
  }
  p.kv = kvs.data();
  static thread_local std::vector<float> qt, ml;
  const size_t items = static_cast<size_t>(p.n_kv) * p.n_tiles;
  qt.resize(items * p.hd * p.rs);  // [n_kv, n_tiles, hd, rs]
  ml.resize(2 * items * p.rs);     // [2][n_kv, n_tiles, rs]
  p.qt = qt.data();
  p.m = ml.data();
  p.l = ml.data() + items * p.rs;
  const auto attend = HWY_DYNAMIC_DISPATCH(AttendItem);
  const int64_t work = static_cast<int64_t>(items);
  ParallelFor(work, threads, [&](int64_t item) {
    attend(p, static_cast<int>(item / p.n_tiles), static_cast<int>(item % p.n_tiles));
  });
  if (sums == nullptr || (sums->all == nullptr && sums->window == nullptr)) return;
  const int first_all = sums->all != nullptr ? 0 : p.n;
  const int first_window = sums->window != nullptr ? p.n - std::min(sums->last, p.n) : p.n;
  int max_slots = 0;
  for (const flash::KeyValues& h : kvs) max_slots = std::max(max_slots, h.n);
  const int key_tiles = (max_slots + flash::kKeyTile - 1) / flash::kKeyTile;
  const auto sum = HWY_DYNAMIC_DISPATCH(SumItem);
  const int64_t sum_work = static_cast<int64_t>(p.n_kv) * key_tiles;
  ParallelFor(sum_work, threads, [&](int64_t item) {
    const int g = static_cast<int>(item / key_tiles);
    const int j0 = static_cast<int>(item % key_tiles) * flash::kKeyTile;
    if (j0 < kvs[static_cast<size_t>(g)].n) sum(p, g, j0, first_all, first_window, sums->all, sums->window);
  });
}

}  // namespace kvpress
#endif  // HWY_ONCE
