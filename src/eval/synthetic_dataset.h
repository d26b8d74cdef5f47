// The long-context datasets generated here rather than read (ruler, niah; reference §6): built from
// the run's settings and seed, their lengths measured with the model's own tokenizer.
#pragma once

#include "core/status.h"
#include "eval/dataset.h"
#include "eval/run_config.h"
#include "tokenizer/tokenizer.h"

namespace kvpress::eval {

// The samples of synthetic run `c` (IsSyntheticRun): --num-samples per task / grid cell (default 10
// for ruler, 1 per niah cell), c.seed, c.context_length, c.tasks, the niah grid and the haystack file.
// InvalidArgument for bad settings; NotFound for an unreadable haystack file.
StatusOr<Dataset> GenerateSyntheticDataset(const RunConfig& c, const Tokenizer& tokenizer);

}  // namespace kvpress::eval
