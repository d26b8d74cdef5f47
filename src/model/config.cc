#include "model/config.h"

namespace kvpress {

const char* FamilyName(ModelFamily f) {
  switch (f) {
    case ModelFamily::kLlama: return "llama";
    case ModelFamily::kMistral: return "mistral";
    case ModelFamily::kQwen2: return "qwen2";
    case ModelFamily::kQwen3: return "qwen3";
  }
  return "?";
}

const char* FormatName(SourceFormat f) {
  switch (f) {
    case SourceFormat::kHuggingFace: return "huggingface";
    case SourceFormat::kGguf: return "gguf";
    case SourceFormat::kLlama2c: return "llama2c";
  }
  return "?";
}

std::vector<float> ModelConfig::RopeInvFreq() const {
  std::vector<float> inv = RopeInverseFrequencies(rope_theta, head_dim);
  if (llama3_scaling) ApplyLlama3Scaling(*llama3_scaling, inv);
  if (!rope_freq_divisors.empty()) {
    for (size_t i = 0; i < inv.size() && i < rope_freq_divisors.size(); ++i) {
      inv[i] /= rope_freq_divisors[i];
    }
  }
  return inv;
}

}  // namespace kvpress
