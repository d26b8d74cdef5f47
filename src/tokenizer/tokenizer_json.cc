// tokenizer.json loader. The file is read with nlohmann's SAX parser: `model.vocab` and
// `model.merges` (most of an 11 MB file) stream straight into flat vectors, and only the small
// remainder is built as a JSON DOM. This keeps loading Qwen3's tokenizer.json well under 0.5 s.
#include <fmt/format.h>

#include "core/file_util.h"
#include "core/json_parse.h"
#include "core/path.h"
#include "tokenizer/hf_loaders.h"
#include "tokenizer/unicode_util.h"

namespace kvpress {
namespace {

using nlohmann::json;

class TokenizerJsonSax : public nlohmann::json_sax<json> {
 public:
  json root;
  std::vector<std::pair<std::string, int64_t>> vocab;
  std::vector<std::pair<std::string, std::string>> merges;
  bool has_vocab = false, has_merges = false;
  std::string error;

  bool null() override { return Value(json()); }
  bool boolean(bool v) override { return Value(json(v)); }
  bool number_integer(number_integer_t v) override { return Number(v, json(v)); }
  bool number_unsigned(number_unsigned_t v) override {
    return Number(static_cast<int64_t>(v), json(v));
  }
  bool number_float(number_float_t v, const string_t&) override { return Value(json(v)); }
  bool binary(binary_t&) override { return Value(json()); }
  bool string(string_t& v) override {
    if (mode_ == Mode::kMerges) return MergeString(v);
    if (mode_ == Mode::kVocab) return Fail("model.vocab: ids must be numbers");
    return Value(json(std::move(v)));
  }
  bool key(string_t& k) override {
    key_ = std::move(k);
    return true;
  }
  bool start_object(std::size_t) override {
    if (mode_ == Mode::kMerges) return Fail("model.merges: entries must be strings or pairs");
    if (mode_ == Mode::kVocab) return Fail("model.vocab: ids must be numbers");
    if (AtModelKey("vocab")) {
      mode_ = Mode::kVocab;
      has_vocab = true;
      return true;
    }
    return Open(json::object());
  }
  bool end_object() override {
    if (mode_ == Mode::kVocab) {
      mode_ = Mode::kDom;
      return true;
    }
    return Close();
  }
  bool start_array(std::size_t) override {
    if (mode_ == Mode::kMerges) {
      if (merge_depth_ != 0) return Fail("model.merges: nested arrays");
      merge_depth_ = 1;
      parts_.clear();
      return true;
    }
    if (mode_ == Mode::kVocab) return Fail("model.vocab: ids must be numbers");
    if (AtModelKey("merges")) {
      mode_ = Mode::kMerges;
      has_merges = true;
      merge_depth_ = 0;
      return true;
    }
    return Open(json::array());
  }
  bool end_array() override {
    if (mode_ == Mode::kMerges) {
      if (merge_depth_ == 1) {
        merge_depth_ = 0;
        if (parts_.size() != 2)
          return Fail(fmt::format("model.merges[{}]: expected 2 strings", merges.size()));
        merges.emplace_back(std::move(parts_[0]), std::move(parts_[1]));
        return true;
      }
      mode_ = Mode::kDom;
      return true;
    }
    return Close();
  }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    if (error.empty()) error = fmt::format("invalid JSON (syntax error at byte {})", position);
    return false;
  }

 private:
  enum class Mode { kDom, kVocab, kMerges };

  bool Fail(std::string message) {
    if (error.empty()) error = std::move(message);
    return false;
  }
  // True when the next container is the value of `model.<name>`.
  bool AtModelKey(const char* name) const {
    return stack_.size() == 2 && keys_.size() == 2 && keys_[1] == "model" && key_ == name;
  }
  bool Number(int64_t v, json j) {
    if (mode_ == Mode::kVocab) {
      vocab.emplace_back(std::move(key_), v);
      return true;
    }
    if (mode_ == Mode::kMerges) return Fail("model.merges: entries must be strings or pairs");
    return Value(std::move(j));
  }
  bool MergeString(std::string& v) {
    if (merge_depth_ == 1) {
      parts_.push_back(std::move(v));
      return true;
    }
    const size_t space = v.find(' ');
    if (space == std::string::npos || v.find(' ', space + 1) != std::string::npos) {
      return Fail(fmt::format("model.merges[{}]: '{}' is not \"left right\"", merges.size(), v));
    }
    merges.emplace_back(v.substr(0, space), v.substr(space + 1));
    return true;
  }
  json* Insert(json v) {
    if (stack_.empty()) {
      root = std::move(v);
      return &root;
    }
    json& parent = *stack_.back();
    if (parent.is_object()) return &(parent[key_] = std::move(v));
    parent.push_back(std::move(v));
    return &parent.back();
  }
  bool Value(json v) {
    if (mode_ != Mode::kDom) return Fail("model.vocab/merges: unexpected value");
    Insert(std::move(v));
    return true;
  }
  bool Open(json container) {
    const std::string k = !stack_.empty() && stack_.back()->is_object() ? key_ : std::string();
    stack_.push_back(Insert(std::move(container)));
    keys_.push_back(k);
    return true;
  }
  bool Close() {
    if (stack_.empty()) return Fail("unbalanced JSON");
    stack_.pop_back();
    keys_.pop_back();
    return true;
  }

