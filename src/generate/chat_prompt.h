// Builds the pipeline's token ids from text (reference §4): with a chat template, the context goes
// into the user turn followed by a unique separator; the rendered prompt is split there into the
// templated context prefix and the suffix (end of turn + assistant header) that follows each question.
// Without a template: context = BOS + context, question suffix = "\n".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "press/press.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace kvpress {

struct PipelinePrompt {
  std::vector<int32_t> context;
  std::vector<std::vector<int32_t>> questions;
  bool used_chat_template = false;
  bool truncated = false;  // the context was cut to max_context_length
  // Query-aware prompt (PipelinePromptOptions::query): the last `query_tokens` ids of `context` are
  // the query; 0 otherwise.
  int query_tokens = 0;
  // What a context-replaying press (kvzip) runs after the context: as upstream KVzipPress builds
  // it (ContextReplayPromptsFor).
  // Unset when the template cannot render upstream's dummy message (kvzip then fails, nothing else).
  std::optional<ContextReplayPrompts> replay;
};

struct PipelinePromptOptions {
  std::string context;
  std::vector<std::string> questions;  // empty = one empty question
  std::string answer_prefix;
  const ChatTemplate* chat = nullptr;  // null = raw prompt
  std::map<std::string, std::string> special_tokens;
  std::optional<bool> enable_thinking;
  int max_context_length = 0;          // 0 = no limit (tokens)
  // Query-aware (upstream FinchPress with compress_questions): text prefilled right after the
  // context and compressed with it, tokenized on its own (as after FINCH's delimiter token) and
  // appended to `context` after any truncation; `questions` then usually holds one empty question
  // (the template's suffix and the answer prefix). Empty = none.
  std::string query;
};

// Upstream KVzipPress's replay prompts: the template rendered (thinking off) around a dummy user
// message "dummy context\n#############" and split there; prefix_length = the prefix's ids alone;
// the two repeat instructions encoded without special tokens. Without a template: prefix 0,
// suffix "\n".
StatusOr<ContextReplayPrompts> ContextReplayPromptsFor(
    const Tokenizer& tok, const ChatTemplate* chat,
    const std::map<std::string, std::string>& special_tokens);

StatusOr<PipelinePrompt> BuildPipelinePrompt(const Tokenizer& tok, const PipelinePromptOptions& o);

}  // namespace kvpress
