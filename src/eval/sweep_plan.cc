#include "eval/sweep_plan.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>

#include "core/file_util.h"
#include "core/threads.h"

namespace kvpress::eval {

namespace {

// yaml-cpp reports errors by exception; they are caught here and become Status.
std::vector<std::string> StringList(const YAML::Node& node) {
  std::vector<std::string> out;
  if (node.IsSequence()) {
    for (const YAML::Node& item : node) out.push_back(item.as<std::string>());
  } else {
    out.push_back(node.as<std::string>());
  }
  return out;
}

std::vector<SweepDataset> DatasetList(const YAML::Node& node) {
  std::vector<SweepDataset> out;
  auto one = [&](const YAML::Node& item) {
    if (item.IsMap()) {
      SweepDataset d;
      d.key = item["name"].as<std::string>();
      if (item["data_file"]) d.data_file = item["data_file"].as<std::string>();
      out.push_back(d);
    } else {
      out.push_back(ParseSweepDataset(item.as<std::string>()));
    }
  };
  if (node.IsSequence()) {
    for (const YAML::Node& item : node) one(item);
  } else {
    one(node);
  }
  return out;
}

}  // namespace

SweepDataset ParseSweepDataset(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos) return SweepDataset{text, ""};
  return SweepDataset{text.substr(0, eq), text.substr(eq + 1)};
}