  Mode mode_ = Mode::kDom;
  std::vector<json*> stack_;
  std::vector<std::string> keys_;  // the key each open container sits under ("" in arrays)
  std::string key_;
  int merge_depth_ = 0;
  std::vector<std::string> parts_;
};

// TemplateProcessing's single-sequence template -> ids before / after the text.
Status ParsePostProcessor(const json& spec, std::vector<int32_t>& prefix,
                          std::vector<int32_t>& suffix) {
  if (spec.is_null()) return Status::Ok();
  const std::string type = spec.value("type", std::string());
  if (type == "Sequence") {
    for (const json& p : spec.at("processors"))
      RETURN_IF_ERROR(ParsePostProcessor(p, prefix, suffix));
    return Status::Ok();
  }
  if (type == "ByteLevel") return Status::Ok();  // offsets only
  if (type == "TemplateProcessing") {
    const json& specials = spec.value("special_tokens", json::object());
    bool after = false;
    std::vector<int32_t> pre, post;
    for (const json& item : spec.at("single")) {
      if (item.contains("Sequence")) {
        after = true;
        continue;
      }
      const std::string name = item.at("SpecialToken").at("id").get<std::string>();
      if (!specials.contains(name)) {
        return InvalidArgument(
            fmt::format("post_processor: special token '{}' is not in special_tokens", name));
      }
      for (const json& id : specials[name].at("ids"))
        (after ? post : pre).push_back(id.get<int32_t>());
    }
    prefix.insert(prefix.end(), pre.begin(), pre.end());
    suffix.insert(suffix.begin(), post.begin(), post.end());
    return Status::Ok();
  }
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    prefix.push_back(spec.at("cls").at(1).get<int32_t>());
    suffix.push_back(spec.at("sep").at(1).get<int32_t>());
    return Status::Ok();
  }
  return Unimplemented(
      fmt::format("post_processor type '{}' is not supported (supported: "
                  "TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing, Sequence)",
                  type));
}

