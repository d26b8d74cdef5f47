// Where an eval's model and samples come from: a model path or Hugging Face id loaded with its
// tokenizer and chat template, and a dataset from --data-file or from its Hugging Face id.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/status.h"
#include "eval/dataset.h"
#include "eval/runner.h"
#include "model/model.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace kvpress::eval {

// A model with what the harness needs of it, owned.
struct LoadedEvalModel {
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  std::optional<ChatTemplate> chat;  // absent when the model ships no template
  std::map<std::string, std::string> special_tokens;

  EvalModel View() const { return EvalModel{model.get(), tokenizer.get(), chat ? &*chat : nullptr, special_tokens}; }
};

// Loads `model_path` (directory, GGUF, llama2.c .bin or org/name) with `tokenizer_path` (""
// = found with the model) and the chat template beside it, if any (a broken template is an error).
// `options`: LoadModel's (the NaN/Inf weight check).
StatusOr<std::unique_ptr<LoadedEvalModel>> LoadEvalModel(const std::string& model_path,
                                                          const std::string& tokenizer_path,
                                                          const LoadOptions& options = LoadOptions());

// The samples of dataset `key`: from `data_file` when given, else fetched by the dataset's
// Hugging Face id (`config`/`split` override the table's; cached under $HF_HOME, offline honoured).
// Skipped rows are counted in the result (and logged), never fatal.
StatusOr<Dataset> LoadEvalDataset(const std::string& key, const std::string& data_file, const std::string& config,
                                  const std::string& split);

// The samples of run `c`: generated with `m`'s tokenizer for a synthetic run (IsSyntheticRun),
// else LoadEvalDataset. Errors as those two.
StatusOr<Dataset> LoadRunDataset(const RunConfig& c, const LoadedEvalModel& m);

}  // namespace kvpress::eval
