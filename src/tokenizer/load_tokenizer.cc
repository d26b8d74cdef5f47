#include "tokenizer/load_tokenizer.h"

#include <fmt/format.h>

#include <cctype>
#include <cstring>
#include <fstream>

#include "core/file_util.h"
#include "core/path.h"
#include "gguf/gguf_reader.h"
#include "tokenizer/hf_loaders.h"
#include "tokenizer/llama2c_tokenizer.h"

namespace kvpress {
namespace {

bool EndsWith(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// The first `n` bytes of a file ("" when unreadable).
std::string Head(const std::string& path, size_t n) {
  std::ifstream f(path, std::ios::binary);
  std::string buf(n, '\0');
  f.read(buf.data(), static_cast<std::streamsize>(n));
  buf.resize(static_cast<size_t>(f.gcount()));
  return buf;
}

// tiktoken files start with a line "<base64> <decimal rank>".
bool LooksLikeTiktoken(const std::string& head) {
  const size_t nl = head.find('\n');
  const std::string line = head.substr(0, nl);
  const size_t space = line.find(' ');
  if (space == std::string::npos || space == 0 || space + 1 >= line.size()) return false;
  for (size_t i = 0; i < space; ++i) {
    const char c = line[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/' && c != '=')
      return false;
  }
  for (size_t i = space + 1; i < line.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(line[i])) && line[i] != '\r') return false;
  }
  return true;
}

template <typename T>
StatusOr<std::unique_ptr<Tokenizer>> Upcast(StatusOr<std::unique_ptr<T>> t) {
  if (!t.ok()) return t.status();
  return std::unique_ptr<Tokenizer>(std::move(t).value());
}

StatusOr<std::unique_ptr<Tokenizer>> LoadGguf(const std::string& path) {
  ASSIGN_OR_RETURN(nlohmann::json metadata, ReadGgufMetadata(path));
  return Upcast(LoadGgufVocab(metadata, path));
}

bool IsGgufFile(const std::string& path) { return !IsDirectory(path) && Head(path, 4) == "GGUF"; }

}  // namespace

StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& path,
                                                   int llama2c_vocab_size) {
  if (IsDirectory(path)) {
    if (FileExists(path + "/tokenizer.json"))
      return Upcast(LoadTokenizerJson(path + "/tokenizer.json"));
    if (FileExists(path + "/vocab.json") && FileExists(path + "/merges.txt")) {
      return Upcast(LoadVocabMerges(path + "/vocab.json", path + "/merges.txt"));
    }
    for (const char* name : {"tokenizer.model", "tokenizer.bin"}) {
      if (FileExists(path + "/" + name))
        return LoadTokenizer(path + "/" + name, llama2c_vocab_size);
    }
    return NotFound(path +
                    ": no tokenizer.json, vocab.json + merges.txt, tokenizer.model or "
                    "tokenizer.bin in this directory");
  }
  if (!FileExists(path)) return NotFound(path + ": no such tokenizer file or directory");
  const std::string head = Head(path, 256);
  if (IsGgufFile(path)) return LoadGguf(path);
  const std::string base = BaseName(path);
  if (EndsWith(base, ".json")) {
    if (EndsWith(base, "vocab.json")) {
      const std::string merges = DirName(path) + "/merges.txt";
      if (!FileExists(merges))
        return NotFound(path + ": a vocab.json needs merges.txt beside it (" + merges + ")");
      return Upcast(LoadVocabMerges(path, merges));
    }
    return Upcast(LoadTokenizerJson(path));
  }
  if (EndsWith(base, ".bin")) {
    return Upcast(Llama2cTokenizer::Load(path, llama2c_vocab_size));
  }
  if (LooksLikeTiktoken(head)) return Upcast(LoadTiktoken(path));
  if (!head.empty() && head[0] == 0x0A) return Upcast(LoadSentencePieceModel(path));
  return DataLoss(path +
                  ": unrecognised tokenizer format (expected tokenizer.json, vocab.json, GGUF, "
                  "tiktoken or SentencePiece .model, or llama2.c .bin)");
}

StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizerFromGgufMetadata(const nlohmann::json& metadata,
                                                                   const std::string& path) {
  return Upcast(LoadGgufVocab(metadata, path));
}

StatusOr<ChatTemplateConfig> LoadChatTemplateConfigAt(const std::string& path) {
  if (!IsGgufFile(path)) return LoadChatTemplateConfig(path);
  ASSIGN_OR_RETURN(nlohmann::json metadata, ReadGgufMetadata(path));
  return ChatTemplateConfigFromGguf(metadata, path);
}

}  // namespace kvpress
