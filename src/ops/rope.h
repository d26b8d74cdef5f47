// Rotary position embeddings in the two conventions (see shared/docs/model-formats.md §3).
#pragma once

#include <cstddef>
#include <vector>

namespace kvpress {

enum class RopeStyle {
  kRotateHalf,   // HF / GPT-NeoX: pairs (i, i + hd/2)
  kInterleaved,  // Meta / llama2.c / GGUF llama: pairs (2i, 2i+1)
};

// llama3-style frequency adjustment (Llama-3.1 `rope_scaling.rope_type = llama3`).
struct Llama3RopeScaling {
  float factor = 8.0f;
  float low_freq_factor = 1.0f;
  float high_freq_factor = 4.0f;
  float original_max_position = 8192.0f;
};

// inv_i = theta^(-2i/rot_dim) for i < rot_dim/2, as HF computes it in f32.
std::vector<float> RopeInverseFrequencies(float theta, int rot_dim);

// Applies the llama3 adjustment to inverse frequencies in place.
void ApplyLlama3Scaling(const Llama3RopeScaling& s, std::vector<float>& inv_freq);

// Rotates `n_heads` head vectors x [n_heads, head_dim] for absolute position `pos`.
// inv_freq: [head_dim/2]. All head dims are rotated.
void ApplyRope(float* x, int n_heads, int head_dim, int pos, const float* inv_freq, RopeStyle style);

}  // namespace kvpress
