// --press specs: the parser and every press's parameter checks (creation only).
#include <string>

#include "fuzz/fuzz_util.h"
#include "press/press_spec.h"
#include "press/registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto spec = kvpress::ParsePressSpec(text);
  if (!spec.ok()) {
    kvpress::fuzz::Tally(true);
    return 0;
  }
  spec->budget = kvpress::BudgetPolicy{size % 3 == 0 ? 0 : 16, 0.0, 0, 0};
  kvpress::fuzz::Tally(!kvpress::CreatePress(*spec).ok());
  return 0;
}
