#include "serve/prompt_builder.h"

namespace kvpress::serve {

StatusOr<std::vector<int32_t>> PromptBuilder::Build(const ApiRequest& r) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<int32_t> ids;
  if (r.endpoint == Endpoint::kChat) {
    if (!chat_) {
      return InvalidArgument("this model has no chat template: use /v1/completions with a plain prompt");
    }
    ChatRequest req;
    req.messages = r.messages;
    req.add_generation_prompt = true;
    req.special_tokens = special_tokens_;
    req.extra_variables = r.chat_template_kwargs;  // e.g. {"enable_thinking": false} for Qwen3
    StatusOr<std::string> text = chat_->Apply(req);
    if (!text.ok()) return InvalidArgument("messages: the chat template failed: " + text.status().message());
    ASSIGN_OR_RETURN(ids, tokenizer_.EncodeWith(*text, EncodeOptions()));
  } else {
    ASSIGN_OR_RETURN(ids, tokenizer_.Encode(r.prompt, /*add_special=*/true));
  }
  if (ids.empty()) return InvalidArgument("prompt: it has no tokens (and the model has no BOS token)");
  return ids;
}

}  // namespace kvpress::serve
