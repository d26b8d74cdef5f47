// kvpress stats: query statistics of a model over calibration text (press/query_stats.h), for
// expected_attention:stats=FILE and qfilter:filters=FILE; with --duo-patterns also DuoAttention
// head scores (press/duo_patterns.h) for duo_attention:patterns=FILE.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "core/json_parse.h"
#include "core/timer.h"
#include "generate/model_tokenizer.h"
#include "model/model.h"
#include "model/transformer.h"
#include "press/duo_patterns.h"
#include "press/query_stats.h"
#include "tools/cli_common.h"
#include "tools/commands.h"
#include "tools/default_model.h"

namespace kvpress::cli {
namespace {

struct StatsFlags {
  std::string model;
  std::vector<std::string> text;
  std::string field = "text";
  std::string out;
  std::string duo_out;  // DuoAttention head scores (empty = not written)
  int samples = 100;
  int seq_len = 1000;
  int n_sink = 4;
  int threads = 0;
};

// Runs several observing hooks on the same forward.
class BothHooks : public LayerHook {
 public:
  BothHooks(LayerHook* a, LayerHook* b) : a_(a), b_(b) {}
  void AfterAttention(const LayerHookContext& ctx) override {
    a_->AfterAttention(ctx);
    if (b_ != nullptr) b_->AfterAttention(ctx);
  }

 private:
  LayerHook* a_;
  LayerHook* b_;
};

// The calibration documents: a .jsonl file gives one per line (its `field` string), any other file
// one for the whole file.
Status ReadDocuments(const StatsFlags& f, std::vector<std::string>& docs) {
  for (const std::string& path : f.text) {
    if (path.size() > 6 && path.substr(path.size() - 6) == ".jsonl") {
      std::ifstream in(path, std::ios::binary);
      if (!in) return NotFound(path + ": cannot open --text file");
      std::string line;
      size_t line_no = 0;
      while (std::getline(in, line)) {
        ++line_no;
        if (line.empty()) continue;
        ASSIGN_OR_RETURN(nlohmann::json row, ParseJson(line, path));
        if (!row.is_object() || !row.contains(f.field) || !row[f.field].is_string()) {
          return DataLoss(fmt::format("{}:{}: no string field '{}' (choose it with --field)", path,
                                      line_no, f.field));
        }
        docs.push_back(row[f.field].get<std::string>());
      }
    } else {
      ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
      docs.push_back(std::move(text));
    }
  }
  return Status::Ok();
}

int RunStats(const StatsFlags& f) {
  auto model_path = ResolveModelArg(f.model);
  if (!model_path.ok()) return ReportError("stats", model_path.status());
  auto loaded = LoadModel(*model_path);
  if (!loaded.ok()) return ReportError("stats", loaded.status());
  const Model& model = **loaded;
  auto tok = LoadTokenizerFor(model, "");
  if (!tok.ok()) return ReportError("stats", tok.status());
  std::vector<std::string> docs;
  if (Status s = ReadDocuments(f, docs); !s.ok()) return ReportError("stats", s);
  // Samples: each document's tokens (BOS as the model expects) cut into windows of seq_len.
  std::vector<std::vector<int32_t>> samples;
  EncodeOptions enc;
  enc.add_special = true;
  for (const std::string& d : docs) {
    if (static_cast<int>(samples.size()) >= f.samples) break;
    auto ids = (*tok)->EncodeWith(d, enc);
    if (!ids.ok()) return ReportError("stats", ids.status());
    for (size_t at = 0; at < ids->size() && static_cast<int>(samples.size()) < f.samples;
         at += static_cast<size_t>(f.seq_len)) {
      const size_t end = std::min(ids->size(), at + static_cast<size_t>(f.seq_len));
      if (static_cast<int>(end - at) <= f.n_sink) break;
      samples.emplace_back(ids->begin() + static_cast<std::ptrdiff_t>(at),
                           ids->begin() + static_cast<std::ptrdiff_t>(end));
    }
  }
  if (samples.empty())
    return ReportError("stats",
                       InvalidArgument("no calibration tokens: give --text FILE(s) with text"));
  const std::atomic<bool>& cancel = CancelOnSignals(true);
  Transformer t(model, f.threads);
  QueryStatsCollector collector(model.config, f.n_sink);
  // DuoAttention: each sample is one text of upstream's on-the-fly estimate (every position).
  DuoPatternCollector duo(model.config);
  BothHooks hooks(&collector, f.duo_out.empty() ? nullptr : &duo);
  const Stopwatch sw;
  size_t tokens = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    KVCache cache = t.NewCache();
    std::vector<int32_t> pos(samples[i].size());
    for (size_t p = 0; p < pos.size(); ++p) pos[p] = static_cast<int32_t>(p);
    ForwardOptions opt;
    opt.hook = &hooks;
    opt.cancel = &cancel;
    std::vector<float> logits;
    if (Status s = t.Forward(samples[i], pos, cache, opt, logits); !s.ok())
      return ReportError("stats", s);
    duo.EndSample();
    tokens += samples[i].size();
    std::fprintf(stderr, "\rkvpress stats: sample %zu/%zu, %zu tokens, %.1f s", i + 1,
                 samples.size(), tokens, sw.Elapsed());
  }
  std::fprintf(stderr, "\n");
  if (Status s = SaveQueryStats(f.out, collector.Finish()); !s.ok()) return ReportError("stats", s);
  std::printf(
      "%s\n",
      fmt::format(
          "wrote {}: query mean/covariance ({} layers x {} heads x {}) and Q-filters ({} KV "
          "heads) from {} samples, {} tokens (positions >= {})",
          f.out, model.config.n_layers, model.config.n_heads, model.config.head_dim,
          model.config.n_kv_heads, samples.size(), tokens, f.n_sink)
          .c_str());
  if (!f.duo_out.empty()) {
    if (Status s = SaveDuoPatterns(f.duo_out, duo.Finish()); !s.ok())
      return ReportError("stats", s);
    std::printf("wrote %s: DuoAttention head scores (%d layers x %d KV heads) from %d samples\n",
                f.duo_out.c_str(), model.config.n_layers, model.config.n_kv_heads, duo.samples());
  }
  return kExitOk;
}

}  // namespace

