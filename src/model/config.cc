#include "model/config.h"

#include "model/architecture.h"

namespace kvpress {

const char* FamilyName(ModelFamily f) { return ArchitectureOf(f).name; }

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
