// The KV cache's storage type as the front ends name it (--kv-dtype, the kv_dtype request field).
#pragma once

#include <string>

#include "core/status.h"
#include "ops/dtype.h"

namespace kvpress {

// The KV storage type named `name` ("f32", "f16" or "bf16"); anything else is InvalidArgument
// "<field>: '<name>' is not one of f32, f16, bf16" (field: the flag or request field it came from).
inline StatusOr<DType> ParseKvDtype(const std::string& name, const std::string& field) {
  if (name == "f32") return DType::kF32;
  if (name == "f16") return DType::kF16;
  if (name == "bf16") return DType::kBF16;
  return InvalidArgument(field + ": '" + name + "' is not one of f32, f16, bf16");
}

}  // namespace kvpress
