#include "eval/runner.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

#include "core/file_util.h"
#include "core/json_parse.h"
#include "core/log.h"
#include "core/threads.h"
#include "core/timer.h"
#include "eval/longctx_metrics.h"
#include "eval/longctx_summary.h"
#include "eval/result_file.h"
#include "eval/score_summary.h"
#include "generate/batch_decode.h"
#include "generate/chat_prompt.h"
#include "generate/generator.h"
#include "hub/file_lock.h"
#include "kv/kv_dtype.h"
#include "model/transformer.h"
#include "press/press_from_text.h"
#include "press/press_spec.h"
#include "press/registry.h"

namespace kvpress::eval {

using nlohmann::json;
using nlohmann::ordered_json;

StatusOr<std::vector<int32_t>> BuildEvalPrompt(const EvalModel& m, Protocol protocol,
                                               const Sample& sample, int max_context_length,
                                               std::string* text, bool* truncated) {
  std::vector<int32_t> ids;
  if (protocol == Protocol::kChat && m.chat != nullptr) {
    ChatRequest req;
    req.messages = ordered_json::array({{{"role", "user"}, {"content", sample.prompt}}});
    req.add_generation_prompt = true;
    req.special_tokens = m.special_tokens;
    ASSIGN_OR_RETURN(std::string rendered, m.chat->Apply(req));
    EncodeOptions
        raw;  // the rendered text holds its special tokens (BOS included when the template adds it)
    ASSIGN_OR_RETURN(ids, m.tokenizer->EncodeWith(rendered, raw));
    if (text != nullptr) *text = std::move(rendered);
  } else {
    ASSIGN_OR_RETURN(ids, m.tokenizer->Encode(sample.prompt, /*add_special=*/true));
    if (text != nullptr) *text = sample.prompt;
  }
  const bool cut = max_context_length > 0 && ids.size() > static_cast<size_t>(max_context_length);
  if (cut) ids.resize(static_cast<size_t>(max_context_length));
  if (truncated != nullptr) *truncated = cut;
  if (ids.empty()) return InvalidArgument(fmt::format("sample {}: empty prompt", sample.id));
  return ids;
}

namespace {

// LongBench's all_classes field of a row (empty when absent).
std::vector<std::string> RowClasses(const json& row) {
  std::vector<std::string> out;
  if (!row.is_object()) return out;
  auto it = row.find("all_classes");
  if (it == row.end() || !it->is_array()) return out;
  for (const json& c : *it) {
    if (c.is_string()) out.push_back(c.get<std::string>());
  }
  return out;
}

// A fresh press for one sample (null for full cache); the spec was validated up front.
StatusOr<std::unique_ptr<Press>> MakePress(const RunConfig& c, uint64_t seed) {
  if (c.IsFull()) return std::unique_ptr<Press>();
  const BudgetPolicy budget{.cache_budget = c.EffectiveBudget(),
                            .removed_fraction = c.RatioMode() ? c.compression_ratio : 0.0};
  return CreatePressFromText(c.press, budget, seed);
}

// A sample ready to generate: its prompt ids, the text they came from, its press and options.
struct PreparedSample {
  const Sample* sample = nullptr;
  std::vector<int32_t> prompt;     // reasoning: the whole prompt; long-context: the context (compressed)
  std::vector<int32_t> question;   // long-context: question + answer prefix (never compressed)
  int query_tokens = 0;            // long-context, question-aware press: the prompt's last ids are the question
  bool long_context = false;
  std::string input_text;
  bool truncated = false;  // the prompt was cut (--max-context-length or the trained positions)
  std::unique_ptr<Press> press;
  GenerateOptions options;
};

// Turns samples into generation requests and results into result rows.
class SampleRunner {
 public:
  SampleRunner(const RunConfig& c, const Dataset& d, const EvalModel& m, int threads,
               DType kv_dtype)
      : c_(c), d_(d), m_(m), transformer_(*m.model, threads), kv_dtype_(kv_dtype) {}

