#include "press/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/check.h"
#include "press/catalog.h"
#include "press/layer_compressor.h"

namespace kvpress {

const std::vector<PressInfo>& AllPresses() {
  static const std::vector<PressInfo> presses = {
      FullPressInfo(),    RandomPressInfo(),  KnormPressInfo(),          StreamingLlmPressInfo(),
      H2oPressInfo(),     SnapKvPressInfo(),  SnapKvDecodingPressInfo(), TovaPressInfo(),
      ObservedAttentionPressInfo(), KeyDiffPressInfo(),
      LagKvPressInfo(), RkvPressInfo(), RkvLshPressInfo(),
      PyramidKvPressInfo(), AdaKvPressInfo(), PerLayerPressInfo(), ComposedPressInfo(),
      DecodingPressInfo(), CompressionRatioDecodingPressInfo(), PrefillDecodingPressInfo(),
      ChunkPressInfo(), ChunkKvPressInfo(), SimLayerKvPressInfo(), BlockPressInfo(), ThinkPressInfo(),
      EntropyGatedChunkKvPressInfo(),
      // Scorers, catalogue part 2 (issue 15).
      ExpectedAttentionPressInfo(), CurPressInfo(), QFilterPressInfo(), NonCausalAttentionPressInfo(), CapPressInfo(), LeveragePressInfo(),
      // Catalogue part 2 (issue 15): ShadowKV, DMS.
      ShadowKvPressInfo(), DmsPressInfo(),
      // Catalogue part 1 (issue 14): value-norm-aware selection.
      CriticalKvPressInfo(), CriticalAdaKvPressInfo(),
      // Positional compaction (issue 14).
      KeyRerotationPressInfo(), FinchPressInfo(),
      // Catalogue part 2 (issue 15, presses15c).
      CompactorPressInfo(), MergingPressInfo(), CamPressInfo(), KvComposePressInfo(),
      // Catalogue part 2 (issue 15): context reconstruction and learned scorers.
      KvzipPressInfo(), KvzapPressInfo(), LukvPressInfo(), FastKvzipPressInfo(),
      // Retrieval and streaming heads (issue 15).
      DuoAttentionPressInfo(),
  };
  return presses;
}

namespace {

// Moves the ratio= / budget= parameters of `spec` into its budget and hands the budget down to its
// children. FailedPrecondition for malformed values.
Status ApplyBudgetParams(PressSpec& spec) {
  PressSpec only;
  only.name = spec.name;
  for (const char* key : {"ratio", "budget"}) {
    auto it = spec.params.find(key);
    if (it == spec.params.end()) continue;
    only.params[key] = it->second;
    spec.params.erase(it);
  }
  if (!only.params.empty()) {
    PressParams p(only);
    const double ratio = p.GetDouble("ratio", -1, 0, 0.999999);
    const int budget = p.GetInt("budget", -1, 1, kMaxPressTokens);
    RETURN_IF_ERROR(p.Finish());
    if (ratio >= 0 && budget >= 0) {
      return FailedPrecondition(fmt::format("press '{}': give ratio= or budget=, not both", spec.name));
    }
    if (ratio >= 0) spec.budget = BudgetPolicy{.removed_fraction = ratio};
    if (budget >= 0) spec.budget = BudgetPolicy{.cache_budget = budget};
  }
  for (size_t i = 0; i < spec.children.size(); ++i) {
    spec.children[i].budget = spec.budget;
    spec.children[i].seed = spec.seed + i;
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<Press>> CreateChildPress(const PressSpec& spec, size_t i, LayerCompressor** compressor) {
  CHECK(i < spec.children.size());
  ASSIGN_OR_RETURN(std::unique_ptr<Press> child, CreatePress(spec.children[i]));
  if (compressor != nullptr) {
    *compressor = dynamic_cast<LayerCompressor*>(child.get());
    if (*compressor == nullptr) {
      return FailedPrecondition(fmt::format("press '{}' needs a scoring press inside (knorm, snapkv, ...), not '{}'",
                                            spec.name, spec.children[i].name));
    }
  }
  return child;
}

StatusOr<std::unique_ptr<Press>> CreatePress(const PressSpec& spec_in) {
  std::vector<std::string> names;
  for (const PressInfo& info : AllPresses()) {
    names.push_back(info.name);
    if (info.name != spec_in.name) continue;
    if (spec_in.budget.cache_budget < 0) return InvalidArgument("--cache-budget must be >= 0");
    if (spec_in.budget.removed_fraction < 0 || spec_in.budget.removed_fraction >= 1) {
      return InvalidArgument("--compression-ratio must be in [0, 1)");
    }
    PressSpec spec = spec_in;
    RETURN_IF_ERROR(ApplyBudgetParams(spec));
    const int n_children = static_cast<int>(spec.children.size());
    if (info.max_children == 0 && n_children > 0) {
      return FailedPrecondition(fmt::format("press '{}' wraps no other press (remove the parentheses)", spec.name));
    }
    if (n_children < info.min_children || (info.max_children >= 0 && n_children > info.max_children)) {
      const std::string count = info.min_children == info.max_children ? fmt::format("{}", info.min_children)
                                : info.max_children < 0 ? fmt::format("at least {}", info.min_children)
                                                        : fmt::format("{} to {}", info.min_children, info.max_children);
      return FailedPrecondition(fmt::format("press '{}' takes {} inner press(es) in parentheses ({}), got {}: e.g. {}",
                                            spec.name, count, info.children_help, n_children,
                                            info.name + "(knorm)"));
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
  return NotFound(fmt::format("unknown press '{}' (valid: {})", spec_in.name, fmt::join(names, ", ")));
}

}  // namespace kvpress
