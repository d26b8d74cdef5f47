#include "serve/http_server.h"

#include <fmt/format.h>
#include <httplib.h>
#include <sys/socket.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "core/log.h"
#include "press/registry.h"
#include "serve/openai_json.h"
#include "serve/web_page.h"

namespace kvpress::serve {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// httplib::Server with a deeper listen backlog: the library listens with a backlog of 5, too few
// for a burst of concurrent clients (their connects would wait for SYN retransmits); listen(2)
// on the bound socket again raises it.
class BacklogServer : public httplib::Server {
 public:
  void RaiseBacklog(int n) { (void)::listen(svr_sock_, n); }
};

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void SendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(Dump(body) + "\n", "application/json");
}

const char* ErrorType(int status) {
  switch (status) {
    case 404: return "not_found_error";
    case 429: return "rate_limit_error";
    case 503: return "overloaded_error";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

void SendError(httplib::Response& res, int status, const std::string& message, const std::string& code = "") {
  SendJson(res, status, ErrorBody(message, ErrorType(status), code));
}

// HTTP status for a job that failed before or while decoding.
int StatusFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kCancelled: return 503;
    case StatusCode::kInternal: return 500;
    default: return 400;
  }
}

}  // namespace

class HttpServer::Impl {
 public:
  Impl(Engine& engine, const PromptBuilder& prompts, ServerStats& stats, ServerOptions options)
      : engine_(engine), prompts_(prompts), stats_(stats), o_(std::move(options)) {
    const EngineOptions& e = engine_.options();
    const int threads = o_.http_threads > 0 ? o_.http_threads : e.parallel + e.max_queue + 8;
    svr_.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
    svr_.set_payload_max_length(o_.max_body_bytes);
    svr_.set_read_timeout(30, 0);
    svr_.set_write_timeout(30, 0);
    svr_.set_keep_alive_max_count(1000);
    svr_.set_tcp_nodelay(true);  // one SSE event per token: no Nagle delay
    Routes();
  }

  StatusOr<int> Bind() {
    int port = o_.port;
    if (port == 0) {
      port = svr_.bind_to_any_port(o_.host);
      if (port < 0) return FailedPrecondition(fmt::format("--host {}: cannot bind a port", o_.host));
    } else if (!svr_.bind_to_port(o_.host, port)) {
      return FailedPrecondition(fmt::format("--host {} --port {}: cannot bind (in use, or not a local address)", o_.host, port));
    }
    svr_.RaiseBacklog(1024);
    return port;
  }

  Status Serve() {
    if (!svr_.listen_after_bind() && !shutting_.load()) return Internal("the HTTP server stopped unexpectedly");
    return Status::Ok();
  }

  void Shutdown() {
    std::lock_guard<std::mutex> lock(shutdown_mu_);
    if (shut_down_) return;
    shutting_ = true;
    engine_.BeginDrain();
    const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(o_.shutdown_grace_s));
    if (engine_.Pending() > 0) {
      Log(LogLevel::kInfo, "serve: draining {} request(s) (up to {:.0f}s)", engine_.Pending(), o_.shutdown_grace_s);
    }
    while (engine_.Pending() > 0 && Clock::now() < until) std::this_thread::sleep_for(20ms);
    engine_.Stop();  // cancels what is left; their streams end with finish_reason "cancelled"
    svr_.stop();     // Serve() returns once every handler has written its end
    shut_down_ = true;
  }

 private:
  void Routes();
  void HandleGeneration(const httplib::Request& req, httplib::Response& res, Endpoint endpoint);
  void StreamEvents(httplib::Response& res, std::shared_ptr<Job> job, std::shared_ptr<ApiRequest> r,
                    ResponseIds ids, int64_t prompt_tokens);
  void SendWhenDone(httplib::Response& res, std::shared_ptr<Job> job, std::shared_ptr<ApiRequest> r,
                    ResponseIds ids, int64_t prompt_tokens);

  Engine& engine_;
  const PromptBuilder& prompts_;
  ServerStats& stats_;
  ServerOptions o_;
  BacklogServer svr_;
  std::atomic<bool> shutting_{false};
  std::mutex shutdown_mu_;
  bool shut_down_ = false;
};

