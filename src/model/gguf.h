// Reader of GGUF v2/v3 model files (shared/docs/model-formats.md §4): the header
// (gguf/gguf_reader.h) and the tensor infos, typed by ops/dtype.h.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/mapped_file.h"
#include "model/tensor_set.h"

namespace kvpress {

struct GgufFile {
  uint32_t version = 0;
  // Metadata key -> value. Integers, floats, bools, strings and (nested) arrays map to JSON.
  nlohmann::json metadata = nlohmann::json::object();
  // Tensors under their GGUF names; shapes converted to row-major order (ne reversed).
  TensorSet tensors;
  size_t data_start = 0;
};

// Parses a mapped GGUF file. Every length and offset is checked against the file size; unknown
// value types or tensor types (other than F32/F16/BF16/Q8_0) are errors naming the key/tensor.
// Vocab-only files (no tensors) are accepted. With `metadata_only`, reading stops after the
// metadata (tensor infos are not read nor checked): what tokenizers and templates need.
StatusOr<GgufFile> ReadGguf(const MappedFile& file, bool metadata_only = false);

}  // namespace kvpress
