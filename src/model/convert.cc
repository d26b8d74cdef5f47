#include "model/convert.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cmath>

#include "core/file_util.h"
#include "model/architecture.h"
#include "model/gguf_dtype.h"
#include "model/writers.h"

namespace kvpress {
namespace {

std::vector<float> Dequantize(const MatrixView& m) {
  std::vector<float> out(static_cast<size_t>(m.rows * m.cols));
  for (int64_t r = 0; r < m.rows; ++r) {
    DequantizeRow(m.dtype, m.Row(r), out.data() + r * m.cols, static_cast<size_t>(m.cols));
  }
  return out;
}

// A matrix in a quantized type whose rows are not whole blocks falls back (GgufMatrixDType; only
// GGUF exports take quantized types).
TensorToWrite Encode(const std::string& name, const std::vector<float>& values,
                     std::vector<int64_t> shape, DType dtype) {
  if (shape.size() == 2) dtype = GgufMatrixDType(name, dtype, shape[1]);
  return TensorToWrite{name, dtype, std::move(shape), EncodeF32(values.data(), values.size(), dtype)};
}

// How q/k rows of `model` must be reordered for a target that wants HF order (want_hf) or Meta.
enum class Perm { kNone, kToHf, kToMeta };
Perm QkPermutation(const Model& model, bool want_hf) {
  const bool have_hf = model.config.rope_style == RopeStyle::kRotateHalf;
  if (have_hf == want_hf) return Perm::kNone;
  return want_hf ? Perm::kToHf : Perm::kToMeta;
}

std::vector<float> MaybePermute(std::vector<float> w, Perm p, int heads, int hd, int64_t cols) {
  if (p == Perm::kNone) return w;
  return PermuteQkRows(w, heads, hd, cols, p == Perm::kToHf);
}

Status CheckDtype(DType dtype, bool allow_q8, const std::string& where) {
  if (IsQuantized(dtype) && !allow_q8) {
    return InvalidArgument(where + ": " + DTypeName(dtype) + " is a GGUF-only type");
  }
  return Status::Ok();
}

using W = LayerTensor::When;
using Qk = LayerTensor::QkHeads;

// Appends the tensors of every layer to `out` under HF (hf) or GGUF names: matrices in `dtype`,
// 1-D tensors in `vec_dtype`, q/k rows permuted by `perm`. Unimplemented ("<where>: …") for q/k
// norm weights with a layout change, which a row permutation cannot carry.
Status AppendLayerTensors(const Model& model, bool hf, Perm perm, DType dtype, DType vec_dtype,
                          const std::string& where, std::vector<TensorToWrite>& out) {
  const ModelConfig& c = model.config;
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& L = model.weights.layers[static_cast<size_t>(l)];
    const std::string prefix = hf ? fmt::format("model.layers.{}.", l) : fmt::format("blk.{}.", l);
    for (const LayerTensor& t : LayerTensors()) {
      if (!CarriesTensor(c, t)) continue;
      if (t.when == W::kQkNorm && perm != Perm::kNone) {
        return Unimplemented(where + ": q/k norm weights with a RoPE layout change");
      }
      const std::string name = prefix + (hf ? t.hf : t.gguf);
      const Perm p = t.qk == Qk::kNone ? Perm::kNone : perm;
      const int heads = t.qk == Qk::kQuery ? c.n_heads : c.n_kv_heads;
      if (t.matrix != nullptr) {
        const MatrixView& m = L.*t.matrix;
        out.push_back(Encode(name, MaybePermute(Dequantize(m), p, heads, c.head_dim, c.hidden_size),
                             {m.rows, m.cols}, dtype));
      } else {
        const std::vector<float>& v = L.*t.vec;
        out.push_back(Encode(name, MaybePermute(v, p, heads, c.head_dim, 1),
                             {static_cast<int64_t>(v.size())}, vec_dtype));
      }
    }
  }
  return Status::Ok();
}

}  // namespace

