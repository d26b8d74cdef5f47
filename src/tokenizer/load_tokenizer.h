// Finds and loads the tokenizer for a model (or an explicit --tokenizer path).
#pragma once

#include <memory>
#include <string>

#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace kvpress {

// `path` may be empty (look beside/inside the model). Supported now: llama2.c tokenizer.bin.
// NotFound when no tokenizer can be located; Unimplemented for formats not yet supported.
StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizerFor(const Model& model, const std::string& path);

}  // namespace kvpress
