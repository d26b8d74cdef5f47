// Tokenizer building blocks and the synthetic tokenizer.json fixtures (no shared data needed):
// UTF-8 helpers, the PCRE2 pattern bridge, every pipeline stage against Hugging Face goldens,
// streaming decode, error handling and the `kvpress tokenize` CLI.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "test_util.h"
#include "tokenizer/components.h"
#include "tokenizer/hf_loaders.h"
#include "tokenizer/load_tokenizer.h"
#include "tokenizer/tokenizer_export.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode_util.h"
#include "tokenizer_goldens.h"

namespace kvpress {
namespace {

using nlohmann::json;
using testing::Fixture;

std::string SyntheticPath(const std::string& name) {
  return Fixture("tokenizer_goldens/synthetic/" + name + "/tokenizer.json");
}

std::unique_ptr<Tokenizer> LoadOrDie(const std::string& path) {
  auto tok = LoadTokenizer(path);
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  return tok.ok() ? std::move(tok).value() : nullptr;
}

TEST(Utf8, LossyMatchesRustFromUtf8Lossy) {
  EXPECT_EQ(unicode::LossyUtf8("abc"), "abc");
  EXPECT_EQ(unicode::LossyUtf8("\xF0\x90\x80"
                               "A"),
            "\xEF\xBF\xBD"
            "A");  // one maximal subpart
  EXPECT_EQ(unicode::LossyUtf8("\xED\xA0\x80"),
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");                      // surrogate
  EXPECT_EQ(unicode::LossyUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong
  EXPECT_EQ(unicode::LossyUtf8("\xE2\x82"), "\xEF\xBF\xBD");
  EXPECT_EQ(unicode::FindInvalidUtf8("ok \xE2\x82\xAC"), std::string::npos);
  EXPECT_EQ(unicode::FindInvalidUtf8("ok \xE2\x82"), 3u);
}

TEST(Utf8, Gpt2ByteMapAndNormalization) {
  EXPECT_EQ(unicode::ByteToChar()[' '], 0x120u);
  EXPECT_EQ(unicode::ByteToChar()['\n'], 0x10Au);
  EXPECT_EQ(unicode::ByteToChar()[0xAD], 0x143u);
  EXPECT_EQ(unicode::ByteToChar()['A'], static_cast<char32_t>('A'));
  for (int b = 0; b < 256; ++b) EXPECT_EQ(unicode::CharToByte(unicode::ByteToChar()[b]), b);
  std::string bytes;
  EXPECT_TRUE(unicode::ByteLevelToBytes(unicode::BytesToByteLevel("a \xFF\n"), bytes));
  EXPECT_EQ(bytes, "a \xFF\n");
  EXPECT_FALSE(unicode::ByteLevelToBytes("a b", bytes));  // ' ' is not a GPT-2 character
  EXPECT_EQ(unicode::Normalize("e\xCC\x81", unicode::NormalForm::kNFC), "\xC3\xA9");
  EXPECT_EQ(unicode::Normalize("\xEF\xAC\x81", unicode::NormalForm::kNFKC), "fi");
  EXPECT_EQ(unicode::Lowercase("\xC4\xB0"
                               "ABC"),
            "i\xCC\x87"
            "abc");
}

std::vector<std::string> Matches(const std::string& pattern, const std::string& text) {
  auto re = Regex::Compile(pattern);
  EXPECT_TRUE(re.ok()) << re.status().ToString();
  std::vector<std::pair<size_t, size_t>> m;
  EXPECT_TRUE((*re)->FindAll(text, m).ok());
  std::vector<std::string> out;
  for (auto [s, e] : m) out.push_back(text.substr(s, e - s));
  return out;
}

TEST(Regex, SplitPatternsBehaveLikeOniguruma) {
  EXPECT_EQ(Matches(kLlama3SplitPattern, "a  b"), (std::vector<std::string>{"a", " ", " b"}));
  EXPECT_EQ(Matches(kLlama3SplitPattern, "I'M 12345"),
            (std::vector<std::string>{"I", "'M", " ", "123", "45"}));
  EXPECT_EQ(Matches(kQwen2SplitPattern, "123"), (std::vector<std::string>{"1", "2", "3"}));
  // U+0085 counts as whitespace (Oniguruma's \s), so it joins the space run.
  EXPECT_EQ(Matches(kGpt2SplitPattern, "a \xC2\x85 b"),
            (std::vector<std::string>{"a", " \xC2\x85", " b"}));
  EXPECT_EQ(TranslateOnigPattern(R"([^\s\p{L}]|\s+(?!\S))"),
            R"([^\s\x{85}\p{L}]|[\s\x{85}]+(?![^\s\x{85}]))");
  EXPECT_FALSE(Regex::Compile("(unclosed").ok());
}

class SyntheticGoldenTest : public ::testing::TestWithParam<const char*> {};

// Small tokenizers built by make_tokenizer_goldens.py cover Metaspace (first/always, split),
// byte fallback, legacy Prepend+Replace, NFKC/NFD/Lowercase/Strip/regex Replace normalizers,
// Split behaviours, Digits, ByteLevel with prefix space and regex, added tokens with
// lstrip/rstrip/single_word/normalized, and the Replace/ByteFallback/Fuse/Strip/Metaspace decoders.
TEST_P(SyntheticGoldenTest, IdsIdenticalToHuggingFace) {
  auto tok = LoadOrDie(SyntheticPath(GetParam()));
  ASSERT_NE(tok, nullptr);
  const auto strings = testing::GoldenStrings();
  EXPECT_EQ(testing::CheckGolden(*tok, testing::Golden(GetParam()), strings), 0);
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, SyntheticGoldenTest,
                         ::testing::Values("spm_metaspace", "spm_legacy", "bytelevel_stages",
                                           "metaspace_split"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param);
                         });

TEST(StreamingDecoder, ConcatenationEqualsDecodeAndHoldsPartialCharacters) {
  auto tok = LoadOrDie(SyntheticPath("spm_metaspace"));
  ASSERT_NE(tok, nullptr);
  for (const std::string& text : testing::GoldenStrings()) {
    auto ids = tok->Encode(text, true);
    ASSERT_TRUE(ids.ok());
    if (ids->size() < 2) continue;
    const std::vector<int32_t> prompt(ids->begin(), ids->begin() + 1);
    StreamingDecoder stream(*tok, prompt);
    std::string out;
    for (size_t i = 1; i < ids->size(); ++i) {
      const std::string piece = stream.Push((*ids)[i]);
      EXPECT_EQ(unicode::FindInvalidUtf8(piece), std::string::npos);
      out += piece;
    }
    out += stream.Flush();
    DecodeOptions raw;
    raw.lossy = false;
    EXPECT_EQ(out, tok->DecodeWith(*ids, raw).substr(tok->DecodeWith(prompt, raw).size()))
        << json(text).dump();
  }
}

TEST(TokenizerErrors, BadFilesAndInputsAreStatuses) {
  const std::string dir = testing::TempDir("tokerr");
  auto write = [&](const std::string& name, const std::string& body) {
    std::ofstream(dir + "/" + name, std::ios::binary) << body;
    return dir + "/" + name;
  };
  EXPECT_EQ(LoadTokenizer(dir + "/missing.json").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(LoadTokenizer(dir).status().code(), StatusCode::kNotFound);  // empty directory
  EXPECT_EQ(LoadTokenizer(write("trunc.json", "{\"model\": {\"vocab\": {\"a\": 0")).status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(LoadTokenizer(
                write("unigram.json", R"({"model": {"type": "Unigram", "vocab": [["a", 0.0]]}})"))
                .status()
                .code(),
            StatusCode::kUnimplemented);
  EXPECT_EQ(
      LoadTokenizer(write("badmerge.json",
                          R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}})"))
          .status()
          .code(),
      StatusCode::kDataLoss);
  EXPECT_EQ(LoadTokenizer(write("tok.model", "not a tokenizer\n")).status().code(),
            StatusCode::kDataLoss);
  auto ok = LoadTokenizer(write(
      "tiny.json",
      R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"]]}})"));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)->Encode("abba", false).value(), (std::vector<int32_t>{2, 1, 0}));
  EXPECT_EQ((*ok)->Encode("a\xFF", false).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*ok)->Decode(std::vector<int32_t>{2, 1, 0}),
            "ab b a");  // no decoder: joined by spaces
  std::filesystem::remove_all(dir);
}

// GGUF tokenizer metadata of the wrong shape is a status from the loader and both converters.
TEST(GgufVocabErrors, MalformedMetadataIsAStatus) {
  const nlohmann::json good = {{"tokenizer.ggml.model", "gpt2"},
                               {"tokenizer.ggml.pre", "gpt-2"},
                               {"tokenizer.ggml.tokens", {"a", "b", "ab"}},
                               {"tokenizer.ggml.merges", {"a b"}}};
  auto ok = LoadGgufVocab(good, "tiny.gguf");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)->Encode("abba", false).value(), (std::vector<int32_t>{2, 1, 0}));
  EXPECT_EQ((*ok)->BosId(), -1);  // llama.cpp's default id 11 does not exist here
  auto code = [&](const char* key, const nlohmann::json& value) {
    nlohmann::json m = good;
    m[key] = value;
    const auto loaded = LoadGgufVocab(m, "tiny.gguf");
    EXPECT_EQ(HfTokenizerFromGguf(m, "tiny.gguf").status().code(), loaded.ok() ? StatusCode::kOk : loaded.status().code())
        << key;
    return loaded.status().code();
  };
  EXPECT_EQ(code("tokenizer.ggml.pre", 42), StatusCode::kDataLoss);
  EXPECT_EQ(code("tokenizer.ggml.pre", "no-such-pre"), StatusCode::kUnimplemented);
  EXPECT_EQ(code("tokenizer.ggml.merges", 7), StatusCode::kDataLoss);
  EXPECT_EQ(code("tokenizer.ggml.merges", nlohmann::json::array({"ab"})), StatusCode::kDataLoss);
  EXPECT_EQ(code("tokenizer.ggml.tokens", "a"), StatusCode::kDataLoss);
  EXPECT_EQ(code("tokenizer.ggml.add_bos_token", true), StatusCode::kDataLoss);  // no BOS token
  EXPECT_EQ(code("tokenizer.ggml.bos_token_id", "x"), StatusCode::kOk);          // ignored, as llama.cpp would fail to read it
  // A malformed tokenizer.json is a status for the GGUF writer too.
  const std::string dir = testing::TempDir("ggufvocab");
  std::ofstream(dir + "/tokenizer.json")
      << R"({"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": 5}})";
  EXPECT_EQ(GgufTokenizerMetadataFromHf(dir, 0).status().code(), StatusCode::kDataLoss);
  std::ofstream(dir + "/tokenizer.json") << R"({"model": {"type": "WordPiece", "vocab": {}}})";
  EXPECT_EQ(GgufTokenizerMetadataFromHf(dir, 0).status().code(), StatusCode::kUnimplemented);
  std::filesystem::remove_all(dir);
}

