// The press registry: every press by name with its parameters, defaults, phases, needs and paper.
// `kvpress presses` prints it; --press specs are resolved against it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "press/press.h"
#include "press/press_spec.h"

namespace kvpress {

struct PressParamInfo {
  std::string name;
  std::string default_value;
  std::string help;
};

struct PressInfo {
  std::string name;
  std::string summary;   // one line: the scoring rule
  std::string paper;     // citation
  std::string phases;    // "prefill, decode"
  std::string needs;     // what the press reads: "key norms", "attention of all queries", ...
  std::vector<PressParamInfo> params;
  // Builds the press from a spec (params checked with PressParams::Finish()).
  std::function<StatusOr<std::unique_ptr<Press>>(const PressSpec&)> create;
};

// Every registered press, in display order.
const std::vector<PressInfo>& AllPresses();

// Creates the press named by `spec` and applies spec.budget to it. An unknown name or parameter
// is NotFound with the valid ones listed, a value the press rejects is FailedPrecondition (both
// bad input, exit 2); a budget out of range is InvalidArgument (usage, exit 1).
StatusOr<std::unique_ptr<Press>> CreatePress(const PressSpec& spec);

}  // namespace kvpress
