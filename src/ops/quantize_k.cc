// Quantizers of the 256-wide "K" super-block types (Q2_K..Q6_K). The algorithms are ggml's
// reference quantizers (llama.cpp, ggml/src/ggml-quants.c, MIT licence: quantize_row_q{2..6}_K_ref
// with their helpers make_qkx2_quants, make_q3_quants and make_qx_quants), re-implemented here.
// Every float expression keeps ggml's evaluation order and this file is compiled with
// -ffp-contract=off (src/CMakeLists.txt), as ggml's x86-64 reference build never fuses
// multiply-adds: the bytes equal llama.cpp's (tests/unit/quantize_test.cc).
#include <algorithm>
#include <cmath>

#include "ops/dtype.h"
#include "ops/quantize_k.h"

namespace kvpress::quant_internal {

float SignedMax(const float* x, int n, float& amax) {
  float max = 0;
  amax = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  return max;
}

namespace {

float H(uint16_t bits) { return F16ToF32(bits); }

float ToF(int v) { return static_cast<float>(v); }

// Asymmetric codes for the n (≤ 32) values of one group: L[i] in [0, nmax] with
// x ≈ scale * L - the_min. Starts from the plain min/max grid, then tries nstep + 1 grids of
// (nmax + rmin + rdelta * is) steps, keeping the weighted least-squares fit (absolute error
// when use_mad) that lowers the weighted error most. Returns the scale. (ggml: make_qkx2_quants.)
float MakeQkx2Quants(int n, int nmax, const float* x, const float* weights, uint8_t* L,
                     float& the_min, float rmin, float rdelta, int nstep, bool use_mad) {
  float min = x[0], max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sum_w += weights[i];
    sum_x += weights[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    std::fill(L, L + n, 0);
    the_min = -min;
    return 0.0f;
  }
  auto error_of = [&](const uint8_t* codes, float scale, float offset) {
    float err = 0;
    for (int i = 0; i < n; ++i) {
      float diff = scale * ToF(codes[i]) + offset - x[i];
      diff = use_mad ? std::fabs(diff) : diff * diff;
      err += weights[i] * diff;
    }
    return err;
  };
  float iscale = ToF(nmax) / (max - min);
  float scale = 1 / iscale;
  for (int i = 0; i < n; ++i) {
    L[i] = static_cast<uint8_t>(std::clamp(NearestInt(iscale * (x[i] - min)), 0, nmax));
  }
  float best_error = error_of(L, scale, min);
  uint8_t laux[32];
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * ToF(is) + ToF(nmax)) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(NearestInt(iscale * (x[i] - min)), 0, nmax);
      laux[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      sum_l += w * ToF(l);
      sum_l2 += w * ToF(l) * ToF(l);
      sum_xl += w * ToF(l) * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (!(D > 0)) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
    if (this_min > 0) {
      this_min = 0;
      this_scale = sum_xl / sum_l2;
    }
    const float cur_error = error_of(laux, this_scale, this_min);
    if (cur_error < best_error) {
      std::copy(laux, laux + n, L);
      best_error = cur_error;
      scale = this_scale;
      min = this_min;
    }
  }
  the_min = -min;
  return scale;
}

// The signed largest-magnitude value of a group to `max`; false (and L zeroed) when the group is
// all (near) zero.
bool NonZeroGroup(const float* x, int n, int8_t* L, float& max) {
  float amax;
  max = SignedMax(x, n, amax);
  if (amax >= kGroupMaxEps) return true;
  std::fill(L, L + n, 0);
  return false;
}

// Symmetric codes l = round(iscale * x) clamped to [-nmax, nmax), stored as l + offset in `codes`
// (unless null), and the sums of the x²-weighted least-squares fit: Σ w x l and Σ w l².
void SymmetricFit(const float* x, int n, int nmax, float iscale, int offset, int8_t* codes, float& sumlx,
                  float& suml2) {
  sumlx = suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
    if (codes != nullptr) codes[i] = static_cast<int8_t>(l + offset);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * ToF(l);
    suml2 += w * ToF(l) * ToF(l);
  }
}

// Symmetric codes L[i] in [0, 2 * nmax) for n values, weights x², refined by up to five passes
// of coordinate descent on the weighted least-squares scale. Returns the scale (x ≈ scale *
// (L - nmax)). (ggml: make_q3_quants with do_rmse.)
float MakeQ3Quants(int n, int nmax, const float* x, int8_t* L) {
  float max;
  if (!NonZeroGroup(x, n, L, max)) return 0.0f;
  float sumlx, suml2;
  SymmetricFit(x, n, nmax, -ToF(nmax) / max, 0, L, sumlx, suml2);
  for (int itry = 0; itry < 5; ++itry) {
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * ToF(L[i]);
      if (!(slx > 0)) continue;
      float sl2 = suml2 - w * ToF(L[i]) * ToF(L[i]);
      const int new_l = std::clamp(NearestInt(x[i] * sl2 / slx), -nmax, nmax - 1);
      if (new_l == L[i]) continue;
      slx += w * x[i] * ToF(new_l);
      sl2 += w * ToF(new_l) * ToF(new_l);
      if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
        L[i] = static_cast<int8_t>(new_l);
        sumlx = slx;
        suml2 = sl2;
        ++n_changed;
      }
    }
    if (n_changed == 0) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// Symmetric codes L[i] in [0, 2 * nmax) for n values with weights x²: the grid -nmax / max and