  // `index` is the sample's position in the run (it seeds the press and the sampler).
  StatusOr<PreparedSample> Prepare(const Sample& s, size_t index) {
    PreparedSample p;
    p.sample = &s;
    const uint64_t seed = c_.seed * 1000003ull + index;
    ASSIGN_OR_RETURN(p.press, MakePress(c_, seed));
    if (s.IsLongContext()) {
      RETURN_IF_ERROR(PrepareLongContext(s, p));
    } else {
      ASSIGN_OR_RETURN(p.prompt, BuildEvalPrompt(m_, c_.protocol, s, c_.max_context_length, &p.input_text,
                                                       &p.truncated));
      // kvzip replays the whole prompt (template prefix excluded).
      // Unset when the template cannot render upstream's dummy message (kvzip then fails, nothing else).
      if (auto replay = ContextReplayPromptsFor(
              *m_.tokenizer, c_.protocol == Protocol::kChat ? m_.chat : nullptr, m_.special_tokens);
          replay.ok()) {
        p.options.replay_prompts = std::move(replay).value();
      }
    }
    const int trained = m_.model->config.max_position - static_cast<int>(p.question.size());
    if (trained > 0 && p.prompt.size() > static_cast<size_t>(trained)) {  // README "Limits"
      Log(LogLevel::kWarning,
          "sample {}: prompt of {} tokens truncated to the model's {} trained positions (--max-context-length "
          "chooses a shorter cut)",
          s.id, p.prompt.size(), trained);
      if (p.query_tokens > 0 && trained > p.query_tokens) {  // the question stays whole, the context is cut
        const auto query_begin = p.prompt.end() - p.query_tokens;
        p.prompt.erase(query_begin - static_cast<std::ptrdiff_t>(p.prompt.size() - static_cast<size_t>(trained)),
                       query_begin);
      } else {
        p.prompt.resize(static_cast<size_t>(trained));
        p.query_tokens = 0;
      }
      p.truncated = true;
    }
    GenerateOptions& opt = p.options;
    opt.max_new_tokens = s.max_new_tokens > 0 ? std::min(c_.max_new_tokens, s.max_new_tokens) : c_.max_new_tokens;
    opt.sampling = c_.do_sampling ? SamplerParams{0.7f, 0, 0.9f, 0.0f, 1.2f, seed}
                                  : SamplerParams{0.0f, 0, 1.0f, 0.0f, 1.0f, seed};
    opt.stop_ids = DefaultStopIds(m_.model->config, m_.tokenizer);
    opt.stop_on_repetition = true;  // the harness's StopOnRepetition (§5.1)
    opt.tokenizer = m_.tokenizer;
    opt.press = p.press.get();
    opt.kv_dtype = kv_dtype_;
    opt.cancel = cancel_;
    opt.press_chunk = c_.prefill_chunk;
    return p;
  }

  using RowFn = std::function<Status(json row)>;