std::vector<float> PermuteQkRows(const std::vector<float>& w, int n_heads, int head_dim, int64_t cols,
                                 bool to_hf) {
  std::vector<float> out(w.size());
  const int half = head_dim / 2;
  for (int h = 0; h < n_heads; ++h) {
    for (int j = 0; j < half; ++j) {
      for (int t = 0; t < 2; ++t) {
        const int64_t meta = static_cast<int64_t>(h) * head_dim + 2 * j + t;
        const int64_t hf = static_cast<int64_t>(h) * head_dim + t * half + j;
        const int64_t src = to_hf ? meta : hf, dst = to_hf ? hf : meta;
        std::copy(w.begin() + src * cols, w.begin() + (src + 1) * cols, out.begin() + dst * cols);
      }
    }
  }
  return out;
}

Status ExportHuggingFace(const Model& model, const std::string& dir, DType dtype) {
  RETURN_IF_ERROR(CheckDtype(dtype, false, dir));
  const ModelConfig& c = model.config;
  if (!c.rope_freq_divisors.empty()) {
    return Unimplemented(dir + ": rope_freqs divisors cannot be expressed in config.json");
  }
  ::mkdir(dir.c_str(), 0755);
  if (!IsDirectory(dir)) return NotFound(dir + ": cannot create directory");
  const Architecture& arch = ArchitectureOf(c.family);
  nlohmann::json cfg = {
      {"architectures", {arch.hf_class}},
      {"model_type", arch.hf_model_type},
      {"hidden_size", c.hidden_size},
      {"intermediate_size", c.intermediate_size},
      {"num_hidden_layers", c.n_layers},
      {"num_attention_heads", c.n_heads},
      {"num_key_value_heads", c.n_kv_heads},
      {"head_dim", c.head_dim},
      {"vocab_size", c.vocab_size},
      {"max_position_embeddings", c.max_position},
      {"rms_norm_eps", c.rms_norm_eps},
      {"rope_theta", c.rope_theta},
      {"hidden_act", "silu"},
      {"tie_word_embeddings", c.tied_embeddings},
      {"attention_bias", c.qkv_bias},
      {"torch_dtype", dtype == DType::kF32    ? "float32"
                      : dtype == DType::kBF16 ? "bfloat16"
                                              : "float16"},
  };
  if (c.llama3_scaling) {
    cfg["rope_scaling"] = {{"rope_type", "llama3"},
                           {"factor", c.llama3_scaling->factor},
                           {"low_freq_factor", c.llama3_scaling->low_freq_factor},
                           {"high_freq_factor", c.llama3_scaling->high_freq_factor},
                           {"original_max_position_embeddings", c.llama3_scaling->original_max_position}};
  }
  if (arch.sliding_window == SlidingWindowKey::kRead) {
    cfg["sliding_window"] = c.sliding_window > 0 ? nlohmann::json(c.sliding_window) : nlohmann::json(nullptr);
  }
  if (c.bos_token_id >= 0) cfg["bos_token_id"] = c.bos_token_id;
  if (!c.eos_token_ids.empty()) {
    cfg["eos_token_id"] = c.eos_token_ids.size() == 1 ? nlohmann::json(c.eos_token_ids[0]) : nlohmann::json(c.eos_token_ids);
  }
  RETURN_IF_ERROR(WriteFileAtomic(dir + "/config.json", cfg.dump(2) + "\n"));
  nlohmann::json gen = nlohmann::json::object();
  if (c.bos_token_id >= 0) gen["bos_token_id"] = c.bos_token_id;
  if (cfg.contains("eos_token_id")) gen["eos_token_id"] = cfg["eos_token_id"];
  RETURN_IF_ERROR(WriteFileAtomic(dir + "/generation_config.json", gen.dump(2) + "\n"));

  const ModelWeights& w = model.weights;
  const Perm perm = QkPermutation(model, /*want_hf=*/true);
  std::vector<TensorToWrite> t;
  auto mat = [&](const std::string& name, const MatrixView& m) {
    t.push_back(Encode(name, Dequantize(m), {m.rows, m.cols}, dtype));
  };
  auto vec = [&](const std::string& name, const std::vector<float>& v) {
    t.push_back(Encode(name, v, {static_cast<int64_t>(v.size())}, dtype));
  };
  mat(kEmbeddingTensor.hf, w.embed);
  RETURN_IF_ERROR(AppendLayerTensors(model, /*hf=*/true, perm, dtype, dtype, dir, t));
  vec(kFinalNormTensor.hf, w.final_norm);
  if (!c.tied_embeddings) mat(kLmHeadTensor.hf, w.lm_head);
  return WriteSafetensors(dir + "/model.safetensors", t);
}