StatusOr<std::unique_ptr<HfTokenizer>> Build(const std::string& path, TokenizerJsonSax& sax) {
  const json& root = sax.root;
  if (!root.is_object() || !root.contains("model") || !root["model"].is_object()) {
    return DataLoss(path + ": not a tokenizer.json (no \"model\" object)");
  }
  const json& model = root["model"];
  const std::string type = model.value("type", sax.has_merges ? std::string("BPE") : std::string());
  if (type != "BPE") {
    return Unimplemented(
        fmt::format("{}: model type '{}' is not supported (only BPE)", path, type));
  }
  if (!sax.has_vocab) return DataLoss(path + ": model.vocab is missing or not an object");
  for (const char* k : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(k) && model[k].is_string() && !model[k].get<std::string>().empty()) {
      return Unimplemented(fmt::format("{}: model.{} is not supported", path, k));
    }
  }
  HfTokenizer::Parts parts;
  // A component's error names the file and is bad input (exit 2), whatever its own code.
  const auto in_file = [&path](const Status& s) {
    return Status(s.code() == StatusCode::kUnimplemented ? s.code() : StatusCode::kDataLoss,
                  fmt::format("{}: {}", path, s.message()));
  };
  auto normalizer = MakeNormalizer(root.value("normalizer", json()));
  if (!normalizer.ok()) return in_file(normalizer.status());
  parts.normalizer = std::move(normalizer).value();
  auto pre_tokenizer = MakePreTokenizer(root.value("pre_tokenizer", json()));
  if (!pre_tokenizer.ok()) return in_file(pre_tokenizer.status());
  parts.pre_tokenizer = std::move(pre_tokenizer).value();
  auto decoder = MakeDecoder(root.value("decoder", json()));
  if (!decoder.ok()) return in_file(decoder.status());
  parts.decoder = std::move(decoder).value();
  try {
    const Status post = ParsePostProcessor(root.value("post_processor", json()),
                                           parts.special_prefix, parts.special_suffix);
    if (!post.ok()) return in_file(post);
  } catch (const json::exception& e) {
    return DataLoss(fmt::format("{}: post_processor: {}", path, JsonErrorText(e)));
  }
  BpeOptions opt;
  opt.byte_level = parts.pre_tokenizer && parts.pre_tokenizer->IsByteLevel();
  opt.byte_fallback = model.value("byte_fallback", false);
  opt.fuse_unk = model.value("fuse_unk", false);
  opt.ignore_merges = model.value("ignore_merges", false);

  // Tokens by id; byte-level vocabularies are decoded from GPT-2 characters to raw bytes.
  int64_t max_id = -1;
  for (const auto& [tok, id] : sax.vocab) {
    if (id < 0 || id > (1 << 24))
      return DataLoss(fmt::format("{}: token '{}' has id {}", path, tok, id));
    max_id = std::max(max_id, id);
  }
  std::vector<std::string> tokens(static_cast<size_t>(max_id + 1));
  std::string bytes;
  for (auto& [tok, id] : sax.vocab) {
    if (opt.byte_level) {
      if (unicode::ByteLevelToBytes(tok, bytes)) tokens[static_cast<size_t>(id)] = bytes;
    } else {
      tokens[static_cast<size_t>(id)] = std::move(tok);
    }
  }
  if (model.contains("unk_token") && model["unk_token"].is_string()) {
    const std::string unk = model["unk_token"].get<std::string>();
    for (const auto& [tok, id] : sax.vocab) {
      if (tok == unk) opt.unk_id = static_cast<int32_t>(id);
    }
  }
  sax.vocab.clear();
  auto bpe = std::make_unique<BpeModel>(opt, std::move(tokens));
  std::string left, right;
  for (size_t rank = 0; rank < sax.merges.size(); ++rank) {
    const auto& [a, b] = sax.merges[rank];
    if (opt.byte_level) {
      if (!unicode::ByteLevelToBytes(a, left) || !unicode::ByteLevelToBytes(b, right)) continue;
      Status st = bpe->AddMerge(left, right, static_cast<uint32_t>(rank));
      if (!st.ok()) return DataLoss(fmt::format("{}: {}", path, st.message()));
    } else {
      Status st = bpe->AddMerge(a, b, static_cast<uint32_t>(rank));
      if (!st.ok()) return DataLoss(fmt::format("{}: {}", path, st.message()));
    }
  }
  parts.description =
      fmt::format("tokenizer.json BPE ({}), {} merges",
                  opt.byte_level ? "byte-level" : "sentencepiece-style", sax.merges.size());
  sax.merges.clear();

  const json added = root.value("added_tokens", json::array());
  try {
    for (const json& a : added) {
      AddedToken t;
      t.content = a.at("content").get<std::string>();
      t.id = a.at("id").get<int32_t>();
      // HF keeps the model's id when the content is a vocabulary entry.
      std::string key = t.content;
      if (opt.byte_level && !unicode::ByteLevelToBytes(t.content, key)) key.clear();
      if (!key.empty() && bpe->TokenToId(key) >= 0) t.id = bpe->TokenToId(key);
      t.special = a.value("special", false);
      t.lstrip = a.value("lstrip", false);
      t.rstrip = a.value("rstrip", false);
      t.single_word = a.value("single_word", false);
      t.normalized = a.value("normalized", !t.special);
      parts.added_tokens.push_back(std::move(t));
    }
  } catch (const json::exception& e) {
    return DataLoss(fmt::format("{}: added_tokens: {}", path, JsonErrorText(e)));
  }
  parts.model = std::move(bpe);
  if (!parts.special_prefix.empty()) parts.bos_id = parts.special_prefix.front();
  auto created = HfTokenizer::Create(std::move(parts));
  if (!created.ok())
    return Status(created.status().code(), path + ": " + created.status().message());
  std::unique_ptr<HfTokenizer> tok = std::move(created).value();
  int bos = tok->BosId(), eos = -1;
  for (const char* name : {"<|endoftext|>", "</s>", "<|end_of_text|>", "<eos>"}) {
    if (eos < 0) eos = tok->TokenToId(name);
  }
  ApplyTokenizerConfig(DirName(path), *tok, bos, eos);
  tok->SetBosEos(bos, eos);
  return tok;
}

}  // namespace

StatusOr<std::unique_ptr<HfTokenizer>> LoadTokenizerJson(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  if (JsonNestingDepth(text) > kMaxJsonDepth)
    return DataLoss(fmt::format("{}: JSON nested deeper than {} levels", path, kMaxJsonDepth));
  TokenizerJsonSax sax;
  const bool ok = json::sax_parse(text, &sax);
  if (!ok)
    return DataLoss(fmt::format("{}: {}", path, sax.error.empty() ? "invalid JSON" : sax.error));
  text.clear();
  text.shrink_to_fit();
  try {
    return Build(path, sax);
  } catch (const json::exception& e) {
    return DataLoss(fmt::format("{}: {}", path, JsonErrorText(e)));
  }
}

void ApplyTokenizerConfig(const std::string& dir, const Tokenizer& tok, int& bos_id, int& eos_id) {
  const std::string path = dir + "/tokenizer_config.json";
  if (!FileExists(path)) return;
  auto config = ReadJsonFile(path);
  if (!config.ok() || !config->is_object()) return;
  auto resolve = [&](const char* key, int& id) {
    if (!config->contains(key)) return;
    const json& v = (*config)[key];
    std::string content;
    if (v.is_string())
      content = v.get<std::string>();
    else if (v.is_object() && v.contains("content") && v["content"].is_string())
      content = v["content"].get<std::string>();
    else if (v.is_null())
      id = -1;
    if (!content.empty()) {
      const int32_t found = tok.TokenToId(content);
      if (found >= 0) id = found;
    }
  };
  resolve("bos_token", bos_id);
  resolve("eos_token", eos_id);
}

}  // namespace kvpress
