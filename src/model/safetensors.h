// Reader of the safetensors format (shared/docs/model-formats.md §1).
#pragma once

#include <string>

#include "core/mapped_file.h"
#include "model/tensor_set.h"

namespace kvpress {

// Parses the header of a mapped safetensors file and adds its tensors to `out`.
// Validates: header length within the file and ≤ 100 MB, JSON well-formed, known dtypes, byte
// sizes = product(shape) × element size, tensors covering the data buffer without holes/overlaps.
// Only F32/F16/BF16 tensors are accepted (others -> Unimplemented naming the tensor).
Status ReadSafetensors(const MappedFile& file, TensorSet& out);

}  // namespace kvpress