// Mutated tokenizer files and arbitrary input never crash: loading gives a tokenizer or a
// status, and encoding gives ids or InvalidArgument (invalid UTF-8).
TEST(TokenizerFuzz, MutatedFilesAndRandomInputs) {
  std::mt19937 rng(7);
  const auto strings = testing::GoldenStrings();
  const std::string dir = testing::TempDir("tokfuzz");
  for (const char* name : {"spm_metaspace", "bytelevel_stages"}) {
    auto original = ReadFileToString(SyntheticPath(name));
    ASSERT_TRUE(original.ok());
    for (int round = 0; round < 60; ++round) {
      std::string data = *original;
      const int kind = round % 3;
      if (kind == 0) {
        data.resize(rng() % data.size());  // truncation
      } else {
        for (int k = 0; k < 1 + kind * 4; ++k) data[rng() % data.size()] = static_cast<char>(rng());
      }
      const std::string path = dir + "/tokenizer.json";
      std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
      auto tok = LoadTokenizer(path);
      if (!tok.ok()) continue;
      for (size_t i = 0; i < strings.size(); i += 17) {
        auto ids = (*tok)->Encode(strings[i], true);
        if (ids.ok()) (*tok)->Decode(*ids);
      }
    }
  }
  auto tok = LoadOrDie(SyntheticPath("spm_legacy"));
  ASSERT_NE(tok, nullptr);
  for (int round = 0; round < 200; ++round) {
    std::string bytes(rng() % 64, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    auto ids = tok->Encode(bytes, false);
    if (ids.ok()) {
      EXPECT_EQ(unicode::FindInvalidUtf8(bytes), std::string::npos);
    } else {
      EXPECT_EQ(ids.status().code(), StatusCode::kInvalidArgument);
    }
    std::vector<int32_t> random_ids(rng() % 32);
    for (int32_t& id : random_ids) id = static_cast<int32_t>(rng() % (tok->VocabSize() + 10)) - 5;
    tok->Decode(random_ids);
    StreamingDecoder stream(*tok);
    for (int32_t id : random_ids) stream.Push(id);
    stream.Flush();
  }
  std::filesystem::remove_all(dir);
}

TEST(TokenizeCli, EncodeDecodeJsonlAndExitCodes) {
  const std::string tok = SyntheticPath("spm_metaspace");
  auto r = testing::RunKvpress("tokenize --tokenizer " + tok + " 'Hello world'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto t = LoadOrDie(tok);
  ASSERT_NE(t, nullptr);
  const std::vector<int32_t> ids = t->Encode("Hello world", false).value();
  std::string line;
  for (int32_t id : ids) {
    if (!line.empty()) line += ' ';
    line += std::to_string(id);
  }
  EXPECT_EQ(r.out, line + "\n");
  r = testing::RunKvpress("tokenize --tokenizer " + tok + " --special --json 'Hello world'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["ids"][0], 1);  // <s>
  EXPECT_EQ(j["count"], ids.size() + 1);
  std::string csv;
  for (int32_t id : ids) {
    if (!csv.empty()) csv += ',';
    csv += std::to_string(id);
  }
  r = testing::RunKvpress("tokenize --tokenizer " + tok + " --decode " + csv);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, t->Decode(ids));
  EXPECT_EQ(r.out, "Hello world");
  const std::string dir = testing::TempDir("tokcli");
  std::ofstream(dir + "/in.jsonl") << "\"Hello world\"\n\"\"\n" << json(ids).dump() << "\n";
  r = testing::RunKvpress("tokenize --tokenizer " + tok + " --jsonl " + dir + "/in.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, json(ids).dump() + "\n[]\n\"Hello world\"\n");
  std::ofstream(dir + "/bad.jsonl") << "{\"not\": \"a string\"}\n";
  EXPECT_EQ(testing::RunKvpress("tokenize --tokenizer " + tok + " --jsonl " + dir + "/bad.jsonl")
                .exit_code,
            2);
  EXPECT_EQ(testing::RunKvpress("tokenize --tokenizer " + dir + "/nope.json hi").exit_code, 2);
  EXPECT_EQ(testing::RunKvpress("tokenize --tokenizer " + tok).exit_code, 1);
  EXPECT_EQ(testing::RunKvpress("tokenize hi").exit_code, 1);
  EXPECT_EQ(testing::RunKvpress("tokenize --tokenizer " + tok + " --decode 1,x").exit_code, 1);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kvpress
