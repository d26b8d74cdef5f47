#include "tools/default_model.h"

namespace kvpress::cli {

StatusOr<std::string> DefaultModelPath() {
  return NotFound("--model is required (this build bundles no default model)");
}

}  // namespace kvpress::cli
