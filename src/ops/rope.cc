#include "ops/rope.h"

#include <cmath>

namespace kvpress {

std::vector<float> RopeInverseFrequencies(float theta, int rot_dim) {
  std::vector<float> inv(static_cast<size_t>(rot_dim / 2));
  for (int i = 0; i < rot_dim / 2; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(rot_dim);
    inv[static_cast<size_t>(i)] = 1.0f / std::pow(theta, exponent);
  }
  return inv;
}

void ApplyLlama3Scaling(const Llama3RopeScaling& s, std::vector<float>& inv_freq) {
  const double kPi = 3.14159265358979323846;
  const double low_wl = s.original_max_position / s.low_freq_factor;
  const double high_wl = s.original_max_position / s.high_freq_factor;
  for (float& inv : inv_freq) {
    const double wl = 2.0 * kPi / inv;
    if (wl < high_wl) continue;
    if (wl > low_wl) {
      inv = static_cast<float>(inv / s.factor);
      continue;
    }
    const double smooth = (s.original_max_position / wl - s.low_freq_factor) /
                          (s.high_freq_factor - s.low_freq_factor);
    inv = static_cast<float>((1.0 - smooth) * inv / s.factor + smooth * inv);
  }
}

void ApplyRope(float* x, int n_heads, int head_dim, int pos, const float* inv_freq,
               RopeStyle style) {
  const int half = head_dim / 2;
  for (int i = 0; i < half; ++i) {
    const float angle = static_cast<float>(pos) * inv_freq[i];
    const float c = std::cos(angle);
    const float s = std::sin(angle);
    for (int h = 0; h < n_heads; ++h) {
      float* v = x + static_cast<size_t>(h) * head_dim;
      const int a = style == RopeStyle::kRotateHalf ? i : 2 * i;
      const int b = style == RopeStyle::kRotateHalf ? i + half : 2 * i + 1;
      const float x0 = v[a];
      const float x1 = v[b];
      v[a] = x0 * c - x1 * s;
      v[b] = x1 * c + x0 * s;
    }
  }
}

}  // namespace kvpress
