#include "py_model.h"

#include "generate/model_tokenizer.h"
#include "tools/default_model.h"

namespace kvpress::py {

StatusOr<const Tokenizer*> PyModel::RequireTokenizer() const {
  if (tokenizer == nullptr) return tokenizer_status;
  return tokenizer.get();
}

StatusOr<eval::EvalModel> PyModel::EvalView() const {
  ASSIGN_OR_RETURN(const Tokenizer* tok, RequireTokenizer());
  RETURN_IF_ERROR(chat_status);
  if (!chat) return eval::EvalModel{model.get(), tok, nullptr, {}};
  return eval::EvalModel{model.get(), tok, &chat->chat_template, chat->special_tokens};
}

StatusOr<std::shared_ptr<PyModel>> LoadPyModel(const std::string& path_or_id,
                                               const std::string& tokenizer_path,
                                               bool check_weights, bool mmap) {
  auto m = std::make_shared<PyModel>();
  m->name = path_or_id.empty() ? cli::BundledModelLabel() : path_or_id;
  m->tokenizer_path = tokenizer_path;
  ASSIGN_OR_RETURN(const std::string path, cli::ResolveModelArg(path_or_id));
  ASSIGN_OR_RETURN(
      m->model, LoadModel(path, LoadOptions{.check_weights = check_weights, .huge_pages = !mmap}));
  auto tok = LoadTokenizerFor(*m->model, tokenizer_path);
  if (tok.ok()) {
    m->tokenizer = std::move(tok).value();
  } else if (!tokenizer_path.empty()) {
    return tok.status();
  } else {
    m->tokenizer_status = tok.status();
  }
  auto chat = LoadChatTemplateFor(*m->model, tokenizer_path);
  if (chat.ok()) {
    m->chat = std::move(chat).value();
  } else {
    m->chat_status = chat.status();
  }
  return m;
}

}  // namespace kvpress::py
