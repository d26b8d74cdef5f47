// GGUF tokenizer metadata <-> Hugging Face tokenizer files (see tokenizer_export.h).
#include "tokenizer/tokenizer_export.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/file_util.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/gguf_pre_types.h"
#include "tokenizer/hf_loaders.h"

namespace kvpress {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// GGUF token types (model-formats.md §4).
constexpr int kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6;

// {"SpecialToken": ...} items and the special_tokens map of a TemplateProcessing post-processor
// that puts `bos` before and/or `eos` after each sequence.
ordered_json TemplateProcessing(const std::vector<std::string>& tokens, int bos, bool add_bos,
                                int eos, bool add_eos) {
  auto special = [&](int id, int type_id) {
    return ordered_json{
        {"SpecialToken", {{"id", tokens[static_cast<size_t>(id)]}, {"type_id", type_id}}}};
  };
  auto sequence = [](const char* id, int type_id) {
    return ordered_json{{"Sequence", {{"id", id}, {"type_id", type_id}}}};
  };
  ordered_json single = ordered_json::array(), pair = ordered_json::array();
  for (int type_id = 0; type_id < 2; ++type_id) {
    if (add_bos) pair.push_back(special(bos, type_id));
    pair.push_back(sequence(type_id == 0 ? "A" : "B", type_id));
    if (add_eos) pair.push_back(special(eos, type_id));
  }
  if (add_bos) single.push_back(special(bos, 0));
  single.push_back(sequence("A", 0));
  if (add_eos) single.push_back(special(eos, 0));
  ordered_json map = ordered_json::object();
  for (const int id : {add_bos ? bos : -1, add_eos ? eos : -1}) {
    if (id < 0) continue;
    const std::string& t = tokens[static_cast<size_t>(id)];
    map[t] = {{"id", t}, {"ids", {id}}, {"tokens", {t}}};
  }
  return {
      {"type", "TemplateProcessing"}, {"single", single}, {"pair", pair}, {"special_tokens", map}};
}

// The chat template(s) of `cfg` as tokenizer_config.json's `chat_template`.
ordered_json ConfigChatTemplate(const ChatTemplateConfig& cfg) {
  if (cfg.templates.size() == 1 && !cfg.named) return cfg.templates[0].second;
  ordered_json list = ordered_json::array();
  for (const auto& [name, source] : cfg.templates)
    list.push_back({{"name", name}, {"template", source}});
  return list;
}

// The split stages of a tokenizer.json pre_tokenizer, and whether it is byte-level.
Status CollectSplits(const json& spec, std::vector<GgufSplit>& splits, bool& byte_level) {
  if (spec.is_null()) return Status::Ok();
  const std::string type = spec.value("type", std::string());
  if (type == "Sequence") {
    for (const json& s : spec.value("pretokenizers", json::array()))
      RETURN_IF_ERROR(CollectSplits(s, splits, byte_level));
    return Status::Ok();
  }
  if (type == "ByteLevel") {
    if (spec.value("add_prefix_space", true)) {
      return Unimplemented(
          "pre_tokenizer ByteLevel with add_prefix_space has no tokenizer.ggml.pre equivalent");
    }
    byte_level = true;
    if (spec.value("use_regex", true)) {
      ASSIGN_OR_RETURN(GgufPreType gpt2, FindGgufPreType("gpt-2"));
      splits.push_back(gpt2.splits.front());
    }
    return Status::Ok();
  }
  if (type == "Digits") {
    splits.emplace_back(spec.value("individual_digits", false) ? R"(\p{N})" : R"(\p{N}+)");
    return Status::Ok();
  }
  if (type == "Split" && spec.contains("pattern") && spec["pattern"].contains("Regex")) {
    const std::string behavior = spec.value("behavior", std::string());
    const bool invert = spec.value("invert", false);
    const std::string re = spec["pattern"]["Regex"].get<std::string>();
    if (behavior == "Isolated" && !invert) {
      splits.emplace_back(re);
      return Status::Ok();
    }
    if (behavior == "MergedWithNext" && invert) {
      splits.emplace_back(re, /*glue=*/true);
      return Status::Ok();
    }
  }
  return Unimplemented(
      fmt::format("pre_tokenizer stage {} has no tokenizer.ggml.pre equivalent", spec.dump()));
}

// Whether a byte-fallback tokenizer.json prepends "▁" (SentencePiece's add_dummy_prefix), when its
// pipeline is the SentencePiece one: the Llama-2 "legacy" normalizer, or a Metaspace
// pre-tokenizer that does not split. nullopt for anything else.
std::optional<bool> SpmSpacePrefix(const json& tj) {
  const json norm = tj.value("normalizer", json());
  const json pre = tj.value("pre_tokenizer", json());
  if (pre.is_null()) {
    if (norm == SentencePieceNormalizerSpec(true)) return true;
    if (norm == SentencePieceNormalizerSpec(false)) return false;
    return std::nullopt;
  }
  if (norm.is_null() && pre.is_object() && pre.value("type", std::string()) == "Metaspace" &&
      pre.value("replacement", std::string()) == "\xE2\x96\x81" && !pre.value("split", true)) {
    return pre.value("prepend_scheme", std::string("always")) != "never";
  }
  return std::nullopt;
}

// `value`: a token string or an AddedToken object -> its content ("" when neither).
std::string TokenContent(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string()) {
    return value["content"].get<std::string>();
  }
  return "";
}

}  // namespace

