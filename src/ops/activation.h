// Element-wise activations.
#pragma once

#include <cstddef>

namespace kvpress {

// gate[i] = silu(gate[i]) * up[i] for i < n (SwiGLU).
void SiluMul(float* gate, const float* up, size_t n);

// In-place numerically stable softmax over x[0..n).
void Softmax(float* x, size_t n);

}  // namespace kvpress
