// Chat templates as Hugging Face applies them: loading a model's template(s) and special-token
// strings (tokenizer_config.json, chat_template.jinja, additional_chat_templates/*.jinja, or a
// standalone .jinja file) and rendering a conversation exactly as transformers'
// `apply_chat_template(..., tokenize=False)` does (transformers 5.x, jinja2 3.1).
//
// Example:
//   ASSIGN_OR_RETURN(ChatTemplateConfig cfg, LoadChatTemplateConfig("models/qwen3"));
//   ASSIGN_OR_RETURN(ChatTemplate t, ChatTemplate::FromConfig(cfg, /*name=*/"", /*has_tools=*/false));
//   ChatRequest req;
//   req.messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "Hi"}])");
//   req.add_generation_prompt = true;
//   ASSIGN_OR_RETURN(std::string prompt, t.Apply(req));
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "jinja/template.h"

namespace kvpress {

// What a tokenizer directory says about chat formatting.
struct ChatTemplateConfig {
  // (name, Jinja source) in file order. A single template is named "default".
  std::vector<std::pair<std::string, std::string>> templates;
  // True when the templates are named (a list in the config, or separate .jinja files beyond
  // chat_template.jinja): selection then follows transformers' rules for template dicts.
  bool named = false;
  // Where each template came from, parallel to `templates` ("dir/tokenizer_config.json", ...).
  std::vector<std::string> origins;
  // The named special tokens that are set (bos_token, eos_token, unk_token, sep_token,
  // pad_token, cls_token, mask_token), as strings (AddedToken dicts give their "content").
  std::map<std::string, std::string> special_tokens;
};

// Reads `path`: a tokenizer_config.json, a directory holding one (and/or chat_template.jinja,
// additional_chat_templates/*.jinja), or a tokenizer.json / other file whose sibling
// tokenizer_config.json is used. As transformers does, chat_template.jinja and
// additional_chat_templates/ take priority over the config's `chat_template`, which may be a
// string or a list of {"name", "template"}. NotFound when nothing is there, DataLoss on bad JSON
// or a malformed `chat_template` entry. A config without any template is not an error here
// (`templates` is empty); ChatTemplate::FromConfig reports it.
StatusOr<ChatTemplateConfig> LoadChatTemplateConfig(const std::string& path);

// The chat template(s) and special-token strings in GGUF metadata (model-formats.md §4):
// tokenizer.chat_template ("default") and tokenizer.chat_template.<name> (named), and bos_token /
// eos_token / unk_token / pad_token from the tokenizer.ggml.*_token_id keys resolved through
// tokenizer.ggml.tokens. `origin` (the file) is recorded in `origins`. Never fails: missing or
// malformed keys are left out (`templates` may be empty).
ChatTemplateConfig ChatTemplateConfigFromGguf(const nlohmann::json& metadata, const std::string& origin);

// A conversation to render.
struct ChatRequest {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();  // [{role, content, ...}]
  std::optional<nlohmann::ordered_json> tools;      // list of JSON schemas; `tools` is None when absent
  std::optional<nlohmann::ordered_json> documents;  // `documents` is None when absent
  bool add_generation_prompt = false;
  std::optional<bool> enable_thinking;  // undefined in the template when absent
  // Special-token variables (bos_token, ...); usually ChatTemplateConfig::special_tokens.
  std::map<std::string, std::string> special_tokens;
  // Further template variables; they override special tokens and enable_thinking of the same name.
  nlohmann::ordered_json extra_variables = nlohmann::ordered_json::object();
};

class ChatTemplate {
 public:
  // Compiles `source`; `origin` names it in errors (e.g. "qwen3/tokenizer_config.json").
  static StatusOr<ChatTemplate> FromSource(std::string_view source, const std::string& origin);

  // Picks a template from `config` as transformers' get_chat_template does: `name` when given
  // (NotFound listing the available names otherwise); else "tool_use" when `has_tools` and it
  // exists; else "default"; else the only template. NotFound when the config has none.
  static StatusOr<ChatTemplate> FromConfig(const ChatTemplateConfig& config, const std::string& name, bool has_tools);

  // Renders `request` like apply_chat_template(tokenize=False): messages must be a non-empty
  // list of objects; keys whose value is null are dropped and reasoning fields are aliased
  // (reasoning_content / thinking / reasoning, transformers 5); the template sees `messages`,
  // `tools`, `documents`, `add_generation_prompt`, the special tokens and extra variables.
  // Errors: InvalidArgument for malformed messages, otherwise the template's own errors.
  StatusOr<std::string> Apply(const ChatRequest& request,
                              const jinja::RenderOptions& options = jinja::RenderOptions()) const;

  const jinja::Template& compiled() const { return template_; }

 private:
  explicit ChatTemplate(jinja::Template t) : template_(std::move(t)) {}
  jinja::Template template_;
};

// The messages as apply_chat_template hands them to the template (see ChatTemplate::Apply).
StatusOr<jinja::Value> NormalizeChatMessages(const nlohmann::ordered_json& messages);

}  // namespace kvpress
