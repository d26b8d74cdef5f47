// The JSON objects of the OpenAI API that the server sends: completions and chat completions,
// their streamed chunks, usage, errors, the model list. kvpress adds one field, `kvpress`, holding
// the press settings and the run's metrics (DESIGN.md "Metrics").
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "serve/api_request.h"
#include "serve/job.h"

namespace kvpress::serve {

// Identity shared by every chunk of one response.
struct ResponseIds {
  std::string id;       // "chatcmpl-…" / "cmpl-…"
  int64_t created = 0;  // unix seconds
  std::string model;
};

// A fresh id for `endpoint` and the current time.
ResponseIds NewResponseIds(Endpoint endpoint, const std::string& model);

// {"prompt_tokens", "completion_tokens", "total_tokens"}.
nlohmann::json Usage(int64_t prompt_tokens, int64_t completion_tokens);

// {"press", "cache_budget", "compression_ratio", "metrics"}: the extension field.
nlohmann::json KvpressField(const ApiRequest& request, const nlohmann::json& metrics);

// The whole (non-streamed) response object.
nlohmann::json CompletionResponse(const ApiRequest& request, const ResponseIds& ids,
                                  const std::string& text, const JobOutcome& outcome,
                                  int64_t prompt_tokens);

// One streamed chunk carrying `text` (the first chat chunk also carries the role).
nlohmann::json TextChunk(const ApiRequest& request, const ResponseIds& ids, const std::string& text,
                         bool first);
// The chunk that ends the choice: finish_reason and the kvpress field.
nlohmann::json FinalChunk(const ApiRequest& request, const ResponseIds& ids, const JobOutcome& outcome);
// stream_options.include_usage: the last chunk, with no choices and the usage.
nlohmann::json UsageChunk(const ApiRequest& request, const ResponseIds& ids, int64_t prompt_tokens,
                          int64_t completion_tokens);

// {"error": {"message", "type", "param", "code"}}; `type` e.g. "invalid_request_error".
nlohmann::json ErrorBody(const std::string& message, const std::string& type,
                         const std::string& code = "");

// One server-sent event: "data: <json>\n\n".
std::string SseEvent(const nlohmann::json& data);

}  // namespace kvpress::serve
