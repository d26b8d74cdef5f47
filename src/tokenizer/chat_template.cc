#include "tokenizer/chat_template.h"

#include <dirent.h>
#include <fmt/format.h>

#include <algorithm>

#include "core/file_util.h"
#include "core/json_parse.h"
#include "core/path.h"

namespace kvpress {
namespace {

constexpr const char* kSpecialTokenNames[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                              "pad_token", "cls_token", "mask_token"};

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// *.jinja files of `dir`, sorted by name.
std::vector<std::string> JinjaFiles(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (const dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (EndsWith(n, ".jinja") && FileExists(dir + "/" + n)) names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Status ReadConfig(const std::string& config_path, ChatTemplateConfig& out) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(config_path));
  ASSIGN_OR_RETURN(const nlohmann::json j, ParseJson(text, config_path));
  if (!j.is_object()) return DataLoss(config_path + ": invalid JSON (expected an object)");
  for (const char* name : kSpecialTokenNames) {
    const auto it = j.find(name);
    if (it == j.end() || it->is_null()) continue;
    if (it->is_string()) {
      out.special_tokens[name] = it->get<std::string>();
    } else if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
      out.special_tokens[name] = (*it)["content"].get<std::string>();
    } else {
      return DataLoss(fmt::format("{}: '{}' must be a string, null or an AddedToken object",
                                  config_path, name));
    }
  }
  const auto ct = j.find("chat_template");
  if (ct == j.end() || ct->is_null()) return Status::Ok();
  if (ct->is_string()) {
    out.templates.emplace_back("default", ct->get<std::string>());
    out.origins.push_back(config_path + " (chat_template)");
    return Status::Ok();
  }
  if (!ct->is_array())
    return DataLoss(config_path +
                    ": 'chat_template' must be a string or a list of {name, template}");
  out.named = true;
  for (const auto& entry : *ct) {
    if (!entry.is_object() || !entry.contains("name") || !entry.contains("template") ||
        !entry["name"].is_string() || !entry["template"].is_string()) {
      return DataLoss(
          config_path +
          ": each 'chat_template' list entry must be {\"name\": str, \"template\": str}");
    }
    out.templates.emplace_back(entry["name"].get<std::string>(),
                               entry["template"].get<std::string>());
    out.origins.push_back(
        fmt::format("{} (chat_template '{}')", config_path, entry["name"].get<std::string>()));
  }
  return Status::Ok();
}

// Nesting depth of `j` (0 for scalars); stops counting past `limit`, so the recursion is bounded.
uint32_t JsonDepth(const nlohmann::ordered_json& j, uint32_t limit) {
  if (!j.is_structured()) return 0;
  if (limit == 0) return 1;
  uint32_t deepest = 0;
  for (const auto& e : j) {
    deepest = std::max(deepest, JsonDepth(e, limit - 1));
    if (deepest >= limit) break;
  }
  return deepest + 1;
}

Status CheckJsonDepth(const nlohmann::ordered_json& j, const char* what) {
  if (JsonDepth(j, jinja::kMaxValueDepth) < jinja::kMaxValueDepth) return Status::Ok();
  return InvalidArgument(
      fmt::format("{} are nested more than {} levels deep", what, jinja::kMaxValueDepth - 1));
}

jinja::Value PlainMessage(const nlohmann::ordered_json& message) {
  // Keys with null values are dropped (transformers' _normalize_chat_messages).
  jinja::DictObject d;
  for (auto it = message.begin(); it != message.end(); ++it) {
    if (!it.value().is_null())
      d.items.emplace_back(jinja::Value(it.key()), jinja::Value::FromJson(it.value()));
  }
  // Reasoning aliasing (transformers' _alias_reasoning_fields):
  // {"thinking": r, **message, "reasoning_content": r} with r the first non-null of the fields.
  const jinja::Value* reasoning = nullptr;
  for (const char* field : {"reasoning_content", "thinking", "reasoning"}) {
    if (const jinja::Value* v = d.Find(std::string_view(field)); v != nullptr && !v->is_none()) {
      reasoning = v;
      break;
    }
  }
  if (reasoning == nullptr) return jinja::Value::Dict(std::move(d));
  const jinja::Value r = *reasoning;
  jinja::DictObject aliased;
  aliased.Set(jinja::Value("thinking"), r);
  for (auto& [k, v] : d.items) aliased.Set(k, v);
  aliased.Set(jinja::Value("reasoning_content"), r);
  return jinja::Value::Dict(std::move(aliased));
}

}  // namespace

