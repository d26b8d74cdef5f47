// The tokenizer through `kvpress convert`, checked against the reference implementations:
// GGUF -> tokenizer.json must encode as Hugging Face `tokenizers` encodes that file and as llama.cpp
// tokenizes the GGUF; tokenizer.json -> GGUF metadata must read back as llama.cpp reads it and as
// Hugging Face encodes the source. Also the GGUF chat template, rendered as Jinja2 renders it.
// Fixtures: scripts/goldens/make_gguf_tokenizer_goldens.py (convert_*.json, chat.json).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "gguf_tokenizer_util.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/hf_loaders.h"
#include "tokenizer/load_tokenizer.h"
#include "tokenizer/tokenizer_export.h"
#include "tokenizer_goldens.h"

namespace kvpress {
namespace {

using nlohmann::json;

// Writes `files` into a fresh temporary directory and returns it.
std::string WriteFiles(const HfTokenizerFiles& files, const std::string& tag) {
  const std::string dir = testing::TempDir(tag);
  EXPECT_TRUE(WriteFileAtomic(dir + "/tokenizer.json", files.tokenizer_json.dump()).ok());
  EXPECT_TRUE(WriteFileAtomic(dir + "/tokenizer_config.json", files.tokenizer_config.dump()).ok());
  return dir;
}

// The vocabularies converted by the golden script: byte-level (SmolLM2) and SentencePiece-style.
struct ConvertCase {
  std::string name;  // convert_<name>_to_{hf,gguf}.json
  std::string gguf;  // under the shared data
};

void RemoveTokenizerDir(const std::string& dir) {
  std::remove((dir + "/tokenizer.json").c_str());
  std::remove((dir + "/tokenizer_config.json").c_str());
  std::remove(dir.c_str());
}

// Each case: the golden `convert_<name><suffix>`, the GGUF's metadata and its tokenizer files
// (HfTokenizerFromGguf) written into `dir_`.
class GgufTokenizerConvert : public ::testing::TestWithParam<ConvertCase> {
 protected:
  void Prepare(const std::string& suffix) {
    const ConvertCase& c = GetParam();
    auto golden = ReadJsonFile(testing::GoldenDir() + "/convert_" + c.name + suffix);
    ASSERT_TRUE(golden.ok()) << golden.status().ToString();
    golden_ = std::move(golden).value();
    md_ = testing::GgufMetadataOf(c.gguf);
    auto files = HfTokenizerFromGguf(md_, c.gguf);
    ASSERT_TRUE(files.ok()) << files.status().ToString();
    files_ = std::move(files).value();
    dir_ = WriteFiles(files_, "tok-convert");
  }
  void TearDown() override {
    if (!dir_.empty()) RemoveTokenizerDir(dir_);
  }
  json golden_, md_;
  HfTokenizerFiles files_;
  std::string dir_;
};

TEST_P(GgufTokenizerConvert, GgufToHfEncodesLikeHuggingFaceAndLlamaCpp) {
  const ConvertCase& c = GetParam();
  SKIP_IF_NO_SHARED(testing::SharedData(c.gguf));
  ASSERT_NO_FATAL_FAILURE(Prepare("_to_hf.json"));
  const json& md = md_;
  auto hf = LoadTokenizer(dir_);
  ASSERT_TRUE(hf.ok()) << hf.status().ToString();
  auto gguf = LoadGgufVocab(md, c.gguf);
  ASSERT_TRUE(gguf.ok()) << gguf.status().ToString();
  const std::vector<std::string> strings = testing::Strings();
  const auto plain = golden_["plain"].get<std::vector<std::vector<int32_t>>>();
  const auto with_special = golden_["add_special"].get<std::vector<std::vector<int32_t>>>();
  ASSERT_EQ(plain.size(), strings.size());
  size_t equal = 0;
  EncodeOptions add;
  add.add_special = true;
  for (size_t i = 0; i < strings.size(); ++i) {
    const bool ok = (*hf)->EncodeWith(strings[i], {}).value() == plain[i] &&
                    (*gguf)->EncodeWith(strings[i], {}).value() == plain[i] &&
                    (*hf)->EncodeWith(strings[i], add).value() == with_special[i] &&
                    (*gguf)->EncodeWith(strings[i], add).value() == with_special[i];
    EXPECT_TRUE(ok) << c.name << " string " << i << " " << json(strings[i]).dump();
    equal += ok ? 1 : 0;
  }
  std::printf("%s: GGUF -> tokenizer.json: %zu of %zu strings equal to Hugging Face tokenizers\n", c.name.c_str(),
              equal, strings.size());
  // The config carries the chat template and the special tokens as transformers reads them.
  const json cfg = json::parse(files_.tokenizer_config.dump());
  for (const auto& [key, value] : golden_["config"].items()) EXPECT_EQ(cfg.value(key, json()), value) << key;
  EXPECT_EQ(cfg.value("chat_template", json()), md.value("tokenizer.chat_template", json()));
}

TEST_P(GgufTokenizerConvert, HfToGgufReadsBackLikeLlamaCpp) {
  const ConvertCase& c = GetParam();
  SKIP_IF_NO_SHARED(testing::SharedData(c.gguf));
  ASSERT_NO_FATAL_FAILURE(Prepare("_to_gguf.json"));
  const json& md = md_;
  auto back = GgufTokenizerMetadataFromHf(dir_, static_cast<int64_t>(md["tokenizer.ggml.tokens"].size()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  const json meta = json::parse(back->dump());
  for (const char* key : {"tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.merges",
                          "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.chat_template"}) {
    EXPECT_EQ(meta.value(key, json()), md.value(key, json())) << c.name << " " << key;
  }
  auto tok = LoadGgufVocab(meta, "round trip");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const std::vector<std::string> strings = testing::Strings();
  EXPECT_EQ(testing::CheckAgainst(**tok, golden_, strings, c.name + ": tokenizer.json -> GGUF"), strings.size());
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, GgufTokenizerConvert,
                         ::testing::Values(ConvertCase{"smollm", testing::kSmolLm},
                                           ConvertCase{"llama_spm",
                                                       "models/llama-2-tiny-random/llama-2-tiny-random.gguf"}),
                         [](const ::testing::TestParamInfo<ConvertCase>& info) { return info.param.name; });

// Real Hugging Face tokenizers written as GGUF metadata encode as Hugging Face does (the goldens of
// tokenizer_conformance_test), except text that Qwen's NFC normalizer changes: llama.cpp, and so a
// GGUF, does not normalize; and exactly as llama.cpp tokenizes the GGUF `kvpress convert` writes.
TEST(GgufTokenizerConvertHf, RealHfTokenizersToGguf) {
  for (const char* name : {"llama3", "qwen3"}) {
    const std::string dir = testing::SharedData(std::string("tokenizers/") + name);
    SKIP_IF_NO_SHARED(dir + "/tokenizer.json");
    auto meta = GgufTokenizerMetadataFromHf(dir, 512);  // the fixture model's vocab_size, as the script ran it
    ASSERT_TRUE(meta.ok()) << meta.status().ToString();
    EXPECT_EQ((*meta)["tokenizer.ggml.pre"], std::string(name) == "llama3" ? "llama-bpe" : "qwen2");
    EXPECT_TRUE(meta->contains("tokenizer.chat_template")) << name;
    auto tok = LoadGgufVocab(json::parse(meta->dump()), dir);
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    testing::GoldenCheckOptions opt;
    opt.skip_if = testing::ChangedByNfc;
    EXPECT_EQ(testing::CheckGolden(**tok, testing::Golden(name), testing::GoldenStrings(), opt), 0) << name;
    // ... and exactly as llama.cpp reads the GGUF that `kvpress convert` writes with this tokenizer.
    auto golden = ReadJsonFile(testing::GoldenDir() + "/convert_" + name + "_hf_to_gguf.json");
    ASSERT_TRUE(golden.ok()) << golden.status().ToString();
    const std::vector<std::string> strings = testing::Strings();
    EXPECT_EQ(testing::CheckAgainst(**tok, *golden, strings, std::string(name) + " tokenizer.json -> GGUF"),
              strings.size());
  }
}

// The GGUF's chat template, found with the model, renders as Jinja2 renders it (with the
// template's default system turn), through the library and through `kvpress template`.
TEST(GgufChatTemplate, SmolLm2RendersAsJinja2) {
  const std::string path = testing::SharedData(testing::kSmolLm);
  SKIP_IF_NO_SHARED(path);
  auto golden = ReadJsonFile(testing::GoldenDir() + "/chat.json");
  ASSERT_TRUE(golden.ok()) << golden.status().ToString();
  auto cfg = LoadChatTemplateConfigAt(path);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  auto tmpl = ChatTemplate::FromConfig(*cfg, "", false);
  ASSERT_TRUE(tmpl.ok()) << tmpl.status().ToString();
  ASSERT_GE((*golden)["cases"].size(), 2u);
  for (const json& c : (*golden)["cases"]) {
    ChatRequest req;
    req.messages = nlohmann::ordered_json::parse(c["messages"].dump());
    req.add_generation_prompt = c["add_generation_prompt"].get<bool>();
    req.special_tokens = cfg->special_tokens;
    auto out = tmpl->Apply(req);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(*out, c["expected"].get<std::string>());
  }
  const json& first = (*golden)["cases"][0];
  const std::string dir = testing::TempDir("tok-chat");
  ASSERT_TRUE(WriteFileAtomic(dir + "/m.json", first["messages"].dump()).ok());
  const auto run = testing::RunKvpress("template --tokenizer '" + path + "' --messages '" + dir + "/m.json'" +
                                       (first["add_generation_prompt"].get<bool>() ? " --add-generation-prompt" : ""));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, first["expected"].get<std::string>());
  std::remove((dir + "/m.json").c_str());
  std::remove(dir.c_str());
}

// `kvpress convert` carries the tokenizer both ways, and a chat template put into the HF directory
// comes back in the GGUF, where `generate --chat` finds it with the model.
TEST(GgufTokenizerConvertCli, ConvertCarriesTokenizerAndTemplate) {
  const std::string src = testing::SharedData("models/llama-2-tiny-random/llama-2-tiny-random.gguf");
  SKIP_IF_NO_SHARED(src);
  const std::string dir = testing::TempDir("tok-cli");
  auto run = testing::RunKvpress("convert --model '" + src + "' --to hf --out '" + dir + "/hf'");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto from_gguf = LoadTokenizer(src);
  auto from_hf = LoadTokenizer(dir + "/hf");
  ASSERT_TRUE(from_gguf.ok() && from_hf.ok()) << from_hf.status().ToString();
  EncodeOptions add;
  add.add_special = true;
  for (const std::string& s : testing::Strings()) {
    EXPECT_EQ((*from_hf)->EncodeWith(s, add).value(), (*from_gguf)->EncodeWith(s, add).value()) << json(s).dump();
  }
  // This GGUF has no chat template: --chat is refused, naming the model.
  run = testing::RunKvpress("generate --model '" + src + "' --chat --context Hi --max-new-tokens 1");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("has no chat template"), std::string::npos) << run.err;

  auto cfg = ReadJsonFile(dir + "/hf/tokenizer_config.json");
  ASSERT_TRUE(cfg.ok());
  const std::string tmpl =
      "{% for m in messages %}[{{ m['role'] }}]{{ m['content'] }}{% endfor %}{% if add_generation_prompt %}[assistant]{% "
      "endif %}";
  (*cfg)["chat_template"] = tmpl;
  ASSERT_TRUE(WriteFileAtomic(dir + "/hf/tokenizer_config.json", cfg->dump()).ok());
  run = testing::RunKvpress("convert --model '" + dir + "/hf' --to gguf --out '" + dir + "/back.gguf'");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto templates = LoadChatTemplateConfigAt(dir + "/back.gguf");
  ASSERT_TRUE(templates.ok()) << templates.status().ToString();
  ASSERT_EQ(templates->templates.size(), 1u);
  EXPECT_EQ(templates->templates[0].second, tmpl);
  auto back = LoadTokenizer(dir + "/back.gguf");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  for (const std::string& s : testing::Strings()) {
    EXPECT_EQ((*back)->EncodeWith(s, add).value(), (*from_gguf)->EncodeWith(s, add).value()) << json(s).dump();
  }
  // The context goes into the GGUF's template: "[user]Hi" is the templated context, without BOS.
  run = testing::RunKvpress("generate --model '" + dir + "/back.gguf' --chat --context Hi --max-new-tokens 1 --json");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json out = json::parse(run.out);
  EXPECT_EQ(out["prompt_tokens"].get<size_t>(), (*back)->EncodeWith("[user]Hi", {}).value().size());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kvpress
