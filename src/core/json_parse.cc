#include "core/json_parse.h"

#include <fmt/format.h>

namespace kvpress {

int JsonNestingDepth(std::string_view text, int limit) {
  int depth = 0, max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
      if (max_depth > limit) return limit + 1;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

namespace {

template <typename Json>
StatusOr<Json> Parse(std::string_view text, const std::string& source) {
  if (JsonNestingDepth(text) > kMaxJsonDepth) {
    return DataLoss(fmt::format("{}: JSON nested deeper than {} levels", source, kMaxJsonDepth));
  }
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const typename Json::parse_error& e) {
    return DataLoss(fmt::format("{}: invalid JSON (syntax error at byte {})", source, e.byte));
  } catch (const typename Json::exception&) {
    return DataLoss(fmt::format("{}: invalid JSON", source));
  }
}

}  // namespace

StatusOr<nlohmann::json> ParseJson(std::string_view text, const std::string& source) {
  return Parse<nlohmann::json>(text, source);
}

StatusOr<nlohmann::ordered_json> ParseOrderedJson(std::string_view text, const std::string& source) {
  return Parse<nlohmann::ordered_json>(text, source);
}

}  // namespace kvpress
