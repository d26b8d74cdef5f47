// Press specifications and the typed parameter access presses use when they are created.
//
// Grammar (README "Press specs"):
//   spec     := name [ "(" spec { "," spec } ")" ] [ ":" key "=" value { "," key "=" value } ]
//   name     := [A-Za-z0-9_]+        key := [A-Za-z0-9_]+        value := any text without , ( ) :
// e.g. "snapkv_d:window=64,kernel=5", "adakv(snapkv:window=32):alpha=0.2",
// "composed(knorm:ratio=0.3,streaming_llm)". Inside the parentheses a comma followed by key=value
// continues the parameters of the child before it; a comma followed by a name starts the next child.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "press/press.h"

namespace kvpress {

struct PressSpec {
  std::string name;
  std::map<std::string, std::string> params;  // as written in the spec
  std::vector<PressSpec> children;            // presses a wrapper wraps, in the order written
  BudgetPolicy budget;                        // from --cache-budget / --compression-ratio
  uint64_t seed = 0;                          // for presses that draw random numbers
};

// Spec errors are bad input (CLI exit 2, DESIGN.md), never usage errors: an unknown press or
// parameter is NotFound (the message lists the valid ones); a malformed spec or value is
// FailedPrecondition. Only the budget flags (--cache-budget, --compression-ratio) are
// InvalidArgument (exit 1).

// Parses a spec (grammar above). Errors (FailedPrecondition) name the spec, the character offset
// and the fault ("--press 'adakv(knorm': missing ')' at 11").
StatusOr<PressSpec> ParsePressSpec(const std::string& text);
// The spec written back in the grammar above (params in key order).
std::string FormatPressSpec(const PressSpec& spec);

// Typed, checked access to a spec's parameters. Every Get records the key as known; Finish()
// reports keys the press does not have (NotFound, with the list of valid ones) and malformed
// values (FailedPrecondition).
// The largest value a token-count parameter (window, lag, n_sink, kernel) may take: more than any
// supported context, small enough that buffers sized by it cannot exhaust memory by themselves.
inline constexpr int kMaxPressTokens = 1 << 20;

class PressParams {
 public:
  explicit PressParams(const PressSpec& spec) : spec_(spec) {}
  // The value of `key` (default_value when absent). A value that is not an integer, or lies outside
  // [min, max], is recorded as an error ("lag=2147483647 is outside [2, 1048576]").
  int GetInt(const std::string& key, int default_value, int min, int max);
  // The same for a finite number (nan and inf are errors).
  double GetDouble(const std::string& key, double default_value, double min, double max);
  std::string GetString(const std::string& key, const std::string& default_value);
  // Ok when every given key was read and parsed.
  Status Finish() const;

 private:
  const PressSpec& spec_;
  std::vector<std::string> known_;
  std::vector<std::string> errors_;
};

}  // namespace kvpress
