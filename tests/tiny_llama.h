// A tiny random-weight llama for press tests that drive the real Transformer: 2 layers, hidden 32,
// 4 query heads and 2 KV heads of head_dim 8 (H_kv·d = 16), MLP 64, vocabulary 64, f32 weights
// drawn from `seed` (the same seed gives the same weights).
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "model/model.h"
#include "ops/dtype.h"

namespace kvpress::testing_util {

// A [rows, cols] matrix of N(0, stddev²) draws (row-major), owned by `w`, stored as f32 or
// (dtype kF16) rounded to f16: the same draws either way.
inline MatrixView RandomMatrix(ModelWeights& w, int64_t rows, int64_t cols, float stddev,
                               std::mt19937_64& rng, DType dtype = DType::kF32) {
  std::normal_distribution<float> dist(0.0f, stddev);
  const size_t elem = dtype == DType::kF32 ? 4 : 2;
  auto buf = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(rows * cols) * elem);
  for (int64_t i = 0; i < rows * cols; ++i) {
    const float x = dist(rng);
    if (dtype == DType::kF32) {
      reinterpret_cast<float*>(buf->data())[i] = x;
    } else {
      reinterpret_cast<uint16_t*>(buf->data())[i] = F32ToF16(x);
    }
  }
  w.owned.push_back(buf);
  return MatrixView{dtype, rows, cols, buf->data(), static_cast<size_t>(cols) * elem};
}

// The model described above, named `architecture` in its config.
inline std::unique_ptr<Model> TinyLlama(const std::string& architecture, uint64_t seed) {
  ModelConfig c;
  c.family = ModelFamily::kLlama;
  c.architecture = architecture;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 8;
  c.vocab_size = 64;
  c.max_position = 4096;
  c.rms_norm_eps = 1e-5f;
  c.rope_theta = 10000.0f;
  c.bos_token_id = 1;
  auto m = std::make_unique<Model>();
  m->config = c;
  ModelWeights& w = m->weights;
  std::mt19937_64 rng(seed);
  w.embed = RandomMatrix(w, c.vocab_size, 32, 1.0f, rng);
  w.lm_head = RandomMatrix(w, c.vocab_size, 32, 0.1f, rng);
  w.final_norm.assign(32, 1.0f);
  for (int l = 0; l < c.n_layers; ++l) {
    LayerWeights L;
    L.attn_norm.assign(32, 1.0f);
    L.ffn_norm.assign(32, 1.0f);
    L.wq = RandomMatrix(w, 32, 32, 0.25f, rng);  // [H·d, hidden]
    L.wk = RandomMatrix(w, 16, 32, 0.25f, rng);  // [H_kv·d, hidden]
    L.wv = RandomMatrix(w, 16, 32, 0.3f, rng);   // [H_kv·d, hidden]
    L.wo = RandomMatrix(w, 32, 32, 0.2f, rng);   // [hidden, H·d]
    L.w_gate = RandomMatrix(w, 64, 32, 0.2f, rng);
    L.w_up = RandomMatrix(w, 64, 32, 0.2f, rng);
    L.w_down = RandomMatrix(w, 32, 64, 0.1f, rng);
    w.layers.push_back(std::move(L));
  }
  return m;
}

}  // namespace kvpress::testing_util
