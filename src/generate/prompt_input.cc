#include "generate/prompt_input.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/log.h"
#include "generate/chat_prompt.h"

namespace kvpress {
namespace {

StatusOr<PromptIds> BuildPipelineIds(const Tokenizer& tok, const ModelChatTemplate* chat,
                                     const std::string& where, const PromptInput& in,
                                     const PromptArgNames& names) {
  PipelinePromptOptions po;
  po.context = in.context;
  po.questions = in.questions;
  po.query = in.query;
  po.answer_prefix = in.answer_prefix;
  po.max_context_length = in.max_context_length;
  po.enable_thinking = in.enable_thinking;
  if (in.chat != ChatMode::kOff) {
    if (chat != nullptr) {
      po.chat = &chat->chat_template;
      po.special_tokens = chat->special_tokens;
    } else if (in.chat == ChatMode::kOn) {
      return NotFound(
          fmt::format("{}: {} given but the model has no chat template", where, names.chat_on));
    }
  }
  ASSIGN_OR_RETURN(PipelinePrompt built, BuildPipelinePrompt(tok, po));
  if (built.truncated) {
    Log(LogLevel::kWarning, "context truncated to {} {} tokens", names.max_context_length,
        in.max_context_length);
  }
  return PromptIds{std::move(built.context), std::move(built.questions), built.query_tokens,
                   std::move(built.replay)};
}

}  // namespace

StatusOr<PromptIds> BuildPromptIds(const Tokenizer* tok, const ModelChatTemplate* chat,
                                   const std::string& where, const PromptInput& in,
                                   const PromptArgNames& names) {
  if (in.ids) return PromptIds{*in.ids, {}, 0, std::nullopt};
  if (tok == nullptr) return FailedPrecondition(where + ": a text prompt needs a tokenizer");
  if (in.pipeline) return BuildPipelineIds(*tok, chat, where, in, names);
  PromptIds p;
  ASSIGN_OR_RETURN(p.context, tok->Encode(in.text, in.add_bos));
  if (in.max_context_length > 0 && static_cast<int>(p.context.size()) > in.max_context_length) {
    Log(LogLevel::kWarning, "prompt truncated to {} {} tokens", names.max_context_length,
        in.max_context_length);
    p.context.resize(static_cast<size_t>(in.max_context_length));
  }
  return p;
}

Status CheckPromptFits(const Model& model, const PromptIds& p, const PromptArgNames& names) {
  const ModelConfig& c = model.config;
  for (int32_t id : p.context) {
    if (id < 0 || id >= c.vocab_size) {
      return InvalidArgument(fmt::format("{}: id {} is outside the vocabulary [0, {})",
                                         names.prompt_ids, id, c.vocab_size));
    }
  }
  if (p.context.empty()) {
    return InvalidArgument(
        fmt::format("{}: empty prompt and the model has no BOS token", names.prompt));
  }
  size_t longest_question = 0;
  for (const auto& q : p.questions) longest_question = std::max(longest_question, q.size());
  const int64_t prompt_tokens = static_cast<int64_t>(p.context.size() + longest_question);
  if (c.max_position > 0 && prompt_tokens > c.max_position) {
    return FailedPrecondition(fmt::format(
        "the prompt has {} tokens but {} was trained on {} positions; pass {} (N <= {}) to keep "
        "the first N context tokens",
        prompt_tokens, model.path, c.max_position, names.max_context_setting,
        std::max<int64_t>(1, c.max_position - static_cast<int64_t>(longest_question))));
  }
  return Status::Ok();
}

std::string DecodeAfter(const Tokenizer* tok, const std::vector<int32_t>& before,
                        const std::vector<int32_t>& generated) {
  if (tok == nullptr) return std::string();
  std::vector<int32_t> all = before;
  all.insert(all.end(), generated.begin(), generated.end());
  const std::string full = tok->Decode(all);
  const std::string head = tok->Decode(before);
  return full.substr(std::min(head.size(), full.size()));
}

}  // namespace kvpress