// 18 neighbouring grids -(nmax + 0.1 * is) / max, keeping the best weighted least-squares fit.
// Returns the scale. (ggml: make_qx_quants with rmse_type 1 and no importance weights.)
float MakeQxQuants(int n, int nmax, const float* x, int8_t* L) {
  float max;
  if (!NonZeroGroup(x, n, L, max)) return 0.0f;
  float sumlx, suml2;
  SymmetricFit(x, n, nmax, -ToF(nmax) / max, nmax, L, sumlx, suml2);
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    const float iscale = -(ToF(nmax) + 0.1f * ToF(is)) / max;
    SymmetricFit(x, n, nmax, iscale, nmax, nullptr, sumlx, suml2);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      SymmetricFit(x, n, nmax, iscale, nmax, L, sumlx, suml2);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Packs 256 2-bit codes: byte 32 * (e / 128) + e % 32 holds element e at bit 2 * ((e % 128) / 32).
void Pack2Bit(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < kQKBlock; j += 128) {
    for (int l = 0; l < 32; ++l) {
      qs[j / 4 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                           (L[j + l + 96] << 6));
    }
  }
}

// Q4_K and Q5_K share everything but the code range and the search grid: 8 sub-blocks of 32 fitted
// by MakeQkx2Quants (weights |x| + rms), 6-bit scales and mins relative to the largest, then the
// codes recomputed against the rounded scales. Writes d, dmin, scales and the 256 codes to L.
void QuantizeK45(const float* x, int nmax, float rmin, int nstep, uint8_t* L, uint16_t& d,
                 uint16_t& dmin, uint8_t* packed) {
  float scales[8], mins[8], weights[32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    const float* xs = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xs[l]);
    scales[j] = MakeQkx2Quants(32, nmax, xs, weights, L + 32 * j, mins[j], rmin, 0.1f, nstep, false);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  std::fill(packed, packed + 12, 0);
  for (int j = 0; j < 8; ++j) {
    // ggml stores nearest_int into a uint8_t before clamping: a negative value wraps to > 63.
    const int ls = std::min<int>(63, static_cast<uint8_t>(NearestInt(inv_scale * scales[j])));
    const int lm = std::min<int>(63, static_cast<uint8_t>(NearestInt(inv_min * mins[j])));
    if (j < 4) {
      packed[j] = static_cast<uint8_t>(ls);
      packed[j + 4] = static_cast<uint8_t>(lm);
    } else {
      packed[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
      packed[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
      packed[j] |= static_cast<uint8_t>((lm >> 4) << 6);
    }
  }
  d = F32ToF16(max_scale / 63.f);
  dmin = F32ToF16(max_min / 63.f);
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    UnpackScaleMinK4(packed, j, sc, m);
    const float dj = H(d) * ToF(sc);
    if (dj == 0) continue;  // keep the fit's codes, as ggml does
    const float dm = H(dmin) * ToF(m);
    for (int i = 0; i < 32; ++i) {
      L[32 * j + i] = static_cast<uint8_t>(std::clamp(NearestInt((x[32 * j + i] + dm) / dj), 0, nmax));
    }
  }
}

}  // namespace

void QuantizeBlockQ2K(const float* x, BlockQ2_K& y) {
  constexpr float kQ4Scale = 15.f;
  uint8_t L[kQKBlock];
  float scales[16], mins[16], weights[16];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 16; ++j) {
    for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
    scales[j] = MakeQkx2Quants(16, 3, x + 16 * j, weights, L + 16 * j, mins[j], -0.5f, 0.1f, 15, true);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  std::fill(y.scales, y.scales + 16, 0);
  y.d = y.dmin = F32ToF16(0.f);
  if (max_scale > 0) {
    const float iscale = kQ4Scale / max_scale;
    for (int j = 0; j < 16; ++j) y.scales[j] = static_cast<uint8_t>(NearestInt(iscale * scales[j]));
    y.d = F32ToF16(max_scale / kQ4Scale);
  }
  if (max_min > 0) {
    const float iscale = kQ4Scale / max_min;
    for (int j = 0; j < 16; ++j) y.scales[j] |= static_cast<uint8_t>(NearestInt(iscale * mins[j]) << 4);
    y.dmin = F32ToF16(max_min / kQ4Scale);
  }
  for (int j = 0; j < 16; ++j) {
    const float d = H(y.d) * ToF(y.scales[j] & 0xF);
    if (d == 0) continue;
    const float dm = H(y.dmin) * ToF(y.scales[j] >> 4);
    for (int i = 0; i < 16; ++i) {
      L[16 * j + i] = static_cast<uint8_t>(std::clamp(NearestInt((x[16 * j + i] + dm) / d), 0, 3));
    }
  }
  Pack2Bit(L, y.qs);
}

