// Export of a loaded model (any source format) to a Hugging Face directory or a GGUF file, with the
// q/k row permutation between RoPE conventions (model-formats.md §3) done explicitly.
#pragma once

#include <string>

#include "model/model.h"
#include "model/writers.h"

namespace kvpress {

// Writes config.json, generation_config.json and model.safetensors into `dir` (created if needed).
// Matrices and norms are stored in `dtype` (F32/F16/BF16; a quantized type is InvalidArgument). q/k rows are put in HF rotate-half order.
Status ExportHuggingFace(const Model& model, const std::string& dir, DType dtype);

// Writes one GGUF v3 file. Matrices in `dtype` (any DType; a quantized type through QuantizeRow,
// with llama.cpp's fallback for rows that are not whole blocks: model/gguf_dtype.h), 1-D tensors
// in F32; general.file_type is LlamaFileType(dtype).
// llama/mistral export as GGUF arch `llama` with q/k rows in Meta (interleaved) order;
// qwen2/qwen3 keep HF order. `tokenizer_keys` (tokenizer.* metadata, see
// generate/convert_tokenizer.h) are written as given; the config's BOS/EOS ids are written only
// for keys they do not set.
Status ExportGguf(const Model& model, const std::string& path, DType dtype,
                  const std::vector<GgufKeyValue>& tokenizer_keys = {});

// Row reordering of a q or k projection with `n_heads` heads of `head_dim` rows each:
// to_hf=true maps Meta/GGUF order to HF order, false the reverse. w: [n_heads*head_dim, cols].
std::vector<float> PermuteQkRows(const std::vector<float>& w, int n_heads, int head_dim, int64_t cols,
                                 bool to_hf);

}  // namespace kvpress
