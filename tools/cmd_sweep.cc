// kvpress sweep: the grid models x datasets x presses x budgets of eval runs, from flags or a
// YAML/JSON file. Cells whose score file exists are skipped, unfinished ones resume, so a killed
// sweep reruns with nothing lost or duplicated; --shard I/N takes every N-th cell (Slurm arrays).
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>

#include "core/log.h"
#include "core/timer.h"
#include "eval/runner.h"
#include "eval/sources.h"
#include "eval/sweep_plan.h"
#include "tools/cli_common.h"
#include "tools/commands.h"
#include "tools/default_model.h"
#include "tools/eval_flags.h"

namespace kvpress::cli {
namespace {

struct SweepFlags {
  EvalRunFlags run;
  std::string config_file;
  std::vector<std::string> models, datasets, presses;
  std::vector<int> budgets;
  std::vector<double> ratios;
  std::vector<std::string> data_files;  // KEY=PATH, or PATH when there is one dataset
  std::string shard = "1/1";
  bool dry_run = false;
  CLI::App* cmd = nullptr;
};

// The plan: the file's grid and settings (when --config), then every flag given on the command line.
StatusOr<eval::SweepPlan> BuildPlan(const SweepFlags& f) {
  ASSIGN_OR_RETURN(const eval::RunConfig flags, f.run.ResolveSettings());
  eval::SweepPlan plan;
  plan.base = flags;
  if (!f.config_file.empty()) RETURN_IF_ERROR(eval::LoadSweepFile(f.config_file, plan));
  // Flags given explicitly override the file's settings.
  eval::RunConfig& b = plan.base;
  auto given = [&](const char* name) { return f.cmd->count(name) > 0; };
  if (given("--num-samples")) b.num_samples = flags.num_samples;
  if (given("--fraction")) b.fraction = flags.fraction;
  if (given("--seed")) b.seed = flags.seed;
  if (given("--max-new-tokens")) b.max_new_tokens = flags.max_new_tokens;
  if (given("--max-context-length")) b.max_context_length = flags.max_context_length;
  if (given("--prefill-chunk")) b.prefill_chunk = flags.prefill_chunk;
  if (given("--do-sampling")) b.do_sampling = flags.do_sampling;
  if (given("--output-dir")) b.output_dir = flags.output_dir;
  if (given("--protocol")) b.protocol = flags.protocol;
  if (given("--scoring")) b.scoring = flags.scoring;
  if (given("--batch-size")) b.batch_size = flags.batch_size;
  if (given("--threads")) b.threads = flags.threads;
  if (given("--kv-dtype")) b.kv_dtype = flags.kv_dtype;
  if (given("--data-dir")) b.data_config = flags.data_config;
  if (given("--data-split")) b.data_split = flags.data_split;
  if (!f.models.empty()) plan.models = f.models;
  if (!f.presses.empty()) plan.presses = f.presses;
  if (!f.budgets.empty()) plan.budgets = f.budgets;
  if (!f.ratios.empty()) plan.compression_ratios = f.ratios;
  if (given("--query-aware")) b.query_aware = flags.query_aware;
  if (given("--context-length")) b.context_length = flags.context_length;
  if (given("--task")) b.tasks = flags.tasks;
  if (given("--lengths")) b.niah_lengths = flags.niah_lengths;
  if (given("--depths")) b.niah_depths = flags.niah_depths;
  if (given("--haystack-file")) b.haystack_file = flags.haystack_file;
  if (!f.datasets.empty()) {
    plan.datasets.clear();
    for (const std::string& d : f.datasets) plan.datasets.push_back(eval::ParseSweepDataset(d));
  }
  if (plan.models.empty()) plan.models.push_back(BundledModelLabel());  // loaded through ResolveModelArg
  for (const std::string& df : f.data_files) {
    const eval::SweepDataset parsed = eval::ParseSweepDataset(df);
    bool matched = false;
    for (eval::SweepDataset& d : plan.datasets) {
      if (!parsed.data_file.empty() && d.key == parsed.key) {
        d.data_file = parsed.data_file;
        matched = true;
      } else if (parsed.data_file.empty() && plan.datasets.size() == 1) {
        d.data_file = df;
        matched = true;
      }
    }
    if (!matched) return InvalidArgument("--data-file " + df + ": use KEY=PATH naming one of the sweep's datasets");
  }
  return plan;
}

int RunSweep(const SweepFlags& f) {
  auto plan = BuildPlan(f);
  if (!plan.ok()) return ReportError("sweep", plan.status());
  auto cells = eval::ExpandSweep(*plan);
  if (!cells.ok()) return ReportError("sweep", cells.status());
  auto shard = eval::ParseShard(f.shard);
  if (!shard.ok()) return ReportError("sweep", shard.status());
  for (const eval::SweepCell& c : *cells) {
    const Status valid = eval::ValidateRunConfig(c.config);
    if (!valid.ok()) return ReportError("sweep", Status(valid.code(), fmt::format("cell {}: {}", c.index, valid.message())));
  }
  const std::vector<eval::SweepCell> mine = eval::ShardCells(*cells, shard->first, shard->second);
  Log(LogLevel::kInfo, "sweep: {} cells in all, {} in shard {}/{}", cells->size(), mine.size(), shard->first, shard->second);
  if (f.dry_run) {
    for (const eval::SweepCell& c : mine) {
      std::printf("%zu\t%s\n", c.index, eval::ResultStem(c.config).c_str());
    }
    return kExitOk;
  }
  const std::atomic<bool>& cancel = CancelOnSignals(/*sigterm=*/true);
  const bool tty = isatty(STDERR_FILENO) != 0;
  std::map<std::string, std::unique_ptr<eval::LoadedEvalModel>> models;
  std::map<std::string, eval::Dataset> datasets;
  int failed = 0, finished = 0, skipped = 0, busy = 0;
  const double start = NowSeconds();
  for (size_t i = 0; i < mine.size() && !cancel; ++i) {
    const eval::RunConfig& c = mine[i].config;
    const std::string label =
        fmt::format("[cell {}/{}] {} {} {}", i + 1, mine.size(), c.dataset, c.press,
                    c.RatioMode() ? fmt::format("r{:.2f}", c.compression_ratio) : fmt::format("b{}", c.EffectiveBudget()));
    const double elapsed = NowSeconds() - start;
    // Cells done so far, as a bar over the shard, with a naive ETA (cells differ in cost).
    constexpr size_t kWidth = 20;
    const size_t filled = kWidth * i / std::max<size_t>(1, mine.size());
    const std::string eta = i > 0 ? fmt::format(", eta {:.0f}s", elapsed / static_cast<double>(i) *
                                                                    static_cast<double>(mine.size() - i))
                                  : "";
    std::fprintf(stderr, "[%s%s] %s (%.0fs elapsed%s)\n", std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, '.').c_str(), label.c_str(), elapsed, eta.c_str());
    auto& model = models[c.model_name];
    if (!model) {
      auto path = ResolveModelArg(c.model_name);
      if (!path.ok()) return ReportError("sweep", path.status());
      auto loaded = eval::LoadEvalModel(*path, f.run.tokenizer, LoadOptions{.check_weights = !f.run.no_check, .huge_pages = !f.run.mmap});
      if (!loaded.ok()) return ReportError("sweep", loaded.status());
      model = std::move(loaded).value();
    }
    // Generated datasets depend on the model's tokenizer: one per model.
    const std::string data_key = c.dataset + "=" + c.data_file + (eval::IsSyntheticRun(c) ? "@" + c.model_name : "");
    if (datasets.count(data_key) == 0) {
      auto d = eval::LoadRunDataset(c, *model);
      if (!d.ok()) return ReportError("sweep", d.status());
      datasets.emplace(data_key, std::move(d).value());
    }
    EvalProgressBar bar(tty, label);
    auto outcome = eval::RunEval(c, datasets.at(data_key), model->View(),
                                 [&bar](const eval::EvalProgress& p) { bar.Update(p); }, &cancel);
    bar.Finish();
    if (!outcome.ok()) {
      ++failed;
      Log(LogLevel::kError, "{}: {}", label, outcome.status().ToString());
      continue;
    }
    if (outcome->busy) {
      ++busy;
      std::fprintf(stderr, "%s is being run by another process: skipped\n", label.c_str());
    } else if (outcome->already_finished) {
      ++skipped;
      std::fprintf(stderr, "%s already finished: %s\n", label.c_str(), outcome->score_path.c_str());
    } else if (!outcome->cancelled) {
      ++finished;
      std::fprintf(stderr, "%s accuracy %.3f over %lld samples\n", label.c_str(), outcome->summary.value("accuracy", 0.0),
                   static_cast<long long>(outcome->summary.value("num_samples", int64_t{0})));
    }
  }
  std::fprintf(stderr, "sweep shard %d/%d: %d cells run, %d already finished, %d busy elsewhere, %d failed%s (%.0fs)\n",
               shard->first, shard->second, finished, skipped, busy, failed, cancel ? ", interrupted" : "",
               NowSeconds() - start);
  if (cancel) return kExitCancelled;
  return failed > 0 ? kExitBadInput : kExitOk;
}

}  // namespace

