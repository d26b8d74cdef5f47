// GGUF byte-level BPE tokenizers against llama.cpp's own ids, for every tokenizer.ggml.pre value
// (fixtures: scripts/goldens/make_gguf_tokenizer_goldens.py). The vocabulary is SmolLM2's, read
// from ../shared/data; each pre value is applied to its metadata the way the script wrote its
// vocab-only GGUFs (pre replaced, add_bos/add_eos_token removed).
#include <gtest/gtest.h>

#include <dirent.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "gguf_tokenizer_util.h"
#include "test_util.h"
#include "tokenizer/gguf_pre_types.h"
#include "tokenizer/hf_loaders.h"

namespace kvpress {
namespace {

using nlohmann::json;

// Golden files of pre-type groups (with "names"; not strings.json, chat.json or the convert goldens).
std::vector<std::string> PreTypeGoldens() {
  std::vector<std::string> names;
  DIR* d = ::opendir(testing::GoldenDir().c_str());
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

TEST(GgufTokenizerGoldens, EveryPreTypeMatchesLlamaCpp) {
  SKIP_IF_NO_SHARED(testing::SharedData(testing::kSmolLm));
  SKIP_IF_NO_SHARED(testing::SharedData("tokenizers/llama3/tokenizer.json"));
  const std::vector<std::string> strings = testing::Strings();
  ASSERT_GE(strings.size(), 100u);
  // The vocabularies the script wrote its vocab-only GGUFs with (pre replaced, no add_bos/add_eos).
  std::map<std::string, json> bases = {{"smollm2", testing::SmolLmMetadata()}, {"llama3", testing::Llama3VocabMetadata()}};
  for (auto& [name, base] : bases) {
    ASSERT_TRUE(base.is_object()) << name;
    base.erase("tokenizer.ggml.add_bos_token");
    base.erase("tokenizer.ggml.add_eos_token");
  }
  const std::vector<std::string> files = PreTypeGoldens();
  ASSERT_GE(files.size(), 10u);
  size_t names = 0, cases = 0, equal = 0;
  std::map<std::string, std::vector<std::string>> covered;  // vocab -> pre values
  std::map<std::string, std::unique_ptr<HfTokenizer>> loaded;
  for (const std::string& f : files) {
    if (f == "smollm_real.json") continue;
    auto golden = ReadJsonFile(testing::GoldenDir() + "/" + f);
    ASSERT_TRUE(golden.ok()) << golden.status().ToString();
    if (!golden->contains("names")) continue;  // chat.json
    const std::string vocab = golden->value("vocab", std::string());
    ASSERT_TRUE(bases.count(vocab)) << f;
    for (const std::string& pre : (*golden)["names"].get<std::vector<std::string>>()) {
      // Values with the same table entry share one tokenizer (loading Llama-3's takes a while).
      auto type = FindGgufPreType(pre);
      ASSERT_TRUE(type.ok()) << type.status().ToString();
      json key = {vocab, type->ignore_merges, type->add_bos, type->no_bos};
      for (const GgufSplit& sp : type->splits) key.push_back({sp.regex, sp.gap_joins_next_match});
      auto& tok = loaded[key.dump()];
      if (!tok) {
        json m = bases[vocab];
        m["tokenizer.ggml.pre"] = pre;
        auto t = LoadGgufVocab(m, vocab + " vocab, pre " + pre);
        ASSERT_TRUE(t.ok()) << t.status().ToString();
        tok = std::move(t).value();
      }
      equal += testing::CheckAgainst(*tok, *golden, strings, vocab + " " + pre);
      cases += strings.size();
      ++names;
      covered[vocab].push_back(pre);
    }
  }
  std::printf("GGUF pre-types: %zu of %zu (string, vocabulary, pre) cases equal to llama.cpp (%zu strings x %zu "
              "(vocabulary, pre) pairs)\n",
              equal, cases, strings.size(), names);
  // Every value we support has a golden on each vocabulary.
  for (auto& [vocab, pres] : covered) {
    std::sort(pres.begin(), pres.end());
    for (const std::string& n : GgufPreTypeNames()) {
      EXPECT_TRUE(std::binary_search(pres.begin(), pres.end(), n)) << "no llama.cpp golden for pre '" << n << "' on " << vocab;
    }
  }
  EXPECT_EQ(covered.size(), 2u);
}

TEST(GgufTokenizerGoldens, RealSmolLm2FileMatchesLlamaCpp) {
  const std::string path = testing::SharedData(testing::kSmolLm);
  SKIP_IF_NO_SHARED(path);
  auto golden = ReadJsonFile(testing::GoldenDir() + "/smollm_real.json");
  ASSERT_TRUE(golden.ok()) << golden.status().ToString();
  auto tok = LoadGgufVocab(testing::SmolLmMetadata(), path);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const std::vector<std::string> strings = testing::Strings();
  EXPECT_EQ(testing::CheckAgainst(**tok, *golden, strings, "smollm (real file)"), strings.size());
  EXPECT_FALSE((*tok)->AddsBos());  // tokenizer.ggml.add_bos_token false
  EXPECT_EQ((*tok)->BosId(), 1);
  EXPECT_EQ((*tok)->EosId(), 2);
}

// Llama-2's SentencePiece vocabulary as shipped and with add_space_prefix false + add_eos_token
// true: the keys llama.cpp honours for `llama` vocabularies.
TEST(GgufTokenizerGoldens, SentencePieceFlagsMatchLlamaCpp) {
  const char* vocab = "tokenizers/llama2/ggml-vocab-llama-spm.gguf";
  SKIP_IF_NO_SHARED(testing::SharedData(vocab));
  const std::vector<std::string> strings = testing::Strings();
  for (const char* variant : {"as_shipped", "no_space_prefix_eos"}) {
    auto golden = ReadJsonFile(testing::GoldenDir() + "/spm." + variant + ".json");
    ASSERT_TRUE(golden.ok()) << golden.status().ToString();
    json m = testing::GgufMetadataOf(vocab);
    for (const auto& [key, value] : (*golden)["overrides"].items()) m[key] = value;
    auto tok = LoadGgufVocab(m, vocab);
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    EXPECT_EQ(testing::CheckAgainst(**tok, *golden, strings, variant), strings.size()) << variant;
  }
}

// Unknown values are refused with the list of supported ones.
TEST(GgufTokenizerGoldens, UnknownPreTypeListsSupportedValues) {
  SKIP_IF_NO_SHARED(testing::SharedData(testing::kSmolLm));
  json m = testing::SmolLmMetadata();
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
