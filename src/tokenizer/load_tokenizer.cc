#include "tokenizer/load_tokenizer.h"

#include "core/file_util.h"
#include "tokenizer/llama2c_tokenizer.h"

namespace kvpress {

StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizerFor(const Model& model, const std::string& path) {
  std::string p = path;
  if (p.empty() && model.config.format == SourceFormat::kLlama2c) {
    const size_t slash = model.path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : model.path.substr(0, slash);
    for (const char* name : {"tokenizer.bin", "tok512.bin"}) {
      if (FileExists(dir + "/" + name)) {
        p = dir + "/" + name;
        break;
      }
    }
  }
  if (p.empty()) {
    return NotFound(model.path + ": no tokenizer found; pass --tokenizer (or --prompt-ids)");
  }
  if (p.size() >= 4 && p.compare(p.size() - 4, 4, ".bin") == 0) {
    ASSIGN_OR_RETURN(auto tok, Llama2cTokenizer::Load(p, model.config.vocab_size));
    return std::unique_ptr<Tokenizer>(std::move(tok));
  }
  return Unimplemented(p + ": this tokenizer format is not supported yet (llama2.c tokenizer.bin only)");
}

}  // namespace kvpress
