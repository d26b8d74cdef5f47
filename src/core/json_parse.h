// Parsing user-supplied JSON with a nesting cap: a document nested deeper than kMaxJsonDepth is
// refused before it is built, so that printing, copying or comparing it later cannot exhaust the
// stack (nlohmann's serialiser recurses once per level).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace kvpress {

// Deepest array/object nesting any file we read may have. Real inputs (configs, tokenizers,
// chat messages, dataset rows, score files) stay below 20.
inline constexpr int kMaxJsonDepth = 256;

// Nesting depth of the arrays and objects in `text` (brackets inside strings are ignored); exact
// for valid JSON. Scanning stops as soon as the depth exceeds `limit` (then limit + 1 is returned).
int JsonNestingDepth(std::string_view text, int limit = kMaxJsonDepth);

// Parses one JSON document. Errors are DataLoss and start with `source` (a file name, or
// "file:line"): "<source>: invalid JSON (syntax error at byte N)" or "<source>: JSON nested deeper
// than 256 levels". Library exception text never reaches the message.
StatusOr<nlohmann::json> ParseJson(std::string_view text, const std::string& source);
StatusOr<nlohmann::ordered_json> ParseOrderedJson(std::string_view text, const std::string& source);

// The message of a nlohmann exception (a wrongly typed or missing field) without the library's
// "[json.exception.type_error.302] " tag, in words a user can act on: "expected an object, found a
// string" rather than "cannot use at() with string".
std::string JsonErrorText(const nlohmann::json::exception& e);

}  // namespace kvpress
