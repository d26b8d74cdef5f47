// Model loading, one-shot generation (the pipeline), streaming and the press registry.
#include <fmt/format.h>
#include <pybind11/stl.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "bindings.h"
#include "cancellable.h"
#include "generate_request.h"
#include "press/registry.h"
#include "status_error.h"

namespace kvpress::py {
namespace {

namespace pyb = pybind11;

pyb::dict ConfigDict(const ModelConfig& c) {
  pyb::dict d;
  d["architecture"] = c.architecture;
  d["hidden_size"] = c.hidden_size;
  d["intermediate_size"] = c.intermediate_size;
  d["n_layers"] = c.n_layers;
  d["n_heads"] = c.n_heads;
  d["n_kv_heads"] = c.n_kv_heads;
  d["head_dim"] = c.head_dim;
  d["vocab_size"] = c.vocab_size;
  d["max_position"] = c.max_position;
  d["rope_theta"] = c.rope_theta;
  d["bos_token_id"] = c.bos_token_id;
  d["eos_token_ids"] = c.eos_token_ids;
  d["kv_bytes_per_token_f32"] = c.KvBytesPerToken();
  return d;
}

pyb::list PressCatalog() {
  pyb::list out;
  for (const PressInfo& info : AllPresses()) {
    pyb::list params;
    for (const PressParamInfo& p : info.params) {
      pyb::dict d;
      d["name"] = p.name;
      d["default"] = p.default_value;
      d["help"] = p.help;
      params.append(d);
    }
    pyb::dict d;
    d["name"] = info.name;
    d["summary"] = info.summary;
    d["paper"] = info.paper;
    d["phases"] = info.phases;
    d["needs"] = info.needs;
    d["params"] = params;
    d["min_children"] = info.min_children;  // inner presses a wrapper needs, e.g. adakv(knorm)
    d["max_children"] = info.max_children;  // -1: any number
    out.append(d);
  }
  return out;
}

pyb::object Generate(const std::shared_ptr<PyModel>& model, const GenerateRequest& request) {
  std::optional<StatusOr<nlohmann::json>> result;
  RunReleasingGil([&](const std::atomic<bool>& cancel) {
    result = RunGenerateRequest(*model, request, &cancel, TextSink());
  });
  return ToPython(ValueOrThrow(std::move(*result)));
}

// A generation running on its own thread whose text is read piece by piece: the iterator of
// kvpress_cpp's stream(). Items are (answer index, text piece); `result` is the whole result once
// the iteration has ended.
class TextStream {
 public:
  TextStream(std::shared_ptr<PyModel> model, GenerateRequest request)
      : model_(std::move(model)), request_(std::move(request)) {
    worker_ = std::thread([this] {
      auto r = RunGenerateRequest(*model_, request_, &cancel_,
                                  [this](size_t q, const std::string& piece) {
                                    std::lock_guard<std::mutex> lock(mu_);
                                    pieces_.emplace_back(q, piece);
                                    cv_.notify_all();
                                  });
      std::lock_guard<std::mutex> lock(mu_);
      result_.emplace(std::move(r));
      cv_.notify_all();
    });
  }
  ~TextStream() {
    if (worker_.joinable()) {
      cancel_ = true;
      pyb::gil_scoped_release release;
      worker_.join();
    }
  }
  TextStream(const TextStream&) = delete;
  TextStream& operator=(const TextStream&) = delete;

  // The next (answer index, piece); StopIteration at the end, the run's error if it failed.
  pyb::tuple Next() {
    while (true) {
      std::optional<std::pair<size_t, std::string>> item;
      {
        pyb::gil_scoped_release release;
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(50),
                     [this] { return !pieces_.empty() || result_.has_value(); });
        if (!pieces_.empty()) {
          item = std::move(pieces_.front());
          pieces_.pop_front();
        }
      }
      if (item)
        return pyb::make_tuple(item->first,
                               pyb::bytes(item->second).attr("decode")("utf-8", "replace"));
      if (Finished()) {
        Join();
        if (!result_->ok()) throw StatusError(result_->status());
        throw pyb::stop_iteration();
      }
      if (PyErr_CheckSignals() != 0) {
        Close();
        throw pyb::error_already_set();
      }
    }
  }

  // Stops the generation (finish_reason "cancelled") and waits for its thread.
  void Close() {
    cancel_ = true;
    Join();
  }

  // The result dict (as the one-shot call returns) once the generation has ended (iterated to
  // the end, or closed), else None.
  pyb::object Result() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!result_.has_value()) return pyb::none();
    }
    Join();
    if (!result_->ok()) return pyb::none();
    return ToPython(result_->value());
  }

 private:
  bool Finished() {
    std::lock_guard<std::mutex> lock(mu_);
    return result_.has_value() && pieces_.empty();
  }
  void Join() {
    if (!worker_.joinable()) return;
    pyb::gil_scoped_release release;
    worker_.join();
  }

  std::shared_ptr<PyModel> model_;
  GenerateRequest request_;
  std::atomic<bool> cancel_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<size_t, std::string>> pieces_;
  std::optional<StatusOr<nlohmann::json>> result_;
  std::thread worker_;
};

}  // namespace

