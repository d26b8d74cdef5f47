// The real chat templates in ../shared/data/tokenizers render byte-identically to transformers'
// apply_chat_template (goldens: tests/fixtures/template_goldens/chat_goldens.json, made by
// scripts/goldens/make_template_goldens.py), through the library and through `kvpress template`.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "test_util.h"
#include "tokenizer/chat_template.h"

namespace kvpress {
namespace {

std::tm FixedNow() { return testing::TemplateGoldensNow(); }

nlohmann::ordered_json Goldens() {
  std::ifstream in(testing::Fixture("template_goldens/chat_goldens.json"), std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::ordered_json::parse(ss.str(), nullptr, false);
}

const nlohmann::ordered_json* FindConversation(const nlohmann::ordered_json& g, const std::string& id) {
  for (const auto& c : g["conversations"]) {
    if (c["id"] == id) return &c;
  }
  return nullptr;
}

// The template a golden entry names: a .jinja file, or a tokenizer_config.json loaded through
// LoadChatTemplateConfig (whose special tokens must then match the goldens').
StatusOr<ChatTemplate> LoadGoldenTemplate(const nlohmann::ordered_json& entry, std::string* path_out) {
  const std::string path = testing::SharedData(entry["source"]["path"].get<std::string>());
  *path_out = path;
  if (path.empty()) return NotFound("shared data missing");
  if (entry["source"].contains("field")) {
    ASSIGN_OR_RETURN(ChatTemplateConfig cfg, LoadChatTemplateConfig(path));
    std::map<std::string, std::string> want;
    for (auto it = entry["special_tokens"].begin(); it != entry["special_tokens"].end(); ++it) {
      want[it.key()] = it.value().get<std::string>();
    }
    EXPECT_EQ(cfg.special_tokens, want) << path;
    return ChatTemplate::FromConfig(cfg, "", false);
  }
  ASSIGN_OR_RETURN(std::string source, ReadFileToString(path));
  return ChatTemplate::FromSource(source, path);
}

TEST(ChatTemplateGoldens, RealTemplatesRenderByteIdenticallyToTransformers) {
  const nlohmann::ordered_json g = Goldens();
  ASSERT_TRUE(g.is_object());
  SKIP_IF_NO_SHARED(testing::SharedData("tokenizers"));
  jinja::RenderOptions options;
  options.now = FixedNow;
  int total_ok = 0;
  for (const auto& entry : g["templates"]) {
    const std::string id = entry["id"].get<std::string>();
    SCOPED_TRACE(id);
    std::string path;
    auto tmpl = LoadGoldenTemplate(entry, &path);
    ASSERT_TRUE(tmpl.ok()) << tmpl.status().ToString();
    int identical = 0, errors_matched = 0, n = 0;
    for (const auto& c : entry["cases"]) {
      ++n;
      const auto* conv = FindConversation(g, c["conversation"].get<std::string>());
      ASSERT_NE(conv, nullptr);
      ChatRequest req;
      req.messages = (*conv)["messages"];
      if (conv->contains("tools")) req.tools = (*conv)["tools"];
      req.add_generation_prompt = c["add_generation_prompt"].get<bool>();
      if (c.contains("enable_thinking")) req.enable_thinking = c["enable_thinking"].get<bool>();
      for (auto it = entry["special_tokens"].begin(); it != entry["special_tokens"].end(); ++it) {
        req.special_tokens[it.key()] = it.value().get<std::string>();
      }
      auto r = tmpl->Apply(req, options);
      const std::string what = c["conversation"].get<std::string>() + " agp=" +
                               (req.add_generation_prompt ? "true" : "false") +
                               (c.contains("enable_thinking") ? " thinking=" + c["enable_thinking"].dump() : "");
      if (c.contains("error")) {
        EXPECT_FALSE(r.ok()) << what << ": transformers raised " << c["error"];
        errors_matched += !r.ok();
      } else {
        ASSERT_TRUE(r.ok()) << what << ": " << r.status().ToString();
        EXPECT_EQ(*r, c["expected"].get<std::string>()) << what;
        identical += *r == c["expected"].get<std::string>();
      }
    }
    std::printf("[ %s ] %d/%d renders byte-identical, %d/%d template errors reproduced\n", id.c_str(), identical,
                n - static_cast<int>(std::count_if(entry["cases"].begin(), entry["cases"].end(),
                                                   [](const auto& c) { return c.contains("error"); })),
                errors_matched,
                static_cast<int>(std::count_if(entry["cases"].begin(), entry["cases"].end(),
                                               [](const auto& c) { return c.contains("error"); })));
    total_ok += identical;
  }
  EXPECT_GE(total_ok, 50);
}

// The CLI prints exactly the golden prompt (no newline added).
TEST(ChatTemplateGoldens, CliTemplateCommandPrintsTheExactPrompt) {
  const nlohmann::ordered_json g = Goldens();
  ASSERT_TRUE(g.is_object());
  const std::string qwen3 = testing::SharedData("tokenizers/qwen3");
  SKIP_IF_NO_SHARED(qwen3);
  const std::string dir = testing::TempDir("cli-template");
  int checked = 0;
  for (const auto& entry : g["templates"]) {
    if (entry["id"] != "qwen3") continue;
    for (const auto& c : entry["cases"]) {
      if (!c.contains("expected")) continue;
      const auto* conv = FindConversation(g, c["conversation"].get<std::string>());
      ASSERT_NE(conv, nullptr);
      const std::string messages = dir + "/messages.json";
      ASSERT_TRUE(WriteFileAtomic(messages, (*conv)["messages"].dump()).ok());
      std::string args = "template --tokenizer " + qwen3 + "/tokenizer.json --messages " + messages;
      if (conv->contains("tools")) {
        ASSERT_TRUE(WriteFileAtomic(dir + "/tools.json", (*conv)["tools"].dump()).ok());
        args += " --tools " + dir + "/tools.json";
      }
      if (c["add_generation_prompt"].get<bool>()) args += " --add-generation-prompt";
      args += std::string(" --enable-thinking ") + (c["enable_thinking"].get<bool>() ? "true" : "false");
      const auto r = testing::RunKvpress(args);
      ASSERT_EQ(r.exit_code, 0) << args << "\n" << r.err;
      EXPECT_EQ(r.out, c["expected"].get<std::string>()) << args;
      ++checked;
    }
  }
  EXPECT_GE(checked, 20);

  // --template and token overrides.
  const std::string llama31 = testing::SharedData("tokenizers/llama3/chat_template.Llama-3.1-8B-Instruct.llama.cpp.jinja");
  ASSERT_TRUE(WriteFileAtomic(dir + "/m.json", R"([{"role": "user", "content": "Hi"}])").ok());
  auto r = testing::RunKvpress("template --tokenizer " + qwen3 + " --template " + llama31 + " --bos-token '<BOS>' --messages " +
                               dir + "/m.json --add-generation-prompt");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("<BOS><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n", 0), 0u) << r.out;
  const std::string tail = "Hi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
  ASSERT_GE(r.out.size(), tail.size());
  EXPECT_EQ(r.out.substr(r.out.size() - tail.size()), tail);

  // Errors: missing files are bad input (2), bad flags usage errors (1), template errors 2.
  EXPECT_EQ(testing::RunKvpress("template --tokenizer " + qwen3 + " --messages /nonexistent.json").exit_code, 2);
  EXPECT_EQ(testing::RunKvpress("template --tokenizer /nonexistent --messages " + dir + "/m.json").exit_code, 2);
  EXPECT_EQ(testing::RunKvpress("template --tokenizer " + qwen3 + " --messages " + dir + "/m.json --enable-thinking maybe").exit_code, 1);
  EXPECT_EQ(testing::RunKvpress("template --tokenizer " + qwen3).exit_code, 1);
  ASSERT_TRUE(WriteFileAtomic(dir + "/bad.json", R"({"role": "user"})").ok());
  r = testing::RunKvpress("template --tokenizer " + qwen3 + " --messages " + dir + "/bad.json");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--messages"), std::string::npos) << r.err;
  ASSERT_TRUE(WriteFileAtomic(dir + "/raise.jinja", "a\n{{ raise_exception('no system role') }}").ok());
  r = testing::RunKvpress("template --template " + dir + "/raise.jinja --messages " + dir + "/m.json");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("raise.jinja:2: template raised an exception: no system role"), std::string::npos) << r.err;
  ASSERT_TRUE(WriteFileAtomic(dir + "/date.jinja", "{{ strftime_now('%d %b %Y') }}").ok());
  r = testing::RunKvpress("template --template " + dir + "/date.jinja --messages " + dir + "/m.json --date 2025-01-31");
  EXPECT_EQ(r.out, "31 Jan 2025");
}

}  // namespace
}  // namespace kvpress
