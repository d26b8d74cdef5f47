// Helpers shared by the GGUF tokenizer golden tests: the fixture strings, SmolLM2's GGUF metadata
// and the comparison with one llama.cpp golden document (scripts/goldens/make_gguf_tokenizer_goldens.py).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/file_util.h"
#include "core/mapped_file.h"
#include "model/gguf.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace kvpress::testing {

using nlohmann::json;

inline const char* kSmolLm = "models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf";

inline std::string GoldenDir() { return Fixture("tokenizer_goldens/gguf"); }

inline std::vector<std::string> Strings() {
  auto j = ReadJsonFile(GoldenDir() + "/strings.json");
  EXPECT_TRUE(j.ok()) << j.status().ToString();
  return j.ok() ? j->get<std::vector<std::string>>() : std::vector<std::string>();
}

// The metadata of the GGUF file at `rel` under the shared data (read without the tensors).
inline json GgufMetadataOf(const std::string& rel) {
  auto file = MappedFile::Open(SharedData(rel));
  EXPECT_TRUE(file.ok()) << rel;
  if (!file.ok()) return json();
  auto g = ReadGguf(**file, /*metadata_only=*/true);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return g.ok() ? g->metadata : json();
}

inline json SmolLmMetadata() { return GgufMetadataOf(kSmolLm); }

// Llama-3's tokenizer.json as GGUF tokenizer keys, laid out as the golden script (and llama.cpp's
// converter) does: tokens by id, added tokens special -> control (3) else user-defined (4),
// merges "left right", BOS 128000, EOS 128001; no tokenizer.ggml.pre, no add_bos/add_eos keys.
inline json Llama3VocabMetadata() {
  auto tj = ReadJsonFile(SharedData("tokenizers/llama3/tokenizer.json"));
  EXPECT_TRUE(tj.ok()) << tj.status().ToString();
  if (!tj.ok()) return json();
  std::vector<std::string> tokens;
  std::vector<int> types;
  auto put = [&](size_t id, const std::string& t, int type) {
    if (id >= tokens.size()) tokens.resize(id + 1), types.resize(id + 1, 1);
    tokens[id] = t;
    types[id] = type;
  };
  for (const auto& [tok, id] : (*tj)["model"]["vocab"].items()) put(id.get<size_t>(), tok, 1);
  for (const json& a : (*tj)["added_tokens"]) put(a["id"].get<size_t>(), a["content"].get<std::string>(), a["special"].get<bool>() ? 3 : 4);
  json merges = json::array();
  for (const json& m : (*tj)["model"]["merges"]) {
    merges.push_back(m.is_string() ? m.get<std::string>() : m[0].get<std::string>() + " " + m[1].get<std::string>());
  }
  return json{{"tokenizer.ggml.model", "gpt2"},   {"tokenizer.ggml.tokens", tokens},
              {"tokenizer.ggml.token_type", types}, {"tokenizer.ggml.merges", merges},
              {"tokenizer.ggml.bos_token_id", 128000}, {"tokenizer.ggml.eos_token_id", 128001}};
}

// Compares `tok` with one golden document: plain ids, parse-special ids and the add_special
// prefix/suffix, string by string. Returns the number of strings whose ids all matched.
inline size_t CheckAgainst(const Tokenizer& tok, const json& golden, const std::vector<std::string>& strings,
                    const std::string& label) {
  const auto plain = golden.at("plain").get<std::vector<std::vector<int32_t>>>();
  const auto prefix = golden.at("prefix").get<std::vector<int32_t>>();
  const auto suffix = golden.at("suffix").get<std::vector<int32_t>>();
  EXPECT_EQ(plain.size(), strings.size()) << label;
  size_t equal = 0;
  for (size_t i = 0; i < std::min(plain.size(), strings.size()); ++i) {
    EncodeOptions split;
    split.split_special = true;
    auto ids = tok.EncodeWith(strings[i], split);
    std::vector<int32_t> special = plain[i];
    if (golden["special"].contains(std::to_string(i))) {
      special = golden["special"][std::to_string(i)].get<std::vector<int32_t>>();
    }
    auto sp = tok.EncodeWith(strings[i], EncodeOptions{});
    EncodeOptions add;
    add.add_special = true;
    auto full = tok.EncodeWith(strings[i], add);
    std::vector<int32_t> expect_full = prefix;
    expect_full.insert(expect_full.end(), special.begin(), special.end());
    expect_full.insert(expect_full.end(), suffix.begin(), suffix.end());
    const bool ok = ids.ok() && *ids == plain[i] && sp.ok() && *sp == special && full.ok() && *full == expect_full;
    EXPECT_TRUE(ok) << label << " string " << i << " " << json(strings[i]).dump() << "\n  ours plain "
                    << (ids.ok() ? json(*ids).dump() : ids.status().ToString()) << "\n  llama.cpp  "
                    << json(plain[i]).dump() << "\n  ours special "
                    << (sp.ok() ? json(*sp).dump() : sp.status().ToString()) << "\n  llama.cpp    "
                    << json(special).dump();
    equal += ok ? 1 : 0;
  }
  return equal;
}

}  // namespace kvpress::testing
