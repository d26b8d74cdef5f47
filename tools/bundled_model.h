// The files of the bundled model, compiled into the binary (tools/CMakeLists.txt generates the
// table from models/tiny-reasoner when it exists; an empty table otherwise).
#pragma once

#include <string_view>
#include <vector>

namespace kvpress::cli {

struct BundledFile {
  const char* name;        // file name inside the model directory
  std::string_view bytes;  // its contents (static storage)
};

// Every bundled file (empty when the build bundles no model).
std::vector<BundledFile> BundledModelFiles();
// The bundled model's name ("tiny-reasoner").
const char* BundledModelName();

}  // namespace kvpress::cli