StatusOr<ChatTemplateConfig> LoadChatTemplateConfig(const std::string& path) {
  std::string dir, config_path;
  if (IsDirectory(path)) {
    dir = path;
    config_path = path + "/tokenizer_config.json";
  } else if (!FileExists(path)) {
    return NotFound(path + ": no such file or directory");
  } else {
    dir = DirName(path);
    const std::string base = BaseName(path);
    bool is_config = base == "tokenizer_config.json";
    if (!is_config && base != "tokenizer.json" && EndsWith(base, ".json")) {
      // Another JSON name: a tokenizer config unless it looks like a tokenizer.json.
      auto j = ReadJsonFile(path);
      is_config = j.ok() && j->is_object() && !j->contains("model");
    }
    config_path = is_config ? path : dir + "/tokenizer_config.json";
  }
  ChatTemplateConfig out;
  const bool has_config = FileExists(config_path);
  if (has_config) RETURN_IF_ERROR(ReadConfig(config_path, out));
  // Separate template files replace the config's templates (transformers' from_pretrained).
  std::vector<std::pair<std::string, std::string>> files;
  std::vector<std::string> file_origins;
  if (FileExists(dir + "/chat_template.jinja")) {
    ASSIGN_OR_RETURN(std::string t, ReadFileToString(dir + "/chat_template.jinja"));
    files.emplace_back("default", std::move(t));
    file_origins.push_back(dir + "/chat_template.jinja");
  }
  for (const std::string& f : JinjaFiles(dir + "/additional_chat_templates")) {
    const std::string p = dir + "/additional_chat_templates/" + f;
    ASSIGN_OR_RETURN(std::string t, ReadFileToString(p));
    files.emplace_back(f.substr(0, f.size() - 6), std::move(t));
    file_origins.push_back(p);
  }
  if (!files.empty()) {
    out.named = !(files.size() == 1 && files[0].first == "default");
    out.templates = std::move(files);
    out.origins = std::move(file_origins);
  } else if (!has_config) {
    return NotFound(
        fmt::format("{}: no tokenizer_config.json or chat_template.jinja found in {}", path, dir));
  }
  return out;
}

ChatTemplateConfig ChatTemplateConfigFromGguf(const nlohmann::json& md, const std::string& origin) {
  ChatTemplateConfig cfg;
  if (!md.is_object()) return cfg;
  const std::string prefix = "tokenizer.chat_template.";
  for (auto it = md.begin(); it != md.end(); ++it) {
    if (!it.value().is_string()) continue;
    if (it.key() == "tokenizer.chat_template") {
      cfg.templates.insert(cfg.templates.begin(), {"default", it.value().get<std::string>()});
      cfg.origins.insert(cfg.origins.begin(), origin + " (tokenizer.chat_template)");
    } else if (it.key().rfind(prefix, 0) == 0) {
      cfg.templates.emplace_back(it.key().substr(prefix.size()), it.value().get<std::string>());
      cfg.origins.push_back(origin + " (" + it.key() + ")");
      cfg.named = true;
    }
  }
  const auto tokens = md.find("tokenizer.ggml.tokens");
  for (const auto& [key, name] :
       {std::pair<const char*, const char*>{"tokenizer.ggml.bos_token_id", "bos_token"},
        {"tokenizer.ggml.eos_token_id", "eos_token"},
        {"tokenizer.ggml.unknown_token_id", "unk_token"},
        {"tokenizer.ggml.padding_token_id", "pad_token"}}) {
    const auto id = md.find(key);
    if (id == md.end() || !id->is_number_integer() || tokens == md.end() || !tokens->is_array())
      continue;
    const int64_t i = id->get<int64_t>();
    if (i >= 0 && static_cast<size_t>(i) < tokens->size() &&
        (*tokens)[static_cast<size_t>(i)].is_string()) {
      cfg.special_tokens[name] = (*tokens)[static_cast<size_t>(i)].get<std::string>();
    }
  }
  return cfg;
}

