// kvpress_cpp.Session: one KV cache driven step by step from Python, for research code that needs
// the logits of a prefill or the positions a press kept (numpy arrays), rather than finished text.
#include <fmt/format.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>

#include "bindings.h"
#include "cancellable.h"
#include "generate/generator.h"
#include "kv/kv_dtype.h"
#include "press/press_from_text.h"
#include "press/registry.h"
#include "py_model.h"
#include "status_error.h"

namespace kvpress::py {
namespace {

namespace pyb = pybind11;

StatusOr<ForwardPhase> ParsePhase(const std::string& name) {
  if (name == "prefill") return ForwardPhase::kPrefill;
  if (name == "question") return ForwardPhase::kQuestion;
  return InvalidArgument("phase: '" + name + "' is not one of prefill (compressed by the press), question (not compressed)");
}

template <typename T>
pyb::array_t<T> ToArray(std::span<const T> values) {
  pyb::array_t<T> a(static_cast<pyb::ssize_t>(values.size()));
  std::copy(values.begin(), values.end(), a.mutable_data());
  return a;
}

class PySession {
 public:
  PySession(std::shared_ptr<PyModel> model, const std::string& press, int cache_budget, double compression_ratio,
            int compression_interval, int target_size, uint64_t seed, const std::string& kv_dtype, int prefill_chunk,
            int threads)
      : model_(std::move(model)) {
    if (!press.empty()) {
      const BudgetPolicy budget{.cache_budget = cache_budget,
                                .removed_fraction = compression_ratio,
                                .compression_interval = compression_interval,
                                .target_size = target_size};
      press_ = ValueOrThrow(CreatePressFromText(press, budget, seed));
    } else if (cache_budget > 0 || compression_ratio > 0 || target_size > 0 || prefill_chunk > 0) {
      throw StatusError(InvalidArgument("cache_budget/compression_ratio/target_size/prefill_chunk need a press"));
    }
    transformer_ = std::make_unique<Transformer>(*model_->model, threads);
    session_ = std::make_unique<Session>(*transformer_, press_.get(),
                                         ValueOrThrow(ParseKvDtype(kv_dtype, "kv_dtype")), 256,
                                         prefill_chunk);
  }

  // Forwards `ids` at the next positions; returns the last token's logits [V].
  pyb::array_t<float> Prefill(const std::vector<int32_t>& ids, const std::string& phase_name) {
    const ForwardPhase phase = ValueOrThrow(ParsePhase(phase_name));
    if (broken_) throw StatusError(FailedPrecondition("the session was interrupted: start a new one"));
    if (ids.empty()) throw StatusError(InvalidArgument("prefill: no token ids"));
    Status status;
    RunReleasingGil([&](const std::atomic<bool>& cancel) {
      session_->set_cancel(&cancel);
      status = session_->Prefill(ids, phase, logits_);
      session_->set_cancel(nullptr);
      // An interrupted forward leaves the cache partly filled (set here: Ctrl-C raises before
      // the caller sees `status`).
      if (status.code() == StatusCode::kCancelled || status.code() == StatusCode::kInternal) {
        broken_ = true;
        logits_.clear();
      }
    });
    ThrowIfError(status);
    history_.insert(history_.end(), ids.begin(), ids.end());
    return ToArray<float>(logits_);
  }

  // Samples from the last logits and decodes until a stop criterion or max_new_tokens.
  pyb::dict Decode(int max_new_tokens, float temperature, float top_p, int top_k, float min_p,
                   float repetition_penalty, uint64_t seed, const std::vector<std::string>& stop,
                   bool stop_on_repetition) {
    if (broken_) throw StatusError(FailedPrecondition("the session was interrupted: start a new one"));
    if (logits_.empty()) throw StatusError(FailedPrecondition("decode: prefill some tokens first"));
    GenerateOptions opt;
    opt.max_new_tokens = max_new_tokens;
    opt.sampling = SamplerParams{temperature, top_k, top_p, min_p, repetition_penalty, seed};
    opt.stop_ids = DefaultStopIds(model_->model->config, model_->tokenizer.get());
    opt.stop_strings = stop;
    opt.stop_on_repetition = stop_on_repetition;
    opt.tokenizer = model_->tokenizer.get();
    if (!stop.empty() && opt.tokenizer == nullptr) throw StatusError(InvalidArgument("stop needs a tokenizer"));
    std::optional<StatusOr<DecodeResult>> result;
    RunReleasingGil([&](const std::atomic<bool>& cancel) {
      const DecodeLoopOptions loop = MakeDecodeLoopOptions(opt, history_);
      result = session_->Decode(logits_, loop, [&cancel](int32_t) { return !cancel.load(); });
    });
    DecodeResult r = ValueOrThrow(std::move(*result));
    const std::vector<int32_t> before = history_;
    history_.insert(history_.end(), r.tokens.begin(), r.tokens.end());
    logits_.clear();  // the last sampled token is not in the cache yet: prefill it to go on
    pyb::dict d;
    d["tokens"] = r.tokens;
    d["finish_reason"] = r.finish_reason;
    if (model_->tokenizer) {
      const std::string full = model_->tokenizer->Decode(history_);
      const std::string head = model_->tokenizer->Decode(before);
      d["text"] = pyb::bytes(full.substr(std::min(head.size(), full.size()))).attr("decode")("utf-8", "replace");
    } else {
      d["text"] = "";
    }
    return d;
  }

