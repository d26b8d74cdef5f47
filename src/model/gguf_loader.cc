// GGUF model files: hyper-parameters from metadata, tensors renamed to their HF names.
// GGUF `llama` stores q/k rows in Meta order (model-formats.md §3): instead of permuting the
// weights we run interleaved RoPE on them, which gives identical q·k scores and logits.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "model/architecture.h"
#include "model/gguf.h"
#include "model/model.h"

namespace kvpress {
namespace {

using nlohmann::json;

Status MetaUInt(const json& m, const std::string& key, int& out, const std::string& path, bool required) {
  if (!m.contains(key)) {
    if (required) return FailedPrecondition(fmt::format("{}: missing GGUF key '{}'", path, key));
    return Status::Ok();
  }
  if (!m[key].is_number_integer() || m[key].get<int64_t>() < 0 || m[key].get<int64_t>() > (1ll << 31) - 1) {
    return FailedPrecondition(fmt::format("{}: GGUF key '{}' must be a non-negative integer", path, key));
  }
  out = m[key].get<int>();
  return Status::Ok();
}

Status MetaFloat(const json& m, const std::string& key, float& out, const std::string& path, bool required) {
  if (!m.contains(key)) {
    if (required) return FailedPrecondition(fmt::format("{}: missing GGUF key '{}'", path, key));
    return Status::Ok();
  }
  if (!m[key].is_number()) return FailedPrecondition(fmt::format("{}: GGUF key '{}' must be a number", path, key));
  out = m[key].get<float>();
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<Model>> LoadGgufModel(const std::string& path) {
  ASSIGN_OR_RETURN(auto mapped, MappedFile::Open(path));
  ASSIGN_OR_RETURN(GgufFile g, ReadGguf(*mapped));
  const json& m = g.metadata;
  if (!m.contains("general.architecture") || !m["general.architecture"].is_string()) {
    return FailedPrecondition(path + ": missing GGUF key 'general.architecture'");
  }
  const std::string arch = m["general.architecture"].get<std::string>();
  auto model = std::make_unique<Model>();
  model->path = path;
  ModelConfig& c = model->config;
  c.format = SourceFormat::kGguf;
  c.architecture = arch;
  const Architecture* a = FindGgufArchitecture(arch);
  if (a == nullptr) {
    return Unimplemented(fmt::format("{}: unsupported GGUF architecture '{}' ({})", path, arch,
                                     SupportedArchitectureNames(/*hf=*/false)));
  }
  c.family = a->family;
  c.rope_style = a->gguf_interleaved_qk ? RopeStyle::kInterleaved : RopeStyle::kRotateHalf;
  if (g.tensors.empty()) return FailedPrecondition(path + ": GGUF file has no tensors (vocab-only?)");
  const std::string p = arch + ".";
  RETURN_IF_ERROR(MetaUInt(m, p + "embedding_length", c.hidden_size, path, true));
  RETURN_IF_ERROR(MetaUInt(m, p + "feed_forward_length", c.intermediate_size, path, true));
  RETURN_IF_ERROR(MetaUInt(m, p + "block_count", c.n_layers, path, true));
  RETURN_IF_ERROR(MetaUInt(m, p + "attention.head_count", c.n_heads, path, true));
  c.n_kv_heads = c.n_heads;
  RETURN_IF_ERROR(MetaUInt(m, p + "attention.head_count_kv", c.n_kv_heads, path, false));
  RETURN_IF_ERROR(MetaUInt(m, p + "context_length", c.max_position, path, false));
  RETURN_IF_ERROR(MetaFloat(m, p + "attention.layer_norm_rms_epsilon", c.rms_norm_eps, path, true));
  RETURN_IF_ERROR(MetaFloat(m, p + "rope.freq_base", c.rope_theta, path, false));
  RETURN_IF_ERROR(MetaUInt(m, p + "attention.sliding_window", c.sliding_window, path, false));
  if (c.n_heads > 0) c.head_dim = c.hidden_size / c.n_heads;
  RETURN_IF_ERROR(MetaUInt(m, p + "attention.key_length", c.head_dim, path, false));
  int rot = c.head_dim;
  RETURN_IF_ERROR(MetaUInt(m, p + "rope.dimension_count", rot, path, false));
  if (rot != c.head_dim) {
    return Unimplemented(fmt::format("{}: partial rotary embedding ({} of {} dims) is not supported",
                                     path, rot, c.head_dim));
  }
  if (m.contains(p + "rope.scaling.type") && m[p + "rope.scaling.type"].is_string()) {
    const std::string st = m[p + "rope.scaling.type"].get<std::string>();
    if (st != "none") {
      return Unimplemented(fmt::format("{}: GGUF rope scaling '{}' is not supported", path, st));
    }
  }
  auto embd = g.tensors.find(kEmbeddingTensor.gguf);
  if (embd == g.tensors.end()) {
    return NotFound(fmt::format("{}: missing tensor '{}'", path, kEmbeddingTensor.gguf));
  }
  if (embd->second.shape.size() != 2) {
    return FailedPrecondition(fmt::format("{}: {} is not 2-D", path, kEmbeddingTensor.gguf));
  }
  c.vocab_size = static_cast<int>(embd->second.shape[0]);
  c.tied_embeddings = g.tensors.count(kLmHeadTensor.gguf) == 0;
  c.qkv_bias = g.tensors.count("blk.0.attn_q.bias") != 0;
  c.qk_norm = g.tensors.count("blk.0.attn_q_norm.weight") != 0;
  int id = -1;
  RETURN_IF_ERROR(MetaUInt(m, "tokenizer.ggml.bos_token_id", id, path, false));
  c.bos_token_id = id;
  for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
                          "tokenizer.ggml.eom_token_id"}) {
    int e = -1;
    RETURN_IF_ERROR(MetaUInt(m, key, e, path, false));
    if (e >= 0 && std::find(c.eos_token_ids.begin(), c.eos_token_ids.end(), e) == c.eos_token_ids.end()) {
      c.eos_token_ids.push_back(e);
    }
  }
  RETURN_IF_ERROR(ValidateConfig(c, path));
  auto freqs = g.tensors.find("rope_freqs.weight");
  if (freqs != g.tensors.end()) {
    const TensorInfo& t = freqs->second;
    if (t.dtype != DType::kF32 || t.shape != std::vector<int64_t>{c.head_dim / 2}) {
      return FailedPrecondition(fmt::format("{}: rope_freqs.weight must be F32 [{}]", path, c.head_dim / 2));
    }
    c.rope_freq_divisors.resize(static_cast<size_t>(c.head_dim / 2));
    std::memcpy(c.rope_freq_divisors.data(), t.data, c.rope_freq_divisors.size() * 4);
  }
  TensorSet canonical;
  for (auto& [name, info] : g.tensors) {
    const std::string hf = HfTensorName(name);
    if (!hf.empty()) canonical.emplace(hf, info);
  }
  RETURN_IF_ERROR(AssembleWeights(c, canonical, path, model->weights));
  model->weights.files.push_back(std::move(mapped));
  model->gguf_metadata = std::move(g.metadata);
  return model;
}

}  // namespace kvpress
