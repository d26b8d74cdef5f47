#include "ops/attention.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "ops/matmul.h"

namespace kvpress {
namespace {

inline bool Visible(int32_t pos, int32_t q_pos, int window) {
  return pos <= q_pos && (window <= 0 || pos > q_pos - window);
}

// Slot j ≥ kv.n_thin's full key row.
const void* KeyRow(const KVHeadView& kv, int j, int head_dim) {
  return static_cast<const uint8_t*>(kv.keys) +
         RowBytes(kv.dtype, static_cast<size_t>(head_dim)) * static_cast<size_t>(j - kv.n_thin);
}
// Slot j < kv.n_thin's thin key row [d_kept].
const void* ThinKeyRow(const KVHeadView& kv, int j) {
  return static_cast<const uint8_t*>(kv.thin_keys) + RowBytes(kv.dtype, static_cast<size_t>(kv.d_kept)) * static_cast<size_t>(j);
}
const void* ValueRow(const KVHeadView& kv, int j, int head_dim) {
  return static_cast<const uint8_t*>(kv.values) + RowBytes(kv.dtype, static_cast<size_t>(head_dim)) * static_cast<size_t>(j);
}

// probs[j] = scale · q·k_j for the thin slots j < kv.n_thin (−∞ when not visible), the query
// gathered to the kept channels; raises `mx` / sets `any` as AttendHead's loop does.
[[gnu::noinline]] void ThinPrefixScores(const float* q, const KVHeadView& kv, int32_t q_pos, int window, float scale,
                                        float* probs, float& mx, bool& any) {
  std::vector<float> q_kept(static_cast<size_t>(kv.d_kept));  // [d_kept]
  GatherKeptChannels(kv, q, q_kept.data());
  for (int j = 0; j < kv.n_thin; ++j) {
    if (!Visible(kv.positions[j], q_pos, window)) {
      probs[j] = -std::numeric_limits<float>::infinity();
      continue;
    }
    any = true;
    const float s = scale * DotRow(kv.dtype, ThinKeyRow(kv, j), q_kept.data(), static_cast<size_t>(kv.d_kept));
    probs[j] = s;
    if (s > mx) mx = s;
  }
}

}  // namespace

void GatherKeptChannels(const KVHeadView& kv, const float* q, float* out) {
  for (int c = 0; c < kv.d_kept; ++c) out[c] = q[kv.kept_channels[c]];
}

bool AttendHead(const float* q, const KVHeadView& kv, int head_dim, int32_t q_pos, int window,
                float scale, float* probs, float* out) {
  std::memset(out, 0, sizeof(float) * static_cast<size_t>(head_dim));
  float mx = -std::numeric_limits<float>::infinity();
  bool any = false;
  // The thin prefix first (scored over its kept channels, out of line), then the full keys: a
  // cache without a thin prefix runs the same loop as before.
  if (kv.n_thin > 0) ThinPrefixScores(q, kv, q_pos, window, scale, probs, mx, any);
  for (int j = kv.n_thin; j < kv.n; ++j) {
    if (!Visible(kv.positions[j], q_pos, window)) {
      probs[j] = -std::numeric_limits<float>::infinity();
      continue;
    }
    any = true;
    const float s = scale * DotRow(kv.dtype, KeyRow(kv, j, head_dim), q, static_cast<size_t>(head_dim));
    probs[j] = s;
    if (s > mx) mx = s;
  }
  if (!any) {
    for (int j = 0; j < kv.n; ++j) probs[j] = 0.0f;
    return false;
  }
  double sum = 0.0;
  for (int j = 0; j < kv.n; ++j) {
    const float e = std::isinf(probs[j]) ? 0.0f : std::exp(probs[j] - mx);
    probs[j] = e;
    sum += e;
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int j = 0; j < kv.n; ++j) {
    probs[j] *= inv;
    if (probs[j] != 0.0f) AxpyRow(probs[j], kv.dtype, ValueRow(kv, j, head_dim), out, static_cast<size_t>(head_dim));
  }
  return true;
}

bool AttendHeadReference(const float* q, const KVHeadView& kv, int head_dim, int32_t q_pos,
                         int window, float scale, float* probs, float* out) {
  std::vector<double> s(static_cast<size_t>(kv.n), 0.0);
  double mx = -std::numeric_limits<double>::infinity();
  bool any = false;
  for (int j = 0; j < kv.n; ++j) {
    if (!Visible(kv.positions[j], q_pos, window)) continue;
    any = true;
    double d = 0.0;
    if (j < kv.n_thin) {  // the reference widens a thin key: zero outside the kept channels
      for (int c = 0; c < kv.d_kept; ++c) {
        d += static_cast<double>(q[kv.kept_channels[c]]) * LoadElement(kv.dtype, ThinKeyRow(kv, j), static_cast<size_t>(c));
      }
    } else {
      for (int i = 0; i < head_dim; ++i) d += static_cast<double>(q[i]) * LoadElement(kv.dtype, KeyRow(kv, j, head_dim), static_cast<size_t>(i));
    }
    s[static_cast<size_t>(j)] = d * scale;
    if (s[static_cast<size_t>(j)] > mx) mx = s[static_cast<size_t>(j)];
  }
  for (int i = 0; i < head_dim; ++i) out[i] = 0.0f;
  if (!any) {
    for (int j = 0; j < kv.n; ++j) probs[j] = 0.0f;
    return false;
  }
  double sum = 0.0;
  for (int j = 0; j < kv.n; ++j) {
    const double e = Visible(kv.positions[j], q_pos, window) ? std::exp(s[static_cast<size_t>(j)] - mx) : 0.0;
    s[static_cast<size_t>(j)] = e;
    sum += e;
  }
  std::vector<double> acc(static_cast<size_t>(head_dim), 0.0);
  for (int j = 0; j < kv.n; ++j) {
    const double p = s[static_cast<size_t>(j)] / sum;
    probs[j] = static_cast<float>(p);
    for (int i = 0; i < head_dim; ++i) acc[static_cast<size_t>(i)] += p * LoadElement(kv.dtype, ValueRow(kv, j, head_dim), static_cast<size_t>(i));
  }
  for (int i = 0; i < head_dim; ++i) out[i] = static_cast<float>(acc[static_cast<size_t>(i)]);
  return true;
}

}  // namespace kvpress
