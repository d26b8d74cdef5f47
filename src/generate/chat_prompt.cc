#include "generate/chat_prompt.h"

namespace kvpress {

StatusOr<ContextReplayPrompts> ContextReplayPromptsFor(
    const Tokenizer& tok, const ChatTemplate* chat,
    const std::map<std::string, std::string>& special_tokens) {
  ContextReplayPrompts r;
  EncodeOptions raw;
  std::string prefix, suffix = "\n";
  if (chat != nullptr) {
    const std::string dummy = "dummy context";
    std::string sep(dummy.size() + 1, '#');
    sep[0] = '\n';
    ChatRequest req;
    req.messages = nlohmann::ordered_json::array({{{"role", "user"}, {"content", dummy + sep}}});
    req.add_generation_prompt = true;
    req.enable_thinking = false;
    req.special_tokens = special_tokens;
    ASSIGN_OR_RETURN(std::string rendered, chat->Apply(req));
    const size_t at = rendered.find(sep);
    const size_t d = rendered.find(dummy);
    if (at == std::string::npos || d == std::string::npos) {
      return FailedPrecondition("chat template dropped the user message");
    }
    prefix = rendered.substr(0, d);
    suffix = rendered.substr(at + sep.size());
  }
  ASSIGN_OR_RETURN(std::vector<int32_t> prefix_ids, tok.EncodeWith(prefix, raw));
  r.prefix_length = static_cast<int>(prefix_ids.size());
  ASSIGN_OR_RETURN(r.suffix, tok.EncodeWith(suffix, raw));
  ASSIGN_OR_RETURN(r.repeat_first, tok.EncodeWith("\n\nRepeat the previous context exactly.", raw));
  ASSIGN_OR_RETURN(
      r.repeat_next,
      tok.EncodeWith("\n\nRepeat the part of the previous context exactly, starting with", raw));
  return r;
}

StatusOr<PipelinePrompt> BuildPipelinePrompt(const Tokenizer& tok, const PipelinePromptOptions& o) {
  PipelinePrompt p;
  if (auto replay = ContextReplayPromptsFor(tok, o.chat, o.special_tokens); replay.ok()) {
    p.replay = std::move(replay).value();
  }
  std::string context_text = o.context;
  std::string suffix = "\n";
  EncodeOptions raw;  // templated text already holds its special tokens
  if (o.chat != nullptr) {
    // A separator that cannot occur in the context (upstream: len(context)+10 '#').
    std::string sep(o.context.size() + 10, '#');
    ChatRequest req;
    req.messages = nlohmann::ordered_json::array({{{"role", "user"}, {"content", o.context + sep}}});
    req.add_generation_prompt = true;
    req.enable_thinking = o.enable_thinking;
    req.special_tokens = o.special_tokens;
    ASSIGN_OR_RETURN(std::string rendered, o.chat->Apply(req));
    const size_t at = rendered.find(sep);
    if (at == std::string::npos) return FailedPrecondition("chat template dropped the user message");
    context_text = rendered.substr(0, at);
    suffix = rendered.substr(at + sep.size());
    p.used_chat_template = true;
    ASSIGN_OR_RETURN(p.context, tok.EncodeWith(context_text, raw));
  } else {
    ASSIGN_OR_RETURN(p.context, tok.Encode(context_text, /*add_special=*/true));
  }
  if (o.max_context_length > 0 && static_cast<int>(p.context.size()) > o.max_context_length) {
    p.context.resize(static_cast<size_t>(o.max_context_length));
    p.truncated = true;
  }
  if (!o.query.empty()) {
    ASSIGN_OR_RETURN(std::vector<int32_t> query, tok.EncodeWith(o.query, raw));
    p.query_tokens = static_cast<int>(query.size());
    p.context.insert(p.context.end(), query.begin(), query.end());
  }
  std::vector<std::string> qs = o.questions;
  if (qs.empty()) qs.emplace_back();
  for (const std::string& q : qs) {
    ASSIGN_OR_RETURN(std::vector<int32_t> ids, tok.EncodeWith(q + suffix + o.answer_prefix, raw));
    p.questions.push_back(std::move(ids));
  }
  return p;
}

}  // namespace kvpress
