#include "model/random_model.h"

#include <fmt/format.h>
#include <omp.h>

#include <random>

#include "model/writers.h"

namespace kvpress {

StatusOr<ModelConfig> RandomModelPreset(const std::string& name) {
  ModelConfig c;
  c.family = ModelFamily::kLlama;
  c.architecture = "random-llama-" + name;
  c.rope_style = RopeStyle::kRotateHalf;
  c.max_position = 32768;
  c.bos_token_id = 1;
  c.vocab_size = 32000;
  c.n_heads = 16;
  c.n_kv_heads = 8;
  if (name == "tiny") {
    c.hidden_size = 128, c.n_layers = 4, c.intermediate_size = 352, c.n_heads = 4, c.n_kv_heads = 2, c.vocab_size = 2048;
  } else if (name == "0.35b") {
    c.hidden_size = 1024, c.n_layers = 24, c.intermediate_size = 2816;
  } else if (name == "0.5b") {
    c.hidden_size = 1024, c.n_layers = 28, c.intermediate_size = 4096;
  } else {
    return InvalidArgument(fmt::format("unknown random model preset '{}' (tiny, 0.35b, 0.5b)", name));
  }
  c.head_dim = c.hidden_size / c.n_heads;
  return c;
}

namespace {

// Fills `rows` x `cols` of `dtype` with N(0, std) values, rows generated in parallel with
// per-row seeds so the result does not depend on the thread count.
MatrixView RandomMatrix(ModelWeights& w, int64_t rows, int64_t cols, DType dtype, float stddev, uint64_t seed) {
  const size_t row_bytes = RowBytes(dtype, static_cast<size_t>(cols));
  auto buf = std::make_shared<std::vector<uint8_t>>(row_bytes * static_cast<size_t>(rows));
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    std::mt19937_64 rng(seed * 1000003ull + static_cast<uint64_t>(r));
    std::normal_distribution<float> dist(0.0f, stddev);
    std::vector<float> x(static_cast<size_t>(cols));
    for (float& v : x) v = dist(rng);
    const std::vector<uint8_t> enc = EncodeF32(x.data(), x.size(), dtype);
    std::copy(enc.begin(), enc.end(), buf->begin() + static_cast<std::ptrdiff_t>(row_bytes * static_cast<size_t>(r)));
  }
  w.owned.push_back(buf);
  return MatrixView{dtype, rows, cols, buf->data(), row_bytes};
}

}  // namespace

std::unique_ptr<Model> MakeRandomModel(const ModelConfig& c, DType dtype, uint64_t seed) {
  auto m = std::make_unique<Model>();
  m->config = c;
  m->path = c.architecture;
  ModelWeights& w = m->weights;
  const int64_t d = c.hidden_size, f = c.intermediate_size, hd = c.head_dim;
  uint64_t s = seed;
  w.embed = RandomMatrix(w, c.vocab_size, d, dtype, 1.0f, ++s);
  w.lm_head = c.tied_embeddings ? w.embed : RandomMatrix(w, c.vocab_size, d, dtype, 0.02f, ++s);
  w.final_norm.assign(static_cast<size_t>(d), 1.0f);
  for (int l = 0; l < c.n_layers; ++l) {
    LayerWeights L;
    L.attn_norm.assign(static_cast<size_t>(d), 1.0f);
    L.ffn_norm.assign(static_cast<size_t>(d), 1.0f);
    L.wq = RandomMatrix(w, c.n_heads * hd, d, dtype, 0.02f, ++s);
    L.wk = RandomMatrix(w, c.n_kv_heads * hd, d, dtype, 0.02f, ++s);
    L.wv = RandomMatrix(w, c.n_kv_heads * hd, d, dtype, 0.02f, ++s);
    L.wo = RandomMatrix(w, d, c.n_heads * hd, dtype, 0.02f, ++s);
    L.w_gate = RandomMatrix(w, f, d, dtype, 0.02f, ++s);
    L.w_up = RandomMatrix(w, f, d, dtype, 0.02f, ++s);
    L.w_down = RandomMatrix(w, d, f, dtype, 0.02f, ++s);
    w.layers.push_back(std::move(L));
  }
  return m;
}

}  // namespace kvpress
