#include "eval/synthetic_dataset.h"

#include <fmt/format.h>

#include "core/file_util.h"
#include "core/log.h"
#include "eval/infinitebench.h"
#include "eval/niah_grid.h"
#include "eval/ruler.h"

namespace kvpress::eval {

StatusOr<Dataset> GenerateSyntheticDataset(const RunConfig& c, const Tokenizer& tokenizer) {
  ASSIGN_OR_RETURN(DatasetSpec spec, FindDataset(c.dataset));
  if (!IsSyntheticDataset(spec.kind)) return InvalidArgument("--dataset " + c.dataset + " is not generated here");
  std::string haystack;
  if (!c.haystack_file.empty()) {
    StatusOr<std::string> text = ReadFileToString(c.haystack_file);
    if (!text.ok()) return NotFound("--haystack-file " + c.haystack_file + ": " + text.status().message());
    haystack = std::move(text).value();
  }
  const TokenCounter count = [&tokenizer](const std::string& text) -> StatusOr<int> {
    ASSIGN_OR_RETURN(std::vector<int32_t> ids, tokenizer.Encode(text, /*add_special=*/false));
    return static_cast<int>(ids.size());
  };
  Dataset d;
  d.spec = spec;
  d.spec.hf_config = "";
  switch (spec.kind) {
    case DatasetKind::kRuler: {
      RulerOptions o;
      o.context_length = c.context_length;
      o.tasks = c.tasks;
      o.samples_per_task = c.num_samples > 0 ? c.num_samples : 10;
      o.seed = c.seed;
      o.haystack_text = haystack;
      ASSIGN_OR_RETURN(d.samples, GenerateRuler(o, count));
      break;
    }
    case DatasetKind::kNiah: {
      NiahGridOptions o;
      ASSIGN_OR_RETURN(o.lengths, ParseNiahLengths(c.niah_lengths));
      ASSIGN_OR_RETURN(o.depths, ParseNiahDepths(c.niah_depths));
      o.samples_per_cell = c.num_samples > 0 ? c.num_samples : 1;
      o.seed = c.seed;
      o.haystack_text = haystack;
      ASSIGN_OR_RETURN(d.samples, GenerateNiahGrid(o, count));
      break;
    }
    case DatasetKind::kInfiniteBench: {
      InfiniteBenchOptions o;
      o.context_length = c.context_length;
      o.tasks = c.tasks;
      o.samples_per_task = c.num_samples > 0 ? c.num_samples : 10;
      o.seed = c.seed;
      ASSIGN_OR_RETURN(d.samples, GenerateInfiniteBench(o, count));
      break;
    }
    default:
      return InvalidArgument(fmt::format("--dataset {}: generation not implemented; pass --data-file", c.dataset));
  }
  d.rows_read = d.samples.size();
  Log(LogLevel::kInfo, "{}: generated {} samples", c.dataset, d.samples.size());
  return d;
}

}  // namespace kvpress::eval
