// A loaded model: its configuration and weights, from any supported file format.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "model/config.h"
#include "model/tensor_set.h"
#include "model/weight_placement.h"
#include "model/weights.h"

namespace kvpress {

struct Model {
  ModelConfig config;
  ModelWeights weights;
  std::string path;  // what the user passed
  // GGUF metadata (tokenizer, chat template) when loaded from GGUF, else null.
  nlohmann::json gguf_metadata;
  // Where the weight matrices live (LoadOptions::huge_pages; model/weight_placement.h).
  WeightPlacement placement;
};

// Loads a model from a Hugging Face directory (config.json + safetensors), a GGUF file, or a
// llama2.c checkpoint (.bin). A path that does not exist and reads `org/name[@revision]` is a
// Hugging Face model id, resolved in the HF cache and downloaded when missing (hub/resolve_model.h;
// configured by the HF_* environment variables); `path` of the result is then the snapshot
// directory. Every malformed input yields a Status naming the file and problem; so do NaN/Inf
// weights (model/weight_check.h) unless LoadOptions::check_weights is off.
StatusOr<std::unique_ptr<Model>> LoadModel(const std::string& path);

struct LoadOptions {
  bool check_weights = true;  // refuse NaN/Inf weights (model/weight_check.h); --no-check turns it off
  // Copy the weight matrices into transparent-huge-page memory (model/weight_placement.h; faster
  // decoding, private memory); false (--mmap) reads them in place from the file mapping.
  bool huge_pages = true;
};
// LoadModel with options (the overload above uses the defaults).
StatusOr<std::unique_ptr<Model>> LoadModel(const std::string& path, const LoadOptions& options);

// Format-specific loaders (LoadModel dispatches to them).
StatusOr<std::unique_ptr<Model>> LoadHuggingFaceModel(const std::string& dir);
StatusOr<std::unique_ptr<Model>> LoadGgufModel(const std::string& file);
StatusOr<std::unique_ptr<Model>> LoadLlama2cModel(const std::string& file);

// Checks that every tensor the config needs is present with the right shape and a supported dtype,
// then fills `weights` (views into the tensors' memory; misaligned data is copied). Tensors are
// looked up under their Hugging Face names. `origin` names the model for messages.
Status AssembleWeights(const ModelConfig& config, const TensorSet& tensors,
                       const std::string& origin, ModelWeights& weights);

// Checks the config's dimensions are positive and consistent (heads divide evenly, ...).
Status ValidateConfig(const ModelConfig& config, const std::string& origin);

}  // namespace kvpress
