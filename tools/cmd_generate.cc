// kvpress generate: text generation from a prompt, streamed to stdout or returned as one JSON object.
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "generate/generator.h"
#include "model/model.h"
#include "model/transformer.h"
#include "press/registry.h"
#include "tokenizer/load_tokenizer.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace kvpress::cli {
namespace {

struct GenerateFlags {
  std::string model;
  std::string tokenizer;
  std::string prompt;
  std::string prompt_ids;
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
  std::string press;
  int cache_budget = 0;
  double compression_ratio = 0.0;
  int compression_interval = 0;
  int target_size = 0;
  std::string kv_dtype = "f32";
};

int RunGenerate(const GenerateFlags& f) {
  auto loaded = LoadModel(f.model);
  if (!loaded.ok()) return ReportError("generate", loaded.status());
  const Model& model = **loaded;

  std::unique_ptr<Tokenizer> tokenizer;
  auto tok = LoadTokenizerFor(model, f.tokenizer);
  if (tok.ok()) {
    tokenizer = std::move(tok).value();
  } else if (f.prompt_ids.empty() || !f.tokenizer.empty()) {
    return ReportError("generate", tok.status());
  }

  std::vector<int32_t> prompt;
  if (!f.prompt_ids.empty()) {
    auto ids = ParseIdList(f.prompt_ids, "--prompt-ids");
    if (!ids.ok()) return ReportError("generate", ids.status());
    prompt = *ids;
  } else {
    auto ids = tokenizer->Encode(f.prompt, !f.no_bos);
    if (!ids.ok()) return ReportError("generate", ids.status());
    prompt = *ids;
  }
  for (int32_t id : prompt) {
    if (id >= model.config.vocab_size) {
      return ReportError("generate", InvalidArgument(fmt::format("--prompt-ids: id {} is outside the vocabulary [0, {})", id, model.config.vocab_size)));
    }
  }
  if (prompt.empty()) {
    return ReportError("generate", InvalidArgument("--prompt: empty prompt and the model has no BOS token"));
  }

  GenerateOptions opt;
  opt.max_new_tokens = f.max_new_tokens;
  opt.sampling.temperature = f.temperature;
  opt.sampling.top_p = f.top_p;
  opt.sampling.top_k = f.top_k;
  opt.sampling.min_p = f.min_p;
  opt.sampling.repetition_penalty = f.repetition_penalty;
  opt.sampling.seed = f.seed;
  opt.stop_ids.assign(model.config.eos_token_ids.begin(), model.config.eos_token_ids.end());
  if (model.config.stop_on_bos && model.config.bos_token_id >= 0) opt.stop_ids.push_back(model.config.bos_token_id);
  if (static_cast<int64_t>(prompt.size()) + f.max_new_tokens > model.config.max_position) {
    Log(LogLevel::kWarning, "prompt ({}) + max-new-tokens ({}) exceeds the model's trained context ({})",
        prompt.size(), f.max_new_tokens, model.config.max_position);
  }

  std::unique_ptr<Press> press;
  if (!f.press.empty() || f.cache_budget > 0 || f.compression_ratio > 0) {
    auto spec = ParsePressSpec(f.press.empty() ? "knorm" : f.press);
    if (!spec.ok()) return ReportError("generate", spec.status());
    if (f.press.empty()) {
      return ReportError("generate", InvalidArgument("--cache-budget/--compression-ratio need --press NAME (see `kvpress presses`)"));
    }
    spec->budget.cache_budget = f.cache_budget;
    spec->budget.compression_ratio = f.compression_ratio;
    spec->budget.compression_interval = f.compression_interval;
    spec->budget.target_size = f.target_size;
    spec->seed = f.seed;
    auto created = CreatePress(*spec);
    if (!created.ok()) return ReportError("generate", created.status());
    press = std::move(created).value();
    opt.press = press.get();
  }
  if (f.kv_dtype == "f16") opt.kv_dtype = DType::kF16;
  else if (f.kv_dtype == "bf16") opt.kv_dtype = DType::kBF16;
  else if (f.kv_dtype != "f32") return ReportError("generate", InvalidArgument("--kv-dtype: '" + f.kv_dtype + "' is not one of f32, f16, bf16"));

  Transformer transformer(model, f.threads);
  std::unique_ptr<StreamingDecoder> stream;
  if (tokenizer) stream = std::make_unique<StreamingDecoder>(*tokenizer, prompt);
  TokenCallback on_token = [&](int32_t id) {
    if (!f.json && stream) {
      const std::string piece = stream->Push(id);
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    }
    return true;
  };
  auto result = Generate(transformer, prompt, opt, on_token);
  if (!result.ok()) return ReportError("generate", result.status());

  std::string text;
  if (tokenizer) {
    std::vector<int32_t> all = prompt;
    all.insert(all.end(), result->tokens.begin(), result->tokens.end());
    const std::string full = tokenizer->Decode(all);
    const std::string head = tokenizer->Decode(prompt);
    text = full.substr(std::min(head.size(), full.size()));
  }
  if (f.json) {
    nlohmann::json j = {
        {"text", text},
        {"tokens", result->tokens},
        {"prompt_tokens", prompt.size()},
        {"finish_reason", result->finish_reason},
        {"metrics", result->metrics.ToJson()},
    };
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    if (stream) {
      const std::string rest = stream->Flush();
      std::fwrite(rest.data(), 1, rest.size(), stdout);
    } else {
      for (size_t i = 0; i < result->tokens.size(); ++i) std::printf("%s%d", i ? " " : "", result->tokens[i]);
    }
    std::printf("\n");
    const Metrics& m = result->metrics;
    Log(LogLevel::kInfo, "{} prompt + {} generated tokens, prefill {:.3f}s, decode {:.1f} tok/s, finish: {}",
        m.total_prefill_tokens, m.total_decoding_tokens, m.prefill_time, m.tokens_per_second, result->finish_reason);
  }
  return kExitOk;
}

}  // namespace

