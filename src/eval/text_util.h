// Small string helpers shared by the eval layer (ASCII semantics; UTF-8 bytes pass through).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kvpress::eval {

// Leading/trailing ASCII whitespace removed.
std::string Trim(std::string_view s);
// ASCII lowercase.
std::string ToLower(std::string_view s);
// Every occurrence of `from` replaced by `to` (from must be non-empty).
std::string ReplaceAll(std::string s, std::string_view from, std::string_view to);
// True when `s` starts / ends with `x`.
bool StartsWith(std::string_view s, std::string_view x);
bool EndsWith(std::string_view s, std::string_view x);
// The last number-looking token in `s` ("-1,234.5", "3/4"), commas removed; "" when none.
std::string LastNumber(std::string_view s);
// Splits on `sep` at bracket depth 0 (), [], {} (escaped \{ \} count as brackets).
std::vector<std::string> SplitTopLevel(std::string_view s, char sep);

}  // namespace kvpress::eval