Status ExportGguf(const Model& model, const std::string& path, DType dtype,
                  const std::vector<GgufKeyValue>& tokenizer_keys) {
  const ModelConfig& c = model.config;
  const Architecture& a = ArchitectureOf(c.family);
  const std::string arch = a.gguf_name;
  const Perm perm = QkPermutation(model, /*want_hf=*/!a.gguf_interleaved_qk);
  using KV = GgufKeyValue;
  std::vector<KV> meta = {
      {"general.architecture", arch},
      {"general.name", "kvpress-export"},
      {"general.file_type", LlamaFileType(dtype), 4},
      {arch + ".context_length", c.max_position, 4},
      {arch + ".embedding_length", c.hidden_size, 4},
      {arch + ".block_count", c.n_layers, 4},
      {arch + ".feed_forward_length", c.intermediate_size, 4},
      {arch + ".attention.head_count", c.n_heads, 4},
      {arch + ".attention.head_count_kv", c.n_kv_heads, 4},
      {arch + ".attention.layer_norm_rms_epsilon", c.rms_norm_eps, 6},
      {arch + ".rope.freq_base", c.rope_theta, 6},
      {arch + ".rope.dimension_count", c.head_dim, 4},
      {arch + ".attention.key_length", c.head_dim, 4},
      {arch + ".attention.value_length", c.head_dim, 4},
  };
  if (c.sliding_window > 0) meta.push_back({arch + ".attention.sliding_window", c.sliding_window, 4});
  auto has_key = [&](const char* key) {
    for (const GgufKeyValue& kv : tokenizer_keys) {
      if (kv.key == key) return true;
    }
    return false;
  };
  if (c.bos_token_id >= 0 && !has_key("tokenizer.ggml.bos_token_id"))
    meta.push_back({"tokenizer.ggml.bos_token_id", c.bos_token_id, 4});
  if (!c.eos_token_ids.empty() && !has_key("tokenizer.ggml.eos_token_id"))
    meta.push_back({"tokenizer.ggml.eos_token_id", c.eos_token_ids[0], 4});
  meta.insert(meta.end(), tokenizer_keys.begin(), tokenizer_keys.end());

  const ModelWeights& w = model.weights;
  std::vector<TensorToWrite> t;
  auto mat = [&](const std::string& name, const MatrixView& m) {
    t.push_back(Encode(name, Dequantize(m), {m.rows, m.cols}, dtype));
  };
  auto vec = [&](const std::string& name, const std::vector<float>& v) {
    t.push_back(Encode(name, v, {static_cast<int64_t>(v.size())}, DType::kF32));
  };
  mat(kEmbeddingTensor.gguf, w.embed);
  const std::vector<float> inv = c.RopeInvFreq();
  const std::vector<float> plain = RopeInverseFrequencies(c.rope_theta, c.head_dim);
  if (c.llama3_scaling || !c.rope_freq_divisors.empty()) {
    std::vector<float> div(inv.size());
    for (size_t i = 0; i < inv.size(); ++i) div[i] = plain[i] / inv[i];
    vec("rope_freqs.weight", div);
  }
  RETURN_IF_ERROR(AppendLayerTensors(model, /*hf=*/false, perm, dtype, DType::kF32, path, t));
  vec(kFinalNormTensor.gguf, w.final_norm);
  if (!c.tied_embeddings) mat(kLmHeadTensor.gguf, w.lm_head);
  return WriteGguf(path, meta, t);
}

}  // namespace kvpress
