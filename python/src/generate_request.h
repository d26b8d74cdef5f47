// One `kvpress generate` run from Python: the request carries the CLI's flags (as the Python
// parameters name them) and the result is the object `kvpress generate --json` prints, so the two
// front ends give the same tokens, text and metrics for the same settings.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "py_model.h"

namespace kvpress::py {

struct GenerateRequest {
  // Exactly one prompt form: a plain prompt (BOS prepended unless !add_bos), token ids, or the
  // pipeline (context + questions; `pipeline` set when a context or a question was given).
  bool has_prompt = false;
  std::string prompt;
  bool has_prompt_ids = false;
  std::vector<int32_t> prompt_ids;
  bool pipeline = false;
  std::string context;
  std::vector<std::string> questions;
  std::string answer_prefix;
  std::string chat = "auto";  // auto (the template when the model has one), on (required), off
  std::optional<bool> enable_thinking;
  int max_context_length = 0;
  bool add_bos = true;

  int max_new_tokens = 256;
  float temperature = 0.0f;
  float top_p = 1.0f;
  int top_k = 0;
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;
  uint64_t seed = 0;
  std::vector<std::string> stop;
  bool stop_on_repetition = false;

  std::string press;  // spec NAME[:k=v,...]; "" = no press
  int cache_budget = 0;
  double compression_ratio = 0.0;
  int compression_interval = 0;
  int target_size = 0;
  int prefill_chunk = 0;
  std::string kv_dtype = "f32";
  std::string eviction_log;  // CSV path ("" = none)
  int threads = 0;
};

// Receives streamed text: `question` is the answer's index (0 for a plain prompt); called on the
// worker thread.
using TextSink = std::function<void(size_t question, const std::string& piece)>;

// Runs `r` on `m`. The result has the keys of `kvpress generate --json`: text, tokens,
// prompt_tokens, finish_reason, metrics, kept_per_layer for a prompt; answers (each with question,
// text, tokens, finish_reason, metrics, kept_per_layer), prompt_tokens and metrics in pipeline mode.
// `cancel` stops the run (Cancelled status when raised during a prefill; finish_reason "cancelled"
// when raised during decoding). `sink` (may be empty) receives the text as it is generated.
StatusOr<nlohmann::json> RunGenerateRequest(const PyModel& m, const GenerateRequest& r,
                                            const std::atomic<bool>* cancel, const TextSink& sink);

// Checks `spec` with the budget settings as `kvpress generate --press` does (NotFound for an
// unknown press or parameter, FailedPrecondition for a bad value, InvalidArgument for the budget).
Status CheckPressSpec(const std::string& spec, int cache_budget, double compression_ratio, int compression_interval,
                      int target_size);

}  // namespace kvpress::py
