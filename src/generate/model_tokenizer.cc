#include "generate/model_tokenizer.h"

#include "core/file_util.h"
#include "core/path.h"
#include "tokenizer/load_tokenizer.h"

namespace kvpress {
StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizerFor(const Model& model, const std::string& path) {
  const int llama2c_vocab =
      model.config.format == SourceFormat::kLlama2c ? model.config.vocab_size : -1;
  if (!path.empty()) return LoadTokenizer(path, llama2c_vocab);
  switch (model.config.format) {
    case SourceFormat::kLlama2c: {
      const std::string dir = DirName(model.path);
      for (const char* name : {"tokenizer.bin", "tok512.bin"}) {
        if (FileExists(dir + "/" + name)) return LoadTokenizer(dir + "/" + name, llama2c_vocab);
      }
      break;
    }
    case SourceFormat::kGguf:
      if (model.gguf_metadata.is_object() && model.gguf_metadata.contains("tokenizer.ggml.model")) {
        return LoadTokenizerFromGgufMetadata(model.gguf_metadata, model.path);
      }
      break;
    case SourceFormat::kHuggingFace: {
      const std::string dir = IsDirectory(model.path) ? model.path : DirName(model.path);
      auto tok = LoadTokenizer(dir);
      if (tok.ok() || tok.status().code() != StatusCode::kNotFound) return tok;
      break;
    }
  }
  return NotFound(model.path + ": no tokenizer found; pass --tokenizer (or --prompt-ids)");
}

StatusOr<ChatTemplateConfig> LoadChatTemplateConfigFor(const Model& model,
                                                       const std::string& path) {
  if (!path.empty()) return LoadChatTemplateConfigAt(path);
  if (model.config.format == SourceFormat::kGguf) {
    return ChatTemplateConfigFromGguf(model.gguf_metadata, model.path);
  }
  return LoadChatTemplateConfig(model.path);
}

StatusOr<std::optional<ModelChatTemplate>> LoadChatTemplateFor(const Model& model,
                                                               const std::string& path) {
  auto cfg = LoadChatTemplateConfigFor(model, path);
  if (!cfg.ok() || cfg->templates.empty()) return std::optional<ModelChatTemplate>();
  ASSIGN_OR_RETURN(ChatTemplate t,
                   ChatTemplate::FromConfig(*cfg, /*name=*/"", /*has_tools=*/false));
  return std::optional<ModelChatTemplate>(ModelChatTemplate{std::move(t), cfg->special_tokens});
}

}  // namespace kvpress