namespace {

// One tokenizer.json `added_tokens` entry (matched on the raw text, no stripping).
ordered_json AddedTokenJson(int64_t id, const std::string& content, bool special) {
  return {{"id", id},        {"content", content},  {"single_word", false}, {"lstrip", false},
          {"rstrip", false}, {"normalized", false}, {"special", special}};
}

// A tokenizer.json document around a BPE model.
struct BpeJson {
  ordered_json unk_token;
  bool fuse_unk = false, byte_fallback = false, ignore_merges = false;
  json vocab;
  ordered_json merges;
};
ordered_json TokenizerJson(ordered_json added, ordered_json normalizer, ordered_json pre_tokenizer,
                           ordered_json post_processor, ordered_json decoder, BpeJson bpe) {
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", std::move(added)},
          {"normalizer", std::move(normalizer)},
          {"pre_tokenizer", std::move(pre_tokenizer)},
          {"post_processor", std::move(post_processor)},
          {"decoder", std::move(decoder)},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", std::move(bpe.unk_token)},
            {"continuing_subword_prefix", nullptr},
            {"end_of_word_suffix", nullptr},
            {"fuse_unk", bpe.fuse_unk},
            {"byte_fallback", bpe.byte_fallback},
            {"ignore_merges", bpe.ignore_merges},
            {"vocab", std::move(bpe.vocab)},
            {"merges", std::move(bpe.merges)}}}};
}

// The special tokens, class and chat template(s) of a tokenizer_config.json.
void FillConfig(const ChatTemplateConfig& templates, ordered_json& cfg) {
  for (const char* name : {"bos_token", "eos_token", "unk_token", "pad_token"}) {
    const auto it = templates.special_tokens.find(name);
    cfg[name] =
        it != templates.special_tokens.end() ? ordered_json(it->second) : ordered_json(nullptr);
  }
  cfg["clean_up_tokenization_spaces"] = false;
  cfg["tokenizer_class"] = "PreTrainedTokenizerFast";
  if (!templates.templates.empty()) cfg["chat_template"] = ConfigChatTemplate(templates);
}

