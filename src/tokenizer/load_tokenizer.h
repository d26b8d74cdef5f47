// Loads a tokenizer, or chat templates, from a path of any supported format. Knows no model:
// generate/model_tokenizer.h finds the tokenizer that goes with a loaded model.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace kvpress {

// Loads the tokenizer at `path`, recognised by content:
//   - a directory: tokenizer.json, else vocab.json + merges.txt, else tokenizer.model, else
//     tokenizer.bin;
//   - a GGUF file (its embedded vocabulary);
//   - a tokenizer.json, or a vocab.json with merges.txt beside it;
//   - a tiktoken or SentencePiece (BPE) `.model`;
//   - a llama2.c tokenizer.bin: `llama2c_vocab_size` tokens (the model's; -1 reads to the end).
// NotFound when nothing is there; DataLoss for corrupt files; Unimplemented for valid but
// unsupported tokenizers (e.g. Unigram), each naming the file.
StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& path,
                                                   int llama2c_vocab_size = -1);

// The vocabulary embedded in a GGUF file's metadata (tokenizer.ggml.*); `path` names it in errors.
StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizerFromGgufMetadata(const nlohmann::json& metadata,
                                                                   const std::string& path);

// The chat template(s) at `path`: a GGUF file (its tokenizer.chat_template metadata, read
// without the tensors), else whatever LoadChatTemplateConfig reads (tokenizer_config.json,
// chat_template.jinja, ...). Errors as LoadChatTemplateConfig; DataLoss for a corrupt GGUF.
StatusOr<ChatTemplateConfig> LoadChatTemplateConfigAt(const std::string& path);

}  // namespace kvpress
