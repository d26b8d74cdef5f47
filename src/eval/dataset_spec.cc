#include "eval/dataset_spec.h"

#include <algorithm>
#include <cctype>

namespace kvpress::eval {

const std::vector<DatasetSpec>& AllDatasets() {
  static const std::vector<DatasetSpec> kSpecs = {
      {DatasetKind::kGsm8k, "gsm8k", "openai/gsm8k", "main", "test", "gsm8k/test.jsonl",
       AnswerType::kNumeric},
      {DatasetKind::kMath500, "math500", "HuggingFaceH4/MATH-500", "", "test", "math500/test.jsonl",
       AnswerType::kLatex},
      {DatasetKind::kAime24, "aime24", "math-ai/aime24", "", "test", "aime2024/test.jsonl",
       AnswerType::kNumeric},
      {DatasetKind::kAime25, "aime25", "math-ai/aime25", "", "test", "aime2025/test.jsonl",
       AnswerType::kNumeric},
      {DatasetKind::kAmc23, "amc23", "math-ai/amc23", "", "test", "amc23/test.jsonl",
       AnswerType::kNumeric},
      {DatasetKind::kFolio, "folio", "yale-nlp/folio", "", "validation",
       "folio/folio-validation.jsonl", AnswerType::kTrueFalseUnc},
      {DatasetKind::kStrategyQa, "strategyqa", "ChilleD/StrategyQA", "", "test",
       "strategyqa/task.json", AnswerType::kTrueFalse},
      {DatasetKind::kDrop, "drop", "ucinlp/drop", "", "validation", "", AnswerType::kSpans},
      {DatasetKind::kReclor, "reclor", "metaeval/reclor", "", "validation", "",
       AnswerType::kChoiceNumber},
      {DatasetKind::kLogiqa, "logiqa", "lucasmccabe/logiqa", "", "test", "logiqa/logiqa-en.jsonl",
       AnswerType::kChoiceNumber},
      {DatasetKind::kCommonsenseQa, "commonsenseqa", "tau/commonsense_qa", "", "validation",
       "commonsenseqa/dev_rand_split.jsonl", AnswerType::kChoiceLetter},
      {DatasetKind::kOpenbookQa, "openbookqa", "allenai/openbookqa", "main", "test", "",
       AnswerType::kChoiceLetter},
      {DatasetKind::kLsatLr, "lsat-lr", "", "", "test", "lsat-lr/lsat-lr.jsonl",
       AnswerType::kChoiceNumber},
      {DatasetKind::kJsonl, "jsonl", "", "", "", "", AnswerType::kLatex},
      {DatasetKind::kRuler, "ruler", "simonjegou/ruler", "4096", "test", "", AnswerType::kLongContext},
      {DatasetKind::kNiah, "niah", "", "", "", "", AnswerType::kLongContext},
      {DatasetKind::kInfiniteBench, "infinitebench", "MaxJeblick/InfiniteBench", "", "test", "",
       AnswerType::kLongContext},
      {DatasetKind::kLongBench, "longbench", "Xnhyacinth/LongBench", "", "test", "", AnswerType::kLongContext},
      {DatasetKind::kLongBenchV2, "longbench-v2", "simonjegou/LongBench-v2", "", "test", "",
       AnswerType::kLongContext},
      {DatasetKind::kLoogle, "loogle", "simonjegou/loogle", "", "test", "", AnswerType::kLongContext},
      {DatasetKind::kZeroScrolls, "zero-scrolls", "simonjegou/zero_scrolls", "", "test", "",
       AnswerType::kLongContext},
  };
  return kSpecs;
}

StatusOr<DatasetSpec> FindDataset(std::string_view key) {
  std::string k(key);
  std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return std::tolower(c); });
  if (k == "aime2024") k = "aime24";
  if (k == "aime2025") k = "aime25";
  if (k == "lsat_lr" || k == "lsatlr") k = "lsat-lr";
  if (k == "zero_scrolls" || k == "zeroscrolls") k = "zero-scrolls";
  std::string known;
  for (const DatasetSpec& s : AllDatasets()) {
    if (s.key == k) return s;
    known += (known.empty() ? "" : ", ") + s.key;
  }
  return InvalidArgument("unknown dataset '" + std::string(key) + "' (known: " + known + ")");
}

const DatasetSpec& SpecFor(DatasetKind kind) {
  for (const DatasetSpec& s : AllDatasets()) {
    if (s.kind == kind) return s;
  }
  CHECK(false) << "DatasetKind without a spec";
  return AllDatasets().front();
}

bool IsLongContextDataset(DatasetKind kind) { return SpecFor(kind).answer_type == AnswerType::kLongContext; }

bool IsSyntheticDataset(DatasetKind kind) {
  return kind == DatasetKind::kRuler || kind == DatasetKind::kNiah || kind == DatasetKind::kInfiniteBench;
}

bool IsMathDataset(DatasetKind kind) {
  AnswerType t = SpecFor(kind).answer_type;
  return t == AnswerType::kNumeric || t == AnswerType::kLatex;
}

}  // namespace kvpress::eval
