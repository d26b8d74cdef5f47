#include "serve/api_request.h"

#include <fmt/format.h>

#include <cmath>
#include <random>

#include "core/json_parse.h"

namespace kvpress::serve {
namespace {

using json = nlohmann::ordered_json;

std::string Shown(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

Status WrongType(const std::string& field, const std::string& expected, const json& got) {
  return InvalidArgument(fmt::format("{}: expected {}, got {}", field, expected, Shown(got)));
}

// Reads an integer field in [lo, hi] (JSON integers only; 3.0 is refused as OpenAI does).
Status ReadInt(const json& body, const std::string& field, int64_t lo, int64_t hi, int64_t& out) {
  const auto it = body.find(field);
  if (it == body.end() || it->is_null()) return Status::Ok();
  const std::string expected = fmt::format("an integer in [{}, {}]", lo, hi);
  if (!it->is_number_integer()) return WrongType(field, expected, *it);
  int64_t v = 0;
  if (it->is_number_unsigned()) {
    if (it->get<uint64_t>() > static_cast<uint64_t>(hi)) return WrongType(field, expected, *it);
    v = static_cast<int64_t>(it->get<uint64_t>());
  } else {
    v = it->get<int64_t>();
  }
  if (v < lo || v > hi) return WrongType(field, expected, *it);
  out = v;
  return Status::Ok();
}

Status ReadNumber(const json& body, const std::string& field, double lo, double hi, bool hi_open,
                  double& out) {
  const auto it = body.find(field);
  if (it == body.end() || it->is_null()) return Status::Ok();
  const std::string expected = fmt::format("a number in [{}, {}{}", lo, hi, hi_open ? ")" : "]");
  if (!it->is_number()) return WrongType(field, expected, *it);
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi || (hi_open && v == hi)) return WrongType(field, expected, *it);
  out = v;
  return Status::Ok();
}

Status ReadBool(const json& body, const std::string& field, bool& out) {
  const auto it = body.find(field);
  if (it == body.end() || it->is_null()) return Status::Ok();
  if (!it->is_boolean()) return WrongType(field, "true or false", *it);
  out = it->get<bool>();
  return Status::Ok();
}

Status ReadString(const json& body, const std::string& field, std::string& out) {
  const auto it = body.find(field);
  if (it == body.end() || it->is_null()) return Status::Ok();
  if (!it->is_string()) return WrongType(field, "a string", *it);
  out = it->get<std::string>();
  return Status::Ok();
}

// A message's content: a string, or a list of {"type": "text", "text": ...} parts (joined).
StatusOr<std::string> MessageText(const json& content, const std::string& field) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) return WrongType(field, "a string or a list of text parts", content);
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const json& part = content[i];
    const std::string f = fmt::format("{}[{}]", field, i);
    if (!part.is_object() || part.value("type", json()) != "text" || !part.contains("text") ||
        !part["text"].is_string()) {
      return WrongType(f, "a text part {\"type\": \"text\", \"text\": \"...\"}", part);
    }
    text += part["text"].get<std::string>();
  }
  return text;
}

Status ReadMessages(const json& body, json& out) {
  const auto it = body.find("messages");
  if (it == body.end()) return InvalidArgument("messages: missing (a list of {\"role\", \"content\"})");
  if (!it->is_array() || it->empty()) return WrongType("messages", "a non-empty list of messages", *it);
  out = json::array();
  for (size_t i = 0; i < it->size(); ++i) {
    const json& m = (*it)[i];
    const std::string f = fmt::format("messages[{}]", i);
    if (!m.is_object()) return WrongType(f, "an object {\"role\", \"content\"}", m);
    const auto role = m.find("role");
    if (role == m.end() || !role->is_string()) return WrongType(f + ".role", "a string", role == m.end() ? json() : *role);
    const std::string r = role->get<std::string>();
    if (r != "system" && r != "user" && r != "assistant" && r != "developer") {
      return InvalidArgument(fmt::format("{}.role: '{}' is not one of system, developer, user, assistant", f, r));
    }
    const auto content = m.find("content");
    if (content == m.end()) return InvalidArgument(f + ".content: missing");
    ASSIGN_OR_RETURN(std::string text, MessageText(*content, f + ".content"));
    out.push_back({{"role", r == "developer" ? "system" : r}, {"content", text}});
  }
  return Status::Ok();
}

Status ReadStop(const json& body, int max_count, std::vector<std::string>& out) {
  const auto it = body.find("stop");
  if (it == body.end() || it->is_null()) return Status::Ok();
  const std::string expected = fmt::format("a string or a list of at most {} non-empty strings", max_count);
  if (it->is_string()) {
    if (it->get<std::string>().empty()) return WrongType("stop", expected, *it);
    out.push_back(it->get<std::string>());
    return Status::Ok();
  }
  if (!it->is_array() || static_cast<int>(it->size()) > max_count) return WrongType("stop", expected, *it);
  for (const json& s : *it) {
    if (!s.is_string() || s.get<std::string>().empty()) return WrongType("stop", expected, *it);
    out.push_back(s.get<std::string>());
  }
  return Status::Ok();
}

}  // namespace

