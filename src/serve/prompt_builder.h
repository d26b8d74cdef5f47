// Request -> prompt token ids: chat messages through the model's chat template (with the
// generation prompt), or a completion prompt encoded with BOS.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "serve/api_request.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace kvpress::serve {

class PromptBuilder {
 public:
  // `chat` may be empty (the model has no template): chat requests are then refused.
  PromptBuilder(const Tokenizer& tokenizer, std::optional<ChatTemplate> chat,
                std::map<std::string, std::string> special_tokens)
      : tokenizer_(tokenizer), chat_(std::move(chat)), special_tokens_(std::move(special_tokens)) {}

  bool has_chat_template() const { return chat_.has_value(); }

  // The prompt's ids. InvalidArgument for a chat request without a template, a template error or
  // a prompt with no tokens. Thread-safe.
  StatusOr<std::vector<int32_t>> Build(const ApiRequest& request) const;

 private:
  const Tokenizer& tokenizer_;
  std::optional<ChatTemplate> chat_;
  std::map<std::string, std::string> special_tokens_;
  mutable std::mutex mu_;  // the tokenizer and template are used by one request at a time
};

}  // namespace kvpress::serve
