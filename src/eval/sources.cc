#include "eval/sources.h"

#include "core/log.h"
#include "eval/hf_rows.h"
#include "eval/synthetic_dataset.h"
#include "generate/model_tokenizer.h"

namespace kvpress::eval {

StatusOr<std::unique_ptr<LoadedEvalModel>> LoadEvalModel(const std::string& model_path,
                                                          const std::string& tokenizer_path,
                                                          const LoadOptions& options) {
  auto m = std::make_unique<LoadedEvalModel>();
  ASSIGN_OR_RETURN(m->model, LoadModel(model_path, options));
  ASSIGN_OR_RETURN(m->tokenizer, LoadTokenizerFor(*m->model, tokenizer_path));
  ASSIGN_OR_RETURN(std::optional<ModelChatTemplate> chat,
                   LoadChatTemplateFor(*m->model, tokenizer_path));
  if (chat) {
    m->chat = std::move(chat->chat_template);
    m->special_tokens = std::move(chat->special_tokens);
  }
  return m;
}

StatusOr<Dataset> LoadEvalDataset(const std::string& key, const std::string& data_file, const std::string& config,
                                  const std::string& split) {
  StatusOr<DatasetSpec> found = FindDataset(key);
  if (!found.ok()) return NotFound(found.status().message());  // a bad name is bad input (exit 2)
  DatasetSpec spec = std::move(found).value();
  if (!config.empty()) spec.hf_config = config;
  if (!split.empty()) spec.hf_split = split;
  Dataset d;
  if (!data_file.empty()) {
    ASSIGN_OR_RETURN(d, LoadDatasetFile(spec, data_file));
  } else {
    if (spec.hf_id.empty()) return InvalidArgument("--dataset " + key + " has no Hugging Face id: pass --data-file");
    ASSIGN_OR_RETURN(d, LoadDatasetFromHub(spec, HfRowsOptionsFromEnvironment()));
  }
  if (d.samples.empty()) {
    return InvalidArgument(fmt::format("dataset {}: no usable row ({} read, {} skipped)", key, d.rows_read, d.skipped));
  }
  if (d.skipped > 0) Log(LogLevel::kWarning, "dataset {}: {} of {} rows skipped", key, d.skipped, d.rows_read);
  return d;
}

StatusOr<Dataset> LoadRunDataset(const RunConfig& c, const LoadedEvalModel& m) {
  if (IsSyntheticRun(c)) return GenerateSyntheticDataset(c, *m.tokenizer);
  return LoadEvalDataset(c.dataset, c.data_file, c.data_config, c.data_split);
}

}  // namespace kvpress::eval
