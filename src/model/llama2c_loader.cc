// llama2.c legacy (v0) checkpoints: 7 × i32 header, then f32 arrays (model-formats.md §5).
// Matrices are used in place from the mapping under their HF names; RoPE is interleaved.
#include <fmt/format.h>

#include <cstring>

#include "model/model.h"

namespace kvpress {

StatusOr<std::unique_ptr<Model>> LoadLlama2cModel(const std::string& path) {
  ASSIGN_OR_RETURN(auto mapped, MappedFile::Open(path));
  if (mapped->size() < 28) return DataLoss(path + ": truncated llama2.c checkpoint (header needs 28 bytes)");
  int32_t h[7];
  std::memcpy(h, mapped->data(), sizeof(h));
  auto model = std::make_unique<Model>();
  model->path = path;
  ModelConfig& c = model->config;
  c.format = SourceFormat::kLlama2c;
  c.family = ModelFamily::kLlama;
  c.architecture = "llama2.c";
  c.rope_style = RopeStyle::kInterleaved;
  c.rms_norm_eps = 1e-5f;
  c.rope_theta = 10000.0f;
  c.hidden_size = h[0];
  c.intermediate_size = h[1];
  c.n_layers = h[2];
  c.n_heads = h[3];
  c.n_kv_heads = h[4];
  const bool shared_classifier = h[5] > 0;
  c.vocab_size = h[5] > 0 ? h[5] : (h[5] == INT32_MIN ? 0 : -h[5]);
  c.max_position = h[6];
  c.tied_embeddings = shared_classifier;
  c.bos_token_id = 1;
  c.stop_on_bos = true;
  if (c.n_heads > 0 && c.hidden_size % c.n_heads != 0) {
    return FailedPrecondition(fmt::format("{}: dim {} is not divisible by n_heads {}", path, c.hidden_size, c.n_heads));
  }
  if (c.n_heads > 0) c.head_dim = c.hidden_size / c.n_heads;
  if (c.max_position <= 0) return FailedPrecondition(fmt::format("{}: seq_len {} must be positive", path, c.max_position));
  RETURN_IF_ERROR(ValidateConfig(c, path));

  const uint64_t d = static_cast<uint64_t>(c.hidden_size), f = static_cast<uint64_t>(c.intermediate_size);
  const uint64_t L = static_cast<uint64_t>(c.n_layers), V = static_cast<uint64_t>(c.vocab_size);
  const uint64_t kv = static_cast<uint64_t>(c.n_kv_heads) * static_cast<uint64_t>(c.head_dim);
  const uint64_t hs = static_cast<uint64_t>(c.head_dim);
  const uint64_t floats = V * d + L * d + L * d * d + 2 * L * kv * d + L * d * d + L * d + 3 * L * f * d +
                          d + static_cast<uint64_t>(c.max_position) * hs +
                          (shared_classifier ? 0 : V * d);
  const uint64_t expected = 28 + floats * 4;
  if (mapped->size() != expected) {
    return DataLoss(fmt::format("{}: file has {} bytes but the header (dim {}, hidden {}, layers {}, "
                                "heads {}, kv heads {}, vocab {}, seq_len {}) implies {}{}",
                                path, mapped->size(), h[0], h[1], h[2], h[3], h[4], h[5], h[6], expected,
                                mapped->size() < expected ? " (truncated)" : ""));
  }
  TensorSet t;
  const uint8_t* cursor = mapped->data() + 28;
  auto take = [&](const std::string& name, std::vector<int64_t> shape, uint64_t count) {
    TensorInfo info;
    info.name = name;
    info.dtype = DType::kF32;
    info.shape = std::move(shape);
    info.data = cursor;
    info.nbytes = count * 4;
    info.file = path;
    t.emplace(name, std::move(info));
    cursor += count * 4;
  };
  // Per-layer arrays are stored layer-major: [L, rows, cols].
  auto take_layers = [&](const char* suffix, int64_t rows, int64_t cols) {
    for (uint64_t l = 0; l < L; ++l) {
      std::vector<int64_t> shape = cols > 0 ? std::vector<int64_t>{rows, cols} : std::vector<int64_t>{rows};
      take(fmt::format("model.layers.{}.{}", l, suffix), shape,
           static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols > 0 ? cols : 1));
    }
  };
  const int64_t D = c.hidden_size, F = c.intermediate_size, KVD = static_cast<int64_t>(kv);
  take("model.embed_tokens.weight", {c.vocab_size, D}, V * d);
  take_layers("input_layernorm.weight", D, 0);
  take_layers("self_attn.q_proj.weight", D, D);
  take_layers("self_attn.k_proj.weight", KVD, D);
  take_layers("self_attn.v_proj.weight", KVD, D);
  take_layers("self_attn.o_proj.weight", D, D);
  take_layers("post_attention_layernorm.weight", D, 0);
  take_layers("mlp.gate_proj.weight", F, D);   // w1
  take_layers("mlp.down_proj.weight", D, F);   // w2
  take_layers("mlp.up_proj.weight", F, D);     // w3
  take("model.norm.weight", {D}, d);
  cursor += static_cast<uint64_t>(c.max_position) * hs * 4;  // freq_cis_real/imag: unused
  if (!shared_classifier) take("lm_head.weight", {c.vocab_size, D}, V * d);
  RETURN_IF_ERROR(AssembleWeights(c, t, path, model->weights));
  model->weights.files.push_back(std::move(mapped));
  return model;
}

}  // namespace kvpress
