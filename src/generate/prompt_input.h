// The prompt of one generation request, from what a front end was given to token ids: token ids as
// given, a plain completion prompt, or a context with questions (the pipeline; chat template and
// query-aware split by BuildPipelinePrompt). Shared by `kvpress generate` and the Python bindings'
// generate(), which name their arguments differently (PromptArgNames) but build the same ids.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "generate/chat_prompt.h"
#include "generate/model_tokenizer.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace kvpress {

// Whether a pipeline prompt goes through the model's chat template.
enum class ChatMode {
  kAuto,  // the template when the model ships one, else the raw prompt
  kOn,    // the template; NotFound when the model has none
  kOff,   // the raw prompt: BOS + context, each question followed by a newline
};

// What the caller was given. Exactly one form is used: `ids` when set, else the pipeline when
// `pipeline`, else the plain `text`.
struct PromptInput {
  std::optional<std::vector<int32_t>> ids;  // used as given (no BOS added)
  std::string text;                         // a plain completion prompt
  bool add_bos = true;                      // BOS before `text`
  bool pipeline = false;                    // context + questions
  std::string context;                      // pipeline: compressed once
  std::vector<std::string> questions;       // pipeline: never compressed (empty = one empty)
  std::string query;                    // pipeline: a question prefilled and compressed with the
                                        // context (finch; PipelinePromptOptions::query)
  std::string answer_prefix;            // pipeline: starts every answer
  ChatMode chat = ChatMode::kAuto;      // pipeline only
  std::optional<bool> enable_thinking;  // passed to the chat template
  int max_context_length = 0;           // keep the first N context/prompt tokens (0 = all)
};

// How the front end spells its arguments, for messages and warnings.
struct PromptArgNames {
  const char* prompt_ids;           // "--prompt-ids" | "prompt_ids"
  const char* prompt;               // "--prompt" | "prompt"
  const char* max_context_length;   // "--max-context-length" | "max_context_length"
  const char* max_context_setting;  // "--max-context-length N" | "max_context_length=N"
  const char* chat_on;              // "--chat" | "chat=True"
};
// The CLI's spelling (`kvpress generate`).
inline constexpr PromptArgNames kCliPromptArgNames = {
    "--prompt-ids", "--prompt", "--max-context-length", "--max-context-length N", "--chat"};

// The token ids of a request: the context (or the whole plain prompt) and, in the pipeline, the
// ids of each question with the template's suffix and the answer prefix.
struct PromptIds {
  std::vector<int32_t> context;
  std::vector<std::vector<int32_t>> questions;  // empty unless pipeline
  int query_tokens = 0;  // pipeline with `query`: the context's last ids are it
  std::optional<ContextReplayPrompts>
      replay;  // pipeline: what a context-replaying press (kvzip) runs
};

// Builds the ids of `in`. `tok` may be null only when `in.ids` is set. `chat` is the model's chat
// template (LoadChatTemplateFor; null when it has none); `where` names the model or tokenizer in
// the kOn error. A context or prompt cut to max_context_length is logged as a warning.
StatusOr<PromptIds> BuildPromptIds(const Tokenizer* tok, const ModelChatTemplate* chat,
                                   const std::string& where, const PromptInput& in,
                                   const PromptArgNames& names);

// Checks `p` against `model`: every id inside the vocabulary (InvalidArgument), a non-empty
// context (InvalidArgument), and context + longest question within the trained positions
// (FailedPrecondition, suggesting the max_context_length that fits).
Status CheckPromptFits(const Model& model, const PromptIds& p, const PromptArgNames& names);

// The text of `generated` as it reads after `before`: both decoded together, minus the text of
// `before` alone (so leading-space rules see the context). "" without a tokenizer.
std::string DecodeAfter(const Tokenizer* tok, const std::vector<int32_t>& before,
                        const std::vector<int32_t>& generated);

}  // namespace kvpress
