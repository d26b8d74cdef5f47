// Format detection for LoadModel.
#include <cstring>
#include <fstream>

#include "core/file_util.h"
#include "core/log.h"
#include "core/thread_pool.h"
#include "hub/hub_options.h"
#include "hub/repo_id.h"
#include "hub/resolve_model.h"
#include "model/model.h"
#include "model/weight_check.h"

namespace kvpress {

StatusOr<std::unique_ptr<Model>> LoadModel(const std::string& path) {
  return LoadModel(path, LoadOptions());
}

namespace {

StatusOr<std::unique_ptr<Model>> LoadAnyFormat(const std::string& path) {
  if (IsDirectory(path)) return LoadHuggingFaceModel(path);
  if (!FileExists(path)) {
    // Not on disk but shaped like org/name[@revision]: a Hugging Face model, from the HF cache
    // (downloaded when missing; HF_HOME, HF_HUB_CACHE, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE).
    if (hub::LooksLikeRepoId(path)) {
      auto resolved = hub::ResolveModel(path, hub::HubOptionsFromEnvironment());
      if (!resolved.ok()) {
        return Status(resolved.status().code(),
                      "'" + path + "' is not a local path; as a Hugging Face model id: " +
                          resolved.status().message());
      }
      return LoadHuggingFaceModel(resolved->snapshot_dir);
    }
    return NotFound(path + ": no such model file or directory");
  }
  char magic[4] = {0, 0, 0, 0};
  std::ifstream in(path, std::ios::binary);
  in.read(magic, 4);
  if (in.gcount() == 4 && std::memcmp(magic, "GGUF", 4) == 0) return LoadGgufModel(path);
  if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".gguf") == 0) {
    return DataLoss(path + ": not a GGUF file (bad magic)");
  }
  if (path.size() >= 12 && path.compare(path.size() - 12, 12, ".safetensors") == 0) {
    return InvalidArgument(
        path + ": pass the model directory (with config.json), not the .safetensors file");
  }
  return LoadLlama2cModel(path);
}

}  // namespace

StatusOr<std::unique_ptr<Model>> LoadModel(const std::string& path, const LoadOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<Model> model, LoadAnyFormat(path));
  if (options.check_weights) RETURN_IF_ERROR(CheckWeightsFinite(model->weights, model->path));
  if (options.huge_pages) {
    model->placement = MoveWeightsToHugePages(model->weights, DefaultThreadCount());
    if (model->placement.memory_bound) {
      Log(LogLevel::kWarning,
          "{}: weights read in place from the file mapping (slower decoding): {}", model->path,
          model->placement.reason);
    }
  } else {
    model->placement.reason = "--mmap: weights read in place from the file mapping";
  }
  return model;
}

}  // namespace kvpress