  // Generates and scores every sample of `todo`, giving each row to `emit` as soon as it is done
  // (a null row: cancelled, the sample is dropped). width 1: one sample at a time; width N:
  // continuous batching, N samples decoding together, a finished one replaced by the next.
  Status Run(const std::vector<std::pair<size_t, const Sample*>>& todo, int width,
             const std::atomic<bool>* cancel, const RowFn& emit) {
    cancel_ = cancel;  // Prepare hands it to every prefill
    const TokenCallback on_token = [cancel](int32_t) {
      return cancel == nullptr || !cancel->load();
    };
    auto cancelled = [cancel]() { return cancel != nullptr && cancel->load(); };
    if (width == 1) {
      for (const auto& [index, sample] : todo) {
        if (cancelled()) break;
        const Stopwatch timer;
        ASSIGN_OR_RETURN(PreparedSample p, Prepare(*sample, index));
        ASSIGN_OR_RETURN(GenerateResult r, p.long_context ? GenerateLongContext(p, on_token)
                                                          : Generate(transformer_, p.prompt, p.options, on_token));
        RETURN_IF_ERROR(
            emit(r.finish_reason == "cancelled" ? json() : MakeRow(p, r, timer.Elapsed())));
      }
      return Status::Ok();
    }
    // A sample in flight: what it was prepared with, its session, and when it started.
    struct InFlight {
      PreparedSample prepared;
      std::unique_ptr<Session> session;
      Stopwatch since_start;
    };
    std::vector<std::unique_ptr<InFlight>> flying;
    size_t given = 0;
    const NextSequenceFn next = [&]() -> StatusOr<std::optional<BatchSequence>> {
      if (given == todo.size() || cancelled()) return std::optional<BatchSequence>();
      auto f = std::make_unique<InFlight>();
      const auto& [index, sample] = todo[given++];
      ASSIGN_OR_RETURN(f->prepared, Prepare(*sample, index));
      const GenerateOptions& o = f->prepared.options;
      f->session = std::make_unique<Session>(transformer_, o.press, o.kv_dtype, o.prefill_chunk,
                                            o.press_chunk);
      if (o.replay_prompts) f->session->set_replay_prompts(*o.replay_prompts);
      StatusOr<BatchSequence> started = StartSequence(*f->session, f->prepared.prompt, o, on_token);
      if (started.status().code() == StatusCode::kCancelled) return std::optional<BatchSequence>();
      ASSIGN_OR_RETURN(BatchSequence seq, std::move(started));
      flying.push_back(std::move(f));
      return std::optional<BatchSequence>(std::move(seq));
    };
    const SequenceDoneFn done = [&](BatchSequence& seq, DecodeResult d) -> Status {
      auto it = std::find_if(flying.begin(), flying.end(),
                             [&](const auto& f) { return f->session.get() == seq.session; });
      CHECK(it != flying.end());
      const GenerateResult r = MakeGenerateResult(*(*it)->session, std::move(d));
      const Status s = emit(r.finish_reason == "cancelled"
                                ? json()
                                : MakeRow((*it)->prepared, r, (*it)->since_start.Elapsed()));
      flying.erase(it);
      return s;
    };
    return DecodeContinuous(transformer_, width, next, done);
  }

 private:
  // Upstream kvpress's pipeline prompt (reference §4): the context in the user turn, split off at a
  // separator; the question, the template's turn end and the answer prefix after it. --query-aware
  // moves the question into the context (compressed with it); for a question-aware press (finch)
  // the question is tokenized on its own after the context, as upstream's FINCH delimiter splits it,
  // and its length goes with the prefill.
  Status PrepareLongContext(const Sample& s, PreparedSample& p) const {
    PipelinePromptOptions o;
    const bool split_query = c_.query_aware && p.press != nullptr && p.press->NeedsQuestionTokens();
    o.context = c_.query_aware && !split_query ? s.context + s.question : s.context;
    o.query = split_query ? s.question : std::string();
    o.questions = {c_.query_aware ? std::string() : s.question};
    o.answer_prefix = s.answer_prefix;
    o.chat = c_.protocol == Protocol::kChat ? m_.chat : nullptr;
    o.special_tokens = m_.special_tokens;
    o.max_context_length = c_.max_context_length;
    ASSIGN_OR_RETURN(PipelinePrompt built, BuildPipelinePrompt(*m_.tokenizer, o));
    p.prompt = std::move(built.context);
    p.query_tokens = built.query_tokens;
    p.question = std::move(built.questions.at(0));
    p.options.replay_prompts = std::move(built.replay);
    p.long_context = true;
    p.input_text = s.prompt;
    if (p.prompt.empty()) return InvalidArgument(fmt::format("sample {}: empty context", s.id));
    return Status::Ok();
  }

  // The context prefilled with the press (compressed: ratio once, or to the budget), the question on
  // top without compression, then decoding (a budgeted press keeps compressing there).
  StatusOr<GenerateResult> GenerateLongContext(const PreparedSample& p, const TokenCallback& on_token) {
    const GenerateOptions& o = p.options;
    Session session(transformer_, o.press, o.kv_dtype, o.prefill_chunk, o.press_chunk);
    session.set_cancel(o.cancel);
    if (o.replay_prompts) session.set_replay_prompts(*o.replay_prompts);
    std::vector<float> logits;
    const Status prefill = session.Prefill(p.prompt, ForwardPhase::kPrefill, logits, p.query_tokens);
    if (prefill.code() == StatusCode::kCancelled) return MakeGenerateResult(session, DecodeResult{{}, "cancelled"});
    RETURN_IF_ERROR(prefill);
    if (!p.question.empty()) {
      const Status q = session.Prefill(p.question, ForwardPhase::kQuestion, logits);
      if (q.code() == StatusCode::kCancelled) return MakeGenerateResult(session, DecodeResult{{}, "cancelled"});
      RETURN_IF_ERROR(q);
    }
    std::vector<int32_t> history = p.prompt;
    history.insert(history.end(), p.question.begin(), p.question.end());
    ASSIGN_OR_RETURN(DecodeResult r, session.Decode(std::move(logits), MakeDecodeLoopOptions(o, history), on_token));
    return MakeGenerateResult(session, std::move(r));
  }