StatusOr<ChatTemplate> ChatTemplate::FromSource(std::string_view source,
                                                const std::string& origin) {
  ASSIGN_OR_RETURN(jinja::Template t, jinja::Template::Parse(source, origin));
  return ChatTemplate(std::move(t));
}

StatusOr<ChatTemplate> ChatTemplate::FromConfig(const ChatTemplateConfig& config,
                                                const std::string& name, bool has_tools) {
  if (config.templates.empty())
    return NotFound("the tokenizer config has no chat template (use --template FILE.jinja)");
  const auto find = [&](const std::string& n) -> int {
    for (size_t i = 0; i < config.templates.size(); ++i) {
      if (config.templates[i].first == n) return static_cast<int>(i);
    }
    return -1;
  };
  int index = -1;
  if (!name.empty()) {
    index = find(name);
    if (index < 0) {
      std::string names;
      for (const auto& t : config.templates) names += (names.empty() ? "" : ", ") + t.first;
      return NotFound(fmt::format("no chat template named '{}' (available: {})", name, names));
    }
  } else if (!config.named) {
    index = 0;
  } else if (has_tools && find("tool_use") >= 0) {
    index = find("tool_use");
  } else if (find("default") >= 0) {
    index = find("default");
  } else {
    std::string names;
    for (const auto& t : config.templates) names += (names.empty() ? "" : ", ") + t.first;
    return NotFound(fmt::format(
        "the tokenizer has several chat templates and none is named 'default'; pick one "
        "by name (available: {})",
        names));
  }
  const size_t i = static_cast<size_t>(index);
  return FromSource(config.templates[i].second,
                    i < config.origins.size() ? config.origins[i] : "chat_template");
}

StatusOr<jinja::Value> NormalizeChatMessages(const nlohmann::ordered_json& messages) {
  if (!messages.is_array())
    return InvalidArgument("messages must be a JSON list of message objects");
  if (messages.empty())
    return InvalidArgument("cannot apply a chat template to an empty conversation");
  RETURN_IF_ERROR(CheckJsonDepth(messages, "messages"));
  std::vector<jinja::Value> out;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (!messages[i].is_object()) {
      return InvalidArgument(
          fmt::format("message {} is not an object (chat messages must be dicts)", i));
    }
    out.push_back(PlainMessage(messages[i]));
  }
  return jinja::Value::List(std::move(out));
}

StatusOr<std::string> ChatTemplate::Apply(const ChatRequest& request,
                                          const jinja::RenderOptions& options) const {
  ASSIGN_OR_RETURN(jinja::Value messages, NormalizeChatMessages(request.messages));
  RETURN_IF_ERROR(CheckJsonDepth(request.extra_variables, "template variables"));
  if (request.documents) RETURN_IF_ERROR(CheckJsonDepth(*request.documents, "documents"));
  jinja::Context ctx;
  for (const auto& [k, v] : request.special_tokens) ctx[k] = jinja::Value(v);
  if (request.enable_thinking) ctx["enable_thinking"] = jinja::Value(*request.enable_thinking);
  if (!request.extra_variables.is_null()) {
    if (!request.extra_variables.is_object())
      return InvalidArgument("extra template variables must be a JSON object");
    for (auto it = request.extra_variables.begin(); it != request.extra_variables.end(); ++it) {
      if (it.key() == "messages" || it.key() == "tools" || it.key() == "documents" ||
          it.key() == "add_generation_prompt") {
        return InvalidArgument(
            fmt::format("template variable '{}' cannot be overridden", it.key()));
      }
      ctx[it.key()] = jinja::Value::FromJson(it.value());
    }
  }
  if (request.tools) {
    RETURN_IF_ERROR(CheckJsonDepth(*request.tools, "tools"));
    if (!request.tools->is_array())
      return InvalidArgument("tools must be a JSON list of tool schemas");
    for (const auto& t : *request.tools) {
      if (!t.is_object()) return InvalidArgument("each tool must be a JSON object (a JSON schema)");
    }
  }
  ctx["messages"] = std::move(messages);
  ctx["tools"] = request.tools ? jinja::Value::FromJson(*request.tools) : jinja::Value::None();
  ctx["documents"] =
      request.documents ? jinja::Value::FromJson(*request.documents) : jinja::Value::None();
  ctx["add_generation_prompt"] = jinja::Value(request.add_generation_prompt);
  return template_.Render(ctx, options);
}

}  // namespace kvpress
