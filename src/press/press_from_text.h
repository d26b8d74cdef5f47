// A press from what every front end holds: a --press spec text, the budget flags and a seed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "press/registry.h"

namespace kvpress {

// ParsePressSpec(spec_text), then CreatePress with `budget` and `seed` (errors as theirs): what the
// CLI (generate, bench), the eval runner and the Python bindings do with --press and its budget.
inline StatusOr<std::unique_ptr<Press>> CreatePressFromText(const std::string& spec_text,
                                                            const BudgetPolicy& budget,
                                                            uint64_t seed = 0) {
  ASSIGN_OR_RETURN(PressSpec spec, ParsePressSpec(spec_text));
  spec.budget = budget;
  spec.seed = seed;
  return CreatePress(spec);
}

}  // namespace kvpress