StatusOr<ApiRequest> ParseApiRequest(std::string_view text, Endpoint endpoint, const RequestLimits& limits) {
  StatusOr<json> parsed = ParseOrderedJson(text, "request body");
  if (!parsed.ok()) return InvalidArgument(parsed.status().message());
  const json& body = *parsed;
  if (!body.is_object()) return WrongType("request body", "a JSON object", body);
  ApiRequest r;
  r.endpoint = endpoint;
  r.max_tokens = limits.default_max_tokens;
  RETURN_IF_ERROR(ReadString(body, "model", r.model));
  if (endpoint == Endpoint::kChat) {
    RETURN_IF_ERROR(ReadMessages(body, r.messages));
    if (const auto kw = body.find("chat_template_kwargs"); kw != body.end() && !kw->is_null()) {
      if (!kw->is_object()) return WrongType("chat_template_kwargs", "an object", *kw);
      r.chat_template_kwargs = *kw;
    }
  } else {
    const auto p = body.find("prompt");
    if (p == body.end()) return InvalidArgument("prompt: missing");
    if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) {
      r.prompt = (*p)[0].get<std::string>();
    } else if (p->is_string()) {
      r.prompt = p->get<std::string>();
    } else {
      return WrongType("prompt", "a string (or a list of one string)", *p);
    }
    RETURN_IF_ERROR(ReadBool(body, "echo", r.echo));
  }
  int64_t n = 1;
  RETURN_IF_ERROR(ReadInt(body, "n", 1, 1, n));
  // Features a client would silently lose if ignored are refused.
  bool logprobs = false;
  if (const auto lp = body.find("logprobs"); lp != body.end() && !lp->is_null() && !lp->is_boolean()) {
    if (endpoint == Endpoint::kChat || !lp->is_number_integer() || lp->get<int64_t>() != 0) {
      return InvalidArgument("logprobs: not supported by kvpress serve");
    }
  } else {
    RETURN_IF_ERROR(ReadBool(body, "logprobs", logprobs));
    if (logprobs) return InvalidArgument("logprobs: not supported by kvpress serve");
  }
  for (const char* unsupported : {"tools", "functions"}) {
    const auto it = body.find(unsupported);
    if (it != body.end() && !it->is_null() && !(it->is_array() && it->empty())) {
      return InvalidArgument(fmt::format("{}: tool calling is not supported by kvpress serve", unsupported));
    }
  }
  int64_t max_tokens = r.max_tokens;
  RETURN_IF_ERROR(ReadInt(body, "max_tokens", 0, limits.max_tokens, max_tokens));
  RETURN_IF_ERROR(ReadInt(body, "max_completion_tokens", 0, limits.max_tokens, max_tokens));
  r.max_tokens = static_cast<int>(max_tokens);
  double temperature = 1.0, top_p = 1.0;
  RETURN_IF_ERROR(ReadNumber(body, "temperature", 0.0, 2.0, false, temperature));
  RETURN_IF_ERROR(ReadNumber(body, "top_p", 0.0, 1.0, false, top_p));
  if (top_p == 0.0) return InvalidArgument("top_p: must be > 0");
  r.temperature = static_cast<float>(temperature);
  r.top_p = static_cast<float>(top_p);
  int64_t seed = -1;
  RETURN_IF_ERROR(ReadInt(body, "seed", INT64_MIN, INT64_MAX, seed));
  if (body.contains("seed") && !body["seed"].is_null()) {
    r.seed = static_cast<uint64_t>(seed);
  } else {
    r.seed = std::random_device{}();  // OpenAI: without a seed, sampling is not reproducible
  }
  RETURN_IF_ERROR(ReadStop(body, limits.max_stop_strings, r.stop));
  RETURN_IF_ERROR(ReadBool(body, "stream", r.stream));
  if (const auto so = body.find("stream_options"); so != body.end() && !so->is_null()) {
    if (!so->is_object()) return WrongType("stream_options", "an object", *so);
    RETURN_IF_ERROR(ReadBool(*so, "include_usage", r.include_usage));
  }
  RETURN_IF_ERROR(ReadString(body, "press", r.press));
  int64_t budget = 0;
  RETURN_IF_ERROR(ReadInt(body, "cache_budget", 0, 1 << 24, budget));
  r.cache_budget = static_cast<int>(budget);
  RETURN_IF_ERROR(ReadNumber(body, "compression_ratio", 0.0, 1.0, true, r.compression_ratio));
  if (r.press.empty() && (r.cache_budget > 0 || r.compression_ratio > 0)) {
    return InvalidArgument("cache_budget/compression_ratio need press (a press spec, see GET /v1/presses)");
  }
  return r;
}

}  // namespace kvpress::serve