  // `seconds`: wall time of the sample, from its prefill to its last token.
  json MakeRow(const PreparedSample& p, const GenerateResult& r, double seconds) const {
    const Sample& s = *p.sample;
    DecodeOptions skip;
    skip.skip_special = true;
    const std::string response = m_.tokenizer->DecodeWith(r.tokens, skip);
    const ScoringMode mode = c_.EffectiveScoring();
    const std::string metric = s.metadata.is_object() ? s.metadata.value("metric", "") : "";
    const Verdict v = IsLongContextMetric(metric)
                          ? ScoreLongContext(metric, response, s.golds, s.metadata.value("task", ""), RowClasses(s.metadata))
                          : ScoreResponse(mode, d_.spec.kind, response, s.gold, s.golds);
    json row = s.metadata.is_object() ? s.metadata : json::object();
    row[kSampleIdKey] = s.id;
    row["input_text"] = p.input_text;
    row["response"] = response;
    row["extracted_answer"] = v.extracted;
    row["gt_answer"] = s.gold;
    row["gold_answers"] = s.golds;
    row["correct"] = v.correct;
    row["score"] = v.score;
    row["input_token_count"] = p.prompt.size() + p.question.size();
    row["truncated"] = p.truncated;  // the prompt was cut to input_token_count (README "Limits")
    row["output_token_count"] = r.tokens.size();
    row["total_token_count"] = p.prompt.size() + p.question.size() + r.tokens.size();
    if (p.long_context) {
      row["context_tokens"] = p.prompt.size();
      row["question_tokens"] = p.question.size();
    }
    row["cache_budget"] = c_.EffectiveBudget();
    row["requested_compression_ratio"] = c_.RatioMode() ? c_.compression_ratio : 0.0;
    row["press"] = c_.press;
    row["protocol"] = ProtocolName(c_.protocol);
    row["scoring"] = ScoringModeName(mode);
    row["finish_reason"] = r.finish_reason;
    const json metrics = r.metrics.ToJson();
    for (const auto& [k, val] : metrics.items()) row[k] = val;  // compression_ratio among them
    row["output_tokens_per_second"] = r.metrics.press_tokens_per_second;  // the fork's name for it
    row["execution_time"] = seconds;
    row["batch_size"] = c_.batch_size;
    return row;
  }

