// Finds and loads the tokenizer for a model (or an explicit --tokenizer path).
#pragma once

#include <memory>
#include <string>

#include "model/model.h"
#include "tokenizer/chat_template/chat_template.h"
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

// `path` may be empty: then the tokenizer is looked up beside/inside the model (its HF
// directory, its GGUF metadata, or tokenizer.bin/tok512.bin beside a llama2.c checkpoint).
// NotFound when no tokenizer can be located.
StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizerFor(const Model& model, const std::string& path);

// The chat template(s) at `path`: a GGUF file (its tokenizer.chat_template metadata, read
// without the tensors), else whatever LoadChatTemplateConfig reads (tokenizer_config.json,
// chat_template.jinja, ...). Errors as LoadChatTemplateConfig; DataLoss for a corrupt GGUF.
StatusOr<ChatTemplateConfig> LoadChatTemplateConfigAt(const std::string& path);

// The chat template(s) of `model`, as LoadTokenizerFor finds its tokenizer: at `path` when given,
// else the GGUF's own metadata for a GGUF model, else beside/inside the model (HF directory).
StatusOr<ChatTemplateConfig> LoadChatTemplateConfigFor(const Model& model, const std::string& path);

}  // namespace kvpress
