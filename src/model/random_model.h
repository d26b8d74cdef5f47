// Models with random weights of any size, built in memory: for benchmarks and tests that need a
// realistic shape without a download.
#pragma once

#include <memory>
#include <string>

#include "model/model.h"

namespace kvpress {

// A llama-family config by preset name: "tiny" (~1 M parameters), "0.35b" (the 349 M bf16 Llama of
// DESIGN.md's targets: d 1024, 24 layers, F 2816), "0.5b" (d 1024, 28 layers, F 4096, ~505 M).
StatusOr<ModelConfig> RandomModelPreset(const std::string& name);

// Weights ~ N(0, 0.02) (norms 1), stored in `dtype`, deterministic in `seed`.
std::unique_ptr<Model> MakeRandomModel(const ModelConfig& config, DType dtype, uint64_t seed);

}  // namespace kvpress
