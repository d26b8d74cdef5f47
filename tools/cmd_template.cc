// kvpress template: render a conversation with a model's chat template, exactly as Hugging Face's
// apply_chat_template(..., tokenize=False) does. The prompt goes to stdout with no newline added.
#include <fmt/format.h>

#include <cstdio>
#include <ctime>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "core/json_parse.h"
#include "core/mapped_file.h"
#include "model/gguf.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/load_tokenizer.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace kvpress::cli {
namespace {

struct TemplateFlags {
  std::string tokenizer;
  std::string messages;
  bool add_generation_prompt = false;
  std::string enable_thinking;
  std::string template_file;
  std::string template_name;
  std::string tools;
  std::vector<std::string> vars;
  std::string date;
  CLI::Option* bos = nullptr;
  CLI::Option* eos = nullptr;
  std::string bos_token, eos_token;
};

StatusOr<nlohmann::ordered_json> ReadOrderedJson(const std::string& path, const std::string& flag) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    auto read = ReadFileToString(path);
    if (!read.ok()) return NotFound(fmt::format("{} {}", flag, read.status().message()));
    text = std::move(read).value();
  }
  return ParseOrderedJson(text, fmt::format("{} {}", flag, path));
}

// "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS" -> local broken-down time.
StatusOr<std::tm> ParseDate(const std::string& text) {
  std::tm tm{};
  const char* end = ::strptime(text.c_str(), text.size() > 10 ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d", &tm);
  if (end == nullptr || *end != '\0') {
    return InvalidArgument(fmt::format("--date: '{}' is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS", text));
  }
  std::tm copy = tm;
  copy.tm_isdst = -1;
  std::mktime(&copy);  // fills tm_wday and tm_yday
  tm.tm_wday = copy.tm_wday;
  tm.tm_yday = copy.tm_yday;
  return tm;
}

int RunTemplate(const TemplateFlags& f) {
  const std::string cmd = "template";
  if (f.tokenizer.empty() && f.template_file.empty()) {
    return ReportError(cmd, InvalidArgument("give --tokenizer (a tokenizer directory/config) or --template FILE.jinja"));
  }
  ChatTemplateConfig cfg;
  if (!f.tokenizer.empty()) {
    auto loaded = LoadChatTemplateConfigAt(f.tokenizer);
    if (!loaded.ok()) return ReportError(cmd, Status(loaded.status().code(), "--tokenizer " + loaded.status().message()));
    cfg = std::move(loaded).value();
  }

  ChatRequest req;
  auto messages = ReadOrderedJson(f.messages, "--messages");
  if (!messages.ok()) return ReportError(cmd, messages.status());
  if (messages->is_object() && messages->contains("messages")) {  // {"messages": [...], "tools": [...]}
    if (messages->contains("tools") && !(*messages)["tools"].is_null()) req.tools = std::move((*messages)["tools"]);
    req.messages = std::move((*messages)["messages"]);
  } else {
    req.messages = std::move(messages).value();
  }
  if (!f.tools.empty()) {
    auto tools = ReadOrderedJson(f.tools, "--tools");
    if (!tools.ok()) return ReportError(cmd, tools.status());
    req.tools = std::move(tools).value();
  }
  req.add_generation_prompt = f.add_generation_prompt;
  if (!f.enable_thinking.empty()) {
    if (f.enable_thinking != "true" && f.enable_thinking != "false") {
      return ReportError(cmd, InvalidArgument("--enable-thinking must be 'true' or 'false'"));
    }
    req.enable_thinking = f.enable_thinking == "true";
  }
  req.special_tokens = cfg.special_tokens;
  if (f.bos->count() > 0) req.special_tokens["bos_token"] = f.bos_token;
  if (f.eos->count() > 0) req.special_tokens["eos_token"] = f.eos_token;
  for (const std::string& var : f.vars) {
    const size_t eq = var.find('=');
    if (eq == std::string::npos || eq == 0) return ReportError(cmd, InvalidArgument("--var expects NAME=VALUE, got '" + var + "'"));
    const std::string value = var.substr(eq + 1);
    auto parsed = ParseOrderedJson(value, "--var");
    req.extra_variables[var.substr(0, eq)] = parsed.ok() ? std::move(parsed).value() : nlohmann::ordered_json(value);
  }

  StatusOr<ChatTemplate> tmpl = Status(StatusCode::kInternal, "unset");
  if (!f.template_file.empty()) {
    auto source = ReadFileToString(f.template_file);
    if (!source.ok()) return ReportError(cmd, Status(source.status().code(), "--template " + source.status().message()));
    tmpl = ChatTemplate::FromSource(*source, f.template_file);
  } else {
    tmpl = ChatTemplate::FromConfig(cfg, f.template_name, req.tools.has_value());
    if (!tmpl.ok() && tmpl.status().code() == StatusCode::kNotFound) {
      return ReportError(cmd, NotFound(f.tokenizer + ": " + tmpl.status().message()));
    }
  }
  if (!tmpl.ok()) return ReportError(cmd, tmpl.status());

  jinja::RenderOptions options;
  if (!f.date.empty()) {
    auto tm = ParseDate(f.date);
    if (!tm.ok()) return ReportError(cmd, tm.status());
    const std::tm fixed = *tm;
    options.now = [fixed] { return fixed; };
  }
  auto prompt = tmpl->Apply(req, options);
  if (!prompt.ok()) {
    const Status& s = prompt.status();
    // Malformed messages/tools are bad input (exit 2), not a usage error.
    return ReportError(cmd, s.code() == StatusCode::kInvalidArgument
                                ? DataLoss(fmt::format("--messages {}: {}", f.messages, s.message()))
                                : s);
  }
  std::fwrite(prompt->data(), 1, prompt->size(), stdout);
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace

void RegisterTemplate(CLI::App& app, RunFn& run) {
  auto flags = std::make_shared<TemplateFlags>();
  CLI::App* cmd = app.add_subcommand("template", "Render a chat prompt with a model's chat template (as HF apply_chat_template)");
  cmd->add_option("--tokenizer,-t", flags->tokenizer,
                  "tokenizer_config.json, a directory holding it (and/or chat_template.jinja), a tokenizer.json "
                  "(its sibling config is used) or a GGUF file");
  cmd->add_option("--messages", flags->messages,
                  "JSON file ('-' for stdin): a list of {role, content, ...} or {\"messages\": [...], \"tools\": [...]}")
      ->required();
  cmd->add_flag("--add-generation-prompt", flags->add_generation_prompt, "Append the assistant turn header");
  cmd->add_option("--enable-thinking", flags->enable_thinking, "Pass enable_thinking=true|false (undefined when absent)");
  cmd->add_option("--template", flags->template_file, "Use this .jinja file instead of the tokenizer's template");
  cmd->add_option("--template-name", flags->template_name, "Pick a named template (e.g. tool_use) from the tokenizer");
  flags->bos = cmd->add_option("--bos-token", flags->bos_token, "Override bos_token");
  flags->eos = cmd->add_option("--eos-token", flags->eos_token, "Override eos_token");
  cmd->add_option("--tools", flags->tools, "JSON file with a list of tool schemas (tools=None when absent)");
  cmd->add_option("--var", flags->vars, "Extra template variable NAME=VALUE (VALUE parsed as JSON, else a string); repeatable");
  cmd->add_option("--date", flags->date, "Fix the date strftime_now() sees: YYYY-MM-DD[THH:MM:SS] (default: now)");
  cmd->callback([flags, &run] { run = [flags] { return RunTemplate(*flags); }; });
}

}  // namespace kvpress::cli
