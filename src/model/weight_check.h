// The load-time check that a model's weights are finite: a NaN or Inf in a tensor otherwise gives
// silent garbage (`<unk><unk>...`, exit 0). LoadModel runs it unless LoadOptions::check_weights
// is off (`--no-check`).
#pragma once

#include <string>

#include "core/status.h"
#include "model/weights.h"

namespace kvpress {

// DataLoss naming the first tensor holding a NaN or Inf ("<origin>: tensor 'layers.3.w_up
// (up_proj)' holds a non-finite value (NaN or Inf) at row 7; the file is damaged (--no-check skips
// this check)"). Checks every f32/f16/bf16 matrix and
// vector and the f16 scales of Q8_0 blocks (other block types are not checked). One pass over the
// weights, reading them as the first forward would.
Status CheckWeightsFinite(const ModelWeights& weights, const std::string& origin);

}  // namespace kvpress