// A SentencePiece-style GGUF vocabulary (`llama`) as the Llama-2 "legacy" tokenizer.json:
// BPE with byte fallback and the merges BuildSentencePieceBpe derives from the scores, listed.
StatusOr<HfTokenizerFiles> FromGgufLlama(const json& m, const std::vector<std::string>& tokens,
                                         const std::vector<int>& types, const std::string& origin) {
  std::vector<float> scores;
  for (const json& v : m.value("tokenizer.ggml.scores", json::array()))
    scores.push_back(v.is_number() ? v.get<float>() : 0.0f);
  if (scores.size() != tokens.size()) {
    return DataLoss(
        fmt::format("{}: {} tokens but {} scores", origin, tokens.size(), scores.size()));
  }
  const int n = static_cast<int>(tokens.size());
  auto id_or = [&](const char* key, int fallback) {
    const int v = m.value(key, fallback);
    return v >= 0 && v < n ? v : -1;
  };
  const int bos = id_or("tokenizer.ggml.bos_token_id", 1),
            eos = id_or("tokenizer.ggml.eos_token_id", 2),
            unk = id_or("tokenizer.ggml.unknown_token_id", 0);
  const bool add_bos = m.value("tokenizer.ggml.add_bos_token", true) && bos >= 0;
  const bool add_eos = m.value("tokenizer.ggml.add_eos_token", false) && eos >= 0;
  std::unordered_map<std::string, int> ids;
  json vocab = json::object();
  ordered_json added = ordered_json::array();
  for (int id = 0; id < n; ++id) {
    const std::string& tok = tokens[static_cast<size_t>(id)];
    ids.emplace(tok, id);
    if (!vocab.contains(tok)) vocab[tok] = id;
    const int t = types[static_cast<size_t>(id)];
    if (t == kUnknown || t == kControl || t == kUserDefined) {
      added.push_back(AddedTokenJson(id, tok, t != kUserDefined));
    }
  }
  // Every split of a piece into two vocabulary pieces, ranked by the piece's priority.
  const std::vector<int64_t> priority = SentencePieceMergePriorities(scores, tokens.size());
  std::vector<std::tuple<int64_t, int, int>> rules;
  for (int id = 0; id < n; ++id) {
    const std::string& t = tokens[static_cast<size_t>(id)];
    for (size_t cut = 1; cut < t.size(); ++cut) {
      if ((static_cast<unsigned char>(t[cut]) & 0xC0) == 0x80) continue;
      const auto l = ids.find(t.substr(0, cut)), r = ids.find(t.substr(cut));
      if (l != ids.end() && r != ids.end())
        rules.emplace_back(priority[static_cast<size_t>(id)], l->second, r->second);
    }
  }
  std::sort(rules.begin(), rules.end());
  ordered_json merges = ordered_json::array();
  for (const auto& [p, l, r] : rules)
    merges.push_back({tokens[static_cast<size_t>(l)], tokens[static_cast<size_t>(r)]});
  HfTokenizerFiles out;
  BpeJson bpe;
  bpe.unk_token = unk >= 0 ? ordered_json(tokens[static_cast<size_t>(unk)]) : ordered_json(nullptr);
  bpe.fuse_unk = bpe.byte_fallback = true;
  bpe.vocab = std::move(vocab);
  bpe.merges = std::move(merges);
  out.tokenizer_json = TokenizerJson(
      std::move(added),
      SentencePieceNormalizerSpec(m.value("tokenizer.ggml.add_space_prefix", true)), nullptr,
      add_bos || add_eos ? TemplateProcessing(tokens, bos, add_bos, eos, add_eos)
                         : ordered_json(nullptr),
      SentencePieceDecoderSpec(), std::move(bpe));
  out.tokenizer_config["add_bos_token"] = add_bos;
  out.tokenizer_config["add_eos_token"] = add_eos;
  return out;
}