  const std::atomic<bool>* cancel_ = nullptr;
  const RunConfig& c_;
  const Dataset& d_;
  const EvalModel& m_;
  Transformer transformer_;
  DType kv_dtype_;
};

}  // namespace

Status ValidateRunConfig(const RunConfig& c) {
  if (!(c.compression_ratio >= 0.0 && c.compression_ratio < 1.0))
    return InvalidArgument(fmt::format("--compression-ratio {} is outside [0, 1)", c.compression_ratio));
  if (c.RatioMode() && c.prefill_chunk > 0)
    return InvalidArgument("--compression-ratio removes a fraction of the whole context once: it does not combine with "
                           "--prefill-chunk (use --cache-budget for chunked prefill)");
  if (!c.IsFull()) {
    if (!c.RatioMode() && c.cache_budget <= 0)
      return InvalidArgument("--cache-budget must be > 0 for press " + c.PressName() + " (or give --compression-ratio)");
    RETURN_IF_ERROR(MakePress(c, 0).status());  // unknown press / parameter
  }
  RETURN_IF_ERROR(ParseKvDtype(c.kv_dtype, "--kv-dtype").status());
  if (c.batch_size < 1 || c.batch_size > kMaxBatchSize)
    return InvalidArgument(fmt::format("--batch-size {} is outside [1, {}]", c.batch_size, kMaxBatchSize));
  if (c.num_samples < 0)
    return InvalidArgument(fmt::format("--num-samples (num_samples) {} is negative (0 = all rows)", c.num_samples));
  if (!(c.fraction > 0.0 && c.fraction <= 1.0))
    return InvalidArgument(fmt::format("--fraction (fraction) {} is outside (0, 1]", c.fraction));
  if (c.max_new_tokens < 1) return InvalidArgument(fmt::format("--max-new-tokens {} is not >= 1", c.max_new_tokens));
  if (c.max_context_length < 0)
    return InvalidArgument(fmt::format("--max-context-length {} is negative (0 = all)", c.max_context_length));
  if (c.prefill_chunk < 0) return InvalidArgument("--prefill-chunk must be >= 0");
  return CheckThreads(c.threads, "--threads (threads)");
}

StatusOr<EvalOutcome> RunEval(const RunConfig& c, const Dataset& dataset, const EvalModel& m,
                              const EvalProgressFn& progress, const std::atomic<bool>* cancel) {
  CHECK(m.model != nullptr && m.tokenizer != nullptr);
  RETURN_IF_ERROR(ValidateRunConfig(c));  // fail before any file is touched
  ASSIGN_OR_RETURN(DType kv_dtype, ParseKvDtype(c.kv_dtype, "--kv-dtype"));
  // Generated datasets hold exactly the samples asked for (--num-samples per task / grid cell), in order.
  const std::vector<Sample> samples = IsSyntheticRun(c) ? dataset.samples : SelectSamples(dataset.samples, c);
  if (IsLongContextDataset(dataset.spec.kind) && c.batch_size > 1)
    return InvalidArgument("--batch-size > 1 is not supported for long-context datasets (one sample at a time)");
  if (samples.empty() && !dataset.samples.empty()) {
    return InvalidArgument(fmt::format("--fraction {:g} keeps 0 of the {} rows of the dataset (it must be at least "
                                       "1/{} = {:.3g})",
                                       c.fraction, dataset.samples.size(), dataset.samples.size(),
                                       1.0 / static_cast<double>(dataset.samples.size())));
  }

  EvalOutcome out;
  std::error_code ec;
  std::filesystem::create_directories(c.output_dir, ec);
  if (ec)
    return NotFound(fmt::format("--output-dir {}: cannot create: {}", c.output_dir, ec.message()));
  const std::string stem = ResultStem(c);
  out.result_path = (std::filesystem::path(c.output_dir) / (stem + ".jsonl")).string();
  out.score_path = ScorePathFor(out.result_path);
  out.lock_path = (std::filesystem::path(c.output_dir) / (stem + ".lock")).string();
  ASSIGN_OR_RETURN(std::unique_ptr<hub::FileLock> lock, hub::FileLock::TryAcquire(out.lock_path));
  if (lock == nullptr) {
    out.busy = true;
    return out;
  }
  // Removed when this run returns (finished, cancelled or failed); FileLock makes that safe
  // against a second process that opened the file meanwhile.
  lock->RemoveOnRelease();
  if (FileExists(out.score_path)) {
    ASSIGN_OR_RETURN(std::string text, ReadFileToString(out.score_path));
    StatusOr<ordered_json> summary = ParseOrderedJson(text, out.score_path);
    if (summary.ok()) {
      out.summary = std::move(summary).value();
      out.already_finished = true;
      return out;
    }
    Log(LogLevel::kWarning, "{}, recomputing it", summary.status().message());
  }
  if (FileExists(out.result_path) && !c.resume) {
    return FailedPrecondition(
        fmt::format("{} exists from an unfinished run; pass --resume to continue it, or delete it "
                    "to start over",
                    out.result_path));
  }
  ASSIGN_OR_RETURN(std::vector<json> rows, ReadResultRows(out.result_path, /*repair=*/true));
  const std::set<std::string> done_ids = RowIds(rows);
  std::vector<std::pair<size_t, const Sample*>> todo;
  for (size_t i = 0; i < samples.size(); ++i) {
    if (done_ids.count(samples[i].id) == 0) todo.emplace_back(i, &samples[i]);
  }
  out.reused = rows.size();
  if (out.reused > 0)
    Log(LogLevel::kInfo, "{}: resuming, {} of {} samples already done", out.result_path, out.reused,
        samples.size());

  ResultAppender appender;
  RETURN_IF_ERROR(appender.Open(out.result_path));
  size_t correct = 0;
  for (const json& r : rows) correct += r.value("correct", false) ? 1 : 0;
  // --batch-size N: N samples decoding together (continuous batching; linear layers on N rows).
  SampleRunner runner(c, dataset, m, c.threads, kv_dtype);
  const Status run = runner.Run(todo, c.batch_size, cancel, [&](json row) -> Status {
    if (row.is_null()) return Status::Ok();  // cancelled mid-sample: dropped, rerun on resume
    RETURN_IF_ERROR(appender.Append(row));
    correct += row.value("correct", false) ? 1 : 0;
    rows.push_back(std::move(row));
    ++out.generated;
    if (progress) {
      progress(EvalProgress{rows.size(), samples.size(), correct,
                            rows.back().value("tokens_per_second", 0.0),
                            rows.back().value("output_token_count", int64_t{0})});
    }
    return Status::Ok();
  });
  RETURN_IF_ERROR(run);
  if (cancel != nullptr && cancel->load() && rows.size() < samples.size()) {
    out.cancelled = true;
    return out;
  }
  ordered_json summary = SummarizeRows(rows);
  if (IsLongContextDataset(dataset.spec.kind)) {
    const ordered_json long_context = SummarizeLongContext(rows);  // a named object: items() must not dangle
    for (const auto& [k, v] : long_context.items()) summary[k] = v;
  }
  summary["skipped_rows"] = dataset.skipped;
  summary["truncated_rows"] = std::count_if(rows.begin(), rows.end(),  // prompts cut (README "Limits")
                                            [](const json& r) { return r.value("truncated", false); });
  summary["result_file"] = std::filesystem::path(out.result_path).filename().string();
  const ordered_json config_json = RunConfigJson(c, dataset.spec.hf_split);
  for (const auto& [k, v] : config_json.items()) summary[k] = v;
  RETURN_IF_ERROR(WriteScoreFile(out.score_path, summary));
  out.summary = std::move(summary);
  return out;
}

StatusOr<ordered_json> RescoreResultFile(const std::string& result_path, DatasetKind kind,
                                         ScoringMode mode) {
  if (!FileExists(result_path)) return NotFound(result_path + ": no such result file");
  ASSIGN_OR_RETURN(std::vector<json> rows, ReadResultRows(result_path, /*repair=*/false));
  for (json& row : rows) {
    const std::string response = row.value("response", "");
    const std::string gold = row.value("gt_answer", "");
    std::vector<std::string> golds;
    if (row.contains("gold_answers") && row["gold_answers"].is_array()) {
      for (const json& g : row["gold_answers"]) {
        if (g.is_string()) golds.push_back(g.get<std::string>());
      }
    }
    if (golds.empty()) golds.push_back(gold);
    const std::string metric = row.value("metric", "");
    const Verdict v = IsLongContextMetric(metric)
                          ? ScoreLongContext(metric, response, golds, row.value("task", ""), RowClasses(row))
                          : ScoreResponse(mode, kind, response, gold, golds);
    row["extracted_answer"] = v.extracted;
    row["correct"] = v.correct;
    row["score"] = v.score;
    row["scoring"] = ScoringModeName(mode);
  }
  RETURN_IF_ERROR(WriteResultRows(result_path, rows));
  const std::string score_path = ScorePathFor(result_path);
  ordered_json summary = SummarizeRows(rows);
  if (IsLongContextDataset(kind)) {
    const ordered_json long_context = SummarizeLongContext(rows);  // a named object: items() must not dangle
    for (const auto& [k, v] : long_context.items()) summary[k] = v;
  }
  if (FileExists(score_path)) {
    ASSIGN_OR_RETURN(std::string text, ReadFileToString(score_path));
    StatusOr<ordered_json> old = ParseOrderedJson(text, score_path);
    if (old.ok() && old->is_object()) {
      for (const auto& [k, v] : old->items()) {
        if (!summary.contains(k)) summary[k] = v;
      }
    }
  }
  summary["scoring"] = ScoringModeName(mode);
  RETURN_IF_ERROR(WriteScoreFile(score_path, summary));
  return summary;
}

}  // namespace kvpress::eval