  pyb::list KeptPositions(int layer) const {
    const KVCache& cache = session_->cache();
    const ModelConfig& c = model_->model->config;
    auto layer_list = [&](int l) {
      pyb::list heads;
      for (int h = 0; h < c.n_kv_heads; ++h) heads.append(ToArray<int32_t>(cache.Positions(l, h)));
      return heads;
    };
    if (layer >= c.n_layers || layer < -1) {
      throw StatusError(InvalidArgument(fmt::format("layer {} is outside [0, {})", layer, c.n_layers)));
    }
    if (layer >= 0) return layer_list(layer);
    pyb::list layers;
    for (int l = 0; l < c.n_layers; ++l) layers.append(layer_list(l));
    return layers;
  }

  pyb::object Logits() const {
    if (logits_.empty()) return pyb::none();
    return ToArray<float>(logits_);
  }
  std::vector<int> KeptPerLayer() const { return session_->KeptPerLayer(); }
  pyb::object Metrics() const { return ToPython(session_->CurrentMetrics().ToJson()); }
  int32_t NextPosition() const { return session_->next_position(); }
  const std::vector<int32_t>& History() const { return history_; }

 private:
  std::shared_ptr<PyModel> model_;
  std::unique_ptr<Press> press_;
  std::unique_ptr<Transformer> transformer_;
  std::unique_ptr<Session> session_;
  std::vector<float> logits_;    // [V] of the last forwarded token; empty after decode
  std::vector<int32_t> history_;  // every id prefilled or generated, in order
  bool broken_ = false;
};

}  // namespace

void BindSession(pyb::module_& m) {
  pyb::class_<PySession>(m, "Session", "One KV cache driven step by step (prefill, decode, inspect)")
      .def(pyb::init<std::shared_ptr<PyModel>, const std::string&, int, double, int, int, uint64_t, const std::string&,
                     int, int>(),
           pyb::arg("model"), pyb::arg("press") = "", pyb::arg("cache_budget") = 0, pyb::arg("compression_ratio") = 0.0,
           pyb::arg("compression_interval") = 0, pyb::arg("target_size") = 0, pyb::arg("seed") = 0,
           pyb::arg("kv_dtype") = "f32", pyb::arg("prefill_chunk") = 0, pyb::arg("threads") = 0)
      .def("prefill", &PySession::Prefill, pyb::arg("ids"), pyb::arg("phase") = "prefill")
      .def("decode", &PySession::Decode, pyb::arg("max_new_tokens") = 256, pyb::arg("temperature") = 0.0f,
           pyb::arg("top_p") = 1.0f, pyb::arg("top_k") = 0, pyb::arg("min_p") = 0.0f,
           pyb::arg("repetition_penalty") = 1.0f, pyb::arg("seed") = 0, pyb::arg("stop") = std::vector<std::string>(),
           pyb::arg("stop_on_repetition") = false)
      .def("kept_positions", &PySession::KeptPositions, pyb::arg("layer") = -1)
      .def_property_readonly("logits", &PySession::Logits)
      .def_property_readonly("kept_per_layer", &PySession::KeptPerLayer)
      .def_property_readonly("metrics", &PySession::Metrics)
      .def_property_readonly("next_position", &PySession::NextPosition)
      .def_property_readonly("history", &PySession::History);
}

}  // namespace kvpress::py
