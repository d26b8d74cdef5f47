#include "serve/openai_json.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>

namespace kvpress::serve {
namespace {

using json = nlohmann::json;

const char* ObjectName(Endpoint e, bool chunk) {
  if (e == Endpoint::kChat) return chunk ? "chat.completion.chunk" : "chat.completion";
  return "text_completion";
}

json Envelope(const ApiRequest& r, const ResponseIds& ids, bool chunk) {
  return json{{"id", ids.id}, {"object", ObjectName(r.endpoint, chunk)}, {"created", ids.created},
              {"model", ids.model}, {"system_fingerprint", "kvpress"}};
}

}  // namespace

ResponseIds NewResponseIds(Endpoint endpoint, const std::string& model) {
  static std::atomic<uint64_t> counter{0};
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  ResponseIds ids;
  ids.created = std::chrono::duration_cast<std::chrono::seconds>(now).count();
  ids.id = fmt::format("{}-{:x}{:06x}", endpoint == Endpoint::kChat ? "chatcmpl" : "cmpl", ids.created,
                       counter.fetch_add(1) & 0xffffff);
  ids.model = model;
  return ids;
}

json Usage(int64_t prompt_tokens, int64_t completion_tokens) {
  return json{{"prompt_tokens", prompt_tokens}, {"completion_tokens", completion_tokens},
              {"total_tokens", prompt_tokens + completion_tokens}};
}

json KvpressField(const ApiRequest& r, const json& metrics) {
  return json{{"press", r.press.empty() ? "none" : r.press}, {"cache_budget", r.cache_budget},
              {"compression_ratio", r.compression_ratio}, {"metrics", metrics}};
}

json CompletionResponse(const ApiRequest& r, const ResponseIds& ids, const std::string& text,
                        const JobOutcome& outcome, int64_t prompt_tokens) {
  json out = Envelope(r, ids, false);
  json choice{{"index", 0}, {"finish_reason", outcome.finish_reason}, {"logprobs", nullptr}};
  if (r.endpoint == Endpoint::kChat) {
    choice["message"] = json{{"role", "assistant"}, {"content", text}};
  } else {
    choice["text"] = r.echo ? r.prompt + text : text;
  }
  out["choices"] = json::array({choice});
  out["usage"] = Usage(prompt_tokens, outcome.completion_tokens);
  out["kvpress"] = KvpressField(r, outcome.metrics);
  return out;
}

json TextChunk(const ApiRequest& r, const ResponseIds& ids, const std::string& text, bool first) {
  json out = Envelope(r, ids, true);
  json choice{{"index", 0}, {"finish_reason", nullptr}, {"logprobs", nullptr}};
  if (r.endpoint == Endpoint::kChat) {
    choice["delta"] = first ? json{{"role", "assistant"}, {"content", text}} : json{{"content", text}};
  } else {
    choice["text"] = first && r.echo ? r.prompt + text : text;
  }
  out["choices"] = json::array({choice});
  return out;
}

json FinalChunk(const ApiRequest& r, const ResponseIds& ids, const JobOutcome& outcome) {
  json out = Envelope(r, ids, true);
  json choice{{"index", 0}, {"finish_reason", outcome.finish_reason}, {"logprobs", nullptr}};
  if (r.endpoint == Endpoint::kChat) {
    choice["delta"] = json::object();
  } else {
    choice["text"] = "";
  }
  out["choices"] = json::array({choice});
  out["kvpress"] = KvpressField(r, outcome.metrics);
  return out;
}

json UsageChunk(const ApiRequest& r, const ResponseIds& ids, int64_t prompt_tokens, int64_t completion_tokens) {
  json out = Envelope(r, ids, true);
  out["choices"] = json::array();
  out["usage"] = Usage(prompt_tokens, completion_tokens);
  return out;
}

json ErrorBody(const std::string& message, const std::string& type, const std::string& code) {
  return json{{"error", {{"message", message}, {"type", type}, {"param", nullptr},
                         {"code", code.empty() ? json(nullptr) : json(code)}}}};
}

std::string SseEvent(const json& data) {
  return "data: " + data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

}  // namespace kvpress::serve
