#include "generate/convert_tokenizer.h"

#include "core/file_util.h"
#include "tokenizer/tokenizer_export.h"

namespace kvpress {
namespace {

// GGUF value types for tokenizer keys whose JSON form does not say (model-formats.md §4).
int TokenizerKeyType(const std::string& key) {
  if (key == "tokenizer.ggml.token_type") return 5;                                  // i32
  if (key.size() > 9 && key.compare(key.size() - 9, 9, "_token_id") == 0) return 4;  // u32
  if (key == "tokenizer.ggml.scores") return 6;                                      // f32
  return -1;
}

std::string HfDir(const Model& model) {
  if (IsDirectory(model.path)) return model.path;
  const size_t slash = model.path.find_last_of('/');
  return slash == std::string::npos ? "." : model.path.substr(0, slash);
}

}  // namespace

StatusOr<std::vector<std::string>> WriteHfTokenizerFiles(const Model& model,
                                                         const std::string& dir) {
  std::vector<std::string> written;
  switch (model.config.format) {
    case SourceFormat::kLlama2c:
      break;
    case SourceFormat::kGguf: {
      ASSIGN_OR_RETURN(HfTokenizerFiles files,
                       HfTokenizerFromGguf(model.gguf_metadata, model.path));
      RETURN_IF_ERROR(WriteFileAtomic(dir + "/tokenizer.json", files.tokenizer_json.dump() + "\n"));
      RETURN_IF_ERROR(
          WriteFileAtomic(dir + "/tokenizer_config.json", files.tokenizer_config.dump(2) + "\n"));
      written = {"tokenizer.json", "tokenizer_config.json"};
      break;
    }
    case SourceFormat::kHuggingFace: {
      const std::string src = HfDir(model);
      for (const char* name :
           {"tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "vocab.json",
            "merges.txt", "tokenizer.model", "special_tokens_map.json"}) {
        if (!FileExists(src + "/" + name)) continue;
        ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(src + "/" + name));
        RETURN_IF_ERROR(WriteFileAtomic(dir + "/" + name, bytes));
        written.emplace_back(name);
      }
      break;
    }
  }
  return written;
}

StatusOr<std::vector<GgufKeyValue>> GgufTokenizerKeys(const Model& model) {
  std::vector<GgufKeyValue> keys;
  switch (model.config.format) {
    case SourceFormat::kLlama2c:
      break;
    case SourceFormat::kGguf:
      for (auto it = model.gguf_metadata.begin(); it != model.gguf_metadata.end(); ++it) {
        if (it.key().rfind("tokenizer.", 0) == 0)
          keys.push_back({it.key(), it.value(), TokenizerKeyType(it.key())});
      }
      break;
    case SourceFormat::kHuggingFace: {
      auto meta = GgufTokenizerMetadataFromHf(HfDir(model), model.config.vocab_size);
      if (!meta.ok() && meta.status().code() == StatusCode::kNotFound) break;
      if (!meta.ok()) return meta.status();
      for (auto it = meta->begin(); it != meta->end(); ++it) {
        keys.push_back({it.key(), nlohmann::json(it.value()), TokenizerKeyType(it.key())});
      }
      break;
    }
  }
  return keys;
}

}  // namespace kvpress
