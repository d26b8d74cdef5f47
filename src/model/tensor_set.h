// Named tensors found in a model file, before they are assembled into ModelWeights.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "ops/dtype.h"

namespace kvpress {

// A tensor inside a mapped file. `shape` is row-major, outermost first ([rows, cols] for a matrix),
// whatever order the file stores its dims in.
struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  size_t nbytes = 0;
  std::string file;  // for error messages
};

// Canonical (Hugging Face) tensor name -> info.
using TensorSet = std::map<std::string, TensorInfo>;

// "[a, b]" for messages.
std::string ShapeString(const std::vector<int64_t>& shape);

}  // namespace kvpress
