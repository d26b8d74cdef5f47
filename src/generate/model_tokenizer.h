// The tokenizer and chat templates that go with a loaded model: here, above both the model and the
// tokenizer layers, because finding them needs the model's format, path and GGUF metadata.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "model/model.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace kvpress {

// `path` may be empty: then the tokenizer is looked up beside/inside the model (its HF
// directory, its GGUF metadata, or tokenizer.bin/tok512.bin beside a llama2.c checkpoint).
// A given `path` is loaded by LoadTokenizer (tokenizer/load_tokenizer.h), with the model's
// vocabulary size for a llama2.c tokenizer.bin. NotFound when no tokenizer can be located.
StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizerFor(const Model& model, const std::string& path);

// The chat template(s) of `model`, as LoadTokenizerFor finds its tokenizer: at `path` when given,
// else the GGUF's own metadata for a GGUF model, else beside/inside the model (HF directory).
StatusOr<ChatTemplateConfig> LoadChatTemplateConfigFor(const Model& model, const std::string& path);

// A model's default chat template, ready to render, with the special tokens it refers to.
struct ModelChatTemplate {
  ChatTemplate chat_template;
  std::map<std::string, std::string> special_tokens;
};

// The default template of LoadChatTemplateConfigFor(model, path): nullopt when none is found (no
// config, or one without templates), an error when the template does not parse.
StatusOr<std::optional<ModelChatTemplate>> LoadChatTemplateFor(const Model& model,
                                                               const std::string& path);

}  // namespace kvpress