void RegisterSweep(CLI::App& app, RunFn& run) {
  auto f = std::make_shared<SweepFlags>();
  CLI::App* cmd = app.add_subcommand("sweep", "Run a grid of evals (models x datasets x presses x budgets), resumable and shardable");
  f->cmd = cmd;
  AddEvalRunFlags(cmd, f->run, /*sweep=*/true);
  cmd->add_option("--config", f->config_file, "Sweep file (YAML or JSON): models, datasets, presses, budgets, settings");
  cmd->add_option("--models", f->models, "Models (comma-separated or repeated; default: the bundled model)")->delimiter(',');
  cmd->add_option("--datasets", f->datasets, "Dataset keys, or KEY=PATH for a local file")->delimiter(',');
  cmd->add_option("--presses", f->presses, "Press specs; 'full' runs once per dataset (budget 0)")->delimiter(',');
  cmd->add_option("--budgets", f->budgets, "Cache budgets (slots per KV head per layer)")->delimiter(',');
  cmd->add_option("--compression-ratios", f->ratios,
                  "Upstream ratio mode: fractions of the context removed after its prefill, one cell each")
      ->delimiter(',');
  cmd->add_option("--data-file", f->data_files, "KEY=PATH (repeatable), or PATH with a single dataset");
  cmd->add_option("--shard", f->shard, "Run shard I of N: cells with index % N == I-1 (default 1/1)");
  cmd->add_flag("--dry-run", f->dry_run, "Print the shard's cells (index and result-file stem) and exit");
  cmd->callback([f, &run] { run = [f] { return RunSweep(*f); }; });
}

}  // namespace kvpress::cli
