// The HTTP face of `kvpress serve` (cpp-httplib): the OpenAI routes (/v1/chat/completions,
// /v1/completions, /v1/models), /v1/presses, /health, /metrics (Prometheus) and the comparison page
// at /. Requests are checked here (limits, prompt length, press spec) and handed to the Engine;
// answers stream back as server-sent events or as one JSON object. Every error is a JSON
// {"error": {...}} with a 4xx/5xx status; nothing here exits the process.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

#include "core/status.h"
#include "serve/api_request.h"
#include "serve/engine.h"
#include "serve/prompt_builder.h"
#include "serve/server_stats.h"

namespace kvpress::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                        // 0: any free port (Bind() returns it)
  std::string model_name;                 // /v1/models and the "model" of responses
  int ctx = 0;                            // prompt + max_tokens must fit (model's trained context)
  size_t max_body_bytes = 1 << 20;        // larger bodies: 413
  RequestLimits limits;
  double request_timeout_s = 600;         // a request (queue wait + generation) ends after this
  double shutdown_grace_s = 30;           // Shutdown(): in-flight requests get this long to finish
  int http_threads = 0;                   // 0: parallel + max_queue + 8 (one per waiting client)
};

class HttpServer {
 public:
  // `engine`, `prompts` and `stats` must outlive the server. The engine must be started.
  HttpServer(Engine& engine, const PromptBuilder& prompts, ServerStats& stats, ServerOptions options);
  ~HttpServer();

  // Binds host:port and starts listening. Returns the port (the chosen one for port 0).
  StatusOr<int> Bind();
  // Serves until Shutdown() (blocking). Bind() first.
  Status Serve();
  // Graceful stop, from any thread but a handler: new requests get 503, accepted ones may finish
  // within shutdown_grace_s and are then cancelled (their streams end with finish_reason
  // "cancelled"), then Serve() returns. Idempotent.
  void Shutdown();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kvpress::serve
