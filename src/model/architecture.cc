#include "model/architecture.h"

#include <fmt/format.h>

#include <algorithm>
#include <regex>

#include "core/check.h"

namespace kvpress {

const std::vector<Architecture>& Architectures() {
  using SW = SlidingWindowKey;
  static const std::vector<Architecture> kTable = {
      // family, name, hf_class, hf_model_type, gguf_name, gguf_interleaved_qk, qkv_bias, qk_norm,
      // sliding_window
      {ModelFamily::kLlama, "llama", "LlamaForCausalLM", "llama", "llama", true, false, false,
       SW::kIgnored},
      {ModelFamily::kMistral, "mistral", "MistralForCausalLM", "mistral", "llama", true, false,
       false, SW::kRead},
      {ModelFamily::kQwen2, "qwen2", "Qwen2ForCausalLM", "qwen2", "qwen2", false, true, false,
       SW::kRejectIfSet},
      {ModelFamily::kQwen3, "qwen3", "Qwen3ForCausalLM", "qwen3", "qwen3", false, false, true,
       SW::kRejectIfSet},
  };
  return kTable;
}

const Architecture& ArchitectureOf(ModelFamily family) {
  for (const Architecture& a : Architectures()) {
    if (a.family == family) return a;
  }
  CHECK(false) << "ModelFamily " << static_cast<int>(family) << " has no architecture entry";
  return Architectures().front();
}

const Architecture* FindHfArchitecture(const std::string& hf_class) {
  for (const Architecture& a : Architectures()) {
    if (hf_class == a.hf_class) return &a;
  }
  return nullptr;
}

const Architecture* FindGgufArchitecture(const std::string& gguf_name) {
  for (const Architecture& a : Architectures()) {
    if (gguf_name == a.gguf_name) return &a;
  }
  return nullptr;
}

std::string SupportedArchitectureNames(bool hf) {
  std::vector<std::string> names;
  for (const Architecture& a : Architectures()) {
    const char* n = hf ? a.hf_class : a.gguf_name;
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  }
  return fmt::format("{}", fmt::join(names, ", "));
}

const std::vector<LayerTensor>& LayerTensors() {
  using W = LayerTensor::When;
  using Qk = LayerTensor::QkHeads;
  using LW = LayerWeights;
  static const std::vector<LayerTensor> kTable = {
      {"input_layernorm.weight", "attn_norm.weight", nullptr, &LW::attn_norm},
      {"self_attn.q_proj.weight", "attn_q.weight", &LW::wq, nullptr, W::kAlways, Qk::kQuery},
      {"self_attn.k_proj.weight", "attn_k.weight", &LW::wk, nullptr, W::kAlways, Qk::kKeyValue},
      {"self_attn.v_proj.weight", "attn_v.weight", &LW::wv, nullptr},
      {"self_attn.o_proj.weight", "attn_output.weight", &LW::wo, nullptr},
      {"self_attn.q_proj.bias", "attn_q.bias", nullptr, &LW::bq, W::kQkvBias, Qk::kQuery},
      {"self_attn.k_proj.bias", "attn_k.bias", nullptr, &LW::bk, W::kQkvBias, Qk::kKeyValue},
      {"self_attn.v_proj.bias", "attn_v.bias", nullptr, &LW::bv, W::kQkvBias},
      {"self_attn.q_norm.weight", "attn_q_norm.weight", nullptr, &LW::q_norm, W::kQkNorm},
      {"self_attn.k_norm.weight", "attn_k_norm.weight", nullptr, &LW::k_norm, W::kQkNorm},
      {"post_attention_layernorm.weight", "ffn_norm.weight", nullptr, &LW::ffn_norm},
      {"mlp.gate_proj.weight", "ffn_gate.weight", &LW::w_gate, nullptr},
      {"mlp.up_proj.weight", "ffn_up.weight", &LW::w_up, nullptr},
      {"mlp.down_proj.weight", "ffn_down.weight", &LW::w_down, nullptr},
  };
  return kTable;
}

bool CarriesTensor(const ModelConfig& c, const LayerTensor& t) {
  switch (t.when) {
    case LayerTensor::When::kAlways:
      return true;
    case LayerTensor::When::kQkvBias:
      return c.qkv_bias;
    case LayerTensor::When::kQkNorm:
      return c.qk_norm;
  }
  return false;
}

std::string HfTensorName(const std::string& gguf_name) {
  for (const GlobalTensorNames& t : {kEmbeddingTensor, kFinalNormTensor, kLmHeadTensor}) {
    if (gguf_name == t.gguf) return t.hf;
  }
  static const std::regex kBlock(R"(blk\.(\d+)\.(.+))");
  std::smatch m;
  if (!std::regex_match(gguf_name, m, kBlock)) return "";
  for (const LayerTensor& t : LayerTensors()) {
    if (m[2] == t.gguf) return fmt::format("model.layers.{}.{}", m[1].str(), t.hf);
  }
  return "";
}

}  // namespace kvpress
