#include "press/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "press/catalog.h"

namespace kvpress {

const std::vector<PressInfo>& AllPresses() {
  static const std::vector<PressInfo> presses = {
      FullPressInfo(),    RandomPressInfo(),  KnormPressInfo(),          StreamingLlmPressInfo(),
      H2oPressInfo(),     SnapKvPressInfo(),  SnapKvDecodingPressInfo(), TovaPressInfo(),
      ObservedAttentionPressInfo(), KeyDiffPressInfo(),
      LagKvPressInfo(), RkvPressInfo(), RkvLshPressInfo(),
  };
  return presses;
}

StatusOr<std::unique_ptr<Press>> CreatePress(const PressSpec& spec) {
  std::vector<std::string> names;
  for (const PressInfo& info : AllPresses()) {
    names.push_back(info.name);
    if (info.name != spec.name) continue;
    if (spec.budget.cache_budget < 0) return InvalidArgument("--cache-budget must be >= 0");
    if (spec.budget.compression_ratio < 0 || spec.budget.compression_ratio >= 1) {
      return InvalidArgument("--compression-ratio must be in [0, 1)");
    }
    auto created = info.create(spec);
    if (!created.ok()) {
      // A value a press rejects (e.g. window=0) is a bad spec like an unparsable one (exit 2).
      const Status& s = created.status();
      return s.code() == StatusCode::kInvalidArgument ? FailedPrecondition(s.message()) : s;
    }
    std::unique_ptr<Press> press = std::move(created).value();
    press->set_budget(spec.budget);
    return press;
  }
  return NotFound(fmt::format("unknown press '{}' (valid: {})", spec.name, fmt::join(names, ", ")));
}

}  // namespace kvpress