void RegisterStats(CLI::App& app, RunFn& run) {
  auto f = std::make_shared<StatsFlags>();
  CLI::App* cmd = app.add_subcommand("stats",
                                     "Query statistics over calibration text for "
                                     "expected_attention:stats=FILE and qfilter:filters=FILE");
  cmd->add_option("-m,--model", f->model,
                  "Model (directory, GGUF, ...; default: the bundled model)");
  cmd->add_option("--text", f->text,
                  "Calibration text: plain files, or .jsonl with one document per line")
      ->required();
  cmd->add_option("--field", f->field, "JSONL field holding the text")->capture_default_str();
  cmd->add_option("-o,--output", f->out, "Statistics file to write (safetensors)")->required();
  cmd->add_option("--duo-patterns", f->duo_out,
                  "Also write DuoAttention head scores (upstream's on-the-fly estimate, one text "
                  "per sample) for duo_attention:patterns=FILE (safetensors)");
  cmd->add_option("--samples", f->samples, "Most samples (windows of --seq-len tokens)")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--seq-len", f->seq_len, "Tokens per sample")
      ->check(CLI::Range(8, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--n-sink", f->n_sink, "Leading positions left out of the statistics")
      ->check(CLI::Range(0, 1 << 16))
      ->capture_default_str();
  cmd->add_option("--threads", f->threads, "Threads (0 = physical cores)")
      ->check(CLI::Range(0, 1024));
  cmd->callback([f, &run] { run = [f] { return RunStats(*f); }; });
}

}  // namespace kvpress::cli
