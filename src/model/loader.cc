// Format detection for LoadModel.
#include <cstring>
#include <fstream>

#include "core/file_util.h"
#include "model/model.h"

namespace kvpress {

StatusOr<std::unique_ptr<Model>> LoadModel(const std::string& path) {
  if (IsDirectory(path)) return LoadHuggingFaceModel(path);
  if (!FileExists(path)) return NotFound(path + ": no such model file or directory");
  char magic[4] = {0, 0, 0, 0};
  std::ifstream in(path, std::ios::binary);
  in.read(magic, 4);
  if (in.gcount() == 4 && std::memcmp(magic, "GGUF", 4) == 0) return LoadGgufModel(path);
  if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".gguf") == 0) {
    return DataLoss(path + ": not a GGUF file (bad magic)");
  }
  if (path.size() >= 12 && path.compare(path.size() - 12, 12, ".safetensors") == 0) {
    return InvalidArgument(path + ": pass the model directory (with config.json), not the .safetensors file");
  }
  return LoadLlama2cModel(path);
}

}  // namespace kvpress
