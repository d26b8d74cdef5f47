// Loading chat templates and special tokens from tokenizer directories, template selection, and
// apply_chat_template's message handling (null keys dropped, reasoning fields aliased).
#include <gtest/gtest.h>

#include <fstream>

#include "core/file_util.h"
#include "test_util.h"
#include "tokenizer/chat_template.h"

namespace kvpress {
namespace {

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string Apply(const ChatTemplate& t, const std::string& messages_json, bool agp = false) {
  ChatRequest req;
  req.messages = nlohmann::ordered_json::parse(messages_json);
  req.add_generation_prompt = agp;
  auto r = t.Apply(req);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : "";
}

TEST(ChatTemplateConfig, StringTemplateAndAddedTokenSpecialTokens) {
  const std::string dir = testing::TempDir("chat-cfg");
  WriteFile(dir + "/tokenizer_config.json", R"({
    "bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false},
    "eos_token": "</s>", "unk_token": null, "pad_token": "<pad>",
    "chat_template": "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}{{ eos_token }}"})");
  for (const std::string& path : {dir, dir + "/tokenizer_config.json", dir + "/tokenizer.json"}) {
    if (path == dir + "/tokenizer.json") WriteFile(path, R"({"model": {"type": "BPE"}})");
    auto cfg = LoadChatTemplateConfig(path);
    ASSERT_TRUE(cfg.ok()) << path << ": " << cfg.status().ToString();
    EXPECT_EQ(cfg->special_tokens, (std::map<std::string, std::string>{
                                       {"bos_token", "<s>"}, {"eos_token", "</s>"}, {"pad_token", "<pad>"}}));
    ASSERT_EQ(cfg->templates.size(), 1u);
    EXPECT_FALSE(cfg->named);
    auto t = ChatTemplate::FromConfig(*cfg, "", false);
    ASSERT_TRUE(t.ok());
    ChatRequest req;
    req.messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "hi"}])");
    req.special_tokens = cfg->special_tokens;
    EXPECT_EQ(t->Apply(req).value(), "<s>[user]hi</s>");
  }
}

TEST(ChatTemplateConfig, NamedTemplatesFollowTransformersSelection) {
  const std::string dir = testing::TempDir("chat-named");
  WriteFile(dir + "/tokenizer_config.json", R"({"chat_template": [
    {"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}, {"name": "rag", "template": "R"}]})");
  auto cfg = LoadChatTemplateConfig(dir);
  ASSERT_TRUE(cfg.ok());
  EXPECT_TRUE(cfg->named);
  const std::string msgs = R"([{"role": "user", "content": "x"}])";
  EXPECT_EQ(Apply(ChatTemplate::FromConfig(*cfg, "", false).value(), msgs), "D");
  EXPECT_EQ(Apply(ChatTemplate::FromConfig(*cfg, "", true).value(), msgs), "T");
  EXPECT_EQ(Apply(ChatTemplate::FromConfig(*cfg, "rag", true).value(), msgs), "R");
  auto missing = ChatTemplate::FromConfig(*cfg, "nope", false);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("default, tool_use, rag"), std::string::npos);

  WriteFile(dir + "/tokenizer_config.json", R"({"chat_template": [{"name": "a", "template": "A"}]})");
  cfg = LoadChatTemplateConfig(dir);
  ASSERT_TRUE(cfg.ok());
  EXPECT_FALSE(ChatTemplate::FromConfig(*cfg, "", false).ok());  // named, no default
}

TEST(ChatTemplateConfig, JinjaFilesTakePriorityOverTheConfig) {
  const std::string dir = testing::TempDir("chat-jinja");
  WriteFile(dir + "/tokenizer_config.json", R"({"eos_token": "E", "chat_template": "from config"})");
  WriteFile(dir + "/chat_template.jinja", "from file {{ eos_token }}\n");
  auto cfg = LoadChatTemplateConfig(dir);
  ASSERT_TRUE(cfg.ok());
  ASSERT_EQ(cfg->templates.size(), 1u);
  EXPECT_EQ(cfg->origins[0], dir + "/chat_template.jinja");
  ChatRequest req;
  req.messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "x"}])");
  req.special_tokens = cfg->special_tokens;
  EXPECT_EQ(ChatTemplate::FromConfig(*cfg, "", false)->Apply(req).value(), "from file E");

  // A directory with only chat_template.jinja is enough.
  const std::string only = testing::TempDir("chat-only-jinja");
  WriteFile(only + "/chat_template.jinja", "J");
  EXPECT_TRUE(LoadChatTemplateConfig(only).ok());
}