StatusOr<HfTokenizerFiles> FromGguf(const json& m, const std::string& origin) {
  const auto model_it = m.find("tokenizer.ggml.model");
  if (!m.is_object() || model_it == m.end() || !model_it->is_string()) {
    return NotFound(origin + ": the GGUF metadata has no tokenizer (tokenizer.ggml.model)");
  }
  if (*model_it != "gpt2" && *model_it != "llama") {
    return Unimplemented(fmt::format(
        "{}: a tokenizer.json for tokenizer.ggml.model '{}' is not supported (gpt2, llama)", origin,
        model_it->get<std::string>()));
  }
  const json& toks = m.value("tokenizer.ggml.tokens", json());
  if (!toks.is_array() || toks.empty())
    return DataLoss(origin + ": tokenizer.ggml.tokens is missing or empty");
  std::vector<std::string> tokens;
  for (const json& t : toks) {
    if (!t.is_string()) return DataLoss(origin + ": tokenizer.ggml.tokens holds a non-string");
    tokens.push_back(t.get<std::string>());
  }
  std::vector<int> types(tokens.size(), kNormal);
  const json& tt = m.value("tokenizer.ggml.token_type", json::array());
  for (size_t i = 0; i < tt.size() && i < types.size(); ++i)
    types[i] = tt[i].is_number() ? tt[i].get<int>() : kNormal;
  const ChatTemplateConfig templates = ChatTemplateConfigFromGguf(m, origin);
  if (*model_it == "llama") {
    ASSIGN_OR_RETURN(HfTokenizerFiles out, FromGgufLlama(m, tokens, types, origin));
    FillConfig(templates, out.tokenizer_config);
    return out;
  }
  auto pre = FindGgufPreType(m.value("tokenizer.ggml.pre", std::string()));
  if (!pre.ok()) return Status(pre.status().code(), origin + ": " + pre.status().message());
  auto sp = ResolveGgufBpeSpecials(m, *pre, tokens.size());
  if (!sp.ok()) return Status(sp.status().code(), origin + ": " + sp.status().message());

  json vocab = json::object();  // sorted keys; HF accepts any order
  ordered_json added = ordered_json::array();
  for (size_t id = 0; id < tokens.size(); ++id) {
    if (types[id] == kControl || types[id] == kUserDefined) {
      added.push_back(AddedTokenJson(static_cast<int64_t>(id), tokens[id], types[id] == kControl));
    }
    if (types[id] != kUnused && !vocab.contains(tokens[id])) vocab[tokens[id]] = id;
  }
  ordered_json merges = ordered_json::array();
  const json& gm = m.value("tokenizer.ggml.merges", json::array());
  for (size_t rank = 0; rank < gm.size(); ++rank) {
    const std::string s = gm[rank].is_string() ? gm[rank].get<std::string>() : std::string();
    const size_t space = s.find(' ', 1);
    if (space == std::string::npos) {
      return DataLoss(
          fmt::format("{}: tokenizer.ggml.merges[{}] is not \"left right\"", origin, rank));
    }
    merges.push_back({s.substr(0, space), s.substr(space + 1)});
  }
  HfTokenizerFiles out;
  BpeJson bpe;
  bpe.ignore_merges = pre->ignore_merges;
  bpe.vocab = std::move(vocab);
  bpe.merges = std::move(merges);
  out.tokenizer_json =
      TokenizerJson(std::move(added), nullptr, GgufPreTokenizerSpec(*pre),
                    sp->add_bos || sp->add_eos
                        ? TemplateProcessing(tokens, sp->bos, sp->add_bos, sp->eos, sp->add_eos)
                        : ordered_json(nullptr),
                    {{"type", "ByteLevel"},
                     {"add_prefix_space", true},
                     {"trim_offsets", true},
                     {"use_regex", true}},
                    std::move(bpe));

  out.tokenizer_config["add_bos_token"] = sp->add_bos;
  out.tokenizer_config["add_eos_token"] = sp->add_eos;
  FillConfig(templates, out.tokenizer_config);
  if (sp->bos < 0)
    out.tokenizer_config["bos_token"] = nullptr;  // llama.cpp drops it for this pre type
  return out;
}

}  // namespace

StatusOr<HfTokenizerFiles> HfTokenizerFromGguf(const json& metadata, const std::string& origin) {
  try {
    return FromGguf(metadata, origin);
  } catch (const std::exception& e) {  // a metadata value of the wrong JSON type
    return DataLoss(fmt::format("{}: malformed tokenizer metadata ({})", origin, e.what()));
  }
}