void HttpServer::Impl::Routes() {
  svr_.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(WebPage()), "text/html; charset=utf-8");
  });
  svr_.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    if (shutting_.load()) return SendJson(res, 503, json{{"status", "shutting_down"}});
    SendJson(res, 200, json{{"status", "ok"}});
  });
  svr_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(stats_.RenderPrometheus(o_.model_name, engine_.options().parallel),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  svr_.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    const ResponseIds ids = NewResponseIds(Endpoint::kCompletion, o_.model_name);
    json model{{"id", o_.model_name}, {"object", "model"}, {"created", ids.created}, {"owned_by", "kvpress"},
               {"context_length", o_.ctx}, {"chat_template", prompts_.has_chat_template()}};
    SendJson(res, 200, json{{"object", "list"}, {"data", json::array({model})}});
  });
  svr_.Get("/v1/presses", [](const httplib::Request&, httplib::Response& res) {
    json list = json::array();
    for (const PressInfo& p : AllPresses()) {
      json params = json::array();
      for (const PressParamInfo& q : p.params) params.push_back({{"name", q.name}, {"default", q.default_value}, {"help", q.help}});
      list.push_back({{"name", p.name}, {"summary", p.summary}, {"paper", p.paper}, {"phases", p.phases}, {"params", params}});
    }
    SendJson(res, 200, json{{"object", "list"}, {"data", list}});
  });
  svr_.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    HandleGeneration(req, res, Endpoint::kChat);
  });
  svr_.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
    HandleGeneration(req, res, Endpoint::kCompletion);
  });
  // Errors the library produces itself (no route, body too large, malformed HTTP) get a JSON body.
  svr_.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty() || res.is_chunked_content_provider_) return;
    std::string message;
    if (res.status == 404) message = fmt::format("no route {} {}", req.method, req.path);
    else if (res.status == 413) message = fmt::format("the request body is larger than {} bytes (--max-body)", o_.max_body_bytes);
    else if (res.status == 405) message = fmt::format("method {} not allowed on {}", req.method, req.path);
    else message = fmt::format("HTTP error {}", res.status);
    SendError(res, res.status, message);
  });
  svr_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    SendError(res, 500, "internal error while handling the request");
  });
  svr_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    if (req.path.rfind("/v1/", 0) == 0) stats_.CountResponse(res.status);
    Log(LogLevel::kDebug, "serve: {} {} -> {}", req.method, req.path, res.status);
  });
}

void HttpServer::Impl::HandleGeneration(const httplib::Request& req, httplib::Response& res, Endpoint endpoint) {
  if (shutting_.load()) return SendError(res, 503, "the server is shutting down");
  StatusOr<ApiRequest> parsed = ParseApiRequest(req.body, endpoint, o_.limits);
  if (!parsed.ok()) return SendError(res, 400, parsed.status().message());
  auto r = std::make_shared<ApiRequest>(std::move(parsed).value());
  StatusOr<std::vector<int32_t>> prompt = prompts_.Build(*r);
  if (!prompt.ok()) return SendError(res, 400, prompt.status().message());
  const int64_t prompt_tokens = static_cast<int64_t>(prompt->size());
  if (prompt_tokens + r->max_tokens > o_.ctx) {
    return SendError(res, 400,
                     fmt::format("the prompt has {} tokens and max_tokens is {}: together more than the "
                                 "context of {} tokens (--ctx)", prompt_tokens, r->max_tokens, o_.ctx),
                     "context_length_exceeded");
  }
  JobSpec spec;
  spec.prompt = std::move(prompt).value();
  spec.max_tokens = r->max_tokens;
  spec.sampling = SamplerParams{r->temperature, 0, r->top_p, 0.0f, 1.0f, r->seed};
  spec.stop = r->stop;
  if (!r->press.empty()) {
    StatusOr<PressSpec> ps = ParsePressSpec(r->press);
    if (!ps.ok()) return SendError(res, 400, "press: " + ps.status().message());
    ps->budget =
        BudgetPolicy{.cache_budget = r->cache_budget, .removed_fraction = r->compression_ratio};
    ps->seed = r->seed;
    StatusOr<std::unique_ptr<Press>> check = CreatePress(*ps);  // the engine builds its own
    if (!check.ok()) return SendError(res, 400, "press: " + check.status().message());
    spec.press = std::move(ps).value();
  }
  spec.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(o_.request_timeout_s));
  const Clock::time_point deadline = spec.deadline;
  auto job = std::make_shared<Job>(std::move(spec));
  switch (engine_.Submit(job)) {
    case SubmitResult::kQueueFull:
      res.set_header("Retry-After", "1");
      return SendError(res, 429, fmt::format("{} requests are already waiting (--max-queue); retry later",
                                             engine_.options().max_queue), "queue_full");
    case SubmitResult::kDraining:
      return SendError(res, 503, "the server is shutting down");
    case SubmitResult::kAccepted:
      break;
  }
  if (!job->WaitStarted(deadline)) {
    job->Cancel();
    return SendError(res, 503, fmt::format("no decoding slot became free within {:.0f}s (--timeout)", o_.request_timeout_s), "timeout");
  }
  if (const Status failed = job->error(); !failed.ok()) return SendError(res, StatusFor(failed), failed.message());
  const ResponseIds ids = NewResponseIds(endpoint, r->model.empty() ? o_.model_name : r->model);
  if (r->stream) {
    StreamEvents(res, job, r, ids, prompt_tokens);
  } else {
    SendWhenDone(res, job, r, ids, prompt_tokens);
  }
}

