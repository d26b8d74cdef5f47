// kvpress eval: one (dataset, model, press, budget) run of the reasoning harness (reference §5):
// per-sample JSONL appended as samples finish, `<stem>_score.json` at the end; --resume continues a
// killed run; --rescore re-extracts and re-scores an existing result file without generating.
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "core/json_parse.h"
#include "core/log.h"
#include "eval/runner.h"
#include "eval/score_summary.h"
#include "eval/sources.h"
#include "tools/cli_common.h"
#include "tools/commands.h"
#include "tools/default_model.h"
#include "tools/eval_flags.h"

namespace kvpress::cli {
namespace {

struct EvalFlags {
  EvalRunFlags run;
  std::string rescore;
};

// The dataset of a result file: --dataset when given, else the score file's "dataset".
StatusOr<eval::DatasetKind> RescoreDataset(const std::string& flag, const std::string& result_path) {
  std::string key = flag;
  if (key.empty()) {
    const std::string score_path = eval::ScorePathFor(result_path);
    auto text = ReadFileToString(score_path);
    if (!text.ok()) return InvalidArgument("--rescore: pass --dataset (no " + score_path + " to read it from)");
    auto j = ParseJson(*text, score_path);
    if (!j.ok() || !j->is_object() || !j->contains("dataset") || !(*j)["dataset"].is_string()) {
      return InvalidArgument("--rescore: pass --dataset (" + score_path + " names none)");
    }
    key = (*j)["dataset"].get<std::string>();
  }
  ASSIGN_OR_RETURN(eval::DatasetSpec spec, eval::FindDataset(key));
  return spec.kind;
}

int RunRescore(const EvalFlags& f) {
  if (!FileExists(f.rescore)) return ReportError("eval", NotFound("--rescore " + f.rescore + ": no such result file"));
  auto kind = RescoreDataset(f.run.config.dataset, f.rescore);
  if (!kind.ok()) return ReportError("eval", kind.status());
  auto protocol = eval::ParseProtocol(f.run.protocol);
  if (!protocol.ok()) return ReportError("eval", protocol.status());
  eval::RunConfig c = f.run.config;
  c.protocol = *protocol;
  if (!f.run.scoring.empty()) {
    auto mode = eval::ParseScoringMode(f.run.scoring);
    if (!mode.ok()) return ReportError("eval", mode.status());
    c.scoring = *mode;
  }
  auto summary = eval::RescoreResultFile(f.rescore, *kind, c.EffectiveScoring());
  if (!summary.ok()) return ReportError("eval", summary.status());
  std::printf("%s\n", summary->dump(2).c_str());
  return kExitOk;
}

int RunEvalCommand(const EvalFlags& f) {
  if (!f.rescore.empty()) return RunRescore(f);
  if (f.run.config.dataset.empty()) return ReportError("eval", InvalidArgument("--dataset is required (or --rescore FILE)"));
  auto config = f.run.Resolve();
  if (!config.ok()) return ReportError("eval", config.status());
  // A read dataset is checked before the model loads; a generated one needs the model's tokenizer.
  StatusOr<eval::Dataset> dataset = InvalidArgument("no dataset");
  if (!eval::IsSyntheticRun(*config)) {
    dataset = eval::LoadEvalDataset(config->dataset, config->data_file, config->data_config, config->data_split);
    if (!dataset.ok()) return ReportError("eval", dataset.status());
  }
  auto model_path = ResolveModelArg(config->model_name);
  if (!model_path.ok()) return ReportError("eval", model_path.status());
  auto model = eval::LoadEvalModel(*model_path, f.run.tokenizer, LoadOptions{.check_weights = !f.run.no_check, .huge_pages = !f.run.mmap});
  if (!model.ok()) return ReportError("eval", model.status());
  if (eval::IsSyntheticRun(*config)) {
    dataset = eval::LoadRunDataset(*config, **model);
    if (!dataset.ok()) return ReportError("eval", dataset.status());
  }

  const std::atomic<bool>& cancel = CancelOnSignals(/*sigterm=*/true);
  EvalProgressBar bar(isatty(STDERR_FILENO) != 0,
                      fmt::format("{} {} {}", config->dataset, config->PressName(),
                                  config->RatioMode() ? fmt::format("r{:.2f}", config->compression_ratio)
                                                      : fmt::format("b{}", config->EffectiveBudget())));
  auto outcome = eval::RunEval(*config, *dataset, (*model)->View(),
                               [&bar](const eval::EvalProgress& p) { bar.Update(p); }, &cancel);
  bar.Finish();
  if (!outcome.ok()) return ReportError("eval", outcome.status());
  if (outcome->busy) {
    return ReportError("eval", FailedPrecondition("another kvpress process is running this eval (it holds " +
                                                  outcome->lock_path + ")"));
  }
  if (outcome->already_finished) {
    Log(LogLevel::kInfo, "{} exists: run already finished (delete it to rerun)", outcome->score_path);
  } else if (outcome->cancelled) {
    Log(LogLevel::kWarning, "interrupted: {} rows kept in {}; rerun with --resume to finish",
        outcome->reused + outcome->generated, outcome->result_path);
    return kExitCancelled;
  }
  PrintScoreLine(outcome->summary, outcome->result_path);
  return kExitOk;
}

}  // namespace

void RegisterEval(CLI::App& app, RunFn& run) {
  auto f = std::make_shared<EvalFlags>();
  CLI::App* cmd = app.add_subcommand("eval", "Run the reasoning harness: one dataset x model x press x budget");
  AddEvalRunFlags(cmd, f->run, /*sweep=*/false);
  cmd->add_option("--rescore", f->rescore,
                  "Re-extract and re-score an existing result FILE (.jsonl) with --scoring/--protocol; no generation");
  cmd->callback([f, &run] { run = [f] { return RunEvalCommand(*f); }; });
}

}  // namespace kvpress::cli
