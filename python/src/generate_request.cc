// The steps of tools/cmd_generate.cc RunGenerate, in the same order and with the same library calls
// (the prompt ids: generate/prompt_input.h), minus the terminal output (progress line, streaming to
// stdout); tests/test_cli_parity.py checks the two agree.
#include "generate_request.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "core/log.h"
#include "generate/pipeline.h"
#include "generate/prompt_input.h"
#include "kv/kv_dtype.h"
#include "model/transformer.h"
#include "press/eviction_log.h"
#include "press/press_from_text.h"
#include "press/registry.h"

namespace kvpress::py {
namespace {

// The Python parameters' spelling in prompt messages.
constexpr PromptArgNames kPythonPromptArgNames = {"prompt_ids", "prompt", "max_context_length",
                                                  "max_context_length=N", "chat=True"};

// The context (and question) ids of `r`, as the CLI builds them (generate/prompt_input.h).
StatusOr<PromptIds> BuildPrompt(const PyModel& m, const GenerateRequest& r) {
  PromptInput in;
  if (r.has_prompt_ids) in.ids = r.prompt_ids;
  in.text = r.prompt;
  in.add_bos = r.add_bos;
  in.pipeline = r.pipeline;
  in.context = r.context;
  in.questions = r.questions;
  in.answer_prefix = r.answer_prefix;
  in.chat = r.chat == "off" ? ChatMode::kOff : r.chat == "on" ? ChatMode::kOn : ChatMode::kAuto;
  in.enable_thinking = r.enable_thinking;
  in.max_context_length = r.max_context_length;
  if (r.pipeline && !r.has_prompt_ids && in.chat != ChatMode::kOff) RETURN_IF_ERROR(m.chat_status);
  const std::string where = m.tokenizer_path.empty() ? m.model->path : m.tokenizer_path;
  ASSIGN_OR_RETURN(PromptIds p, BuildPromptIds(m.tokenizer.get(), m.chat ? &*m.chat : nullptr,
                                               where, in, kPythonPromptArgNames));
  RETURN_IF_ERROR(CheckPromptFits(*m.model, p, kPythonPromptArgNames));
  return p;
}

StatusOr<std::unique_ptr<Press>> MakePress(const GenerateRequest& r) {
  if (r.press.empty()) {
    if (!r.eviction_log.empty()) return InvalidArgument("eviction_log needs a press");
    if (r.cache_budget > 0 || r.compression_ratio > 0 || r.target_size > 0 || r.prefill_chunk > 0) {
      return InvalidArgument(
          "cache_budget/compression_ratio/target_size/prefill_chunk need a press (see kvpress_cpp.presses.available())");
    }
    return std::unique_ptr<Press>();
  }
  const BudgetPolicy budget{.cache_budget = r.cache_budget,
                            .removed_fraction = r.compression_ratio,
                            .compression_interval = r.compression_interval,
                            .target_size = r.target_size};
  return CreatePressFromText(r.press, budget, r.seed);
}

}  // namespace

Status CheckPressSpec(const std::string& spec_text, int cache_budget, double compression_ratio,
                      int compression_interval, int target_size) {
  const BudgetPolicy budget{.cache_budget = cache_budget,
                            .removed_fraction = compression_ratio,
                            .compression_interval = compression_interval,
                            .target_size = target_size};
  ASSIGN_OR_RETURN(std::unique_ptr<Press> press, CreatePressFromText(spec_text, budget));
  (void)press;
  return Status::Ok();
}

StatusOr<nlohmann::json> RunGenerateRequest(const PyModel& m, const GenerateRequest& r,
                                            const std::atomic<bool>* cancel, const TextSink& sink) {
  if (!r.has_prompt && !r.has_prompt_ids && !r.pipeline) {
    return InvalidArgument("no prompt: give prompt=TEXT, prompt_ids=IDS or a context [with question=Q]");
  }
  const Model& model = *m.model;
  const Tokenizer* tok = m.tokenizer.get();
  if (tok == nullptr && !r.has_prompt_ids) return m.tokenizer_status;
  ASSIGN_OR_RETURN(PromptIds prompt, BuildPrompt(m, r));
  const std::vector<int32_t>& context = prompt.context;
  const std::vector<std::vector<int32_t>>& questions = prompt.questions;

  GenerateOptions opt;
  opt.max_new_tokens = r.max_new_tokens;
  opt.sampling = SamplerParams{r.temperature, r.top_k, r.top_p, r.min_p, r.repetition_penalty, r.seed};
  opt.stop_ids = DefaultStopIds(model.config, tok);
  opt.stop_strings = r.stop;
  opt.stop_on_repetition = r.stop_on_repetition;
  opt.tokenizer = tok;
  if (!r.stop.empty() && tok == nullptr) return InvalidArgument("stop needs a tokenizer");
  ASSIGN_OR_RETURN(std::unique_ptr<Press> press, MakePress(r));
  if (press) {
    opt.press = press.get();
    opt.press_chunk = r.prefill_chunk;
  }
  ASSIGN_OR_RETURN(opt.kv_dtype, ParseKvDtype(r.kv_dtype, "kv_dtype"));
  if (static_cast<int64_t>(context.size()) + r.max_new_tokens > model.config.max_position) {
    Log(LogLevel::kWarning, "prompt ({}) + max_new_tokens ({}) exceeds the model's trained context ({})",
        context.size(), r.max_new_tokens, model.config.max_position);
  }
  std::unique_ptr<EvictionLog> eviction_log;
  if (!r.eviction_log.empty() && press) {
    ASSIGN_OR_RETURN(eviction_log, EvictionLog::Open(r.eviction_log));
    eviction_log->set_n_heads(model.config.n_heads);
    press->set_eviction_log(eviction_log.get());
  }

  Transformer transformer(model, r.threads);
  opt.cancel = cancel;
  // Streaming: one decoder per answer, primed with what precedes it.
  std::unique_ptr<StreamingDecoder> stream;
  size_t question_index = 0;
  auto flush_stream = [&] {
    if (stream && sink) {
      const std::string rest = stream->Flush();
      if (!rest.empty()) sink(question_index, rest);
    }
  };
  auto start_stream = [&](size_t q) {
    flush_stream();
    question_index = q;
    if (!sink || tok == nullptr) return;
    std::vector<int32_t> before = context;
    if (q < questions.size()) before.insert(before.end(), questions[q].begin(), questions[q].end());
    stream = std::make_unique<StreamingDecoder>(*tok, before);
  };
  opt.on_question = start_stream;
  TokenCallback on_token = [&](int32_t id) {
    if (stream && sink) {
      const std::string piece = stream->Push(id);
      if (!piece.empty()) sink(question_index, piece);
    }
    return cancel == nullptr || !cancel->load();
  };

  nlohmann::json out;
  if (!r.pipeline) {
    start_stream(0);
    ASSIGN_OR_RETURN(GenerateResult result, Generate(transformer, context, opt, on_token));
    flush_stream();
    out = {{"text", DecodeAfter(tok, context, result.tokens)},
           {"tokens", result.tokens},
           {"prompt_tokens", context.size()},
           {"finish_reason", result.finish_reason},
           {"metrics", result.metrics.ToJson()},
           {"kept_per_layer", result.kept_per_layer}};
    return out;
  }
  ASSIGN_OR_RETURN(PipelineResult result, RunPipeline(transformer, context, questions, opt, on_token));
  flush_stream();
  nlohmann::json answers = nlohmann::json::array();
  for (size_t q = 0; q < result.answers.size(); ++q) {
    const PipelineAnswer& a = result.answers[q];
    std::vector<int32_t> before = context;
    before.insert(before.end(), a.question_ids.begin(), a.question_ids.end());
    answers.push_back({{"question", q < r.questions.size() ? r.questions[q] : ""},
                       {"text", DecodeAfter(tok, before, a.tokens)},
                       {"tokens", a.tokens},
                       {"finish_reason", a.finish_reason},
                       {"metrics", a.metrics.ToJson()},
                       {"kept_per_layer", a.kept_per_layer}});
  }
  out = {{"answers", answers}, {"prompt_tokens", context.size()}, {"metrics", result.metrics.ToJson()}};
  return out;
}

}  // namespace kvpress::py
