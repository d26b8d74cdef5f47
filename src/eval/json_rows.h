// Reading dataset rows from JSON sources: JSON Lines, a JSON array, a BIG-bench task file
// ({"examples": [...]}) or a Hugging Face datasets-server page ({"rows": [{"row": {...}}, ...]}).
// Bad lines are counted and described, never fatal: the caller decides what to log.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace kvpress::eval {

// Rows parsed from one source, plus the lines that could not be parsed.
struct JsonRows {
  std::vector<nlohmann::json> rows;
  std::vector<std::string> bad_lines;  // "line N: <parser message>", one per skipped line
};

// Parses `text`: a JSON document when it starts with '[' or '{' and parses as a whole (array,
// BIG-bench task, datasets-server page, or a single object = one row); otherwise JSON Lines,
// where blank lines are ignored and unparsable lines are recorded in `bad_lines`.
// `source` names the input in messages. DataLoss when nothing at all could be read.
StatusOr<JsonRows> ParseJsonRows(std::string_view text, const std::string& source);

// Reads and parses the file at `path` (NotFound when unreadable).
StatusOr<JsonRows> ReadJsonRows(const std::string& path);

}  // namespace kvpress::eval