void BindGenerate(pyb::module_& m) {
  pyb::class_<PyModel, std::shared_ptr<PyModel>>(
      m, "Model", "A loaded model with its tokenizer and chat template")
      .def_static(
          "load",
          [](const std::string& path, const std::string& tokenizer, bool check_weights, bool mmap) {
            std::optional<StatusOr<std::shared_ptr<PyModel>>> loaded;
            RunReleasingGil([&](const std::atomic<bool>&) {
              loaded = LoadPyModel(path, tokenizer, check_weights, mmap);
            });
            return ValueOrThrow(std::move(*loaded));
          },
          pyb::arg("path") = "", pyb::arg("tokenizer") = "", pyb::arg("check_weights") = true,
          pyb::arg("mmap") = false)
      .def_property_readonly("weights_in_huge_pages",
                             [](const PyModel& p) { return p.model->placement.in_huge_pages; })
      .def_property_readonly("name", [](const PyModel& p) { return p.name; })
      .def_property_readonly("path", [](const PyModel& p) { return p.model->path; })
      .def_property_readonly("config", [](const PyModel& p) { return ConfigDict(p.model->config); })
      .def_property_readonly("has_tokenizer",
                             [](const PyModel& p) { return p.tokenizer != nullptr; })
      .def_property_readonly("has_chat_template",
                             [](const PyModel& p) { return p.chat.has_value(); })
      .def(
          "tokenize",
          [](const PyModel& p, const std::string& text, bool add_special) {
            const Tokenizer* tok = ValueOrThrow(p.RequireTokenizer());
            return ValueOrThrow(tok->Encode(text, add_special));
          },
          pyb::arg("text"), pyb::arg("add_special") = true)
      .def("detokenize", [](const PyModel& p, const std::vector<int32_t>& ids) {
        const Tokenizer* tok = ValueOrThrow(p.RequireTokenizer());
        for (int32_t id : ids) {
          if (id < 0 || id >= tok->VocabSize()) {
            throw StatusError(InvalidArgument(fmt::format(
                "token id {} is outside the vocabulary [0, {})", id, tok->VocabSize())));
          }
        }
        return pyb::bytes(tok->Decode(ids)).attr("decode")("utf-8", "replace");
      });

  pyb::class_<GenerateRequest> req(m, "GenerateRequest",
                                   "The settings of one generation (the CLI's flags)");
  req.def(pyb::init<>())
      .def_readwrite("has_prompt", &GenerateRequest::has_prompt)
      .def_readwrite("prompt", &GenerateRequest::prompt)
      .def_readwrite("has_prompt_ids", &GenerateRequest::has_prompt_ids)
      .def_readwrite("prompt_ids", &GenerateRequest::prompt_ids)
      .def_readwrite("pipeline", &GenerateRequest::pipeline)
      .def_readwrite("context", &GenerateRequest::context)
      .def_readwrite("questions", &GenerateRequest::questions)
      .def_readwrite("answer_prefix", &GenerateRequest::answer_prefix)
      .def_readwrite("chat", &GenerateRequest::chat)
      .def_readwrite("enable_thinking", &GenerateRequest::enable_thinking)
      .def_readwrite("max_context_length", &GenerateRequest::max_context_length)
      .def_readwrite("add_bos", &GenerateRequest::add_bos)
      .def_readwrite("max_new_tokens", &GenerateRequest::max_new_tokens)
      .def_readwrite("temperature", &GenerateRequest::temperature)
      .def_readwrite("top_p", &GenerateRequest::top_p)
      .def_readwrite("top_k", &GenerateRequest::top_k)
      .def_readwrite("min_p", &GenerateRequest::min_p)
      .def_readwrite("repetition_penalty", &GenerateRequest::repetition_penalty)
      .def_readwrite("seed", &GenerateRequest::seed)
      .def_readwrite("stop", &GenerateRequest::stop)
      .def_readwrite("stop_on_repetition", &GenerateRequest::stop_on_repetition)
      .def_readwrite("press", &GenerateRequest::press)
      .def_readwrite("cache_budget", &GenerateRequest::cache_budget)
      .def_readwrite("compression_ratio", &GenerateRequest::compression_ratio)
      .def_readwrite("compression_interval", &GenerateRequest::compression_interval)
      .def_readwrite("target_size", &GenerateRequest::target_size)
      .def_readwrite("prefill_chunk", &GenerateRequest::prefill_chunk)
      .def_readwrite("kv_dtype", &GenerateRequest::kv_dtype)
      .def_readwrite("eviction_log", &GenerateRequest::eviction_log)
      .def_readwrite("threads", &GenerateRequest::threads);

  m.def("generate", &Generate, pyb::arg("model"), pyb::arg("request"),
        "Runs one generation with the GIL released; returns the dict `kvpress generate --json` "
        "prints");

  pyb::class_<TextStream>(m, "TextStream", "A running generation read piece by piece")
      .def(pyb::init<std::shared_ptr<PyModel>, GenerateRequest>(), pyb::arg("model"),
           pyb::arg("request"))
      .def("__iter__", [](TextStream& s) -> TextStream& { return s; })
      .def("__next__", &TextStream::Next)
      .def("close", &TextStream::Close)
      .def_property_readonly("result", &TextStream::Result);

  m.def("press_catalog", &PressCatalog,
        "Every registered press: name, summary, paper, phases, needs, params");
  m.def(
      "check_press",
      [](const std::string& spec, int cache_budget, double compression_ratio,
         int compression_interval, int target_size) {
        ThrowIfError(CheckPressSpec(spec, cache_budget, compression_ratio, compression_interval,
                                    target_size));
      },
      pyb::arg("spec"), pyb::arg("cache_budget") = 0, pyb::arg("compression_ratio") = 0.0,
      pyb::arg("compression_interval") = 0, pyb::arg("target_size") = 0,
      "Raises the error `kvpress generate --press SPEC` would give for this spec and budget");
}

}  // namespace kvpress::py
