// kvpress tokenize: text -> token ids (and back) with any supported tokenizer.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/timer.h"
#include "core/json_parse.h"
#include "tokenizer/load_tokenizer.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace kvpress::cli {
namespace {

using nlohmann::json;

struct TokenizeFlags {
  std::string tokenizer;
  std::string text;
  std::string decode;
  std::string jsonl;
  bool json = false;
  bool special = false;
  bool split_special = false;
  bool skip_special = false;
  bool info = false;
  bool has_text = false;  // TEXT was given (it may be "")
};

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void Print(const std::string& s) { std::fwrite(s.data(), 1, s.size(), stdout); }

json TokenStrings(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  json out = json::array();
  for (int32_t id : ids) out.push_back(tok.IdToToken(id));
  return out;
}

// One JSON value per line: a string is encoded (-> id array), an id array decoded (-> string).
int RunJsonl(const TokenizeFlags& f, const Tokenizer& tok, const EncodeOptions& enc,
             const DecodeOptions& dec) {
  std::ifstream file;
  if (f.jsonl != "-") {
    file.open(f.jsonl, std::ios::binary);
    if (!file) return ReportError("tokenize", NotFound(f.jsonl + ": cannot open --jsonl file"));
  }
  std::istream& in = f.jsonl == "-" ? std::cin : file;
  std::string line, out;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    StatusOr<json> parsed = ParseJson(line, f.jsonl);
    json value = parsed.ok() ? std::move(parsed).value() : json(nullptr);
    if (value.is_string()) {
      auto ids = tok.EncodeWith(value.get<std::string>(), enc);
      if (!ids.ok()) {
        return ReportError("tokenize", InvalidArgument(fmt::format("{}:{}: {}", f.jsonl, line_no,
                                                                   ids.status().message())));
      }
      out += Dump(json(*ids)) + "\n";
    } else if (value.is_array()) {
      std::vector<int32_t> ids;
      for (const json& v : value) {
        if (!v.is_number_integer()) {
          return ReportError(
              "tokenize",
              DataLoss(fmt::format("{}:{}: an id array must hold integers", f.jsonl, line_no)));
        }
        ids.push_back(v.get<int32_t>());
      }
      out += Dump(json(tok.DecodeWith(ids, dec))) + "\n";
    } else {
      return ReportError("tokenize",
                         DataLoss(fmt::format("{}:{}: expected a JSON string (to encode) or an "
                                              "array of ids (to decode)",
                                              f.jsonl, line_no)));
    }
    if (out.size() > (1 << 16)) {
      Print(out);
      out.clear();
    }
  }
  Print(out);
  return kExitOk;
}

int RunTokenize(const TokenizeFlags& f) {
  const int modes = (f.has_text ? 1 : 0) + (!f.decode.empty() ? 1 : 0) + (!f.jsonl.empty() ? 1 : 0);
  if (modes > 1)
    return ReportError("tokenize", InvalidArgument("give only one of TEXT, --decode and --jsonl"));
  Stopwatch load_timer;
  auto loaded = LoadTokenizer(f.tokenizer);
  if (!loaded.ok()) return ReportError("tokenize", loaded.status());
  const Tokenizer& tok = **loaded;
  const double load_seconds = load_timer.Elapsed();
  EncodeOptions enc;
  enc.add_special = f.special;
  enc.split_special = f.split_special;
  DecodeOptions dec;
  dec.skip_special = f.skip_special;

  if (f.info) {
    json added = json::array();
    for (const AddedToken& t : tok.AddedTokens())
      added.push_back({{"id", t.id}, {"content", t.content}, {"special", t.special}});
    json j = {{"tokenizer", f.tokenizer},      {"description", tok.Description()},
              {"vocab_size", tok.VocabSize()}, {"bos_id", tok.BosId()},
              {"eos_id", tok.EosId()},         {"adds_bos", tok.AddsBos()},
              {"load_seconds", load_seconds},  {"added_tokens", added}};
    Print(f.json ? Dump(j) + "\n" : j.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
    if (modes == 0) return kExitOk;
  }
  if (!f.jsonl.empty()) return RunJsonl(f, tok, enc, dec);
  if (!f.decode.empty()) {
    auto ids = ParseIdList(f.decode, "--decode");
    if (!ids.ok()) return ReportError("tokenize", ids.status());
    for (int32_t id : *ids) {
      if (id >= tok.VocabSize()) {
        return ReportError("tokenize", InvalidArgument(fmt::format(
                                           "--decode: id {} is outside the vocabulary [0, {})", id,
                                           tok.VocabSize())));
      }
    }
    const std::string text = tok.DecodeWith(*ids, dec);
    Print(f.json ? Dump(json{{"text", text}, {"tokens", TokenStrings(tok, *ids)}}) + "\n" : text);
    return kExitOk;
  }
  if (modes == 0)
    return ReportError("tokenize",
                       InvalidArgument("nothing to do: give TEXT, --decode IDS or --jsonl FILE"));
  std::string text = f.text;
  if (text == "-")
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  auto ids = tok.EncodeWith(text, enc);
  if (!ids.ok()) return ReportError("tokenize", ids.status());
  if (f.json) {
    Print(Dump(json{{"ids", *ids}, {"tokens", TokenStrings(tok, *ids)}, {"count", ids->size()}}) +
          "\n");
  } else {
    std::string line;
    for (size_t i = 0; i < ids->size(); ++i) line += fmt::format("{}{}", i ? " " : "", (*ids)[i]);
    Print(line + "\n");
  }
  return kExitOk;
}

}  // namespace

void RegisterTokenize(CLI::App& app, RunFn& run) {
  auto f = std::make_shared<TokenizeFlags>();
  CLI::App* cmd =
      app.add_subcommand("tokenize", "Text to token ids (and back) with any supported tokenizer");
  cmd->add_option("--tokenizer", f->tokenizer,
                  "tokenizer.json, model directory, GGUF, tiktoken/SentencePiece .model, "
                  "vocab.json or llama2.c .bin")
      ->required();
  CLI::Option* text = cmd->add_option(
      "text", f->text, "Text to encode ('-' reads stdin); prints ids separated by spaces");
  cmd->add_option("--decode,-d", f->decode,
                  "Comma-separated ids to decode; prints the text exactly (no newline added)");
  cmd->add_option("--jsonl", f->jsonl,
                  "File ('-' = stdin) of JSON lines: a string is encoded to an id array, an id "
                  "array decoded to a string");
  cmd->add_flag("--json", f->json, "Print JSON ({ids, tokens, count} or {text, tokens})");
  cmd->add_flag("--special", f->special,
                "Add the special tokens the model expects (BOS), as add_special_tokens=True");
  cmd->add_flag("--split-special", f->split_special,
                "Treat special-token text (e.g. <|im_start|>) as plain text");
  cmd->add_flag("--skip-special", f->skip_special, "Drop special tokens when decoding");
  cmd->add_flag("--info", f->info,
                "Print the tokenizer's format, sizes, BOS/EOS, added tokens and load time");
  cmd->callback([f, text, &run] {
    f->has_text = text->count() > 0;
    run = [f] { return RunTokenize(*f); };
  });
}

}  // namespace kvpress::cli