namespace {

StatusOr<ordered_json> MetadataFromHf(const std::string& dir, int64_t vocab_size) {
  const std::string path = dir + "/tokenizer.json";
  if (!FileExists(path)) return NotFound(dir + ": no tokenizer.json");
  ASSIGN_OR_RETURN(json tj, ReadJsonFile(path));
  const json& model = tj.value("model", json());
  if (!model.is_object() || model.value("type", std::string("BPE")) != "BPE" ||
      !model.contains("vocab")) {
    return Unimplemented(path + ": only BPE tokenizers can be written as GGUF metadata");
  }
  // Byte-level BPE -> tokenizer.ggml.model gpt2 with the matching pre type; SentencePiece-style
  // BPE (byte fallback, "▁" spaces) -> model llama with scores that give the merges' order.
  std::string pre;
  std::optional<bool> space_prefix;
  if (model.value("byte_fallback", false)) {
    space_prefix = SpmSpacePrefix(tj);
    if (!space_prefix) {
      return Unimplemented(
          path +
          ": a byte-fallback BPE needs the SentencePiece pipeline (Prepend/Replace \"▁\" "
          "normalizer or a Metaspace pre-tokenizer) to be written as GGUF metadata");
    }
  } else {
    std::vector<GgufSplit> splits;
    bool byte_level = false;
    Status st = CollectSplits(tj.value("pre_tokenizer", json()), splits, byte_level);
    if (!st.ok()) return Status(st.code(), path + ": " + st.message());
    if (!byte_level) {
      return Unimplemented(
          path + ": only byte-level or SentencePiece-style BPE can be written as GGUF metadata");
    }
    const json& norm = tj.value("normalizer", json());
    // llama.cpp does not normalize; its converter writes NFC tokenizers (Qwen2) unchanged.
    if (!norm.is_null() && norm.value("type", std::string()) != "NFC") {
      return Unimplemented(
          fmt::format("{}: normalizer {} has no GGUF equivalent", path, norm.dump()));
    }
    pre = GgufPreTypeForSplits(splits, model.value("ignore_merges", false));
    if (pre.empty()) {
      json regexes = json::array();
      for (const GgufSplit& s : splits) regexes.push_back(s.regex);
      return Unimplemented(fmt::format(
          "{}: the pre-tokenizer's splits {} match no tokenizer.ggml.pre value llama.cpp knows",
          path, regexes.dump()));
    }
  }
  // Tokens by id: the vocabulary, then the added tokens (which may extend it).
  std::unordered_map<std::string, int64_t> ids;
  int64_t n = vocab_size;
  for (const auto& [tok, id] : model["vocab"].items()) n = std::max(n, id.get<int64_t>() + 1);
  const json& added = tj.value("added_tokens", json::array());
  for (const json& a : added) n = std::max(n, a.value("id", int64_t{0}) + 1);
  std::vector<std::string> tokens(static_cast<size_t>(n));
  std::vector<int> types(static_cast<size_t>(n), kUnused);
  for (int64_t i = 0; i < n; ++i) tokens[static_cast<size_t>(i)] = fmt::format("[PAD{}]", i);
  for (const auto& [tok, id] : model["vocab"].items()) {
    const auto i = static_cast<size_t>(id.get<int64_t>());
    tokens[i] = tok;
    types[i] = kNormal;
    ids.emplace(tok, id.get<int64_t>());
  }
  for (const json& a : added) {
    const auto i = static_cast<size_t>(a.value("id", int64_t{0}));
    tokens[i] = a.value("content", std::string());
    types[i] = a.value("special", false) ? kControl : kUserDefined;
    ids[tokens[i]] = static_cast<int64_t>(i);
  }
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const json& mg : model.value("merges", json::array())) {
    if (mg.is_string()) {
      const std::string m = mg.get<std::string>();
      const size_t space = m.find(' ', 1);
      if (space == std::string::npos)
        return DataLoss(fmt::format("{}: merge \"{}\" is not \"left right\"", path, m));
      pairs.emplace_back(m.substr(0, space), m.substr(space + 1));
    } else {
      pairs.emplace_back(mg.at(0).get<std::string>(), mg.at(1).get<std::string>());
    }
  }
  ordered_json out;
  if (space_prefix) {
    // Score of a piece: minus the rank of the first merge that makes it (higher merges first, as
    // SentencePiece scores order them); pieces no merge makes come last.
    std::vector<float> scores(tokens.size(), -1e9f);
    for (size_t rank = pairs.size(); rank-- > 0;) {
      const auto it = ids.find(pairs[rank].first + pairs[rank].second);
      if (it != ids.end()) scores[static_cast<size_t>(it->second)] = -static_cast<float>(rank);
    }
    for (size_t i = 0; i < tokens.size(); ++i) {
      const std::string& t = tokens[i];
      if (types[i] == kNormal && t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>')
        types[i] = kByte;
    }
    const auto unk = ids.find(TokenContent(model.value("unk_token", json())));
    if (unk != ids.end()) types[static_cast<size_t>(unk->second)] = kUnknown;
    out = {
        {"tokenizer.ggml.model", "llama"},    {"tokenizer.ggml.pre", "default"},
        {"tokenizer.ggml.tokens", tokens},    {"tokenizer.ggml.scores", scores},
        {"tokenizer.ggml.token_type", types}, {"tokenizer.ggml.add_space_prefix", *space_prefix}};
  } else {
    ordered_json merges = ordered_json::array();
    for (const auto& [l, r] : pairs) merges.push_back(l + " " + r);
    out = {{"tokenizer.ggml.model", "gpt2"},
           {"tokenizer.ggml.pre", pre},
           {"tokenizer.ggml.tokens", tokens},
           {"tokenizer.ggml.token_type", types},
           {"tokenizer.ggml.merges", std::move(merges)}};
  }

  // BOS/EOS: tokenizer_config.json, else the post-processor's template.
  json config = json::object();
  if (FileExists(dir + "/tokenizer_config.json")) {
    ASSIGN_OR_RETURN(config, ReadJsonFile(dir + "/tokenizer_config.json"));
  }
  auto id_of = [&](const char* key) -> int64_t {
    const auto it = ids.find(TokenContent(config.value(key, json())));
    return it == ids.end() ? -1 : it->second;
  };
  int64_t bos = id_of("bos_token"), eos = id_of("eos_token");
  bool add_bos = false, add_eos = false;
  const json post = tj.value("post_processor", json());
  const json procs = post.is_object() && post.value("type", std::string()) == "Sequence"
                         ? post.value("processors", json::array())
                         : json::array({post});
  for (const json& p : procs) {
    if (!p.is_object() || p.value("type", std::string()) != "TemplateProcessing") continue;
    const json& single = p.value("single", json::array());
    const json& specials = p.value("special_tokens", json::object());
    auto special_id = [&](const json& item) -> int64_t {
      if (!item.contains("SpecialToken")) return -1;
      const json& s = specials.value(item["SpecialToken"].value("id", std::string()), json());
      return s.contains("ids") && !s["ids"].empty() ? s["ids"][0].get<int64_t>() : -1;
    };
    if (!single.empty() && special_id(single.front()) >= 0) {
      add_bos = true;
      if (bos < 0) bos = special_id(single.front());
    }
    if (!single.empty() && special_id(single.back()) >= 0) {
      add_eos = true;
      if (eos < 0) eos = special_id(single.back());
    }
  }
  if (config.contains("add_bos_token") && config["add_bos_token"].is_boolean())
    add_bos = config["add_bos_token"].get<bool>();
  if (config.contains("add_eos_token") && config["add_eos_token"].is_boolean())
    add_eos = config["add_eos_token"].get<bool>();
  if (bos >= 0) out["tokenizer.ggml.bos_token_id"] = bos;
  if (eos >= 0) out["tokenizer.ggml.eos_token_id"] = eos;
  int64_t unk = id_of("unk_token");
  if (const auto it = ids.find(TokenContent(model.value("unk_token", json())));
      unk < 0 && it != ids.end())
    unk = it->second;
  if (unk >= 0) out["tokenizer.ggml.unknown_token_id"] = unk;
  if (const int64_t pad = id_of("pad_token"); pad >= 0)
    out["tokenizer.ggml.padding_token_id"] = pad;
  out["tokenizer.ggml.add_bos_token"] = add_bos;
  out["tokenizer.ggml.add_eos_token"] = add_eos;

  auto templates = LoadChatTemplateConfig(dir);
  if (templates.ok()) {
    ordered_json names = ordered_json::array();
    for (const auto& [name, source] : templates->templates) {
      if (name == "default") {
        out["tokenizer.chat_template"] = source;
      } else {
        out["tokenizer.chat_template." + name] = source;
        names.push_back(name);
      }
    }
    if (!names.empty()) out["tokenizer.chat_templates"] = names;
  } else if (templates.status().code() != StatusCode::kNotFound) {
    return templates.status();
  }
  return out;
}

}  // namespace

StatusOr<ordered_json> GgufTokenizerMetadataFromHf(const std::string& dir, int64_t vocab_size) {
  try {
    return MetadataFromHf(dir, vocab_size);
  } catch (const std::exception& e) {  // a tokenizer.json field of the wrong JSON type
    return DataLoss(fmt::format("{}/tokenizer.json: malformed ({})", dir, e.what()));
  }
}

}  // namespace kvpress
