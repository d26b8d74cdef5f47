// GGUF model files: hyper-parameters from metadata, tensors renamed to their HF names.
// GGUF `llama` stores q/k rows in Meta order (model-formats.md §3): instead of permuting the
// weights we run interleaved RoPE on them, which gives identical q·k scores and logits.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <regex>

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

// GGUF tensor name -> HF name ("" when it has no HF counterpart).
std::string CanonicalName(const std::string& g) {
  static const std::pair<const char*, const char*> kGlobal[] = {
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"},
  };
  for (const auto& [from, to] : kGlobal) {
    if (g == from) return to;
  }
  static const std::regex kBlock(R"(blk\.(\d+)\.(.+))");
  std::smatch m;
  if (!std::regex_match(g, m, kBlock)) return "";
  static const std::pair<const char*, const char*> kLayer[] = {
      {"attn_norm.weight", "input_layernorm.weight"},
      {"attn_q.weight", "self_attn.q_proj.weight"},
      {"attn_k.weight", "self_attn.k_proj.weight"},
      {"attn_v.weight", "self_attn.v_proj.weight"},
      {"attn_output.weight", "self_attn.o_proj.weight"},
      {"attn_q.bias", "self_attn.q_proj.bias"},
      {"attn_k.bias", "self_attn.k_proj.bias"},
      {"attn_v.bias", "self_attn.v_proj.bias"},
      {"attn_q_norm.weight", "self_attn.q_norm.weight"},
      {"attn_k_norm.weight", "self_attn.k_norm.weight"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"},
      {"ffn_gate.weight", "mlp.gate_proj.weight"},
      {"ffn_up.weight", "mlp.up_proj.weight"},
      {"ffn_down.weight", "mlp.down_proj.weight"},
  };
  for (const auto& [from, to] : kLayer) {
    if (m[2] == from) return fmt::format("model.layers.{}.{}", m[1].str(), to);
  }
  return "";
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
  if (arch == "llama") {
    c.family = ModelFamily::kLlama;
    c.rope_style = RopeStyle::kInterleaved;
  } else if (arch == "qwen2") {
    c.family = ModelFamily::kQwen2;
    c.rope_style = RopeStyle::kRotateHalf;
  } else if (arch == "qwen3") {
    c.family = ModelFamily::kQwen3;
    c.rope_style = RopeStyle::kRotateHalf;
  } else {
    return Unimplemented(fmt::format("{}: unsupported GGUF architecture '{}' (llama, qwen2, qwen3)", path, arch));
  }
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
  auto embd = g.tensors.find("token_embd.weight");
  if (embd == g.tensors.end()) return NotFound(path + ": missing tensor 'token_embd.weight'");
  if (embd->second.shape.size() != 2) return FailedPrecondition(path + ": token_embd.weight is not 2-D");
  c.vocab_size = static_cast<int>(embd->second.shape[0]);
  c.tied_embeddings = g.tensors.count("output.weight") == 0;
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
    const std::string hf = CanonicalName(name);
    if (!hf.empty()) canonical.emplace(hf, info);
  }
  RETURN_IF_ERROR(AssembleWeights(c, canonical, path, model->weights));
  model->weights.files.push_back(std::move(mapped));
  model->gguf_metadata = std::move(g.metadata);
  return model;
}

}  // namespace kvpress