void RegisterGenerate(CLI::App& app, RunFn& run) {
  auto f = std::make_shared<GenerateFlags>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate text from a prompt");
  cmd->add_option("--model,-m", f->model, "HF model directory, GGUF file or llama2.c .bin")->required();
  cmd->add_option("--tokenizer", f->tokenizer, "Tokenizer file (default: found beside the model)");
  auto* prompt = cmd->add_option("--prompt,-p", f->prompt, "Prompt text (BOS is prepended)");
  auto* ids = cmd->add_option("--prompt-ids", f->prompt_ids, "Prompt as comma-separated token ids (no BOS added)");
  prompt->excludes(ids);
  cmd->add_option("--max-new-tokens,-n", f->max_new_tokens, "Maximum tokens to generate")->check(CLI::NonNegativeNumber);
  cmd->add_option("--temperature,-t", f->temperature, "0 = greedy")->check(CLI::NonNegativeNumber);
  cmd->add_option("--top-p", f->top_p, "Nucleus sampling threshold")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--top-k", f->top_k, "Keep the k most likely tokens (0 = off)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--min-p", f->min_p, "Drop tokens below min_p × p_max")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--repetition-penalty", f->repetition_penalty, "HF-style repetition penalty (1 = off)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", f->seed, "RNG seed for sampling");
  cmd->add_option("--threads", f->threads, "Worker threads (default: all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", f->json, "Print one JSON object (text, tokens, prompt_tokens, finish_reason, metrics)");
  cmd->add_flag("--no-bos", f->no_bos, "Do not prepend BOS to --prompt");
  cmd->add_option("--press", f->press, "KV-cache press: NAME[:key=value,...] (see `kvpress presses`)");
  cmd->add_option("--cache-budget", f->cache_budget, "Slots kept per KV head per layer (prefill and every decode step)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--compression-ratio", f->compression_ratio, "Fraction of the prefill's slots removed")
      ->check(CLI::Range(0.0, 0.999999));
  cmd->add_option("--compression-interval", f->compression_interval,
                  "Decode steps between prunes (with --cache-budget: prune at budget+interval; with --target-size: every N steps)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--target-size", f->target_size, "Upstream decoding policy: prune to this many slots every interval")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--kv-dtype", f->kv_dtype, "KV cache storage: f32 (default), f16, bf16");
  cmd->callback([f, &run] { run = [f] { return RunGenerate(*f); }; });
}

}  // namespace kvpress::cli
