// kvpress serve: an OpenAI-compatible HTTP server where every request may choose its own press and
// budget (extension fields `press`, `cache_budget`, `compression_ratio`), with continuous batching
// across requests, Prometheus metrics and a page at / that compares presses side by side
// (docs/SERVER.md). SIGINT/SIGTERM: graceful shutdown (requests in flight finish or are cancelled).
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <optional>
#include <thread>

#include "core/log.h"
#include "generate/generator.h"
#include "generate/model_tokenizer.h"
#include "kv/kv_dtype.h"
#include "model/model.h"
#include "model/transformer.h"
#include "serve/engine.h"
#include "serve/http_server.h"
#include "serve/prompt_builder.h"
#include "serve/server_stats.h"
#include "tokenizer/chat_template.h"
#include "tools/cli_common.h"
#include "tools/commands.h"
#include "tools/default_model.h"
#include "tools/flag_checks.h"

namespace kvpress::cli {
namespace {

struct ServeFlags {
  std::string model;
  std::string tokenizer;
  std::string host = "127.0.0.1";
  int port = 8080;
  int parallel = 4;
  int ctx = 0;
  int threads = 0;
  int max_queue = 64;
  int64_t max_body = 1 << 20;
  int max_tokens = 0;
  int default_max_tokens = 256;
  double timeout = 600;
  double shutdown_grace = 30;
  std::string kv_dtype = "f32";
  bool no_check = false;
  bool mmap = false;  // --mmap: weights stay in the file mapping
};

int RunServe(const ServeFlags& f) {
  auto model_path = ResolveModelArg(f.model);
  if (!model_path.ok()) return ReportError("serve", model_path.status());
  auto loaded = LoadModel(*model_path, LoadOptions{.check_weights = !f.no_check, .huge_pages = !f.mmap});
  if (!loaded.ok()) return ReportError("serve", loaded.status());
  const Model& model = **loaded;
  auto tok = LoadTokenizerFor(model, f.tokenizer);
  if (!tok.ok()) return ReportError("serve", tok.status());
  std::unique_ptr<Tokenizer> tokenizer = std::move(tok).value();

  std::optional<ChatTemplate> chat;
  std::map<std::string, std::string> special_tokens;
  auto loaded_chat = LoadChatTemplateFor(model, f.tokenizer);
  if (!loaded_chat.ok()) return ReportError("serve", loaded_chat.status());
  if (*loaded_chat) {
    chat = std::move((*loaded_chat)->chat_template);
    special_tokens = std::move((*loaded_chat)->special_tokens);
  } else {
    Log(LogLevel::kWarning, "{} has no chat template: /v1/chat/completions will refuse requests", model.path);
  }

  auto parsed_kv_dtype = ParseKvDtype(f.kv_dtype, "--kv-dtype");
  if (!parsed_kv_dtype.ok()) return ReportError("serve", parsed_kv_dtype.status());
  const DType kv_dtype = *parsed_kv_dtype;
  const int trained = model.config.max_position;
  const int ctx = f.ctx > 0 ? f.ctx : trained;
  if (trained > 0 && ctx > trained) {
    Log(LogLevel::kWarning, "--ctx {} exceeds the model's trained context ({})", ctx, trained);
  }

  Transformer transformer(model, f.threads);
  serve::ServerStats stats;
  serve::EngineOptions eo;
  eo.parallel = f.parallel;
  eo.max_queue = f.max_queue;
  eo.kv_dtype = kv_dtype;
  serve::Engine engine(transformer, *tokenizer, DefaultStopIds(model.config, tokenizer.get()), eo, stats);
  serve::PromptBuilder prompts(*tokenizer, std::move(chat), special_tokens);

  serve::ServerOptions so;
  so.host = f.host;
  so.port = f.port;
  so.model_name = f.model.empty() ? BundledModelLabel() : f.model;
  so.ctx = ctx;
  so.max_body_bytes = static_cast<size_t>(f.max_body);
  so.limits.max_tokens = f.max_tokens > 0 ? std::min(f.max_tokens, ctx) : ctx;
  so.limits.default_max_tokens = std::min(f.default_max_tokens, so.limits.max_tokens);
  so.request_timeout_s = f.timeout;
  so.shutdown_grace_s = f.shutdown_grace;
  serve::HttpServer server(engine, prompts, stats, so);
  StatusOr<int> port = server.Bind();
  if (!port.ok()) return ReportError("serve", port.status());
  engine.Start();

  std::signal(SIGPIPE, SIG_IGN);  // a client that went away must not kill the server
  const std::atomic<bool>& interrupted = CancelOnSignals(/*sigterm=*/true);
  std::atomic<bool> served{false};
  std::thread watcher([&] {
    while (!served.load() && !interrupted.load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (interrupted.load()) {
      Log(LogLevel::kInfo, "serve: signal received, shutting down");
      server.Shutdown();
    }
  });
  Log(LogLevel::kInfo, "serve: {} ({} layers), context {} tokens, {} parallel sequences, queue {}",
      so.model_name, model.config.n_layers, ctx, f.parallel, f.max_queue);
  std::printf("kvpress serve: listening on http://%s:%d\n", f.host.c_str(), *port);
  std::fflush(stdout);
  const Status s = server.Serve();
  served = true;
  watcher.join();
  engine.Stop();
  if (!s.ok()) return ReportError("serve", s);
  Log(LogLevel::kInfo, "serve: stopped");
  return kExitOk;
}

}  // namespace

void RegisterServe(CLI::App& app, RunFn& run) {
  auto f = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "OpenAI-compatible HTTP server with a press per request, and a page at / to compare presses");
  cmd->add_option("--model,-m", f->model, "HF model directory, GGUF file or llama2.c .bin (default: the bundled tiny-reasoner)");
  cmd->add_option("--tokenizer", f->tokenizer, "Tokenizer (default: found with the model)");
  cmd->add_option("--host", f->host, "Address to listen on (default 127.0.0.1; 0.0.0.0 = every interface)");
  cmd->add_option("--port", f->port, "TCP port (default 8080; 0 = any free port, printed at start)")->check(CLI::Range(0, 65535));
  cmd->add_option("--parallel,-P", f->parallel, "Sequences decoded together (continuous batching; default 4)")->check(CLI::Range(1, 256));
  cmd->add_option("--ctx,-c", f->ctx, "Prompt + max_tokens limit per request (default: the model's trained context)")->check(NonNegative());
  cmd->add_option("--threads", f->threads, "Worker threads (default: physical cores)")->check(ThreadCount());
  cmd->add_option("--max-queue", f->max_queue, "Requests waiting for a slot before 429 (default 64)")->check(CLI::Range(0, 100000));
  cmd->add_option("--max-body", f->max_body, "Largest request body in bytes before 413 (default 1 MiB)")->check(CLI::Range(int64_t{64}, int64_t{1} << 32));
  cmd->add_option("--max-tokens", f->max_tokens, "Largest max_tokens a request may ask (default: --ctx)")->check(NonNegative());
  cmd->add_option("--default-max-tokens", f->default_max_tokens, "max_tokens when a request gives none (default 256)")->check(NonNegative());
  cmd->add_option("--timeout", f->timeout, "Seconds a request may take, queue wait included (default 600)")->check(Positive());
  cmd->add_option("--shutdown-grace", f->shutdown_grace, "On SIGTERM/SIGINT, seconds in-flight requests get to finish (default 30)")->check(NonNegative());
  cmd->add_option("--kv-dtype", f->kv_dtype, "KV cache storage: f32 (default), f16, bf16");
  cmd->add_flag("--no-check", f->no_check, "Skip the load-time check that the weights hold no NaN/Inf");
  AddMmapFlag(cmd, f->mmap);
  cmd->callback([f, &run] { run = [f] { return RunServe(*f); }; });
}

}  // namespace kvpress::cli
