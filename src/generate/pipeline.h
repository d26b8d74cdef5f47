// The context + questions pipeline (reference §4): the context is prefilled and compressed once;
// each question is prefilled on top of the compressed context without compression, answered (with
// decoding compression going on), and the cache and press state are restored before the next one.
#pragma once

#include <string>
#include <vector>

#include "generate/generator.h"

namespace kvpress {

struct PipelineAnswer {
  std::vector<int32_t> question_ids;
  std::vector<int32_t> tokens;
  std::string finish_reason;
  Metrics metrics;                  // this question's prefill + decode (+ the shared context cost)
  std::vector<int> kept_per_layer;
};

struct PipelineResult {
  std::vector<PipelineAnswer> answers;  // in question order
  Metrics metrics;                      // run level: context once + every question
  int context_tokens = 0;
};

// `context` ids (BOS/template prefix included) and per-question ids (suffix and answer prefix
// included). With no questions, one empty question is answered (plain continuation).
StatusOr<PipelineResult> RunPipeline(Transformer& model, const std::vector<int32_t>& context,
                                     const std::vector<std::vector<int32_t>>& questions,
                                     const GenerateOptions& options, const TokenCallback& on_token = {});

}  // namespace kvpress
