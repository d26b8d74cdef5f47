// Byte-level BPE vocabularies without a tokenizer.json: vocab.json + merges.txt and tiktoken.
#include <fmt/format.h>

#include <charconv>

#include "core/file_util.h"
#include "core/path.h"
#include "tokenizer/hf_loaders.h"
#include "tokenizer/unicode_util.h"

namespace kvpress {
namespace {

using nlohmann::json;

// Qwen2 / Qwen2.5 added tokens (ids 151643..151664; the first 14 special), used when a
// Qwen2 vocab.json comes without its tokenizer_config.json.
std::vector<AddedToken> Qwen2AddedTokens() {
  static const char* kNames[] = {
      "<|endoftext|>",      "<|im_start|>",     "<|im_end|>",     "<|object_ref_start|>",
      "<|object_ref_end|>", "<|box_start|>",    "<|box_end|>",    "<|quad_start|>",
      "<|quad_end|>",       "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
      "<|image_pad|>",      "<|video_pad|>",    "<tool_call>",    "</tool_call>",
      "<|fim_prefix|>",     "<|fim_middle|>",   "<|fim_suffix|>", "<|fim_pad|>",
      "<|repo_name|>",      "<|file_sep|>"};
  std::vector<AddedToken> out;
  for (int i = 0; i < 22; ++i) {
    AddedToken t;
    t.id = 151643 + i;
    t.content = kNames[i];
    t.special = i < 14;
    out.push_back(t);
  }
  return out;
}

// Llama-3's 256 special tokens (Meta's tokenizer.py), ids 128000..128255.
std::vector<AddedToken> Llama3SpecialTokens() {
  std::vector<std::string> names = {"<|begin_of_text|>",
                                    "<|end_of_text|>",
                                    "<|reserved_special_token_0|>",
                                    "<|reserved_special_token_1|>",
                                    "<|reserved_special_token_2|>",
                                    "<|reserved_special_token_3|>",
                                    "<|start_header_id|>",
                                    "<|end_header_id|>",
                                    "<|reserved_special_token_4|>",
                                    "<|eot_id|>"};
  for (int i = 5; i < 251; ++i) names.push_back(fmt::format("<|reserved_special_token_{}|>", i));
  std::vector<AddedToken> out;
  for (size_t i = 0; i < names.size(); ++i) {
    AddedToken t;
    t.id = 128000 + static_cast<int32_t>(i);
    t.content = names[i];
    t.special = true;
    out.push_back(t);
  }
  return out;
}

// added_tokens_decoder of a tokenizer_config.json: {"<id>": {content, special, lstrip, ...}}.
std::vector<AddedToken> ConfigAddedTokens(const json& config) {
  std::vector<AddedToken> out;
  if (!config.contains("added_tokens_decoder") || !config["added_tokens_decoder"].is_object())
    return out;
  for (const auto& [key, v] : config["added_tokens_decoder"].items()) {
    int32_t id = -1;
    std::from_chars(key.data(), key.data() + key.size(), id);
    if (id < 0 || !v.is_object() || !v.contains("content")) continue;
    AddedToken t;
    t.id = id;
    t.content = v["content"].get<std::string>();
    t.special = v.value("special", false);
    t.lstrip = v.value("lstrip", false);
    t.rstrip = v.value("rstrip", false);
    t.single_word = v.value("single_word", false);
    t.normalized = v.value("normalized", !t.special);
    out.push_back(std::move(t));
  }
  return out;
}

int Base64Value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool DecodeBase64(std::string_view in, std::string& out) {
  out.clear();
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    if (c == '=') break;
    const int v = Base64Value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return true;
}

// Finishes a byte-level tokenizer: pre-tokenizer from `pattern`, ByteLevel decoder.
StatusOr<std::unique_ptr<HfTokenizer>> Finish(HfTokenizer::Parts parts, const std::string& pattern,
                                              const std::string& origin) {
  ASSIGN_OR_RETURN(parts.pre_tokenizer, MakePreTokenizer(ByteLevelSplitSpec(pattern)));
  ASSIGN_OR_RETURN(parts.decoder, MakeDecoder(json{{"type", "ByteLevel"}}));
  auto tok = HfTokenizer::Create(std::move(parts));
  if (!tok.ok()) return Status(tok.status().code(), origin + ": " + tok.status().message());
  return tok;
}

}  // namespace

StatusOr<std::unique_ptr<HfTokenizer>> LoadVocabMerges(const std::string& vocab_path,
                                                       const std::string& merges_path) {
  ASSIGN_OR_RETURN(json vocab, ReadJsonFile(vocab_path));
  if (!vocab.is_object()) return DataLoss(vocab_path + ": expected a JSON object {token: id}");
  ASSIGN_OR_RETURN(std::string merges_text, ReadFileToString(merges_path));

  json config = json::object();
  const std::string config_path = DirName(vocab_path) + "/tokenizer_config.json";
  if (FileExists(config_path)) {
    auto c = ReadJsonFile(config_path);
    if (c.ok() && c->is_object()) config = *c;
  }
  const std::string cls = config.value("tokenizer_class", std::string());
  const bool qwen2 = cls.rfind("Qwen2Tokenizer", 0) == 0 || (cls.empty() && vocab.size() == 151643);

  BpeOptions opt;
  opt.byte_level = true;
  std::vector<std::string> tokens;
  std::string bytes;
  for (const auto& [tok, id_json] : vocab.items()) {
    if (!id_json.is_number_integer() || id_json.get<int64_t>() < 0 ||
        id_json.get<int64_t>() > (1 << 24)) {
      return DataLoss(fmt::format("{}: token '{}' has an invalid id", vocab_path, tok));
    }
    const auto id = static_cast<size_t>(id_json.get<int64_t>());
    if (id >= tokens.size()) tokens.resize(id + 1);
    if (unicode::ByteLevelToBytes(tok, bytes)) tokens[id] = bytes;
  }
  auto bpe = std::make_unique<BpeModel>(opt, std::move(tokens));
  size_t rank = 0, line_no = 0, pos = 0;
  std::string left, right;
  while (pos < merges_text.size()) {
    size_t end = merges_text.find('\n', pos);
    if (end == std::string::npos) end = merges_text.size();
    std::string_view line(merges_text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.rfind("#version", 0) == 0) continue;
    const size_t space = line.find(' ');
    if (space == std::string_view::npos || line.find(' ', space + 1) != std::string_view::npos) {
      return DataLoss(fmt::format("{}:{}: expected \"left right\"", merges_path, line_no));
    }
    if (unicode::ByteLevelToBytes(line.substr(0, space), left) &&
        unicode::ByteLevelToBytes(line.substr(space + 1), right)) {
      Status st = bpe->AddMerge(left, right, static_cast<uint32_t>(rank));
      if (!st.ok()) return DataLoss(fmt::format("{}:{}: {}", merges_path, line_no, st.message()));
    }
    ++rank;
  }

  HfTokenizer::Parts parts;
  parts.added_tokens = ConfigAddedTokens(config);
  if (parts.added_tokens.empty() && qwen2) parts.added_tokens = Qwen2AddedTokens();
  if (qwen2) {
    ASSIGN_OR_RETURN(parts.normalizer, MakeNormalizer(json{{"type", "NFC"}}));
  }
  parts.model = std::move(bpe);
  parts.description = fmt::format("vocab.json + merges.txt byte-level BPE ({}), {} merges",
                                  qwen2 ? "Qwen2" : "GPT-2", rank);
  ASSIGN_OR_RETURN(auto tok, Finish(std::move(parts),
                                    qwen2 ? kQwen2SplitPattern : kGpt2SplitPattern, vocab_path));
  int bos = -1, eos = tok->TokenToId("<|endoftext|>");
  ApplyTokenizerConfig(DirName(vocab_path), *tok, bos, eos);
  tok->SetBosEos(bos, eos);
  return tok;
}

StatusOr<std::unique_ptr<HfTokenizer>> LoadTiktoken(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  std::vector<std::string> tokens;
  std::vector<int64_t> ranks;
  size_t pos = 0, line_no = 0;
  std::string bytes;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    int64_t rank = -1;
    if (space == std::string_view::npos || !DecodeBase64(line.substr(0, space), bytes) ||
        bytes.empty() ||
        std::from_chars(line.data() + space + 1, line.data() + line.size(), rank).ec !=
            std::errc() ||
        rank < 0 || rank > (1 << 24)) {
      return DataLoss(fmt::format(
          "{}:{}: expected \"<base64 token> <rank>\" (is this a tiktoken file?)", path, line_no));
    }
    if (static_cast<size_t>(rank) >= tokens.size()) tokens.resize(static_cast<size_t>(rank) + 1);
    tokens[static_cast<size_t>(rank)] = bytes;
  }
  if (tokens.empty()) return DataLoss(path + ": empty tiktoken file");
  const size_t n = tokens.size();
  ranks.resize(n);
  for (size_t i = 0; i < n; ++i) ranks[i] = static_cast<int64_t>(i);
  BpeOptions opt;
  opt.byte_level = true;
  opt.ignore_merges = true;  // tiktoken looks a whole piece up before merging
  auto bpe = std::make_unique<BpeModel>(opt, std::move(tokens));
  bpe->AddMergesFromPriorities(ranks);

  HfTokenizer::Parts parts;
  const bool llama3 = n == 128000;
  if (llama3) {
    parts.added_tokens = Llama3SpecialTokens();
    parts.special_prefix = {128000};
    parts.bos_id = 128000;
    parts.eos_id = 128001;
  }
  parts.model = std::move(bpe);
  parts.description = fmt::format("tiktoken BPE{}, {} ranks", llama3 ? " (Llama-3)" : "", n);
  ASSIGN_OR_RETURN(auto tok, Finish(std::move(parts), kLlama3SplitPattern, path));
  int bos = tok->BosId(), eos = tok->EosId();
  ApplyTokenizerConfig(DirName(path), *tok, bos, eos);
  tok->SetBosEos(bos, eos);
  return tok;
}

}  // namespace kvpress
