// Hyper-parameters of a decoder-only transformer of the llama/mistral/qwen2/qwen3 families,
// independent of the file format it was read from.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ops/rope.h"

namespace kvpress {

enum class ModelFamily { kLlama, kMistral, kQwen2, kQwen3 };
enum class SourceFormat { kHuggingFace, kGguf, kLlama2c };

const char* FamilyName(ModelFamily f);
const char* FormatName(SourceFormat f);

struct ModelConfig {
  ModelFamily family = ModelFamily::kLlama;
  SourceFormat format = SourceFormat::kHuggingFace;
  std::string architecture;  // as named in the file, e.g. "LlamaForCausalLM" or "llama"

  int hidden_size = 0;         // d
  int intermediate_size = 0;   // F
  int n_layers = 0;            // L
  int n_heads = 0;             // H
  int n_kv_heads = 0;          // KV
  int head_dim = 0;            // hd (may differ from d/H, e.g. Qwen3)
  int vocab_size = 0;          // V (rows of the embedding)
  int max_position = 0;        // context length the model was trained for
  float rms_norm_eps = 1e-5f;

  float rope_theta = 10000.0f;
  RopeStyle rope_style = RopeStyle::kRotateHalf;
  std::optional<Llama3RopeScaling> llama3_scaling;
  // [hd/2] GGUF `rope_freqs.weight` divisors (llama3 scaling stored as a tensor), if present.
  std::vector<float> rope_freq_divisors;

  bool qkv_bias = false;      // Qwen2
  bool qk_norm = false;       // Qwen3
  bool tied_embeddings = false;
  int sliding_window = 0;     // 0 = none (Mistral v0.1 uses 4096)

  int bos_token_id = -1;
  std::vector<int> eos_token_ids;
  // llama2.c's run.c stops when BOS is generated (TinyStories separates stories with it).
  bool stop_on_bos = false;

  // Inverse RoPE frequencies [hd/2] including any scaling.
  std::vector<float> RopeInvFreq() const;
  // K/V bytes one token takes in an f32 cache over all layers.
  int64_t KvBytesPerToken(int elem_bytes = 4) const {
    return static_cast<int64_t>(n_layers) * n_kv_heads * head_dim * 2 * elem_bytes;
  }
};

}  // namespace kvpress