TEST(ChatTemplateConfig, ErrorsNameTheFile) {
  auto r = LoadChatTemplateConfig("/nonexistent/dir/tokenizer_config.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  const std::string empty = testing::TempDir("chat-empty");
  r = LoadChatTemplateConfig(empty);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  const std::string bad = testing::TempDir("chat-bad");
  WriteFile(bad + "/tokenizer_config.json", "{not json");
  r = LoadChatTemplateConfig(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("tokenizer_config.json"), std::string::npos);
  WriteFile(bad + "/tokenizer_config.json", R"({"chat_template": 5})");
  EXPECT_EQ(LoadChatTemplateConfig(bad).status().code(), StatusCode::kDataLoss);
  WriteFile(bad + "/tokenizer_config.json", R"({"eos_token": "e"})");
  auto no_template = LoadChatTemplateConfig(bad);
  ASSERT_TRUE(no_template.ok());
  EXPECT_EQ(ChatTemplate::FromConfig(*no_template, "", false).status().code(), StatusCode::kNotFound);
  auto syntax = ChatTemplate::FromSource("ok\n{% if %}", "x.jinja");
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.status().message().rfind("x.jinja:2:", 0), 0u) << syntax.status().message();
}

TEST(ChatTemplateApply, NormalizesMessagesLikeTransformers) {
  auto t = ChatTemplate::FromSource(
      "{% for m in messages %}{{ m }}|{{ m.content is defined }}|{{ m.reasoning_content }}\n{% endfor %}"
      "{{ tools }} {{ documents }} {{ add_generation_prompt }} {{ enable_thinking is defined }}",
      "t");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(Apply(*t, R"([{"role": "assistant", "content": null, "tool_calls": [{"a": 1}]},
                          {"role": "assistant", "content": "x", "reasoning": "why"},
                          {"role": "assistant", "thinking": "t", "content": "y", "reasoning_content": "r"}])",
                  true),
            "{'role': 'assistant', 'tool_calls': [{'a': 1}]}|False|\n"
            "{'thinking': 'why', 'role': 'assistant', 'content': 'x', 'reasoning': 'why', 'reasoning_content': 'why'}|True|why\n"
            "{'thinking': 't', 'role': 'assistant', 'content': 'y', 'reasoning_content': 'r'}|True|r\n"
            "None None True False");
  ChatRequest req;
  EXPECT_EQ(t->Apply(req).status().code(), StatusCode::kInvalidArgument);  // empty conversation
  req.messages = nlohmann::ordered_json::parse(R"(["not an object"])");
  EXPECT_EQ(t->Apply(req).status().code(), StatusCode::kInvalidArgument);
  req.messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "x"}])");
  req.extra_variables = {{"messages", 1}};
  EXPECT_EQ(t->Apply(req).status().code(), StatusCode::kInvalidArgument);
  // Absurdly nested JSON is refused before it is converted.
  req.extra_variables = nlohmann::ordered_json::object();
  std::string deep = R"([{"role": "user", "content": )";
  for (int i = 0; i < 100000; ++i) deep += "[";
  for (int i = 0; i < 100000; ++i) deep += "]";
  req.messages = nlohmann::ordered_json::parse(deep + "}]");
  const auto deep_status = t->Apply(req).status();
  EXPECT_EQ(deep_status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(deep_status.message().find("nested"), std::string::npos);
}

TEST(ChatTemplateApply, VariablesToolsAndThinking) {
  auto t = ChatTemplate::FromSource(
      "{{ bos_token }}{% if tools %}{{ tools | tojson }}{% endif %}{{ enable_thinking }}{{ custom }}", "t");
  ASSERT_TRUE(t.ok());
  ChatRequest req;
  req.messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "x"}])");
  req.special_tokens = {{"bos_token", "<B>"}};
  req.tools = nlohmann::ordered_json::parse(R"([{"name": "f", "z": 1, "a": 2}])");
  req.enable_thinking = false;
  req.extra_variables = {{"custom", "!"}};
  EXPECT_EQ(t->Apply(req).value(), R"(<B>[{"name": "f", "z": 1, "a": 2}]False!)");
  req.tools = nlohmann::ordered_json::parse(R"({"not": "a list"})");
  EXPECT_EQ(t->Apply(req).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kvpress
