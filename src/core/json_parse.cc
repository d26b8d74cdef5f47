#include "core/json_parse.h"

#include <fmt/format.h>

#include <cstring>

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

std::string JsonErrorText(const nlohmann::json::exception& e) {
  std::string text = e.what();
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find("] ");
    if (close != std::string::npos) text.erase(0, close + 2);
  }
  for (const char* accessor : {"cannot use at() with ", "cannot use operator[] with a string argument with ",
                               "cannot use operator[] with a numeric argument with ", "cannot use push_back() with "}) {
    if (text.rfind(accessor, 0) == 0) {
      const std::string found = text.substr(std::strlen(accessor));
      return fmt::format("expected an object or array, found {} {}", found.find_first_of("aeiou") == 0 ? "an" : "a", found);
    }
  }
  const size_t but = text.find(", but is ");
  if (text.rfind("type must be ", 0) == 0 && but != std::string::npos) {  // "type must be string, but is number"
    const std::string want = text.substr(13, but - 13), found = text.substr(but + 9);
    const auto article = [](const std::string& w) { return w.find_first_of("aeiou") == 0 ? "an" : "a"; };
    return fmt::format("expected {} {}, found {} {}", article(want), want, article(found), found);
  }
  return text;
}

StatusOr<nlohmann::json> ParseJson(std::string_view text, const std::string& source) {
  return Parse<nlohmann::json>(text, source);
}

StatusOr<nlohmann::ordered_json> ParseOrderedJson(std::string_view text, const std::string& source) {
  return Parse<nlohmann::ordered_json>(text, source);
}

}  // namespace kvpress
