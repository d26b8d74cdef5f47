// The bundled default model (models/tiny-reasoner, issue 7), used by `generate`, `eval` and
// `sweep` when no --model is given. Its files are compiled into the binary and written once to a
// cache directory, so the binary works from anywhere without the source tree.
#pragma once

#include <string>

#include "core/status.h"

namespace kvpress::cli {

// The directory holding the bundled model's files ($XDG_CACHE_HOME/kvpress or ~/.cache/kvpress,
// one subdirectory per content hash), written there on first use. NotFound when this build
// bundles no model.
StatusOr<std::string> DefaultModelPath();

}  // namespace kvpress::cli