void QuantizeBlockQ3K(const float* x, BlockQ3_K& y) {
  int8_t L[kQKBlock];
  float scales[16];
  for (int j = 0; j < 16; ++j) scales[j] = MakeQ3Quants(16, 4, x + 16 * j, L + 16 * j);
  float amax;
  const float max_scale = SignedMax(scales, 16, amax);
  std::fill(y.scales, y.scales + 12, 0);
  y.d = F32ToF16(0.f);
  if (max_scale != 0) {
    const float iscale = -32.f / max_scale;
    for (int j = 0; j < 16; ++j) {
      const int l = std::clamp(NearestInt(iscale * scales[j]), -32, 31) + 32;
      if (j < 8) y.scales[j] = static_cast<uint8_t>(l & 0xF);
      else y.scales[j - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
      y.scales[j % 4 + 8] |= static_cast<uint8_t>((l >> 4) << (2 * (j / 4)));
    }
    y.d = F32ToF16(1 / iscale);
  }
  for (int j = 0; j < 16; ++j) {
    const float d = H(y.d) * ToF(UnpackScaleQ3K(y.scales, j));
    if (d == 0) continue;
    for (int i = 0; i < 16; ++i) {
      L[16 * j + i] = static_cast<int8_t>(std::clamp(NearestInt(x[16 * j + i] / d), -4, 3) + 4);
    }
  }
  // The third bit of element e goes to bit e / 32 of hmask[e % 32]; the low two bits to qs.
  std::fill(y.hmask, y.hmask + 32, 0);
  uint8_t low[kQKBlock];
  for (int e = 0; e < kQKBlock; ++e) {
    if (L[e] > 3) y.hmask[e % 32] |= static_cast<uint8_t>(1 << (e / 32));
    low[e] = static_cast<uint8_t>(L[e] > 3 ? L[e] - 4 : L[e]);
  }
  Pack2Bit(low, y.qs);
}

void QuantizeBlockQ4K(const float* x, BlockQ4_K& y) {
  uint8_t L[kQKBlock];
  QuantizeK45(x, 15, -1.f, 20, L, y.d, y.dmin, y.scales);
  for (int j = 0; j < kQKBlock; j += 64) {
    for (int l = 0; l < 32; ++l) y.qs[j / 2 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
  }
}

void QuantizeBlockQ5K(const float* x, BlockQ5_K& y) {
  uint8_t L[kQKBlock];
  QuantizeK45(x, 31, -0.5f, 15, L, y.d, y.dmin, y.scales);
  // Element e: low nibble in qs like Q4_K, fifth bit at bit e / 32 of qh[e % 32].
  std::fill(y.qh, y.qh + 32, 0);
  for (int e = 0; e < kQKBlock; ++e) y.qh[e % 32] |= static_cast<uint8_t>((L[e] >> 4) << (e / 32));
  for (int j = 0; j < kQKBlock; j += 64) {
    for (int l = 0; l < 32; ++l) {
      y.qs[j / 2 + l] = static_cast<uint8_t>((L[j + l] & 0xF) | ((L[j + l + 32] & 0xF) << 4));
    }
  }
}

void QuantizeBlockQ6K(const float* x, BlockQ6_K& y) {
  int8_t L[kQKBlock];
  float scales[16];
  for (int g = 0; g < 16; ++g) scales[g] = MakeQxQuants(16, 32, x + 16 * g, L + 16 * g);
  float max_abs_scale;
  const float max_scale = SignedMax(scales, 16, max_abs_scale);
  if (max_abs_scale < kGroupMaxEps) {
    std::memset(&y, 0, sizeof(y));
    return;
  }
  const float iscale = -128.f / max_scale;
  y.d = F32ToF16(1 / iscale);
  for (int g = 0; g < 16; ++g) y.scales[g] = static_cast<int8_t>(std::min(127, NearestInt(iscale * scales[g])));
  for (int g = 0; g < 16; ++g) {
    const float d = H(y.d) * ToF(y.scales[g]);
    if (d == 0) continue;
    for (int i = 0; i < 16; ++i) {
      L[16 * g + i] = static_cast<int8_t>(std::clamp(NearestInt(x[16 * g + i] / d), -32, 31) + 32);
    }
  }
  // Element e (6 bits): low nibble at ql[64 * (e / 128) + e % 64] >> 4 * ((e % 128) / 64), high two
  // bits at qh[32 * (e / 128) + e % 32] >> 2 * ((e % 128) / 32).
  std::fill(y.ql, y.ql + 128, 0);
  std::fill(y.qh, y.qh + 64, 0);
  for (int e = 0; e < kQKBlock; ++e) {
    const int q = L[e];
    y.ql[64 * (e / 128) + e % 64] |= static_cast<uint8_t>((q & 0xF) << (4 * ((e % 128) / 64)));
    y.qh[32 * (e / 128) + e % 32] |= static_cast<uint8_t>((q >> 4) << (2 * ((e % 128) / 32)));
  }
}

}  // namespace kvpress::quant_internal
