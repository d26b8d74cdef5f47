// The body of an OpenAI-style request (/v1/chat/completions, /v1/completions) parsed and checked
// into plain settings, with kvpress's extension fields: `press` (a press spec, as --press),
// `cache_budget` and `compression_ratio` (as the generate flags). Every error names the field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace kvpress::serve {

enum class Endpoint { kChat, kCompletion };

// Bounds a request must respect (server flags).
struct RequestLimits {
  int max_tokens = 4096;         // largest max_tokens accepted
  int default_max_tokens = 256;  // when the request gives none
  int max_stop_strings = 4;      // OpenAI's limit
};

struct ApiRequest {
  Endpoint endpoint = Endpoint::kChat;
  std::string model;                     // echoed back; any value is accepted (one model is served)
  nlohmann::ordered_json messages;       // chat: [{role, content}, ...]
  nlohmann::ordered_json chat_template_kwargs = nlohmann::ordered_json::object();  // extra template
                                                                                   // variables (vLLM's field)
  std::string prompt;                    // completions: the prompt text
  int max_tokens = 256;
  float temperature = 0.0f;              // OpenAI's default is 1; kvpress defaults to greedy (0)
  float top_p = 1.0f;
  uint64_t seed = 0;
  std::vector<std::string> stop;         // stop strings; the text is cut before the first one
  bool stream = false;
  bool include_usage = false;            // stream_options.include_usage: a last chunk with usage
  bool echo = false;                     // completions: the prompt is prepended to the text
  std::string press;                     // press spec ("" = no compression)
  int cache_budget = 0;                  // slots per KV head per layer (0 = none)
  double compression_ratio = 0.0;        // fraction of the prompt's slots removed (0 = none)
};

// Parses `body` for `endpoint`. InvalidArgument for malformed JSON, a field of the wrong type or
// out of range, n != 1, unknown roles, an empty prompt, or a budget without a press; the message
// starts with the field ("max_tokens: expected an integer in [0, 4096], got \"ten\""). Unknown fields
// are ignored; logprobs and tools, which a client would silently lose, are refused.
StatusOr<ApiRequest> ParseApiRequest(std::string_view body, Endpoint endpoint,
                                     const RequestLimits& limits);

}  // namespace kvpress::serve