void HttpServer::Impl::StreamEvents(httplib::Response& res, std::shared_ptr<Job> job, std::shared_ptr<ApiRequest> r,
                                    ResponseIds ids, int64_t prompt_tokens) {
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [job, r, ids, prompt_tokens](size_t, httplib::DataSink& sink) {
        bool first = true;
        while (true) {
          JobEvent ev = job->Next(250ms);
          std::string out;
          if (!ev.text.empty()) {
            out = SseEvent(TextChunk(*r, ids, ev.text, first));
            first = false;
          }
          if (ev.finished) {
            if (!ev.error.ok()) {
              out += SseEvent(ErrorBody(ev.error.message(), ErrorType(StatusFor(ev.error))));
            } else {
              if (first) out += SseEvent(TextChunk(*r, ids, "", true));
              out += SseEvent(FinalChunk(*r, ids, *ev.outcome));
              if (r->include_usage) out += SseEvent(UsageChunk(*r, ids, prompt_tokens, ev.outcome->completion_tokens));
            }
            out += "data: [DONE]\n\n";
          }
          // A failed write: the client went away; the job stops at its next token.
          if (!out.empty() && !sink.write(out.data(), out.size())) {
            job->Cancel();
            return false;
          }
          if (ev.finished) {
            sink.done();
            return true;
          }
        }
      },
      [job](bool success) {
        if (!success) job->Cancel();
      });
}

void HttpServer::Impl::SendWhenDone(httplib::Response& res, std::shared_ptr<Job> job, std::shared_ptr<ApiRequest> r,
                                    ResponseIds ids, int64_t prompt_tokens) {
  // Sent chunked so that a client that went away is noticed: after 1 s without an answer a space
  // (JSON allows leading whitespace) is written every second, and a failed write cancels the job.
  res.set_chunked_content_provider(
      "application/json",
      [job, r, ids, prompt_tokens](size_t, httplib::DataSink& sink) {
        std::string text;
        auto last_write = Clock::now();
        while (true) {
          JobEvent ev = job->Next(250ms);
          text += ev.text;
          if (ev.finished) {
            const json body = ev.error.ok() ? CompletionResponse(*r, ids, text, *ev.outcome, prompt_tokens)
                                            : ErrorBody(ev.error.message(), ErrorType(StatusFor(ev.error)));
            const std::string out = Dump(body) + "\n";
            if (!sink.write(out.data(), out.size())) return false;
            sink.done();
            return true;
          }
          if (Clock::now() - last_write > 1s) {
            if (!sink.write(" ", 1)) {
              job->Cancel();
              return false;
            }
            last_write = Clock::now();
          }
        }
      },
      [job](bool success) {
        if (!success) job->Cancel();
      });
}

HttpServer::HttpServer(Engine& engine, const PromptBuilder& prompts, ServerStats& stats, ServerOptions options)
    : impl_(std::make_unique<Impl>(engine, prompts, stats, std::move(options))) {}
HttpServer::~HttpServer() = default;
StatusOr<int> HttpServer::Bind() { return impl_->Bind(); }
Status HttpServer::Serve() { return impl_->Serve(); }
void HttpServer::Shutdown() { impl_->Shutdown(); }

}  // namespace kvpress::serve
