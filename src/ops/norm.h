// RMSNorm: y_i = w_i · x_i / sqrt(mean_j x_j² + eps).
#pragma once

#include <cstddef>

namespace kvpress {

// Normalises each of `n` rows of length `dim` in x into y (x may equal y). w: [dim] f32.
void RmsNorm(const float* x, const float* w, float* y, int n, size_t dim, float eps);

}  // namespace kvpress
