// Tokenizers against ground truth from ../shared/data: llama.cpp's conformance vectors (HF fast
// tokenizers, no specials) and our own goldens from Hugging Face `tokenizers` (418 strings),
// for every loader: tokenizer.json, tiktoken, vocab.json + merges.txt, GGUF (shipped and built
// here from tokenizer.json) and SentencePiece .model.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "generate/model_tokenizer.h"
#include "model/model.h"
#include "model/writers.h"
#include "test_util.h"
#include "tokenizer/load_tokenizer.h"
#include "tokenizer/unicode_util.h"
#include "tokenizer_goldens.h"

namespace kvpress {
namespace {

using nlohmann::json;
using testing::SharedData;

// Splits a .inp file into its test strings.
std::vector<std::string> ReadInp(const std::string& path) {
  auto text = ReadFileToString(path);
  EXPECT_TRUE(text.ok());
  std::vector<std::string> out;
  const std::string sep = "\n__ggml_vocab_test__\n";
  size_t pos = 0;
  while (text.ok()) {
    const size_t end = text->find(sep, pos);
    if (end == std::string::npos) break;
    out.push_back(text->substr(pos, end - pos));
    pos = end + sep.size();
  }
  return out;
}

std::vector<std::vector<int32_t>> ReadOut(const std::string& path) {
  auto text = ReadFileToString(path);
  EXPECT_TRUE(text.ok());
  std::vector<std::vector<int32_t>> out;
  size_t pos = 0;
  while (text.ok() && pos < text->size()) {
    size_t end = text->find('\n', pos);
    if (end == std::string::npos) end = text->size();
    std::vector<int32_t> ids;
    const std::string line = text->substr(pos, end - pos);
    size_t p = 0;
    while (p < line.size()) {
      while (p < line.size() && line[p] == ' ') ++p;
      if (p >= line.size()) break;
      ids.push_back(std::stoi(line.substr(p)));
      while (p < line.size() && line[p] != ' ') ++p;
    }
    out.push_back(ids);
    pos = end + 1;
  }
  return out;
}

// A GGUF vocabulary written from a tokenizer.json: byte-level tokens and merges, added tokens as
// control (special) or user-defined tokens, like llama.cpp's converter.
std::string WriteGgufFromTokenizerJson(const std::string& json_path, const std::string& pre,
                                       bool add_bos, int bos, int eos) {
  auto j = ReadJsonFile(json_path);
  EXPECT_TRUE(j.ok());
  const json& vocab = (*j)["model"]["vocab"];
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  for (const auto& [tok, id] : vocab.items()) {
    const auto i = id.get<size_t>();
    if (i >= tokens.size()) tokens.resize(i + 1), types.resize(i + 1, 1);
    tokens[i] = tok;
  }
  for (const json& a : (*j)["added_tokens"]) {
    const auto i = a["id"].get<size_t>();
    if (i >= tokens.size()) tokens.resize(i + 1), types.resize(i + 1, 1);
    tokens[i] = a["content"].get<std::string>();
    types[i] = a["special"].get<bool>() ? 3 : 4;
  }
  json merges = json::array();
  for (const json& m : (*j)["model"]["merges"]) {
    merges.push_back(m.is_string() ? m.get<std::string>()
                                   : m[0].get<std::string>() + " " + m[1].get<std::string>());
  }
  std::vector<GgufKeyValue> meta = {{"general.architecture", "llama"},
                                    {"tokenizer.ggml.model", "gpt2"},
                                    {"tokenizer.ggml.pre", pre},
                                    {"tokenizer.ggml.tokens", tokens},
                                    {"tokenizer.ggml.token_type", types, 5},
                                    {"tokenizer.ggml.merges", merges},
                                    {"tokenizer.ggml.bos_token_id", bos},
                                    {"tokenizer.ggml.eos_token_id", eos},
                                    {"tokenizer.ggml.add_bos_token", add_bos}};
  const std::string dir = testing::TempDir("tokgguf");
  const std::string path = dir + "/vocab.gguf";
  EXPECT_TRUE(WriteGguf(path, meta, {}).ok());
  return path;
}

// Builds each GGUF once per process and removes the files at exit.
std::string CachedGguf(const std::string& key, const std::function<std::string()>& build) {
  static std::map<std::string, std::string> built;
  static const bool cleanup = [] {
    std::atexit([] {
      for (const auto& [k, path] : built) {
        std::remove(path.c_str());
        std::remove(path.substr(0, path.find_last_of('/')).c_str());
      }
    });
    return true;
  }();
  (void)cleanup;
  auto it = built.find(key);
  if (it == built.end()) it = built.emplace(key, build()).first;
  return it->second;
}

struct VectorCase {
  std::string name;       // test name
  std::string tokenizer;  // path under shared data, or "gguf:llama3" / "gguf:qwen3" (built here)
  std::string vectors;    // .inp/.out base path under shared data
};

std::string ResolveTokenizer(const std::string& spec) {
  if (spec == "gguf:llama3") {
    const std::string p = SharedData("tokenizers/llama3/tokenizer.json");
    if (p.empty()) return "";
    return CachedGguf(
        spec, [&] { return WriteGgufFromTokenizerJson(p, "llama-bpe", true, 128000, 128001); });
  }
  if (spec == "gguf:qwen3") {
    const std::string p = SharedData("tokenizers/qwen3/tokenizer.json");
    if (p.empty()) return "";
    return CachedGguf(
        spec, [&] { return WriteGgufFromTokenizerJson(p, "qwen2", false, 151643, 151645); });
  }
  return SharedData(spec);
}

class VectorTest : public ::testing::TestWithParam<VectorCase> {};

TEST_P(VectorTest, AllPairsMatchAndRoundTrip) {
  const VectorCase& c = GetParam();
  const std::string inp = SharedData(c.vectors + ".inp");
  SKIP_IF_NO_SHARED(inp);
  const std::string path = ResolveTokenizer(c.tokenizer);
  SKIP_IF_NO_SHARED(path);
  auto tok = LoadTokenizer(path);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const auto strings = ReadInp(inp);
  const auto expected = ReadOut(SharedData(c.vectors + ".out"));
  ASSERT_EQ(strings.size(), 46u);
  ASSERT_GE(expected.size(), strings.size());
  int pass = 0;
  for (size_t i = 0; i < strings.size(); ++i) {
    auto ids = (*tok)->Encode(strings[i], /*add_special=*/false);
    ASSERT_TRUE(ids.ok()) << ids.status().ToString();
    EXPECT_EQ(*ids, expected[i]) << "case " << i << ": " << json(strings[i]).dump();
    EXPECT_EQ((*tok)->Decode(*ids), strings[i]) << "round trip of case " << i;
    pass += *ids == expected[i];
  }
  EXPECT_EQ(pass, 46);
}

INSTANTIATE_TEST_SUITE_P(
    Tokenizers, VectorTest,
    ::testing::Values(
        VectorCase{"llama_bpe_tokenizer_json", "tokenizers/llama3/tokenizer.json",
                   "tokenizers/llama3/ggml-vocab-llama-bpe.gguf"},
        VectorCase{"llama_bpe_tiktoken", "tokenizers/llama3/tokenizer.model",
                   "tokenizers/llama3/ggml-vocab-llama-bpe.gguf"},
        VectorCase{"llama_bpe_gguf", "gguf:llama3",
                   "tokenizers/llama.cpp-vocab-tests/ggml-vocab-llama-bpe.gguf"},
        VectorCase{"qwen2_qwen3_tokenizer_json", "tokenizers/qwen3/tokenizer.json",
                   "tokenizers/qwen2/ggml-vocab-qwen2.gguf"},
        VectorCase{"qwen2_vocab_merges", "tokenizers/qwen2",
                   "tokenizers/qwen2/ggml-vocab-qwen2.gguf"},
        VectorCase{"qwen2_vocab_json_file", "tokenizers/qwen2/vocab.json",
                   "tokenizers/llama.cpp-vocab-tests/ggml-vocab-qwen2.gguf"},
        VectorCase{"qwen2_gguf", "gguf:qwen3",
                   "tokenizers/llama.cpp-vocab-tests/ggml-vocab-qwen2.gguf"},
        VectorCase{"llama_spm_gguf", "tokenizers/llama2/ggml-vocab-llama-spm.gguf",
                   "tokenizers/llama2/ggml-vocab-llama-spm.gguf"},
        VectorCase{"llama_spm_sentencepiece_model", "tokenizers/llama2/tokenizer.model",
                   "tokenizers/llama.cpp-vocab-tests/ggml-vocab-llama-spm.gguf"},
        // Phi-3 shares Llama-2's SentencePiece vocabulary (its vectors are byte-identical).
        VectorCase{"phi3_llama_spm_gguf", "tokenizers/llama2/ggml-vocab-llama-spm.gguf",
                   "tokenizers/llama.cpp-vocab-tests/ggml-vocab-phi-3.gguf"}),
    [](const ::testing::TestParamInfo<VectorCase>& info) { return info.param.name; });

struct GoldenCase {
  std::string name;
  std::string tokenizer;
  std::string golden;
  testing::GoldenCheckOptions options;
};

class GoldenTest : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenTest, IdsIdenticalToHuggingFace) {
  const GoldenCase& c = GetParam();
  const std::string path = ResolveTokenizer(c.tokenizer);
  SKIP_IF_NO_SHARED(path);
  auto tok = LoadTokenizer(path);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const auto strings = testing::GoldenStrings();
  ASSERT_GE(strings.size(), 300u);
  EXPECT_EQ(testing::CheckGolden(**tok, testing::Golden(c.golden), strings, c.options), 0);
}

testing::GoldenCheckOptions Full() { return {}; }

// A GGUF vocabulary is tokenized as llama.cpp does, without Qwen's NFC normalizer, so it differs
// from Hugging Face on text that NFC changes (checked against llama.cpp in gguf_tokenizer_test).
testing::GoldenCheckOptions NfcFree() {
  testing::GoldenCheckOptions o;
  o.skip_if = testing::ChangedByNfc;
  return o;
}

INSTANTIATE_TEST_SUITE_P(
    Tokenizers, GoldenTest,
    ::testing::Values(
        GoldenCase{"llama3_tokenizer_json", "tokenizers/llama3/tokenizer.json", "llama3", Full()},
        GoldenCase{"llama3_tiktoken", "tokenizers/llama3/tokenizer.model", "llama3", Full()},
        GoldenCase{"llama3_gguf", "gguf:llama3", "llama3", Full()},
        GoldenCase{"qwen3_tokenizer_json", "tokenizers/qwen3/tokenizer.json", "qwen3", Full()},
        GoldenCase{"qwen3_gguf", "gguf:qwen3", "qwen3", NfcFree()},
        // Qwen2's vocab.json directory has no tokenizer_config.json: the built-in Qwen2.5 table
        // lacks Qwen3's four newest added tokens.
        GoldenCase{
            "qwen2_vocab_merges",
            "tokenizers/qwen2",
            "qwen3",
            {true, true, true, {"<think>", "</think>", "<tool_response>", "</tool_response>"}, {}}},
        GoldenCase{"llama2_gguf", "tokenizers/llama2/ggml-vocab-llama-spm.gguf", "llama2", Full()},
        GoldenCase{"llama2_sentencepiece_model", "tokenizers/llama2/tokenizer.model", "llama2",
                   Full()}),
    [](const ::testing::TestParamInfo<GoldenCase>& info) { return info.param.name; });

// A model given without --tokenizer finds its vocabulary: GGUF metadata, llama2.c tok512.bin.
TEST(TokenizerFor, ModelsFindTheirTokenizer) {
  const std::string gguf = SharedData("models/llama-2-tiny-random/llama-2-tiny-random.gguf");
  SKIP_IF_NO_SHARED(gguf);
  auto model = LoadModel(gguf);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto tok = LoadTokenizerFor(**model, "");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  auto ref = LoadTokenizer(SharedData("tokenizers/llama2/ggml-vocab-llama-spm.gguf"));
  ASSERT_TRUE(ref.ok());
  // No add_bos_token key: SentencePiece's default (add BOS) applies.
  EXPECT_EQ((*tok)->Encode("The quick brown fox", true).value(),
            (*ref)->Encode("The quick brown fox", true).value());
  EXPECT_EQ((*tok)->Encode("The", true).value(), (std::vector<int32_t>{1, 450}));

  const std::string bin = SharedData("models/stories260K/stories260K.bin");
  auto small = LoadModel(bin);
  ASSERT_TRUE(small.ok());
  auto tok512 = LoadTokenizerFor(**small, "");
  ASSERT_TRUE(tok512.ok()) << tok512.status().ToString();
  EXPECT_EQ((*tok512)->VocabSize(), 512);

  auto hf = LoadModel(testing::Fixture("models/llama_mha_tied_f32"));  // no tokenizer files
  ASSERT_TRUE(hf.ok());
  EXPECT_EQ(LoadTokenizerFor(**hf, "").status().code(), StatusCode::kNotFound);
}

// Special-token handling on the real files: ids, flags and the post-processor.
TEST(TokenizerSpecials, Llama3AndQwen3) {
  const std::string l3 = SharedData("tokenizers/llama3/tokenizer.json");
  SKIP_IF_NO_SHARED(l3);
  auto llama = LoadTokenizer(l3);
  ASSERT_TRUE(llama.ok());
  EXPECT_EQ((*llama)->BosId(), 128000);
  EXPECT_EQ((*llama)->EosId(), 128009);  // tokenizer_config.json: <|eot_id|>
  EXPECT_TRUE((*llama)->AddsBos());
  EXPECT_EQ((*llama)->VocabSize(), 128256);
  EXPECT_EQ((*llama)->TokenToId("<|start_header_id|>"), 128006);
  EXPECT_EQ((*llama)->TokenToId("Ġthe"), 279);
  EXPECT_EQ((*llama)->IdToToken(279), "Ġthe");
  EXPECT_EQ((*llama)->Piece(279), " the");
  EXPECT_TRUE((*llama)->IsSpecial(128009));
  EXPECT_FALSE((*llama)->IsSpecial(279));
  // Meta's test_tokenizer.py expectations.
  auto ids = (*llama)->Encode("This is a test sentence.", true);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{128000, 2028, 374, 264, 1296, 11914, 13}));
  ids = (*llama)->Encode(
      "<|start_header_id|>user<|end_header_id|>\n\nThis is a test sentence.<|eot_id|>", false);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{128006, 882, 128007, 271, 2028, 374, 264, 1296, 11914, 13,
                                        128009}));

  const std::string q3 = SharedData("tokenizers/qwen3/tokenizer.json");
  auto qwen = LoadTokenizer(q3);
  ASSERT_TRUE(qwen.ok());
  EXPECT_EQ((*qwen)->BosId(), -1);  // bos_token: null
  EXPECT_EQ((*qwen)->EosId(), 151645);
  EXPECT_FALSE((*qwen)->AddsBos());
  EXPECT_EQ((*qwen)->VocabSize(), 151669);
  EXPECT_TRUE((*qwen)->IsSpecial(151644));
  EXPECT_FALSE((*qwen)->IsSpecial(151667));  // <think> is an added, non-special token
  EXPECT_EQ((*qwen)->AddedTokens().size(), 26u);
  DecodeOptions skip;
  skip.skip_special = true;
  const std::vector<int32_t> chat = {151644, 872, 198, 151667, 151668, 151645};
  EXPECT_EQ((*qwen)->Decode(chat), "<|im_start|>user\n<think></think><|im_end|>");
  EXPECT_EQ((*qwen)->DecodeWith(chat, skip), "user\n<think></think>");
}

}  // namespace
}  // namespace kvpress
