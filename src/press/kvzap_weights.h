// The trained per-layer scorer of KVzap (press/kvzap_press.cc): its weights file and its forward.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "model/config.h"

namespace kvpress {

struct KvzapWeights {
  int n_layers = 0;
  int input_dim = 0;   // D (the model's hidden size)
  int hidden_dim = 0;  // F of the MLP; 0 = linear model
  int output_dim = 0;  // H_kv
  // Per layer, row-major as in the file. Linear: w1 [H_kv, D], b1 [H_kv]. MLP: w1 [F, D], b1 [F],
  // w2 [H_kv, F], b2 [H_kv].
  std::vector<std::vector<float>> w1, b1, w2, b2;

  // FailedPrecondition naming the mismatch when the weights do not fit `config`.
  Status CheckShape(const ModelConfig& config) const;
  // Scores of one token of `layer`: h [D] -> out [H_kv] (float weights, double accumulation;
  // GELU with erf, as torch's nn.GELU()).
  void Score(int layer, const float* h, float* out) const;
};

// Reads the safetensors file described in press/kvzap_press.cc. NotFound / DataLoss for unreadable
// files, FailedPrecondition for missing, extra-layer or malformed tensors.
StatusOr<KvzapWeights> LoadKvzapWeights(const std::string& path);

}  // namespace kvpress
