// What kvpress_cpp.Model holds: the model, its tokenizer and chat template, loaded the way
// `kvpress generate` / `kvpress eval` load them, and kept for many calls.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/status.h"
#include "eval/runner.h"
#include "generate/model_tokenizer.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace kvpress::py {

struct PyModel {
  std::string
      name;  // what the user passed ("tiny-reasoner" for the bundled model): names eval files
  std::string tokenizer_path;  // "" = found with the model
  std::unique_ptr<Model> model;
  // Null when none was found beside the model (then tokenizer_status says why); calls that need
  // text raise that error, token-id prompts still work (as with `kvpress generate --prompt-ids`).
  std::unique_ptr<Tokenizer> tokenizer;
  Status tokenizer_status;
  // The model's chat template, when it ships one; a template that fails to parse is kept as
  // chat_status and raised by the calls that would use it.
  std::optional<ModelChatTemplate> chat;  // with the special tokens it refers to
  Status chat_status;

  // The tokenizer, or its load error.
  StatusOr<const Tokenizer*> RequireTokenizer() const;
  // The harness's view of this model (eval::RunEval); errors as RequireTokenizer and chat_status.
  StatusOr<eval::EvalModel> EvalView() const;
};

// Loads `path_or_id` as the CLI's --model does: "" or "tiny-reasoner" is the bundled model, a
// directory / GGUF / llama2.c .bin is loaded from disk, `org/name[@rev]` through the Hugging Face
// cache. `tokenizer_path` as --tokenizer (an explicit one that fails is an error at once). `mmap`
// as --mmap: the weights stay in the file mapping instead of a huge-page copy.
StatusOr<std::shared_ptr<PyModel>> LoadPyModel(const std::string& path_or_id,
                                               const std::string& tokenizer_path,
                                               bool check_weights, bool mmap = false);

}  // namespace kvpress::py
