// One table of the architectures kvpress runs (like llama.cpp's LLM_ARCH tables): what each is
// called in a Hugging Face config.json and in a GGUF file, the flags that set its layer shape,
// and one table of the tensors every layer holds under both naming schemes. The HF and GGUF
// loaders, ModelConfig's family names and the HF/GGUF exports all read these tables; adding an
// architecture is one row here (plus its forward-pass differences, if any, in transformer.cc).
#pragma once

#include <string>
#include <vector>

#include "model/config.h"
#include "model/weights.h"

namespace kvpress {

// How a family treats the sliding-window keys of config.json.
enum class SlidingWindowKey {
  kIgnored,      // no such key (llama)
  kRead,         // `sliding_window` is read into ModelConfig::sliding_window (mistral)
  kRejectIfSet,  // `use_sliding_window=true` is Unimplemented (qwen2/qwen3 released models set
                 // false)
};

struct Architecture {
  ModelFamily family;
  const char* name;           // ours, as FamilyName prints it: "llama"
  const char* hf_class;       // config.json `architectures[0]`: "LlamaForCausalLM"
  const char* hf_model_type;  // config.json `model_type`: "llama"
  // GGUF `general.architecture` written on export and accepted on load. Mistral has no GGUF
  // architecture of its own: it is written as `llama` and reads back as the llama family.
  const char* gguf_name;
  // Whether a GGUF file of this architecture stores q/k rows in Meta (interleaved RoPE) order
  // (model-formats.md §3); HF files always use rotate-half order.
  bool gguf_interleaved_qk;
  bool qkv_bias;  // q/k/v projections always carry a bias (Qwen2); HF `attention_bias` adds it too
  bool qk_norm;   // RMS norm over each head of q and k before RoPE (Qwen3)
  SlidingWindowKey sliding_window;
};

// Every supported architecture, one entry per ModelFamily, llama first.
const std::vector<Architecture>& Architectures();

// The entry of `family` (every family has one).
const Architecture& ArchitectureOf(ModelFamily family);
// The entry whose hf_class is `hf_class`, or nullptr.
const Architecture* FindHfArchitecture(const std::string& hf_class);
// The family a GGUF file of architecture `gguf_name` loads as (the first entry with that
// gguf_name, so `llama` loads as llama, never mistral), or nullptr.
const Architecture* FindGgufArchitecture(const std::string& gguf_name);
// "A, B, C": the HF class names (hf=true) or the distinct GGUF names, for error messages.
std::string SupportedArchitectureNames(bool hf);

// One per-layer tensor under both naming schemes, in the order the exports write them.
struct LayerTensor {
  enum class When { kAlways, kQkvBias, kQkNorm };  // which configs carry the tensor
  // Whether the rows are a q or k projection (permuted between RoPE layouts) and whose heads.
  enum class QkHeads { kNone, kQuery, kKeyValue };
  const char* hf;    // Hugging Face name after "model.layers.<l>."
  const char* gguf;  // GGUF name after "blk.<l>."
  // Exactly one of these is set: a matrix (stored in the export dtype) or a 1-D tensor.
  MatrixView LayerWeights::*matrix;
  std::vector<float> LayerWeights::*vec;
  When when = When::kAlways;
  QkHeads qk = QkHeads::kNone;
};

// The tensors of one layer (all families; LayerTensor::when says which configs carry each).
const std::vector<LayerTensor>& LayerTensors();

// Whether a model of config `c` carries tensor `t`.
bool CarriesTensor(const ModelConfig& c, const LayerTensor& t);

// The model-wide tensors under both naming schemes.
struct GlobalTensorNames {
  const char* hf;
  const char* gguf;
};
inline constexpr GlobalTensorNames kEmbeddingTensor = {"model.embed_tokens.weight",
                                                       "token_embd.weight"};
inline constexpr GlobalTensorNames kFinalNormTensor = {"model.norm.weight", "output_norm.weight"};
inline constexpr GlobalTensorNames kLmHeadTensor = {"lm_head.weight", "output.weight"};

// GGUF tensor name -> HF name ("" when it has no HF counterpart, e.g. rope_freqs.weight).
std::string HfTensorName(const std::string& gguf_name);

}  // namespace kvpress
