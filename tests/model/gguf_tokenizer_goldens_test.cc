// GGUF byte-level BPE tokenizers against llama.cpp's own ids, for every tokenizer.ggml.pre value
// (fixtures: scripts/goldens/make_gguf_tokenizer_goldens.py). The vocabulary is SmolLM2's, read
// from ../shared/data; each pre value is applied to its metadata the way the script wrote its
// vocab-only GGUFs (pre replaced, add_bos/add_eos_token removed).
#include <gtest/gtest.h>

#include <dirent.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "core/mapped_file.h"
#include "model/gguf.h"
#include "test_util.h"
#include "tokenizer/gguf_pre_types.h"
#include "tokenizer/hf_loaders.h"

namespace kvpress {
namespace {

using nlohmann::json;

const char* kSmolLm = "models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf";

std::string GoldenDir() { return testing::Fixture("tokenizer_goldens/gguf"); }

std::vector<std::string> Strings() {
  auto j = ReadJsonFile(GoldenDir() + "/strings.json");
  EXPECT_TRUE(j.ok()) << j.status().ToString();
  return j.ok() ? j->get<std::vector<std::string>>() : std::vector<std::string>();
}

json SmolLmMetadata() {
  auto file = MappedFile::Open(testing::SharedData(kSmolLm));
  EXPECT_TRUE(file.ok());
  auto g = ReadGguf(**file, /*metadata_only=*/true);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return g.ok() ? g->metadata : json();
}

// Golden files of pre-type groups (everything but strings.json and the convert goldens).
std::vector<std::string> PreTypeGoldens() {
  std::vector<std::string> names;
  DIR* d = ::opendir(GoldenDir().c_str());
  if (d == nullptr) return names;
  while (const dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n.size() > 5 && n.compare(n.size() - 5, 5, ".json") == 0 && n != "strings.json" &&
        n.rfind("convert_", 0) != 0) {
      names.push_back(n);
    }
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// Compares `tok` with one golden document: plain ids, parse-special ids and the add_special
// prefix/suffix, string by string. Returns the number of strings whose ids all matched.
size_t CheckAgainst(const Tokenizer& tok, const json& golden, const std::vector<std::string>& strings,
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

TEST(GgufTokenizerGoldens, EveryPreTypeMatchesLlamaCpp) {
  SKIP_IF_NO_SHARED(testing::SharedData(kSmolLm));
  const std::vector<std::string> strings = Strings();
  ASSERT_GE(strings.size(), 100u);
  json base = SmolLmMetadata();
  ASSERT_TRUE(base.is_object());
  base.erase("tokenizer.ggml.add_bos_token");
  base.erase("tokenizer.ggml.add_eos_token");
  const std::vector<std::string> files = PreTypeGoldens();
  ASSERT_GE(files.size(), 10u);
  size_t names = 0, cases = 0, equal = 0;
  std::vector<std::string> covered;
  for (const std::string& f : files) {
    if (f == "smollm_real.json") continue;
    auto golden = ReadJsonFile(GoldenDir() + "/" + f);
    ASSERT_TRUE(golden.ok()) << golden.status().ToString();
    for (const std::string& pre : (*golden)["names"].get<std::vector<std::string>>()) {
      json m = base;
      m["tokenizer.ggml.pre"] = pre;
      auto tok = LoadGgufVocab(m, "smollm2 vocab, pre " + pre);
      ASSERT_TRUE(tok.ok()) << tok.status().ToString();
      equal += CheckAgainst(**tok, *golden, strings, pre);
      cases += strings.size();
      ++names;
      covered.push_back(pre);
    }
  }
  std::printf("GGUF pre-types: %zu of %zu (string, pre) pairs equal to llama.cpp (%zu strings x %zu pre values)\n",
              equal, cases, strings.size(), names);
  // Every value we support has a golden.
  std::sort(covered.begin(), covered.end());
  for (const std::string& n : GgufPreTypeNames()) {
    EXPECT_TRUE(std::binary_search(covered.begin(), covered.end(), n)) << "no llama.cpp golden for pre '" << n << "'";
  }
}

TEST(GgufTokenizerGoldens, RealSmolLm2FileMatchesLlamaCpp) {
  const std::string path = testing::SharedData(kSmolLm);
  SKIP_IF_NO_SHARED(path);
  auto golden = ReadJsonFile(GoldenDir() + "/smollm_real.json");
  ASSERT_TRUE(golden.ok()) << golden.status().ToString();
  auto tok = LoadGgufVocab(SmolLmMetadata(), path);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const std::vector<std::string> strings = Strings();
  EXPECT_EQ(CheckAgainst(**tok, *golden, strings, "smollm (real file)"), strings.size());
  EXPECT_FALSE((*tok)->AddsBos());  // tokenizer.ggml.add_bos_token false
  EXPECT_EQ((*tok)->BosId(), 1);
  EXPECT_EQ((*tok)->EosId(), 2);
}

// Unknown values are refused with the list of supported ones.
TEST(GgufTokenizerGoldens, UnknownPreTypeListsSupportedValues) {
  SKIP_IF_NO_SHARED(testing::SharedData(kSmolLm));
  json m = SmolLmMetadata();
  m["tokenizer.ggml.pre"] = "no-such-pre";
  auto tok = LoadGgufVocab(m, "x.gguf");
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(tok.status().message().find("x.gguf: tokenizer.ggml.pre 'no-such-pre' is not supported"), std::string::npos);
  EXPECT_NE(tok.status().message().find("smollm"), std::string::npos);
  EXPECT_NE(tok.status().message().find("llama-bpe"), std::string::npos);
}

}  // namespace
}  // namespace kvpress
