// Sweep files (YAML/JSON): every key, the grid expansion and each cell's run checks.
#include "eval/runner.h"
#include "eval/sweep_plan.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = kvpress::fuzz::ScratchFile("sweep.yaml", data, size);
  kvpress::eval::SweepPlan plan;
  const bool loaded = kvpress::eval::LoadSweepFile(path, plan).ok();
  kvpress::fuzz::Tally(!loaded);
  if (!loaded) return 0;
  if (plan.models.empty()) plan.models.push_back("m");
  auto cells = kvpress::eval::ExpandSweep(plan);
  if (!cells.ok()) return 0;
  for (size_t i = 0; i < cells->size() && i < 64; ++i) (void)kvpress::eval::ValidateRunConfig((*cells)[i].config);
  return 0;
}