Status LoadSweepFile(const std::string& path, SweepPlan& plan) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  RunConfig& b = plan.base;
  std::string protocol_error;  // a value the key does not accept (checked after each setter)
  // The setter of an integer key whose value must be >= `min` (`hint` says what the limit means).
  const auto int_at_least = [&protocol_error](int& field, int min, const char* hint) {
    return [&field, &protocol_error, min, hint](const YAML::Node& n) {
      field = n.as<int>();
      if (field < min) protocol_error = fmt::format("{} is below {} ({})", field, min, hint);
    };
  };
  const std::map<std::string, std::function<void(const YAML::Node&)>> setters = {
      {"models", [&](const YAML::Node& n) { plan.models = StringList(n); }},
      {"datasets", [&](const YAML::Node& n) { plan.datasets = DatasetList(n); }},
      {"presses", [&](const YAML::Node& n) { plan.presses = StringList(n); }},
      {"budgets",
       [&](const YAML::Node& n) {
         plan.budgets.clear();
         if (n.IsSequence()) {
           for (const YAML::Node& item : n) plan.budgets.push_back(item.as<int>());
         } else {
           plan.budgets.push_back(n.as<int>());
         }
       }},
      {"compression_ratios",
       [&](const YAML::Node& n) {
         plan.compression_ratios.clear();
         if (n.IsSequence()) {
           for (const YAML::Node& item : n) plan.compression_ratios.push_back(item.as<double>());
         } else {
           plan.compression_ratios.push_back(n.as<double>());
         }
       }},
      {"query_aware", [&](const YAML::Node& n) { b.query_aware = n.as<bool>(); }},
      {"context_length", int_at_least(b.context_length, 512, "tokens per long-context sample")},
      {"tasks", [&](const YAML::Node& n) { b.tasks = StringList(n); }},
      {"lengths", [&](const YAML::Node& n) { b.niah_lengths = n.as<std::string>(); }},
      {"depths", [&](const YAML::Node& n) { b.niah_depths = n.as<std::string>(); }},
      {"haystack_file", [&](const YAML::Node& n) { b.haystack_file = n.as<std::string>(); }},
      {"num_samples", int_at_least(b.num_samples, 0, "0 = all rows")},
      {"fraction",
       [&](const YAML::Node& n) {
         b.fraction = n.as<double>();
         if (!(b.fraction > 0.0 && b.fraction <= 1.0)) protocol_error = fmt::format("{} is outside (0, 1]", b.fraction);
       }},
      {"seed",
       [&](const YAML::Node& n) {
         if (n.IsScalar() && !n.Scalar().empty() && n.Scalar()[0] == '-') protocol_error = "a seed is >= 0";
         else b.seed = n.as<uint64_t>();
       }},
      {"max_new_tokens", int_at_least(b.max_new_tokens, 1, "tokens generated per sample")},
      {"max_context_length", int_at_least(b.max_context_length, 0, "0 = all")},
      {"prefill_chunk", int_at_least(b.prefill_chunk, 0, "0 = whole prompt")},
      {"do_sampling", [&](const YAML::Node& n) { b.do_sampling = n.as<bool>(); }},
      {"output_dir", [&](const YAML::Node& n) { b.output_dir = n.as<std::string>(); }},
      {"protocol",
       [&](const YAML::Node& n) {
         auto p = ParseProtocol(n.as<std::string>());
         if (p.ok()) b.protocol = *p; else protocol_error = p.status().message();
       }},
      {"scoring",
       [&](const YAML::Node& n) {
         auto m = ParseScoringMode(n.as<std::string>());
         if (m.ok()) b.scoring = *m; else protocol_error = m.status().message();
       }},
      {"batch_size", [&](const YAML::Node& n) { b.batch_size = n.as<int>(); }},
      {"threads",
       [&](const YAML::Node& n) {
         b.threads = n.as<int>();
         const Status s = CheckThreads(b.threads, "threads");
         if (!s.ok()) protocol_error = s.message().substr(s.message().find(": ") + 2);
       }},
      {"kv_dtype", [&](const YAML::Node& n) { b.kv_dtype = n.as<std::string>(); }},
      {"data_dir", [&](const YAML::Node& n) { b.data_config = n.as<std::string>(); }},
      {"data_split", [&](const YAML::Node& n) { b.data_split = n.as<std::string>(); }},
  };
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return FailedPrecondition(fmt::format("{}:{}:{}: not valid YAML/JSON: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  if (!root.IsMap()) return FailedPrecondition(path + ": a sweep file is a mapping (models:, datasets:, presses:, budgets:, ...)");
  for (const auto& kv : root) {
    if (!kv.first.IsScalar()) return FailedPrecondition(fmt::format("{}: a key is not a plain name", path));
    const std::string key = kv.first.Scalar();
    auto it = setters.find(key);
    if (it == setters.end()) {
      std::string known;
      for (const auto& [k, _] : setters) known += (known.empty() ? "" : ", ") + k;
      return FailedPrecondition(fmt::format("{}: unknown key '{}' (known: {})", path, key, known));
    }
    try {
      it->second(kv.second);
    } catch (const YAML::Exception& e) {
      return FailedPrecondition(fmt::format("{}:{}: key '{}': {}", path, e.mark.line + 1, key, e.msg));
    }
    if (!protocol_error.empty()) return FailedPrecondition(fmt::format("{}: key '{}': {}", path, key, protocol_error));
  }
  return Status::Ok();
}

StatusOr<std::vector<SweepCell>> ExpandSweep(const SweepPlan& plan) {
  if (plan.models.empty()) return InvalidArgument("sweep: no model (--models or models:)");
  if (plan.datasets.empty()) return InvalidArgument("sweep: no dataset (--datasets or datasets:)");
  if (plan.presses.empty()) return InvalidArgument("sweep: no press (--presses or presses:)");
  std::vector<SweepCell> cells;
  for (const std::string& model : plan.models) {
    for (const SweepDataset& d : plan.datasets) {
      for (const std::string& press : plan.presses) {
        RunConfig c = plan.base;
        c.model_name = model;
        c.dataset = d.key;
        c.data_file = d.data_file;
        c.press = press;
        c.resume = true;
        if (c.IsFull()) {
          c.cache_budget = 0;
          cells.push_back(SweepCell{cells.size(), c});
          continue;
        }
        if (plan.budgets.empty() && plan.compression_ratios.empty()) {
          return InvalidArgument("sweep: press " + press +
                                 " needs budgets or compression ratios (--budgets / --compression-ratios)");
        }
        for (int budget : plan.budgets) {
          if (budget <= 0) return InvalidArgument(fmt::format("sweep: budget {} must be > 0", budget));
          c.cache_budget = budget;
          c.compression_ratio = 0.0;
          cells.push_back(SweepCell{cells.size(), c});
        }
        for (double ratio : plan.compression_ratios) {
          if (!(ratio > 0.0 && ratio < 1.0)) {
            return InvalidArgument(fmt::format("sweep: compression ratio {} is outside (0, 1)", ratio));
          }
          c.compression_ratio = ratio;
          cells.push_back(SweepCell{cells.size(), c});
        }
      }
    }
  }
  return cells;
}

StatusOr<std::pair<int, int>> ParseShard(const std::string& text) {
  int i = 0, n = 0;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%d/%d%c", &i, &n, &extra) != 2 || n < 1 || i < 1 || i > n) {
    return InvalidArgument("--shard: '" + text + "' is not I/N with 1 <= I <= N");
  }
  return std::make_pair(i, n);
}

std::vector<SweepCell> ShardCells(const std::vector<SweepCell>& cells, int shard, int num_shards) {
  std::vector<SweepCell> out;
  for (const SweepCell& c : cells) {
    if (static_cast<int>(c.index % static_cast<size_t>(num_shards)) == shard - 1) out.push_back(c);
  }
  return out;
}

}  // namespace kvpress::eval
