#include "tokenizer/llama2c_tokenizer.h"

#include <fmt/format.h>

#include <cstring>

#include "core/file_util.h"

namespace kvpress {

StatusOr<std::unique_ptr<Llama2cTokenizer>> Llama2cTokenizer::Load(const std::string& path,
                                                                   int vocab_size) {
  ASSIGN_OR_RETURN(std::string data, ReadFileToString(path));
  auto tok = std::unique_ptr<Llama2cTokenizer>(new Llama2cTokenizer());
  size_t pos = 0;
  auto read = [&](void* dst, size_t n) {
    if (pos + n > data.size()) return false;
    std::memcpy(dst, data.data() + pos, n);
    pos += n;
    return true;
  };
  int32_t max_len = 0;
  if (!read(&max_len, 4)) return DataLoss(path + ": truncated llama2.c tokenizer (no header)");
  if (vocab_size == 0) return InvalidArgument(path + ": vocab size must be positive");
  // vocab_size < 0: the file has no count, so read tokens until it ends.
  for (int i = 0; vocab_size < 0 ? pos < data.size() : i < vocab_size; ++i) {
    float score = 0;
    int32_t len = 0;
    if (!read(&score, 4) || !read(&len, 4)) {
      return DataLoss(fmt::format(
          "{}: truncated at token {} of {} (is this the model's tokenizer?)", path, i, vocab_size));
    }
    if (len < 0 || len > 1024 || pos + static_cast<size_t>(len) > data.size()) {
      return DataLoss(fmt::format("{}: token {} has invalid length {}", path, i, len));
    }
    std::string piece(data.data() + pos, static_cast<size_t>(len));
    pos += static_cast<size_t>(len);
    tok->lookup_.emplace(piece, i);  // first occurrence wins, as run.c's sorted bsearch does
    tok->pieces_.push_back(std::move(piece));
    tok->scores_.push_back(score);
  }
  return tok;
}

StatusOr<std::vector<int32_t>> Llama2cTokenizer::Encode(std::string_view text,
                                                        bool add_special) const {
  std::vector<int32_t> ids;
  if (add_special) ids.push_back(1);
  if (text.empty()) return ids;
  std::vector<int32_t> toks;
  auto space = lookup_.find(" ");
  if (space != lookup_.end()) toks.push_back(space->second);
  for (size_t i = 0; i < text.size();) {
    size_t len = 1;
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c & 0xE0) == 0xC0)
      len = 2;
    else if ((c & 0xF0) == 0xE0)
      len = 3;
    else if ((c & 0xF8) == 0xF0)
      len = 4;
    len = std::min(len, text.size() - i);
    for (size_t k = 1; k < len; ++k) {  // stop at a malformed continuation
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) {
        len = k;
        break;
      }
    }
    auto it = lookup_.find(std::string(text.substr(i, len)));
    if (it != lookup_.end()) {
      toks.push_back(it->second);
    } else {
      for (size_t k = 0; k < len;
           ++k) {  // byte fallback: <0x00>..<0xFF> are ids 3..258, as run.c has them
        const int32_t id = static_cast<unsigned char>(text[i + k]) + 3;
        if (id >= VocabSize()) {
          return FailedPrecondition(
              fmt::format("byte 0x{:02X} has no token: the {}-token llama2.c vocabulary lacks the "
                          "byte tokens <0x00>..<0xFF> (ids 3..258)",
                          static_cast<unsigned char>(text[i + k]), VocabSize()));
        }
        toks.push_back(id);
      }
    }
    i += len;
  }
  while (true) {
    float best = -1e10f;
    int best_id = -1;
    size_t best_idx = 0;
    for (size_t i = 0; i + 1 < toks.size(); ++i) {
      auto it = lookup_.find(pieces_[static_cast<size_t>(toks[i])] +
                             pieces_[static_cast<size_t>(toks[i + 1])]);
      if (it != lookup_.end() && scores_[static_cast<size_t>(it->second)] > best) {
        best = scores_[static_cast<size_t>(it->second)];
        best_id = it->second;
        best_idx = i;
      }
    }
    if (best_id < 0) break;
    toks[best_idx] = best_id;
    toks.erase(toks.begin() + static_cast<std::ptrdiff_t>(best_idx) + 1);
  }
  ids.insert(ids.end(), toks.begin(), toks.end());
  return ids;
}

std::string Llama2cTokenizer::Piece(int32_t id) const {
  if (id < 0 || id >= VocabSize()) return "";
  const std::string& p = pieces_[static_cast<size_t>(id)];
  unsigned int byte = 0;
  if (p.size() == 6 && std::sscanf(p.c_str(), "<0x%02X>", &byte) == 1) {
    return std::string(1, static_cast<char>(byte));
  }
  return p;
}

std::string Llama2cTokenizer::Decode(std::span<const int32_t> ids) const {
  std::string out;
  int32_t prev = -1;
  for (int32_t id : ids) {
    std::string piece = Piece(id);
    if (prev == BosId() && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
    out += piece;
    prev = id;
  }
  return out;
}

}  // namespace kvpress
