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
  using Factory = std::function<StatusOr<std::unique_ptr<Press>>(const PressSpec&)>;
  PressInfo(std::string name_, std::string summary_, std::string paper_, std::string phases_, std::string needs_,
            std::vector<PressParamInfo> params_, Factory create_)
      : name(std::move(name_)), summary(std::move(summary_)), paper(std::move(paper_)), phases(std::move(phases_)),
        needs(std::move(needs_)), params(std::move(params_)), create(std::move(create_)) {}

  std::string name;
  std::string summary;   // one line: the scoring rule
  std::string paper;     // citation
  std::string phases;    // "prefill, decode"
  std::string needs;     // what the press reads: "key norms", "attention of all queries", ...
  std::vector<PressParamInfo> params;
  // Builds the press from a spec (params checked with PressParams::Finish()).
  Factory create;
  // Inner presses a wrapper takes in parentheses ("adakv(snapkv)"): how many, and what they are.
  int min_children = 0;
  int max_children = 0;  // -1 = any number
  std::string children_help;
};

// Every registered press, in display order.
const std::vector<PressInfo>& AllPresses();

// Creates the press named by `spec` and applies spec.budget to it. An unknown name or parameter
// is NotFound with the valid ones listed, a value the press rejects is FailedPrecondition (both
// bad input, exit 2); a budget out of range is InvalidArgument (usage, exit 1).
//
// Every press also takes two budget parameters in its spec, which override the budget flags for
// that press alone (mostly useful inside wrappers, e.g. "composed(knorm:ratio=0.3,streaming_llm)"):
// ratio=R (upstream compression_ratio, in [0, 1)) and budget=B (cache budget per KV head). A
// wrapper's children inherit its budget unless they carry their own.
StatusOr<std::unique_ptr<Press>> CreatePress(const PressSpec& spec);

// For wrappers: creates child `i` of `spec` (already carrying the inherited budget); `need` names
// what the wrapper requires of it for the error message. FailedPrecondition when the child is not a
// LayerCompressor and `compressor` is asked for (*compressor then points into the returned press).
StatusOr<std::unique_ptr<Press>> CreateChildPress(const PressSpec& spec, size_t i,
                                                  class LayerCompressor** compressor = nullptr);

}  // namespace kvpress
