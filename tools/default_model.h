// The bundled default model (models/tiny-reasoner, issue 7), used by `generate`, `eval` and
// `sweep` when no --model is given. Its files are compiled into the binary and written once to a
// cache directory, so the binary works from anywhere without the source tree.
#pragma once

#include <string>

#include "core/status.h"

namespace kvpress::cli {

// The directory holding the bundled model's files ($XDG_CACHE_HOME/kvpress or ~/.cache/kvpress,
// then <content hash>/tiny-reasoner), written there on first use. NotFound when this build
// bundles no model.
StatusOr<std::string> DefaultModelPath();

// What a --model argument loads: "" or the bundled model's name ("tiny-reasoner", when no such
// local path exists) -> DefaultModelPath(); anything else is returned as given.
StatusOr<std::string> ResolveModelArg(const std::string& arg);

// The name result files and reports use for the bundled model ("tiny-reasoner").
std::string BundledModelLabel();

}  // namespace kvpress::cli
