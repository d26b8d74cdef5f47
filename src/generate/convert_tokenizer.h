// The tokenizer side of `kvpress convert`: which tokenizer files or GGUF keys go with a converted
// model (tokenizer_export.h does the format conversion itself).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "model/model.h"
#include "model/writers.h"

namespace kvpress {

// Writes the tokenizer of `model` into the Hugging Face directory `dir` and returns the file names
// written: a GGUF model's vocabulary and chat template as tokenizer.json + tokenizer_config.json;
// a Hugging Face model's own tokenizer files copied (tokenizer.json, tokenizer_config.json,
// chat_template.jinja, vocab.json, merges.txt, tokenizer.model, special_tokens_map.json).
// llama2.c checkpoints: nothing. Unimplemented when the vocabulary has no tokenizer.json form
// (SentencePiece-style GGUF `llama` vocabularies); other errors name the file.
StatusOr<std::vector<std::string>> WriteHfTokenizerFiles(const Model& model,
                                                         const std::string& dir);

// The GGUF metadata keys of `model`'s tokenizer and chat template: a GGUF model's tokenizer.*
// keys as they are (token_type written as i32); a Hugging Face model's tokenizer.json converted
// (GgufTokenizerMetadataFromHf, padded to the model's vocab_size). Empty for llama2.c checkpoints
// and HF directories without tokenizer.json. Unimplemented when the tokenizer has no GGUF form.
StatusOr<std::vector<GgufKeyValue>> GgufTokenizerKeys(const Model& model);

}  // namespace kvpress
