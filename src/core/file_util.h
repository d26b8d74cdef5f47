// Small file helpers that report errors as Status.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace kvpress {

// Whole file contents. NotFound when it cannot be opened.
StatusOr<std::string> ReadFileToString(const std::string& path);

// Parses a JSON file. NotFound / DataLoss ("<path>: invalid JSON ...", or nested deeper than
// kMaxJsonDepth: core/json_parse.h).
StatusOr<nlohmann::json> ReadJsonFile(const std::string& path);

// Writes `contents` to `path` atomically (temp file in the same directory, then rename), so a
// reader never sees a half-written file.
Status WriteFileAtomic(const std::string& path, const std::string& contents);

bool FileExists(const std::string& path);
bool IsDirectory(const std::string& path);

}  // namespace kvpress
