// kvpress generate: text generation with an optional press — a plain prompt, or a context with one
// or many questions (the pipeline: context compressed once, questions never compressed). Text is
// streamed to stdout as it is produced, or returned as one JSON object with --json.
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "core/log.h"
#include "generate/model_tokenizer.h"
#include "generate/pipeline.h"
#include "generate/prompt_input.h"
#include "kv/kv_dtype.h"
#include "model/model.h"
#include "model/transformer.h"
#include "ops/matmul.h"
#include "press/eviction_log.h"
#include "press/press_from_text.h"
#include "press/registry.h"
#include "tools/cli_common.h"
#include "tools/commands.h"
#include "tools/default_model.h"
#include "tools/flag_checks.h"
#include "tools/progress.h"

namespace kvpress::cli {
namespace {

struct GenerateFlags {
  std::string model;
  std::string tokenizer;
  std::string prompt;
  std::string prompt_ids;
  std::string context;
  std::vector<std::string> questions;
  std::string answer_prefix;
  bool chat = false, no_chat = false;
  std::string enable_thinking;
  int max_context_length = 0;
  int max_new_tokens = 256;
  float temperature = 0.0f;
  float top_p = 1.0f;
  int top_k = 0;
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;
  uint64_t seed = 0;
  int threads = 0;
  bool json = false;
  bool no_bos = false;
  std::vector<std::string> stop;
  bool stop_on_repetition = false;
  std::string press;
  int cache_budget = 0;
  double compression_ratio = 0.0;
  int compression_interval = 0;
  int target_size = 0;
  int prefill_chunk = 0;
  std::string kv_dtype = "f32";
  std::string metrics_csv;
  std::string eviction_log;
  bool prompt_given = false;  // one of --prompt, --prompt-ids, --context, --question was given
  bool no_check = false;      // skip the NaN/Inf weight check
  bool mmap = false;          // --mmap: weights stay in the file mapping
};

// Appends one CSV row of `m` to `path`, with a header when the file is new.
Status AppendMetricsCsv(const std::string& path, const std::string& press, int budget, const nlohmann::json& m) {
  const bool exists = FileExists(path);
  std::ofstream out(path, std::ios::app);
  if (!out) return NotFound(path + ": cannot open --metrics-csv for appending");
  if (!exists) {
    out << "press,cache_budget";
    for (auto it = m.begin(); it != m.end(); ++it) out << "," << it.key();
    out << "\n";
  }
  out << press << "," << budget;
  for (auto it = m.begin(); it != m.end(); ++it) out << "," << it.value().dump();
  out << "\n";
  return out ? Status::Ok() : DataLoss(path + ": write failed");
}

StatusOr<std::string> ReadContextArg(const std::string& arg) {
  if (!arg.empty() && arg[0] == '@') return ReadFileToString(arg.substr(1));
  return arg;
}

int RunGenerate(const GenerateFlags& f) {
  if (!f.prompt_given) {
    return ReportError("generate", InvalidArgument("no prompt: give --prompt TEXT, --prompt-ids IDS or --context "
                                                   "TEXT|@FILE [--question Q]"));
  }
  auto model_path = ResolveModelArg(f.model);
  if (!model_path.ok()) return ReportError("generate", model_path.status());
  auto loaded = LoadModel(*model_path, LoadOptions{.check_weights = !f.no_check, .huge_pages = !f.mmap});
  if (!loaded.ok()) return ReportError("generate", loaded.status());
  const Model& model = **loaded;

  std::unique_ptr<Tokenizer> tokenizer;
  auto tok = LoadTokenizerFor(model, f.tokenizer);
  if (tok.ok()) {
    tokenizer = std::move(tok).value();
  } else if (f.prompt_ids.empty() || !f.tokenizer.empty()) {
    return ReportError("generate", tok.status());
  }

  // The press first: how the prompt is built depends on it (a question-aware press).
  std::unique_ptr<Press> press;
  if (!f.press.empty()) {
    const BudgetPolicy budget{.cache_budget = f.cache_budget,
                              .removed_fraction = f.compression_ratio,
                              .compression_interval = f.compression_interval,
                              .target_size = f.target_size};
    auto created = CreatePressFromText(f.press, budget, f.seed);
    if (!created.ok()) return ReportError("generate", created.status());
    press = std::move(created).value();
  } else if (!f.eviction_log.empty()) {
    return ReportError("generate", InvalidArgument("--eviction-log needs --press NAME"));
  } else if (f.cache_budget > 0 || f.compression_ratio > 0 || f.target_size > 0 || f.prefill_chunk > 0) {
    return ReportError("generate", InvalidArgument("--cache-budget/--compression-ratio/--target-size/--prefill-chunk need --press NAME (see `kvpress presses`)"));
  }

  // Prompt: ids, a plain prompt, or context + questions.
  PromptInput in;
  if (!f.prompt_ids.empty()) {
    auto ids = ParseIdList(f.prompt_ids, "--prompt-ids");
    if (!ids.ok()) return ReportError("generate", ids.status());
    in.ids = *ids;
  }
  in.text = f.prompt;
  in.add_bos = !f.no_bos;
  in.pipeline = !f.context.empty() || !f.questions.empty();
  const bool pipeline_mode = in.pipeline;  // with --prompt-ids: those ids are the context
  in.questions = f.questions;
  // A question-aware press (finch) compresses the question with the context (upstream's FINCH
  // setting): it is prefilled right after the context; the template's suffix follows uncompressed.
  if (press && press->NeedsQuestionTokens()) {
    if (f.questions.size() != 1) {
      return ReportError("generate", InvalidArgument(fmt::format("--press {} compresses the question with the context: give "
                                                                 "exactly one --question (got {})",
                                                                 f.press, f.questions.size())));
    }
    in.query = f.questions[0];
    in.questions = {std::string()};
  }
  in.answer_prefix = f.answer_prefix;
  in.chat = f.no_chat ? ChatMode::kOff : f.chat ? ChatMode::kOn : ChatMode::kAuto;
  if (f.enable_thinking == "true") in.enable_thinking = true;
  if (f.enable_thinking == "false") in.enable_thinking = false;
  in.max_context_length = f.max_context_length;
  std::optional<ModelChatTemplate> chat;
  if (in.pipeline && !in.ids) {
    auto ctx = ReadContextArg(f.context);
    if (!ctx.ok()) return ReportError("generate", ctx.status());
    in.context = *ctx;
    if (in.chat != ChatMode::kOff) {
      auto loaded_chat = LoadChatTemplateFor(model, f.tokenizer);
      if (!loaded_chat.ok()) return ReportError("generate", loaded_chat.status());
      chat = std::move(loaded_chat).value();
    }
  }
  const std::string where = f.tokenizer.empty() ? model.path : f.tokenizer;
  auto prompt =
      BuildPromptIds(tokenizer.get(), chat ? &*chat : nullptr, where, in, kCliPromptArgNames);
  if (!prompt.ok()) return ReportError("generate", prompt.status());
  const Status fits = CheckPromptFits(model, *prompt, kCliPromptArgNames);
  if (!fits.ok()) return ReportError("generate", fits);
  const std::vector<int32_t> context = std::move(prompt->context);
  const std::vector<std::vector<int32_t>> questions = std::move(prompt->questions);
  const std::vector<std::string>& question_texts = f.questions;
  const int query_tokens = prompt->query_tokens;

  GenerateOptions opt;
  opt.max_new_tokens = f.max_new_tokens;
  opt.sampling = SamplerParams{f.temperature, f.top_k, f.top_p, f.min_p, f.repetition_penalty, f.seed};
  opt.stop_ids = DefaultStopIds(model.config, tokenizer.get());
  opt.stop_strings = f.stop;
  opt.stop_on_repetition = f.stop_on_repetition;
  opt.tokenizer = tokenizer.get();
  opt.replay_prompts = std::move(prompt->replay);
  if (!f.stop.empty() && !tokenizer) return ReportError("generate", InvalidArgument("--stop needs a tokenizer"));

  if (press) {
    opt.press = press.get();
    opt.press_chunk = f.prefill_chunk;
    opt.query_tokens = query_tokens;
  }
  auto kv_dtype = ParseKvDtype(f.kv_dtype, "--kv-dtype");
  if (!kv_dtype.ok()) return ReportError("generate", kv_dtype.status());
  opt.kv_dtype = *kv_dtype;
  if (static_cast<int64_t>(context.size()) + f.max_new_tokens > model.config.max_position) {
    Log(LogLevel::kWarning, "prompt ({}) + max-new-tokens ({}) exceeds the model's trained context ({})",
        context.size(), f.max_new_tokens, model.config.max_position);
  }

  std::unique_ptr<EvictionLog> eviction_log;
  if (!f.eviction_log.empty() && press) {
    auto log = EvictionLog::Open(f.eviction_log);
    if (!log.ok()) return ReportError("generate", log.status());
    eviction_log = std::move(log).value();
    eviction_log->set_n_heads(model.config.n_heads);
    press->set_eviction_log(eviction_log.get());
  }

  Transformer transformer(model, f.threads);
  const std::atomic<bool>& interrupted = CancelOnSignals(/*sigterm=*/true);
  opt.cancel = &interrupted;
  ProgressLine progress(isatty(STDERR_FILENO) != 0 && !f.json);
  opt.on_cache = [&progress](const KVCache& cache) { progress.SetCache(cache.MaxSize(), cache.LiveBytes()); };
  std::unique_ptr<StreamingDecoder> stream;
  int generated = 0;
  size_t question_index = 0;
  std::vector<int32_t> stream_context = context;
  auto start_stream = [&]() {
    if (!tokenizer) return;
    stream_context = context;
    if (question_index < questions.size()) {
      stream_context.insert(stream_context.end(), questions[question_index].begin(), questions[question_index].end());
    }
    stream = std::make_unique<StreamingDecoder>(*tokenizer, stream_context);
  };
  start_stream();
  TokenCallback on_token = [&](int32_t id) {
    ++generated;
    if (!f.json && stream) {
      const std::string piece = stream->Push(id);
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    }
    progress.Update(generated, press ? press->Name() : "none");
    return !interrupted.load();
  };

  nlohmann::json out;
  Metrics run_metrics;
  bool cancelled = false;
  if (!pipeline_mode) {
    auto result = Generate(transformer, context, opt, on_token);
    if (!result.ok()) return ReportError("generate", result.status());
    run_metrics = result->metrics;
    cancelled = result->finish_reason == "cancelled";
    out = {{"text", DecodeAfter(tokenizer.get(), context, result->tokens)},
           {"tokens", result->tokens},
           {"prompt_tokens", context.size()},
           {"finish_reason", result->finish_reason},
           {"metrics", result->metrics.ToJson()},
           {"kept_per_layer", result->kept_per_layer}};
  } else {
    // Answers stream one after the other; each starts on a new line.
    TokenCallback per_question = [&](int32_t id) { return on_token(id); };
    std::vector<std::vector<int32_t>> qs = questions;
    PipelineResult result;
    auto r = RunPipeline(transformer, context, qs, opt, [&](int32_t id) {
      return per_question(id);
    });
    if (!r.ok()) return ReportError("generate", r.status());
    result = std::move(r).value();
    run_metrics = result.metrics;
    nlohmann::json answers = nlohmann::json::array();
    for (size_t q = 0; q < result.answers.size(); ++q) {
      const PipelineAnswer& a = result.answers[q];
      std::vector<int32_t> before = context;
      before.insert(before.end(), a.question_ids.begin(), a.question_ids.end());
      cancelled = cancelled || a.finish_reason == "cancelled";
      answers.push_back({{"question", q < question_texts.size() ? question_texts[q] : ""},
                         {"text", DecodeAfter(tokenizer.get(), before, a.tokens)},
                         {"tokens", a.tokens},
                         {"finish_reason", a.finish_reason},
                         {"metrics", a.metrics.ToJson()},
                         {"kept_per_layer", a.kept_per_layer}});
    }
    out = {{"answers", answers},
           {"prompt_tokens", context.size()},
           {"metrics", result.metrics.ToJson()}};
    if (!f.json) {
      // Streaming printed the answers back to back; re-print them separated when there are several.
      if (result.answers.size() > 1) {
        std::printf("\n");
        for (size_t q = 0; q < answers.size(); ++q) {
          std::printf("%s\n", fmt::format("[{}] {}{}", q + 1, answers[q]["question"].get<std::string>(),
                                          answers[q]["text"].get<std::string>()).c_str());
        }
      }
    }
  }
  progress.Finish();
  if (f.json) {
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    if (stream) {
      const std::string rest = stream->Flush();
      std::fwrite(rest.data(), 1, rest.size(), stdout);
    } else if (out.contains("tokens")) {
      const auto ids = out["tokens"].get<std::vector<int32_t>>();
      for (size_t i = 0; i < ids.size(); ++i) std::printf("%s%d", i ? " " : "", ids[i]);
    }
    std::printf("\n");
    Log(LogLevel::kInfo, "{} prompt + {} generated tokens, prefill {:.3f}s, decode {:.1f} tok/s",
        run_metrics.total_prefill_tokens, run_metrics.total_decoding_tokens, run_metrics.prefill_time,
        run_metrics.tokens_per_second);
  }
  std::fflush(stdout);
  if (!f.metrics_csv.empty()) {
    const Status s = AppendMetricsCsv(f.metrics_csv, press ? press->Name() : "none", f.cache_budget, run_metrics.ToJson());
    if (!s.ok()) return ReportError("generate", s);
  }
  return cancelled ? kExitCancelled : kExitOk;
}

}  // namespace

void RegisterGenerate(CLI::App& app, RunFn& run) {
  auto f = std::make_shared<GenerateFlags>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate text, optionally compressing the KV cache with a press");
  cmd->add_option("--model,-m", f->model, "HF model directory, GGUF file or llama2.c .bin (default: the bundled tiny-reasoner)");
  cmd->add_option("--tokenizer", f->tokenizer, "Tokenizer (default: found with the model)");
  auto* prompt = cmd->add_option("--prompt,-p", f->prompt, "Plain completion prompt (BOS is prepended)");
  auto* ids = cmd->add_option("--prompt-ids", f->prompt_ids, "Prompt as comma-separated token ids (no BOS added)");
  auto* context = cmd->add_option("--context", f->context, "Context TEXT or @FILE, compressed once (pipeline mode)");
  cmd->add_option("--question", f->questions, "Question about the context (repeatable; never compressed)");
  cmd->add_option("--answer-prefix", f->answer_prefix, "Text that starts every answer");
  cmd->add_flag("--chat", f->chat, "Use the model's chat template (default when it has one)");
  cmd->add_flag("--no-chat", f->no_chat, "Raw prompt: BOS + context, questions followed by a newline");
  cmd->add_option("--enable-thinking", f->enable_thinking, "Passed to the chat template (true|false)")
      ->check(CLI::IsMember({"true", "false"}));
  cmd->add_option("--max-context-length", f->max_context_length, "Truncate the context to N tokens (with a warning)")
      ->check(NonNegative());
  prompt->excludes(ids);
  prompt->excludes(context);
  ids->excludes(context);
  cmd->add_option("--max-new-tokens,-n", f->max_new_tokens, "Maximum tokens to generate")->check(NonNegative());
  cmd->add_option("--temperature,-t", f->temperature, "0 = greedy")->check(NonNegative());
  cmd->add_option("--top-p", f->top_p, "Nucleus sampling threshold")->check(InRange(0.0, 1.0));
  cmd->add_option("--top-k", f->top_k, "Keep the k most likely tokens (0 = off)")->check(NonNegative());
  cmd->add_option("--min-p", f->min_p, "Drop tokens below min_p × p_max")->check(InRange(0.0, 1.0));
  cmd->add_option("--repetition-penalty", f->repetition_penalty, "HF-style repetition penalty (1 = off)")
      ->check(Positive());
  cmd->add_option("--seed", f->seed, "RNG seed for sampling and random presses")->check(NonNegative());
  cmd->add_option("--threads", f->threads, "Worker threads (default: physical cores)")->check(ThreadCount());
  cmd->add_flag("--no-check", f->no_check, "Skip the load-time check that the weights hold no NaN/Inf");
  AddMmapFlag(cmd, f->mmap);
  cmd->add_flag_callback("--f32-activations", [] { SetQuantizedActivations(false); },
                         "Quantized weights: f32 activations against dequantized rows (exact, slower) "
                         "instead of int8-rounded activation blocks; bf16 weights on AVX512-BF16 CPUs: "
                         "f32 instead of bf16-rounded activations");
  cmd->add_flag("--json", f->json, "Print one JSON object (text/answers, tokens, finish_reason, metrics)");
  cmd->add_flag("--no-bos", f->no_bos, "Do not prepend BOS to --prompt");
  cmd->add_option("--stop", f->stop, "Stop when the text ends with this string (repeatable)");
  cmd->add_flag("--stop-on-repetition", f->stop_on_repetition,
                "Stop when a 2-10 token n-gram repeats 5 times in a row (the harness's criterion)");
  cmd->add_option("--press", f->press, "KV-cache press: NAME[:key=value,...] (see `kvpress presses`)");
  cmd->add_option("--cache-budget", f->cache_budget, "Slots kept per KV head per layer (prefill and every decode step)")
      ->check(NonNegative());
  cmd->add_option("--compression-ratio", f->compression_ratio, "Fraction of the prefill's slots removed")
      ->check(InRange(0.0, 0.999999));
  cmd->add_option("--compression-interval", f->compression_interval,
                  "Decode steps between prunes (with --cache-budget: prune at budget+interval; with --target-size: every N steps)")
      ->check(NonNegative());
  cmd->add_option("--target-size", f->target_size, "Upstream decoding policy: prune to this many slots every interval")
      ->check(NonNegative());
  AddPrefillChunkFlag(cmd, f->prefill_chunk);
  cmd->add_option("--kv-dtype", f->kv_dtype, "KV cache storage: f32 (default), f16, bf16");
  cmd->add_option("--eviction-log", f->eviction_log,
                  "CSV: one row per prune and KV head (prune_step, layer_idx, head_idx, kv_len_pre, attn_len, "
                  "diff_indices, attn_loss, evicted_positions)");
  cmd->add_option("--metrics-csv", f->metrics_csv, "Append one row of metrics per run to this CSV (header on creation)");
  cmd->callback([f, &run, prompt, ids, context, cmd] {
    f->prompt_given = prompt->count() + ids->count() + context->count() + cmd->count("--question") > 0;
    run = [f] { return RunGenerate(*f); };
  });
}

}  // namespace kvpress::cli
