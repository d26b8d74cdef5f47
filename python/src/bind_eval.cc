// The reasoning harness from Python: a run's settings (RunConfig, from a dict of the CLI's eval
// flags in snake_case), datasets, one eval run, and the cells of a sweep.
#include <mutex>
#include <optional>

#include <fmt/format.h>
#include <pybind11/stl.h>

#include "bindings.h"
#include "cancellable.h"
#include "eval/runner.h"
#include "eval/sources.h"
#include "eval/sweep_plan.h"
#include "py_model.h"
#include "status_error.h"
#include "tools/default_model.h"

namespace kvpress::py {
namespace {

namespace pyb = pybind11;

// The settings keys, as kvpress_cpp.eval() takes them (the CLI's flags without dashes; data_dir is
// the fork's name for the Hugging Face config, as --data-dir).
const std::vector<std::string>& SettingKeys() {
  static const std::vector<std::string> keys = {
      "dataset",    "data_file",          "data_dir",      "data_split",  "model",       "press",
      "cache_budget", "fraction",         "num_samples",   "seed",        "max_new_tokens",
      "max_context_length", "prefill_chunk", "do_sampling", "output_dir", "resume",      "latency",
      "protocol",   "scoring",            "batch_size",    "threads",     "kv_dtype"};
  return keys;
}

template <typename T>
T Get(const pyb::handle& value, const std::string& key, const char* type) {
  try {
    return value.cast<T>();
  } catch (const pyb::cast_error&) {
    throw StatusError(InvalidArgument(fmt::format("{}: expected {}, got {}", key, type,
                                                  pyb::str(pyb::type::handle_of(value).attr("__name__"))
                                                      .cast<std::string>())));
  }
}

// Applies `settings` (key -> value) to `c`; unknown keys and ill-typed values are InvalidArgument.
void ApplySettings(eval::RunConfig& c, const pyb::dict& settings) {
  for (const auto& [k, v] : settings) {
    const std::string key = pyb::str(k);
    if (key == "dataset") c.dataset = Get<std::string>(v, key, "str");
    else if (key == "data_file") c.data_file = Get<std::string>(v, key, "str");
    else if (key == "data_dir") c.data_config = Get<std::string>(v, key, "str");
    else if (key == "data_split") c.data_split = Get<std::string>(v, key, "str");
    else if (key == "model") c.model_name = Get<std::string>(v, key, "str");
    else if (key == "press") c.press = Get<std::string>(v, key, "str");
    else if (key == "cache_budget") c.cache_budget = Get<int>(v, key, "int");
    else if (key == "fraction") c.fraction = Get<double>(v, key, "float");
    else if (key == "num_samples") c.num_samples = Get<int>(v, key, "int");
    else if (key == "seed") c.seed = Get<uint64_t>(v, key, "int >= 0");
    else if (key == "max_new_tokens") c.max_new_tokens = Get<int>(v, key, "int");
    else if (key == "max_context_length") c.max_context_length = Get<int>(v, key, "int");
    else if (key == "prefill_chunk") c.prefill_chunk = Get<int>(v, key, "int");
    else if (key == "do_sampling") c.do_sampling = Get<bool>(v, key, "bool");
    else if (key == "output_dir") c.output_dir = Get<std::string>(v, key, "str");
    else if (key == "resume") c.resume = Get<bool>(v, key, "bool");
    else if (key == "latency") c.latency = Get<bool>(v, key, "bool");
    else if (key == "protocol") c.protocol = ValueOrThrow(eval::ParseProtocol(Get<std::string>(v, key, "str")));
    else if (key == "scoring") c.scoring = ValueOrThrow(eval::ParseScoringMode(Get<std::string>(v, key, "str")));
    else if (key == "batch_size") c.batch_size = Get<int>(v, key, "int");
    else if (key == "threads") c.threads = Get<int>(v, key, "int");
    else if (key == "kv_dtype") c.kv_dtype = Get<std::string>(v, key, "str");
    else {
      std::string valid;
      for (const std::string& s : SettingKeys()) valid += (valid.empty() ? "" : ", ") + s;
      throw StatusError(InvalidArgument(fmt::format("unknown eval setting '{}' (valid: {})", key, valid)));
    }
  }
}

pyb::dict ConfigToDict(const eval::RunConfig& c) {
  pyb::dict d;
  d["dataset"] = c.dataset;
  d["data_file"] = c.data_file;
  d["data_dir"] = c.data_config;
  d["data_split"] = c.data_split;
  d["model"] = c.model_name;
  d["press"] = c.press;
  d["cache_budget"] = c.EffectiveBudget();
  d["fraction"] = c.fraction;
  d["num_samples"] = c.num_samples;
  d["seed"] = c.seed;
  d["max_new_tokens"] = c.max_new_tokens;
  d["max_context_length"] = c.max_context_length;
  d["prefill_chunk"] = c.prefill_chunk;
  d["do_sampling"] = c.do_sampling;
  d["output_dir"] = c.output_dir;
  d["resume"] = c.resume;
  d["protocol"] = eval::ProtocolName(c.protocol);
  d["scoring"] = eval::ScoringModeName(c.EffectiveScoring());
  d["batch_size"] = c.batch_size;
  d["threads"] = c.threads;
  d["kv_dtype"] = c.kv_dtype;
  return d;
}

eval::RunConfig MakeRunConfig(const pyb::dict& settings) {
  eval::RunConfig c;
  ApplySettings(c, settings);
  if (c.model_name.empty()) c.model_name = cli::BundledModelLabel();
  return c;
}

pyb::dict RunEvalBinding(const eval::RunConfig& config, const eval::Dataset& dataset,
                         const std::shared_ptr<PyModel>& model, const pyb::object& progress) {
  const eval::EvalModel view = ValueOrThrow(model->EvalView());
  ThrowIfError(eval::ValidateRunConfig(config));
  std::mutex mu;
  std::optional<eval::EvalProgress> latest;  // newest progress not yet handed to `progress`
  std::optional<StatusOr<eval::EvalOutcome>> outcome;
  RunReleasingGil(
      [&](const std::atomic<bool>& cancel) {
        outcome = eval::RunEval(config, dataset, view, [&](const eval::EvalProgress& p) {
          std::lock_guard<std::mutex> lock(mu);
          latest = p;
        }, &cancel);
      },
      [&] {
        std::optional<eval::EvalProgress> p;
        {
          std::lock_guard<std::mutex> lock(mu);
          p.swap(latest);
        }
        if (p && !progress.is_none()) {
          pyb::dict d;
          d["done"] = p->done;
          d["total"] = p->total;
          d["correct"] = p->correct;
          d["tokens_per_second"] = p->tokens_per_second;
          d["output_tokens"] = p->output_tokens;
          progress(d);
        }
      });
  eval::EvalOutcome o = ValueOrThrow(std::move(*outcome));
  pyb::dict d;
  d["result_path"] = o.result_path;
  d["score_path"] = o.score_path;
  d["lock_path"] = o.lock_path;
  d["summary"] = o.summary.is_null() ? pyb::object(pyb::none()) : ToPython(o.summary);
  d["reused"] = o.reused;
  d["generated"] = o.generated;
  d["already_finished"] = o.already_finished;
  d["cancelled"] = o.cancelled;
  d["busy"] = o.busy;
  return d;
}

// The cells of a sweep, as `kvpress sweep` plans them: `settings` (defaults for every cell and
// overriding the config file's), the grid axes (empty = the file's / the bundled model), and
// `data_files` (KEY=PATH, or PATH with one dataset). Every cell is validated; then shard I of N.
std::vector<std::pair<size_t, eval::RunConfig>> ExpandSweepBinding(
    const pyb::dict& settings, const std::vector<std::string>& models, const std::vector<std::string>& datasets,
    const std::vector<std::string>& presses, const std::vector<int>& budgets,
    const std::vector<std::string>& data_files, const std::string& config_file, const std::string& shard) {
  eval::SweepPlan plan;
  ApplySettings(plan.base, settings);
  if (!config_file.empty()) {
    ThrowIfError(eval::LoadSweepFile(config_file, plan));
    ApplySettings(plan.base, settings);  // explicit settings override the file's
  }
  if (!models.empty()) plan.models = models;
  if (!presses.empty()) plan.presses = presses;
  if (!budgets.empty()) plan.budgets = budgets;
  if (!datasets.empty()) {
    plan.datasets.clear();
    for (const std::string& d : datasets) plan.datasets.push_back(eval::ParseSweepDataset(d));
  }
  if (plan.models.empty()) plan.models.push_back(cli::BundledModelLabel());
  for (const std::string& df : data_files) {
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
    if (!matched) {
      throw StatusError(InvalidArgument("data_files " + df + ": use KEY=PATH naming one of the sweep's datasets"));
    }
  }
  const std::vector<eval::SweepCell> cells = ValueOrThrow(eval::ExpandSweep(plan));
  for (const eval::SweepCell& c : cells) {
    const Status valid = eval::ValidateRunConfig(c.config);
    if (!valid.ok()) throw StatusError(Status(valid.code(), fmt::format("cell {}: {}", c.index, valid.message())));
  }
  const auto [i, n] = ValueOrThrow(eval::ParseShard(shard));
  std::vector<std::pair<size_t, eval::RunConfig>> out;
  for (const eval::SweepCell& c : eval::ShardCells(cells, i, n)) out.emplace_back(c.index, c.config);
  return out;
}

}  // namespace

void BindEval(pyb::module_& m) {
  pyb::class_<eval::RunConfig>(m, "RunConfig", "The settings of one eval run")
      .def(pyb::init(&MakeRunConfig), pyb::arg("settings"))
      .def("to_dict", &ConfigToDict)
      .def_property_readonly("stem", &eval::ResultStem)
      .def_property_readonly("model", [](const eval::RunConfig& c) { return c.model_name; })
      .def_property_readonly("dataset", [](const eval::RunConfig& c) { return c.dataset; })
      .def_property_readonly("data_file", [](const eval::RunConfig& c) { return c.data_file; })
      .def_property_readonly("data_dir", [](const eval::RunConfig& c) { return c.data_config; })
      .def_property_readonly("data_split", [](const eval::RunConfig& c) { return c.data_split; })
      .def("validate", [](const eval::RunConfig& c) { ThrowIfError(eval::ValidateRunConfig(c)); });
  m.def("eval_setting_keys", &SettingKeys);

  pyb::class_<eval::Dataset>(m, "Dataset", "The samples of one eval dataset")
      .def_static(
          "load",
          [](const std::string& key, const std::string& data_file, const std::string& config, const std::string& split) {
            std::optional<StatusOr<eval::Dataset>> d;
            RunReleasingGil([&](const std::atomic<bool>&) { d = eval::LoadEvalDataset(key, data_file, config, split); });
            return ValueOrThrow(std::move(*d));
          },
          pyb::arg("key"), pyb::arg("data_file") = "", pyb::arg("config") = "", pyb::arg("split") = "")
      .def("__len__", [](const eval::Dataset& d) { return d.samples.size(); })
      .def_property_readonly("rows_read", [](const eval::Dataset& d) { return d.rows_read; })
      .def_property_readonly("skipped", [](const eval::Dataset& d) { return d.skipped; });

  m.def("run_eval", &RunEvalBinding, pyb::arg("config"), pyb::arg("dataset"), pyb::arg("model"),
        pyb::arg("progress") = pyb::none(),
        "Runs one eval with the GIL released (Ctrl-C keeps the rows so far); returns the outcome");
  m.def("expand_sweep", &ExpandSweepBinding, pyb::arg("settings"), pyb::arg("models"), pyb::arg("datasets"),
        pyb::arg("presses"), pyb::arg("budgets"), pyb::arg("data_files"), pyb::arg("config_file"),
        pyb::arg("shard") = "1/1");
}

}  // namespace kvpress::py
