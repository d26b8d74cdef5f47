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
  return eval::EvalModel{model.get(), tok, chat ? &*chat : nullptr, special_tokens};
}

StatusOr<std::shared_ptr<PyModel>> LoadPyModel(const std::string& path_or_id, const std::string& tokenizer_path,
                                               bool check_weights) {
  auto m = std::make_shared<PyModel>();
  m->name = path_or_id.empty() ? cli::BundledModelLabel() : path_or_id;
  m->tokenizer_path = tokenizer_path;
  ASSIGN_OR_RETURN(const std::string path, cli::ResolveModelArg(path_or_id));
  ASSIGN_OR_RETURN(m->model, LoadModel(path, LoadOptions{check_weights}));
  auto tok = LoadTokenizerFor(*m->model, tokenizer_path);
  if (tok.ok()) {
    m->tokenizer = std::move(tok).value();
  } else if (!tokenizer_path.empty()) {
    return tok.status();
  } else {
    m->tokenizer_status = tok.status();
  }
  auto cfg = LoadChatTemplateConfigFor(*m->model, tokenizer_path);
  if (cfg.ok() && !cfg->templates.empty()) {
    auto t = ChatTemplate::FromConfig(*cfg, "", false);
    if (t.ok()) {
      m->chat = std::move(t).value();
      m->special_tokens = cfg->special_tokens;
    } else {
      m->chat_status = t.status();
    }
  }
  return m;
}

}  // namespace kvpress::py
